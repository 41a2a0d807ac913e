"""The tracker process of the crash test: ``python tests/_crash_tracker.py STORE BASE N``.

It imports everything once, then forks one tracker per line ``go`` read on stdin (so a
restart costs a fork, not an interpreter start), printing ``pid N`` for each and
``exit N CODE`` when it ends; the test kills the forked trackers with ``kill -9``. Each
tracker tracks orders 1..N over the scripted panels p0..p2 at ``BASE`` (idempotent, so each
restart tracks them again), prints ``ready N`` and runs until every order is final.
"""

from __future__ import annotations

import os
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
            print(f"ready {os.getpid()}", flush=True)  # the test kills it after this
            await tracker.run(until_idle=True)
    finally:
        for panel in panels.values():
            await panel.aclose()


def zygote(store: str, base: str, total: int) -> None:
    for line in sys.stdin:
        if line.strip() != "go":
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                anyio.run(main, store, base, total)
            except BaseException as error:  # reported by the exit code
                print(f"error {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    zygote(sys.argv[1], sys.argv[2], int(sys.argv[3]))
