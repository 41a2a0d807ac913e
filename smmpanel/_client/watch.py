"""``watch``: poll orders until each is final, yielding a status when it first shows or changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

import anyio

from .._errors import AuthenticationError, answered
from .._models import Bulk, OrderStatus

__all__ = ["follow"]


async def follow(
    statuses: Callable[[list[int]], Awaitable[Bulk[OrderStatus]]],
    orders: list[int],
    every: float,
) -> AsyncGenerator[OrderStatus]:
    """Each order's first status, then only changes; ends when all are final or not found.

    An order drops out once final, or once the panel has answered that it does not know
    it. One whose poll failed (network, protocol, a rate limit) is polled again next round;
    a bad key ends the watch.
    """
    active = orders
    last: dict[int, OrderStatus] = {}
    while active:
        bulk = await statuses(active)
        still: list[int] = []
        for order in active:
            current = bulk.ok.get(order)
            if current is None:
                error = bulk.errors[order]
                if isinstance(error, AuthenticationError):
                    raise error
                if not answered(error):
                    still.append(order)
                continue
            if last.get(order) != current:
                last[order] = current
                yield current
            if not current.final:
                still.append(order)
        active = still
        if active:
            await anyio.sleep(every)
