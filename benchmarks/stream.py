"""Streaming side by side: ``statuses`` vs ``iter_statuses``, and the CLI's ``status -`` per format.

``python -m benchmarks.stream`` starts the benchmark server (latency 0), then runs each case
in a fresh process, interleaved ``--repeat`` times, and prints one table of medians: wall
seconds, wall ÷ ``statuses`` on as many IDs, wall ÷ ``iter_statuses`` on as many IDs, client
CPU µs per order and peak RSS. The CLI reads the IDs from a file on its stdin, one a line,
and writes to a file, as ``smmpanel status - < ids > out`` would; its rows are counted, so
a fast wrong answer cannot win.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from .__main__ import server
from .server import KEY

FORMATS = ("table", "json", "csv")


# ---------------------------------------------------------------------------- child processes


async def _statuses(url: str, n: int, concurrency: int) -> int:
    import smmpanel

    async with smmpanel.Panel(url, KEY, concurrency=concurrency) as panel:
        result = await panel.statuses(range(1, n + 1))
    return len(result.ok)


async def _iter(url: str, n: int, concurrency: int) -> int:
    import smmpanel

    answered = 0
    async with smmpanel.Panel(url, KEY, concurrency=concurrency) as panel:
        async for bulk in panel.iter_statuses(range(1, n + 1)):
            answered += len(bulk.ok)
    return answered


def child(case: str, url: str, n: int, concurrency: int, report: str) -> None:
    """Run one case in this process; its figures go to ``report`` (stdout may be the CLI's)."""
    import httpx  # noqa: F401  (imports and start-up are not the client's work per order)

    import smmpanel  # noqa: F401
    from smmpanel._cli import app

    wall, cpu = time.perf_counter(), time.process_time()
    if case == "statuses":
        answered = anyio.run(_statuses, url, n, concurrency)
    elif case == "iter":
        answered = anyio.run(_iter, url, n, concurrency)
    else:
        fmt = case.removeprefix("cli-")
        os.environ["SMMPANEL_URL"], os.environ["SMMPANEL_KEY"] = url, KEY
        argv = ["status", "-", "--format", fmt, "--concurrency", str(concurrency)]
        code = app.run(argv)
        sys.stdout.flush()
        answered = -1 if code else n  # checked against the rows written, by the parent
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"wall": wall, "cpu": cpu, "rss_mb": rss, "answered": answered}
    Path(report).write_text(json.dumps(figures))


# ---------------------------------------------------------------------------- the parent


def _rows(path: Path, fmt: str) -> int:
    with path.open("rb") as out:
        lines = sum(1 for _ in out)
    return lines if fmt == "json" else lines - 1  # table and csv: one heading line


def run_once(
    case: str, url: str, n: int, concurrency: int, ids: Path, tree: str | None = None
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        report, out = Path(tmp) / "report.json", Path(tmp) / "out"
        command = [sys.executable, "-m", "benchmarks.stream", "--child", case, url, str(n)]
        command += [str(concurrency), str(report)]
        env = dict(os.environ)
        if tree is not None:  # another copy of the code, e.g. the main branch's
            env["PYTHONPATH"] = tree
        with ids.open("rb") as stdin, out.open("wb") as stdout:
            done = subprocess.run(
                command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=tree
            )
        if done.returncode or not report.exists():
            last = (done.stderr.decode().strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"{case} on {n:,} IDs failed: {last[:200]}")
        figures: dict[str, float] = json.loads(report.read_text())
        if case.startswith("cli-"):
            rows = _rows(out, case.removeprefix("cli-"))
            figures["answered"] = rows if figures["answered"] == n else -1
        if figures["answered"] != n:
            raise SystemExit(f"{case}: {figures['answered']} of {n:,} orders answered")
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream")
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process runs per case")
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--cases", default="", help="only these: statuses,iter,cli (all if empty)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="CLI formats, comma-separated")
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        help="also run every case on the code at PATH (a checkout), interleaved, for before/after",
    )
    parser.add_argument("--child", nargs=5, metavar=("CASE", "URL", "N", "C", "REPORT"))
    args = parser.parse_args()
    if args.child:
        case, url, n, concurrency, report = args.child
        child(case, url, int(n), int(concurrency), report)
        return

    formats = [f for f in args.formats.split(",") if f]
    cases = [("statuses", args.small), ("iter", args.small)]
    cases += [("statuses", args.large), ("iter", args.large)]
    cases += [(f"cli-{fmt}", args.large) for fmt in formats]
    if args.cases:
        wanted = args.cases.split(",")
        cases = [(c, n) for c, n in cases if c in wanted or c.split("-")[0] in wanted]
    trees: list[str | None] = [None] if args.baseline is None else [args.baseline, None]
    runs: dict[tuple[str | None, str, int], list[dict[str, float]]] = {
        (tree, case, n): [] for tree in trees for case, n in cases
    }
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids"
        ids.write_text("".join(f"{i}\n" for i in range(1, args.large + 1)))
        with server(args.latency) as url:
            for _ in range(args.repeat):  # interleaved: drift on a shared machine hits all
                for case, n in cases:
                    for tree in trees:
                        figures = run_once(case, url, n, args.concurrency, ids, tree)
                        runs[tree, case, n].append(figures)
    median = {
        key: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for key, rs in runs.items()
    }

    labels = {"statuses": "`statuses`", "iter": "`iter_statuses`"}
    labels |= {f"cli-{fmt}": f"CLI `status -` --format {fmt}" for fmt in FORMATS}
    print(
        f"\n### Streaming, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, "
        f"medians of {args.repeat} "
        f"({os.cpu_count()} cores, Python {sys.version.split()[0]})\n"
    )
    print(
        "| run | IDs | wall s | wall ÷ statuses | wall ÷ iter_statuses | CPU µs/order "
        "| peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    for tree in trees:
        for case, n in cases:
            r = median[tree, case, n]
            cells = [
                labels[case] + ("" if tree is None else " (baseline)"),
                f"{n:,}",
                f"{r['wall']:.2f}",
                f"{r['wall'] / median[tree, 'statuses', n]['wall']:.3f}",
                f"{r['wall'] / median[tree, 'iter', n]['wall']:.3f}",
                f"{r['cpu'] / n * 1e6:.1f}",
                f"{r['rss_mb']:.0f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
