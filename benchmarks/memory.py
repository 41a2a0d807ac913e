"""Memory and CPU of ``Panel.statuses`` as the number of IDs grows: 100k against 1M.

``python -m benchmarks.memory`` serves a FakePanel in its own process (``benchmarks.server``)
and runs each size in a fresh client process, which reports its peak RSS
(``ru_maxrss``), its CPU, and the time its garbage collector took (``gc.callbacks``). The
ratio of CPU per order at the largest size to the smallest says whether the cost per order
stays flat (issue 10: peak RSS ≤ 250 MB at 1M, CPU per order within 10% of the 100k figure).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time

import anyio

from .__main__ import server
from .server import KEY


def child(url: str, orders: int, concurrency: int) -> dict[str, float]:
    """One run in this process: ``statuses(range(1, orders + 1))``; returns its figures."""
    import smmpanel

    spent = [0.0, 0.0]  # GC seconds, collections of the oldest generation

    def clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent.append(time.perf_counter())
        else:
            spent[0] += time.perf_counter() - spent.pop()
            spent[1] += info["generation"] == 2

    async def run() -> int:
        async with smmpanel.Panel(url, KEY, concurrency=concurrency) as panel:
            result = await panel.statuses(range(1, orders + 1))
        assert not result.errors, next(iter(result.errors.values()))
        return len(result.ok)

    gc.callbacks.append(clock)
    wall, cpu = time.perf_counter(), time.process_time()
    answered = anyio.run(run)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.callbacks.remove(clock)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "orders": orders,
        "answered": answered,
        "wall": wall,
        "cpu": cpu,
        "gc": spent[0],
        "full_gcs": spent[1],
        "rss_mb": rss,
    }


def measure(url: str, orders: int, concurrency: int, repeat: int) -> dict[str, float]:
    """Median of ``repeat`` fresh-process runs."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--child",
                url,
                str(orders),
                "--concurrency",
                str(concurrency),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{orders:,} orders: {done.stderr.strip()[-400:]}")
        runs.append(json.loads(done.stdout))
    result = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    if result["answered"] != orders:
        raise SystemExit(f"{result['answered']} of {orders} orders answered")
    return result


HEADER = (
    "| orders | wall s | client CPU µs/order | of which GC µs/order | full GCs | peak RSS MB "
    "| CPU/order ÷ smallest |\n|---:|---:|---:|---:|---:|---:|---:|"
)


def table(results: list[dict[str, float]]) -> list[str]:
    base = results[0]["cpu"] / results[0]["orders"]
    lines = [HEADER]
    for r in results:
        per = r["cpu"] / r["orders"]
        lines.append(
            f"| {r['orders']:,.0f} | {r['wall']:.2f} | {per * 1e6:.1f} "
            f"| {r['gc'] / r['orders'] * 1e6:.1f} | {r['full_gcs']:.0f} | {r['rss_mb']:.0f} "
            f"| {per / base:.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    parser.add_argument("--child", nargs=2, metavar=("URL", "ORDERS"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.child:
        url, orders = args.child
        json.dump(child(url, int(orders), args.concurrency), sys.stdout)
        return
    with server(0.0) as url:
        results = [measure(url, n, args.concurrency, args.repeat) for n in args.sizes]
    print(f"### `statuses()` as the IDs grow (latency 0, concurrency {args.concurrency})\n")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
