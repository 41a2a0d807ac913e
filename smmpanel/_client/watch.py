"""``Watch``: poll orders until each is final, yielding a status when it first shows or changes."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import Self

import anyio

from .._errors import AuthenticationError, NotFoundError, SMMPanelError
from .._models import Bulk, OrderStatus

__all__ = ["Watch", "check_watch"]

Statuses = Callable[[list[int]], Awaitable[Bulk[OrderStatus]]]


def _seconds(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r:.40}")


def check_watch(every: object, until: object, failures: object) -> None:
    """``ValueError`` for options ``watch`` cannot run with, before anything is sent."""
    _seconds("every", every)
    _seconds("until", until, allow_none=True)
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
        raise ValueError(f"failures must be an int >= 1, got {failures!r:.40}")


class Watch:
    """An async iterator of ``OrderStatus``: each order's first status, then only changes.

    It ends when every order is final or unknown to the panel, or after ``until`` seconds
    (a running subscription is never final). ``not_found`` holds the orders the panel said
    it does not know (no longer polled); ``errors`` the orders whose latest poll failed and
    that are polled again (an order leaves it once a poll succeeds). When ``failures``
    rounds in a row fail for every order still watched (the panel is down), the last error
    is raised rather than polling forever; a bad key is raised at once.

    Stop early with ``await watch.aclose()`` or ``async with panel.watch(...) as watch:``.
    """

    def __init__(
        self,
        statuses: Statuses,
        orders: list[int],
        *,
        every: float,
        until: float | None,
        failures: int,
    ) -> None:
        self.not_found: set[int] = set()
        """Orders the panel said it does not know; dropped from the polling."""
        self.errors: dict[int, SMMPanelError] = {}
        """Orders whose latest poll failed, with that failure; they are polled again."""
        self._statuses = statuses
        self._orders = orders
        self._every = float(every)
        self._until = None if until is None else float(until)
        self._failures = failures
        self._changes = self._run()

    def __repr__(self) -> str:
        return (
            f"<Watch orders={len(self._orders)} not_found={len(self.not_found)} "
            f"errors={len(self.errors)}>"
        )

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> OrderStatus:
        return await anext(self._changes)

    async def aclose(self) -> None:
        """Stop polling; safe to call twice, and before or after the end."""
        await self._changes.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[OrderStatus]:
        # Waits run in cancel scopes that never span a yield: a consumer that stops early
        # (aclose) or a cancellation then unwinds the generator cleanly on asyncio and trio.
        deadline = math.inf if self._until is None else anyio.current_time() + self._until
        active = self._orders
        last: dict[int, OrderStatus] = {}
        failed = 0
        while active:
            with anyio.move_on_at(deadline) as scope:
                bulk = await self._statuses(active)
            if scope.cancelled_caught:
                return
            still: list[int] = []
            answered = False
            for order in active:
                current = bulk.ok.get(order)
                if current is None:
                    error = bulk.errors[order]
                    if isinstance(error, AuthenticationError):
                        raise error
                    if isinstance(error, NotFoundError):
                        self.not_found.add(order)
                        self.errors.pop(order, None)
                        answered = True
                    else:
                        self.errors[order] = error
                        still.append(order)
                    continue
                answered = True
                self.errors.pop(order, None)
                if last.get(order) != current:
                    last[order] = current
                    yield current
                if not current.final:
                    still.append(order)
            failed = 0 if answered else failed + 1
            if failed >= self._failures:
                raise self.errors[active[-1]]
            active = still
            if active:
                with anyio.move_on_at(deadline):
                    await anyio.sleep(self._every)
                if anyio.current_time() >= deadline:
                    return
