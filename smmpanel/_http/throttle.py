"""The throttle: the gate every request of a ``Panel`` passes (a pace, and 429 pauses).

One gate per ``Panel``, shared by every call on it (single calls and bulk fan-outs alike), the
way githubkit throttles per client. It needs no lock: reading and reserving a slot happen
with no ``await`` between them, so tasks on one event loop cannot interleave there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from .._config import MAX_RETRY_AFTER

__all__ = ["Gate"]


class Gate:
    """Spaces requests ``1 / rate`` seconds apart and holds all of them during a pause."""

    __slots__ = ("_interval", "_next", "_now", "_paused_until", "_sleep")

    def __init__(
        self,
        rate: float | None,
        *,
        now: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._interval = 0.0 if rate is None else 1.0 / rate
        self._next = 0.0
        self._paused_until = 0.0
        self._now = now  # injectable, so tests can run the gate on a virtual clock
        self._sleep = sleep

    @property
    def idle(self) -> bool:
        """True when a request may go at once with no bookkeeping: no pace, no pause."""
        return self._interval == 0.0 and self._paused_until == 0.0

    async def wait(self) -> None:
        """Wait for this request's turn."""
        if self.idle:
            return
        now = self._now()
        slot = max(now, self._next, self._paused_until)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)
        elif self._paused_until and now >= self._paused_until:
            self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every request of the ``Panel`` for ``seconds`` (a 429 slows everyone down)."""
        until = self._now() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        self._paused_until = max(self._paused_until, until)
