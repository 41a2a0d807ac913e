"""The throttle: the turn every request of a ``Panel`` takes (a pace, and 429 pauses).

One throttle per ``Panel``, shared by every call on it (single calls and bulk fan-outs
alike), the way githubkit throttles per client. It owns the limiter too, because the order
of the steps is what keeps a limit in every window:

1. the action's pace, if the ``rate_limit`` mapping names the action: a fair lock, held
   while sleeping until the action's next free time;
2. a slot of the limiter (``concurrency``), so the turn is taken only when the request can
   actually go;
3. the ``"*"`` pace (a plain number ``rate_limit`` is ``{"*": n}``) and any 429 pause:
   another fair lock held while sleeping;
4. the turn is taken: each pace's next free time becomes *now* + ``1 / rate``.

A caller cancelled at any step leaves its locks and takes no turn, so it gives its turn
back. A turn is one instant per request, so two requests of a pace are always at least
``1 / rate`` apart: no window of ``1 / rate`` ever holds two starts. Waiting for an action's
pace holds no limiter slot, so a slow pace (10 ``services`` an hour) never blocks others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import anyio

from .._config import MAX_RETRY_AFTER

__all__ = ["EVERY", "Throttle"]

EVERY = "*"
"""The ``rate_limit`` key that limits every request of the ``Panel``."""


class _Pace:
    """One limit: a fair lock and the next time a request may start."""

    __slots__ = ("interval", "lock", "next")

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = float("-inf")
        self.lock = anyio.Lock()


class Throttle:
    """Caps requests in flight, spaces them by their paces, and holds all of them in a pause."""

    __slots__ = ("_every", "_limiter", "_now", "_paces", "_paused_until", "_sleep")

    def __init__(
        self,
        rate_limit: float | Mapping[str, float] | None,
        concurrency: int,
        *,
        now: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate_limit is None:
            rates: Mapping[str, float] = {}
        elif isinstance(rate_limit, Mapping):
            rates = rate_limit
        else:
            rates = {EVERY: rate_limit}
        paces = {name: _Pace(rate) for name, rate in rates.items()}
        self._every = paces.pop(EVERY, None)
        self._paces = paces
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._paused_until = 0.0
        self._now = now  # injectable, so tests can run the throttle on a virtual clock
        self._sleep = sleep

    @property
    def in_flight(self) -> int:
        """Requests holding a limiter slot now."""
        return int(self._limiter.borrowed_tokens)

    async def enter(self, action: str) -> None:
        """Wait for this request's turn; returns holding a limiter slot: call ``leave`` after."""
        pace = self._paces.get(action)
        if pace is None:
            await self._limiter.acquire()
            if self._every is not None or self._paused_until:
                try:
                    await self._turn()
                except BaseException:
                    self._limiter.release()
                    raise
            return
        async with pace.lock:
            await self._until(pace)
            await self._limiter.acquire()
            try:
                now = await self._turn()
            except BaseException:
                self._limiter.release()
                raise
            pace.next = now + pace.interval

    def leave(self) -> None:
        """The request is done: free its limiter slot."""
        self._limiter.release()

    def pause(self, seconds: float) -> None:
        """Hold every request of the ``Panel`` for ``seconds`` (a 429 slows everyone down)."""
        until = self._now() + min(max(seconds, 0.0), MAX_RETRY_AFTER)
        self._paused_until = max(self._paused_until, until)

    async def _turn(self) -> float:
        """Steps 3 and 4: the ``"*"`` pace and the pause; returns the turn's time."""
        every = self._every
        if every is None:
            return await self._unpaused()
        async with every.lock:
            now = await self._until(every)
            every.next = now + every.interval
            return now

    async def _until(self, pace: _Pace) -> float:
        """Sleep until ``pace`` is free and no pause holds; returns the time it is."""
        while True:
            now = await self._unpaused()
            if now >= pace.next:
                return now
            await self._sleep(pace.next - now)

    async def _unpaused(self) -> float:
        """Sleep while a pause holds (a pause may grow while sleeping); returns the time."""
        now = self._now()
        while self._paused_until:
            if now >= self._paused_until:
                self._paused_until = 0.0
                break
            await self._sleep(self._paused_until - now)
            now = self._now()
        return now
