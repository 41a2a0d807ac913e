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
def server(latency: float, kind: str = "raw") -> Iterator[str]:
    """A panel in a child process (``raw``: uvloop + httptools; ``fake``: FakePanel on uvicorn)."""
    module = "benchmarks.raw_server" if kind == "raw" else "benchmarks.server"
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--latency", str(latency)],
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


def measure_all(
    names: list[str], url: str, orders: int, concurrency: int, repeat: int
) -> dict[str, dict[str, float] | str]:
    """Medians of ``repeat`` fresh-process runs per client, the clients interleaved.

    Interleaving (floor, ours, floor, ours...) spreads a loaded machine's noise evenly over
    every client, so the ratios hold even when the bare times drift.
    """
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    failed: dict[str, str] = {}
    for _ in range(repeat):
        for name in names:
            if name in failed or (name == "naive" and runs[name]):
                continue
            try:
                runs[name].append(run_once(name, url, orders, concurrency))
            except Failed as failure:
                failed[name] = str(failure)
    results: dict[str, dict[str, float] | str] = dict(failed)
    for name, done in runs.items():
        if name in failed:
            continue
        result = {k: statistics.median(r[k] for r in done) for k in done[0]}
        expected = min(orders, NAIVE_SAMPLE) if name == "naive" else orders
        if result["answered"] != expected:
            raise SystemExit(f"{name}: {result['answered']} of {expected} orders answered")
        if name == "naive":  # a sample, extrapolated to the full count
            scale = orders / expected
            result["wall"] *= scale
            result["cpu"] *= scale
        result["orders"] = orders
        results[name] = result
    return {name: results[name] for name in names}


def row(label: str, r: dict[str, float], floor: dict[str, float] | None, bound: float) -> str:
    """One client's line: bare figures, then its ratios to the floor and to the bound."""
    per_order = r["cpu"] / r["orders"] * 1e6
    cells = [
        label,
        f"{r['wall']:.2f}",
        f"{r['orders'] / r['wall']:,.0f}",
        f"{per_order:.1f}",
        f"{r['rss_mb']:.0f}",
    ]
    if floor is not None:
        cells += [f"{r['cpu'] / floor['cpu']:.2f}", f"{r['wall'] / floor['wall']:.2f}"]
    else:
        cells += ["—", "—"]
    cells.append(f"{r['wall'] / bound:.2f}" if bound else "—")
    return "| " + " | ".join(cells) + " |"


LABELS = {
    "naive": f"naive peer: 1 request/order, sequential (extrapolated from {NAIVE_SAMPLE})",
    "floor-aiohttp": "floor: aiohttp + msgspec by hand",
    "floor-httpx": "floor: httpx + anyio + orjson by hand",
    "smmpanel": "smmpanel `statuses`",
    "smmpanel-iter": "smmpanel `iter_statuses`",
    "smmpanel-fast": "smmpanel `statuses`, fast=True",
    "smmpanel-trio": "smmpanel `statuses` on trio",
    "floor-aiohttp-single": "floor: aiohttp + msgspec, one order per request",
    "smmpanel-single": "smmpanel `status(order)`, one order per call",
    "smmpanel-small": "smmpanel `statuses` of 100 IDs, one call after another",
}

# The floor (first) and the clients compared with it.
BULK = [
    "floor-aiohttp",
    "floor-httpx",
    "smmpanel",
    "smmpanel-iter",
    "smmpanel-fast",
    "smmpanel-trio",
]
SINGLE = ["floor-aiohttp-single", "smmpanel-single"]
SMALL = ["floor-aiohttp", "smmpanel-small"]

HEADER = (
    "| client | wall s | orders/s | client CPU µs/order | peak RSS MB | CPU ÷ aiohttp floor "
    "| wall ÷ aiohttp floor | wall ÷ bound |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)


def orders_for(latency: float, concurrency: int, orders: int, per_request: int = 100) -> int:
    """Enough orders for about three seconds per run at a latency, at most ``orders``."""
    if latency == 0:
        return orders
    per_second = concurrency * per_request / latency
    return int(min(orders, max(2000, per_second * 3)) // 100 * 100)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, action="append")
    parser.add_argument("--concurrency", type=int, action="append")
    parser.add_argument("--server", choices=["raw", "fake"], default="raw")
    parser.add_argument(
        "--small", type=int, default=2000, help="single calls timed (0: skip single/small)"
    )
    parser.add_argument(
        "--million",
        type=int,
        default=1_000_000,
        help="IDs streamed through iter_statuses for the memory check (0: skip)",
    )
    args = parser.parse_args()
    if args.quick:
        args.orders, args.repeat, args.million, args.small = 10_000, 1, 0, 500
        args.latency = args.latency or [0.05]
        args.concurrency = args.concurrency or [16]
    latencies = args.latency or [0.0, 0.05, 0.2]
    concurrencies = args.concurrency or [1, 16, 64]
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

    def table(
        title: str, names: list[str], url: str, n: int, concurrency: int, bound: float
    ) -> dict[str, dict[str, float] | str]:
        say()
        say(f"### {title}" + (f" (bound {bound:.2f} s)" if bound else ""))
        say()
        say(HEADER)
        results = measure_all(names, url, n, concurrency, args.repeat)
        floor = results[names[0]]
        for name, outcome in results.items():
            if isinstance(outcome, str):
                say(f"| {LABELS[name]} | {outcome} | | | | | | |")
            else:
                say(row(LABELS[name], outcome, floor if isinstance(floor, dict) else None, bound))
        return results

    for latency in latencies:
        with server(latency, args.server) as url:
            for concurrency in concurrencies:
                n = orders_for(latency, concurrency, args.orders)
                naive = ["naive"] if concurrency == 1 and latency <= 0.05 else []
                names = [BULK[0], *naive, *BULK[1:]]  # the floor first
                table(
                    f"{n:,} orders, latency {latency * 1000:.0f} ms, concurrency {concurrency}",
                    names,
                    url,
                    n,
                    concurrency,
                    n / 100 / concurrency * latency,
                )
            if args.small and latency == latencies[0]:
                n = orders_for(latency, 16, args.small, per_request=1)
                table(
                    f"{n:,} single calls, latency {latency * 1000:.0f} ms, concurrency 16",
                    SINGLE,
                    url,
                    n,
                    16,
                    n / 16 * latency,
                )
                n = orders_for(latency, 1, args.small * 10)
                table(
                    f"{n:,} orders as bulks of one chunk, latency {latency * 1000:.0f} ms",
                    SMALL,
                    url,
                    n,
                    1,
                    n / 100 * latency,
                )
    if args.million:
        with server(0.0, args.server) as url:
            table(
                f"{args.million:,} IDs in one call, latency 0, concurrency 16",
                ["floor-aiohttp", "smmpanel", "smmpanel-iter"],
                url,
                args.million,
                16,
                0.0,
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.md'}")


if __name__ == "__main__":
    main()
