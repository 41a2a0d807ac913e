"""Run the benchmark suite: smmpanel beside a hand-written floor and a naive peer.

Every figure comes from the same run on the same machine: a FakePanel server in its own
process (optionally adding latency to model a remote panel), each client in a fresh process
of its own, timed for wall clock, client CPU and peak RSS. Ratios, not bare times, are the
result. ``python -m benchmarks --quick`` is a short smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import structuring
from .clients import NAIVE_SAMPLE
from .server import KEY

RESULTS = Path(__file__).parent / "results"


@contextmanager
def server(latency: float) -> Iterator[str]:
    """A FakePanel server in a child process; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/api/v2"
    finally:
        proc.terminate()
        proc.wait(10)


class Failed(Exception):
    """A client that could not finish a run (after one more try)."""


def run_once(name: str, url: str, orders: int, concurrency: int) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.clients", name, url, KEY, str(orders)]
    for _ in range(2):  # one more try: a loaded 2-core machine can time a request out
        done = subprocess.run(
            [*command, str(concurrency)], capture_output=True, text=True, timeout=600
        )
        if done.returncode == 0:
            return dict(json.loads(done.stdout))
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise Failed(f"{name} failed: {last[:120]}")


def measure(name: str, url: str, orders: int, concurrency: int, repeat: int) -> dict[str, float]:
    """Median of ``repeat`` fresh-process runs of one client."""
    runs = [run_once(name, url, orders, concurrency) for _ in range(repeat)]
    result = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    expected = min(orders, NAIVE_SAMPLE) if name == "naive" else orders
    if result["answered"] != expected:
        raise SystemExit(f"{name}: {result['answered']} of {expected} orders answered")
    if name == "naive":  # a sample, extrapolated to the full count
        scale = orders / expected
        result["wall"] *= scale
        result["cpu"] *= scale
    result["orders"] = orders
    return result


def row(label: str, r: dict[str, float], floor: dict[str, float] | None) -> str:
    per_order = r["cpu"] / r["orders"] * 1e6
    cells = [
        label,
        f"{r['wall']:.2f}",
        f"{r['orders'] / r['wall']:,.0f}",
        f"{per_order:.1f}",
        f"{r['rss_mb']:.0f}",
    ]
    if floor is not None:
        cells += [
            f"{r['wall'] / floor['wall']:.2f}",
            f"{per_order / (floor['cpu'] / floor['orders'] * 1e6):.2f}",
        ]
    else:
        cells += ["—", "—"]
    return "| " + " | ".join(cells) + " |"


LABELS = {
    "naive": f"naive peer: 1 request/order, sequential (extrapolated from {NAIVE_SAMPLE})",
    "floor-httpx": "floor: httpx + anyio + orjson by hand",
    "smmpanel": "smmpanel `statuses`",
    "smmpanel-iter": "smmpanel `iter_statuses`",
    "floor-aiohttp": "floor: aiohttp + msgspec by hand",
    "smmpanel-fast": "smmpanel `statuses`, fast=True",
}


def CLIENTS_AT(concurrency: int) -> list[str]:
    """The clients compared at this concurrency, the floor first."""
    names = ["floor-httpx", "smmpanel", "smmpanel-iter"]
    if concurrency == 1:
        names.insert(1, "naive")
    if concurrency >= 16:
        names += ["floor-aiohttp", "smmpanel-fast"]
    return names


HEADER = (
    "| client | wall s | orders/s | client CPU µs/order | peak RSS MB | wall ÷ floor "
    "| CPU ÷ floor |\n|---|---:|---:|---:|---:|---:|---:|"
)


def orders_for(latency: float, concurrency: int, orders: int) -> int:
    """Enough orders for about three seconds per run at high latency, at most ``orders``."""
    if latency == 0 or concurrency >= 16:
        return orders
    per_second = concurrency * 100 / latency
    return int(min(orders, max(2000, per_second * 3)) // 100 * 100)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, action="append")
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument(
        "--million",
        type=int,
        default=1_000_000,
        help="IDs streamed through iter_statuses for the memory check (0: skip)",
    )
    args = parser.parse_args()
    if args.quick:
        args.orders, args.repeat, args.million = 10_000, 1, 0
        args.latency = args.latency or [0.05]
        args.concurrency = args.concurrency or [16]
    latencies = args.latency or [0.0, 0.05]
    concurrencies = args.concurrency or [1, 4, 16, 64]
    lines = [f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", ""]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    say("### Structuring one 100-ID status answer (µs per entry, best of 5)")
    say()
    say("| step | µs/entry | ÷ orjson.loads |\n|---|---:|---:|")
    rows = structuring.run()
    base = dict(rows)["orjson.loads"]
    for name, value in rows:
        say(f"| {name} | {value:.3f} | {value / base:.1f} |")

    for latency in latencies:
        with server(latency) as url:
            for concurrency in concurrencies:
                n = orders_for(latency, concurrency, args.orders)
                bound = n / 100 / concurrency * latency
                say()
                say(
                    f"### {n:,} orders, latency {latency * 1000:.0f} ms, concurrency "
                    f"{concurrency}" + (f" (bound {bound:.2f} s)" if latency else "")
                )
                say()
                say(HEADER)
                results: dict[str, dict[str, float] | str] = {}
                for name in CLIENTS_AT(concurrency):
                    try:
                        count = 1 if name == "naive" else args.repeat
                        results[name] = measure(name, url, n, concurrency, count)
                    except Failed as failure:
                        results[name] = str(failure)
                floor = results["floor-httpx"]
                for name, outcome in results.items():
                    if isinstance(outcome, str):
                        say(f"| {LABELS[name]} | {outcome} | | | | | |")
                    else:
                        say(row(LABELS[name], outcome, floor if isinstance(floor, dict) else None))
                fast, fast_floor = results.get("smmpanel-fast"), results.get("floor-aiohttp")
                if isinstance(fast, dict) and isinstance(fast_floor, dict):
                    say(
                        f"\nfast=True ÷ aiohttp floor: CPU "
                        f"{(fast['cpu'] / fast_floor['cpu']):.2f}×, wall "
                        f"{fast['wall'] / fast_floor['wall']:.2f}×"
                        + (f"; wall ÷ bound {fast['wall'] / bound:.2f}×" if latency else "")
                    )
    if args.million:
        with server(0.0) as url:
            say()
            say(
                f"### {args.million:,} IDs streamed through iter_statuses (latency 0, "
                "concurrency 16)"
            )
            say()
            say(HEADER)
            say(
                row(
                    "smmpanel `iter_statuses`",
                    measure("smmpanel-iter", url, args.million, 16, 1),
                    None,
                )
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
