"""The tracker's benchmark: ``python -m benchmarks.tracker`` (``--quick`` for a short run).

Four figures, each a ratio against its bound:

- budget utilisation: 1,000,000 tracked orders on 20 in-memory fake panels, each with a
  ``rate_limit``; status requests sent over the most the limits allow in that time (the
  panels' 120 calls a minute, at full speed: the limit is scaled up by ``--speedup``).
- tracker CPU per polled order, over ``iter_statuses`` alone on the same fakes (unpaced,
  one panel after the other; and paced as the tracker polls, all panels at once).
- SQLite status rows written per second by the store (with and without events), and the
  CPU each row costs (which a busy shared machine disturbs less than the rate).
- peak RSS with 10x fewer orders, over the full run: flat means memory does not grow
  with the number of orders.

Each tracking run is a fresh process of its own (``--phase track``), so RSS and CPU are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx

PANELS = 20
PER_MINUTE = 120  # each panel's published status limit


class Stamped(httpx.AsyncBaseTransport):
    """Counts a fake's requests and notes the first and last."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now
        return await self.inner.handle_async_request(request)


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def track_phase(orders: int, rate: float, store: str) -> dict[str, Any]:
    """Track ``orders`` on ``PANELS`` fakes and poll each once, paced at ``rate`` a second."""
    import smmpanel
    from smmpanel.testing import FakePanel
    from smmpanel.tracker import Cadence, Tracker

    per_panel = orders // PANELS
    fakes = [FakePanel(auto_orders=True) for _ in range(PANELS)]
    stamps = {f"p{n}": Stamped(fake.transport()) for n, fake in enumerate(fakes)}
    panels = {
        name: smmpanel.Panel(
            "https://fake-panel.invalid/api/v2", "test-key", transport=t, rate_limit=rate
        )
        for name, t in stamps.items()
    }
    try:
        async with Tracker(panels, store=store, cadence=Cadence(3600, 7200)) as tracker:
            started = time.perf_counter()
            for name in panels:
                for start in range(1, per_panel + 1, 50_000):
                    await tracker.track(name, range(start, min(per_panel, start + 49_999) + 1))
            tracked = time.perf_counter() - started
            cpu0 = time.process_time()
            wall0 = time.perf_counter()
            needed = -(-per_panel // 100)
            async with anyio.create_task_group() as tg:
                tg.start_soon(tracker.run)
                while min(s.count for s in stamps.values()) < needed:
                    await anyio.sleep(0.05)
                    for fake in fakes:  # the fakes' request log is not the tracker's memory
                        fake.reset_stats()
                tracker.stop()
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
            report = await tracker.report()
    finally:
        for panel in panels.values():
            await panel.aclose()
    polled = sum(sum(r.counts.values()) + r.not_found for r in report.values())
    # The most a limit allows in [first, last] is one request at once and one per 1/rate s.
    shares = [s.count / (rate * (s.last - s.first) + 1) for s in stamps.values() if s.count]
    return {
        "orders": orders,
        "tracked_per_s": orders / tracked,
        "polled": polled,
        "requests": sum(s.count for s in stamps.values()),
        "wall": wall,
        "cpu": cpu,
        "cpu_per_order_us": cpu / max(polled, 1) * 1e6,
        "utilisation": min(shares),
        "utilisation_mean": sum(shares) / len(shares),
        "rss_mib": _rss_mib(),
    }


async def baseline_phase(orders: int) -> dict[str, Any]:
    """CPU per order of ``iter_statuses`` alone over the same kind of fakes, unpaced."""
    import smmpanel
    from smmpanel.testing import FakePanel

    per_panel = orders // PANELS
    fakes = [FakePanel(auto_orders=True) for _ in range(PANELS)]
    cpu0 = time.process_time()
    seen = 0
    for fake in fakes:
        async with fake.panel() as panel:
            async for bulk in panel.iter_statuses(range(1, per_panel + 1)):
                seen += len(bulk.ok)
    cpu = time.process_time() - cpu0
    _ = smmpanel
    return {"orders": seen, "cpu_per_order_us": cpu / seen * 1e6}


async def paced_phase(orders: int, rate: float) -> dict[str, Any]:
    """CPU per order of ``iter_statuses`` alone as the tracker polls: the same panels, rate
    limits and transports, all 20 at once, so only the tracker's own work is left over."""
    import smmpanel
    from smmpanel.testing import FakePanel

    per_panel = orders // PANELS
    fakes = [FakePanel(auto_orders=True) for _ in range(PANELS)]
    panels = [
        smmpanel.Panel(
            "https://fake-panel.invalid/api/v2",
            "test-key",
            transport=Stamped(fake.transport()),
            rate_limit=rate,
        )
        for fake in fakes
    ]
    seen = 0

    async def one(panel: smmpanel.Panel) -> None:
        nonlocal seen
        async for bulk in panel.iter_statuses(range(1, per_panel + 1)):
            seen += len(bulk.ok)

    cpu0 = time.process_time()
    try:
        async with anyio.create_task_group() as tg:
            for panel in panels:
                tg.start_soon(one, panel)
            while seen < per_panel * PANELS:
                await anyio.sleep(0.05)
                for fake in fakes:
                    fake.reset_stats()
        cpu = time.process_time() - cpu0
    finally:
        for panel in panels:
            await panel.aclose()
    return {"orders": seen, "cpu_per_order_us": cpu / seen * 1e6}


def store_phase(rows: int, folder: str) -> dict[str, Any]:
    """Status rows a second through ``Store.write`` on SQLite, in 4,000-row batches."""
    from smmpanel import OrderStatus, Status
    from smmpanel.tracker import Cadence, Store
    from smmpanel.tracker._codec import key_of
    from smmpanel.tracker._store import Outcome

    store = Store(f"sqlite:///{folder}/rows.db")
    store.open_sync()
    store.track("a", list(range(1, rows + 1)), None, 0.0)
    store.acquire("a", "bench:1:x", 0.0, 1e9)
    cadence = Cadence(10, 100)
    result = {}
    for label, word, now in (("changed", "In progress", 1.0), ("unchanged", "In progress", 2.0)):
        due = store.claim("a", 1e12, None, rows)
        outcomes = [
            Outcome(
                d,
                key_of(OrderStatus(d.order, Status.parse(word), Decimal("0.5"), 1, 5, "USD", word)),
            )
            for d in due
        ]
        started = time.perf_counter()
        cpu = time.process_time()
        for start in range(0, rows, 4000):
            store.write("a", "bench:1:x", outcomes[start : start + 4000], now, cadence, 1e9, 0)
        result[label] = rows / (time.perf_counter() - started)
        result[f"{label}_cpu_us"] = (time.process_time() - cpu) / rows * 1e6
    store.close()
    return result


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.tracker", *args],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 orders, not 1,000,000")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument(
        "--speedup", type=float, default=2.0, help="the 120/min limit times this (full speed)"
    )
    parser.add_argument("--phase", choices=["track", "baseline", "paced", "store"], default=None)
    parser.add_argument("--rate", type=float, default=None)
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    orders = args.orders or (100_000 if args.quick else 1_000_000)
    rate = args.rate or PER_MINUTE / 60 * args.speedup
    if args.phase == "track":
        print(json.dumps(anyio.run(track_phase, orders, rate, args.store)))
        return
    if args.phase == "baseline":
        print(json.dumps(anyio.run(baseline_phase, orders)))
        return
    if args.phase == "paced":
        print(json.dumps(anyio.run(paced_phase, orders, rate)))
        return
    if args.phase == "store":
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(store_phase(orders, folder)))
        return

    print(
        f"tracker benchmark: {orders:,} orders on {PANELS} fake panels, "
        f"{rate:g} status requests/s each ({PER_MINUTE}/min x {args.speedup:g})",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as folder:
        small = _child(
            [
                "--phase",
                "track",
                "--orders",
                str(orders // 10),
                "--rate",
                str(rate),
                "--store",
                f"sqlite:///{folder}/small.db",
            ]
        )
        full = _child(
            [
                "--phase",
                "track",
                "--orders",
                str(orders),
                "--rate",
                str(rate),
                "--store",
                f"sqlite:///{folder}/full.db",
            ]
        )
    base = _child(["--phase", "baseline", "--orders", str(min(orders, 200_000))])
    paced = _child(["--phase", "paced", "--orders", str(min(orders, 100_000)), "--rate", str(rate)])
    rows = _child(["--phase", "store", "--orders", str(min(orders, 200_000))])
    bound = PANELS * rate * 100
    print(
        f"  polled {full['polled']:,} orders in {full['wall']:.1f} s "
        f"({full['polled'] / full['wall']:,.0f}/s; budgets allow {bound:,.0f}/s)"
    )
    print(
        f"  budget utilisation: {full['utilisation']:.1%} (worst panel), "
        f"{full['utilisation_mean']:.1%} (mean)   [target >= 95%]"
    )
    ratio = full["cpu_per_order_us"] / base["cpu_per_order_us"]
    print(
        f"  CPU per polled order: tracker {full['cpu_per_order_us']:.1f} us, iter_statuses "
        f"alone {base['cpu_per_order_us']:.1f} us: {ratio:.2f}x   [target <= 1.5x]"
    )
    print(
        f"    iter_statuses paced like the tracker (20 panels at once, same limits): "
        f"{paced['cpu_per_order_us']:.1f} us: tracker "
        f"{full['cpu_per_order_us'] / paced['cpu_per_order_us']:.2f}x that"
    )
    print(
        f"  SQLite status rows written: {rows['changed']:,.0f}/s with an event each, "
        f"{rows['unchanged']:,.0f}/s unchanged   [target >= 50,000/s]; CPU "
        f"{rows['changed_cpu_us']:.1f} and {rows['unchanged_cpu_us']:.1f} us a row"
    )
    print(f"  tracking orders: {full['tracked_per_s']:,.0f} rows inserted/s")
    print(
        f"  peak RSS: {small['rss_mib']:.0f} MiB with {small['orders']:,} orders, "
        f"{full['rss_mib']:.0f} MiB with {full['orders']:,}: "
        f"{full['rss_mib'] / small['rss_mib']:.2f}x for 10x the orders"
    )


if __name__ == "__main__":
    main()
