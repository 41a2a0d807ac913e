"""The tracker process of the crash test: ``python tests/_crash_tracker.py STORE BASE N``.

Tracks orders 1..N spread over the scripted panels p0..p2 at ``BASE`` (idempotent, so each
restart tracks them again) and runs until every order is final. The test kills it with
``kill -9`` at random moments and starts it again.
"""

from __future__ import annotations

import sys

import anyio

import smmpanel
from smmpanel.tracker import Cadence, Tracker


def orders_of(panel: int, total: int) -> range:
    """Panel ``panel``'s share of orders 1..total."""
    size = -(-total // 3)
    return range(panel * size + 1, min(total, (panel + 1) * size) + 1)


async def main(store: str, base: str, total: int) -> None:
    panels = {
        f"p{n}": smmpanel.Panel(
            f"{base}/p{n}/api/v2", "crash-key", concurrency=8, retries=5, backoff=0.01
        )
        for n in range(3)
    }
    try:
        async with Tracker(
            panels, store=store, cadence=Cadence(0.05, 0.1), backoff=(0.05, 0.2)
        ) as tracker:
            for n, name in enumerate(panels):
                await tracker.track(name, orders_of(n, total))
            print("ready", flush=True)  # the test kills it at a random moment after this
            await tracker.run(until_idle=True)
    finally:
        for panel in panels.values():
            await panel.aclose()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
