"""Throughput of ``smmpanel track worker`` with 1, 2 and 4 workers, and a dead worker's hand-over.

40 latency-bound fake panels (each answer takes ``--latency`` seconds; each panel allows
``--rate`` status requests a second) serve orders that never end, polled as often as the
cadence allows, so the panels' budgets bound the work: throughput is reported as a ratio
to that bound (the sum of the panels' rates), counted at the fake panels. Each worker polls
``--concurrency`` panels at once, so one worker covers a part of the 40 and adding workers
spreads them. Then one of 4 workers is killed with ``kill -9``: the time until each of its
panels gets its next request (from another worker) is the hand-over time.

``python -m benchmarks.workers [--quick]``; needs PostgreSQL (see tests/_pg.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _pg import fresh_database, throwaway
from _worker_fleet import Fleet, fleet, holders, start_worker, stop_workers, track_all


def _count(fakes: Fleet, start: float, end: float) -> int:
    return sum(sum(1 for at in fake.arrivals if start <= at < end) for fake in fakes.fakes.values())


def _all_polled(fakes: Fleet, since: float) -> bool:
    return all(any(at >= since for at in fake.arrivals) for fake in fakes.fakes.values())


def throughput(
    base: str, directory: Path, workers: int, args: argparse.Namespace
) -> tuple[float, float]:
    """(requests a second, ratio to the budget bound) with ``workers`` workers."""
    url = fresh_database(base)
    with fleet(
        directory,
        args.panels,
        args.orders,
        rate=args.rate,
        concurrency=args.panel_concurrency,
        latency=args.latency,
        auto=True,
    ) as fakes:
        track_all(url, fakes)
        procs = [
            start_worker(
                url,
                fakes.config,
                directory / f"bench-{workers}-{n}.log",
                cadence="1,1",
                concurrency=args.concurrency,
                slice_=args.slice,
            )
            for n in range(workers)
        ]
        try:
            began = time.time()
            deadline = began + 60
            # Warm up: every worker started and polling.
            while time.time() < deadline and len(holders(url)) < workers:
                time.sleep(0.5)
            time.sleep(args.warmup)
            start = time.time()
            time.sleep(args.window)
            end = time.time()
        finally:
            stop_workers(procs)
        done = _count(fakes, start, end)
    per_second = done / (end - start)
    bound = args.panels * args.rate
    return per_second, per_second / bound


def hand_over(base: str, directory: Path, args: argparse.Namespace) -> tuple[int, float, float]:
    """Kill one of 4 workers: (its panels, median and worst seconds to their next request)."""
    url = fresh_database(base)
    with fleet(
        directory,
        args.panels,
        args.orders,
        rate=args.rate,
        concurrency=args.panel_concurrency,
        latency=args.latency,
        auto=True,
    ) as fakes:
        track_all(url, fakes)
        procs = [
            start_worker(
                url,
                fakes.config,
                directory / f"kill-{n}.log",
                cadence="1,1",
                concurrency=args.concurrency,
                slice_=args.slice,
            )
            for n in range(4)
        ]
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                held = holders(url)
                if len(held) == 4 and all(held.values()):
                    break
                time.sleep(0.5)
            time.sleep(args.warmup)
            held = holders(url)
            victim_pid = max(held, key=lambda pid: len(held[pid]))
            orphans = held[victim_pid]
            victim = next(p for p in procs if p.pid == victim_pid)
            os.kill(victim_pid, signal.SIGKILL)
            killed = time.time()
            victim.wait()
            procs.remove(victim)
            time.sleep(1.0)  # requests in flight at the kill still arrive (latency)
            waits: dict[str, float] = {}
            while time.time() < killed + 60 and len(waits) < len(orphans):
                for name in orphans:
                    later = [at for at in fakes.fakes[name].arrivals if at > killed + 1.0]
                    if later and name not in waits:
                        waits[name] = min(later) - killed
                time.sleep(0.2)
        finally:
            stop_workers(procs)
    missing = len(orphans) - len(waits)
    if missing:
        print(f"  {missing} panels did not resume within 60 s")
    values = list(waits.values()) or [float("nan")]
    return len(orphans), statistics.median(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--panels", type=int, default=40)
    parser.add_argument("--rate", type=float, default=1.0, help="status requests/s per panel")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per answer")
    parser.add_argument("--orders", type=int, default=300, help="orders per panel")
    parser.add_argument("--panel-concurrency", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="panels per worker")
    parser.add_argument("--slice", type=float, default=30.0)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    args = parser.parse_args()
    if args.quick:
        args.window, args.warmup = 8.0, 4.0
    print(
        f"{args.panels} fake panels, {args.rate:g} status requests/s each "
        f"(bound {args.panels * args.rate:g}/s), {args.latency:g} s latency, "
        f"{args.orders} never-ending orders each, cadence 1,1; "
        f"--concurrency {args.concurrency} panels per worker, --slice {args.slice:g} s"
    )
    with throwaway() as base, tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for workers in (1, 2, 4):
            per_second, ratio = throughput(base, directory, workers, args)
            print(
                f"{workers} worker(s): {per_second:6.1f} requests/s "
                f"({per_second * 100:7.0f} orders/s), {ratio:5.1%} of the budget bound"
            )
        count, median, worst = hand_over(base, directory, args)
        print(
            f"kill -9 of 1 of 4 workers: its {count} panels resumed after "
            f"{median:.1f} s (median), {worst:.1f} s (worst)"
        )


if __name__ == "__main__":
    main()
