"""Benchmarks for ``Panels``: balances across many panels, and cheapest from the cache.

``python -m benchmarks.panels`` prints two tables:

- ``balances()`` over 50 fake panels that each wait 50 ms per answer, as a ratio to one
  panel's ``balance()`` (target: at most 1.2x). Over real HTTP (one server process
  listening on 50 ports, so 50 origins; ``Panels.from_toml`` and its one shared pool) and
  in memory (each fake's own transport).
- ``cheapest`` over 50 catalogues of 5,000 services answered from the cache (target: under
  50 ms), the first call (which also learns currencies and builds the rate index), and a
  query that matches nothing (every service looked at).

``--quick`` runs fewer rounds. Medians of the rounds; wall clock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path

import anyio

import smmpanel
from smmpanel.testing import ORDER_TYPES, FakePanel, FakeService

KEY = "bench-panels-key-0123456789"
PANELS = 50
LATENCY = 0.05
SERVICES = 5_000


def serve(count: int, latency: float) -> None:
    """One uvicorn server on ``count`` ports (prints them on one line), until killed."""
    import uvicorn

    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    print(" ".join(str(sock.getsockname()[1]) for sock in sockets), flush=True)
    fake = FakePanel(key=KEY, latency=latency)
    config = uvicorn.Config(fake, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=sockets)


async def timed(call: Callable[[], Awaitable[object]], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


@contextlib.contextmanager
def server() -> Iterator[list[str]]:
    """The fake panels' server in a child process (its CPU is not the client's); its ports."""
    command = [sys.executable, "-m", "benchmarks.panels", "--serve", str(PANELS), str(LATENCY)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ports = proc.stdout.readline().split()
        for port in ports:  # bound before uvicorn listens: wait until each one accepts
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        yield ports
    finally:
        proc.terminate()
        proc.wait(10)


async def balances_http(rounds: int, ports: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "panels.toml"
        path.write_text(
            "".join(
                f'[panels.p{i}]\nurl = "http://127.0.0.1:{port}/api/v2"\nkey_env = "BENCH_KEY"\n'
                for i, port in enumerate(ports)
            )
        )
        os.environ["BENCH_KEY"] = KEY
        async with smmpanel.Panels.from_toml(path) as panels:
            cold = await timed(panels.balances, 1)
            one = await timed(panels["p0"].balance, rounds)
            start = time.process_time()
            every = await timed(panels.balances, rounds)
            cpu = (time.process_time() - start) / rounds / PANELS
            answers = await panels.balances()
            assert all(isinstance(b, smmpanel.Balance) for b in answers.values()), answers
    return {
        "one": statistics.median(one),
        "all": statistics.median(every),
        "cold": cold[0],
        "cpu": cpu,
    }


async def balances_memory(rounds: int) -> dict[str, float]:
    fakes = [FakePanel(latency=LATENCY) for _ in range(PANELS)]
    made = {f"p{i}": fake.panel() for i, fake in enumerate(fakes)}
    async with smmpanel.Panels(made) as panels:
        one = await timed(made["p0"].balance, rounds)
        start = time.process_time()
        every = await timed(panels.balances, rounds)
        cpu = (time.process_time() - start) / rounds / PANELS
    for panel in made.values():
        await panel.aclose()
    return {"one": statistics.median(one), "all": statistics.median(every), "cpu": cpu}


def catalogue(seed: int) -> list[FakeService]:
    rng = random.Random(seed)
    types = ORDER_TYPES[:4] + ("Default",) * 8  # mostly Default, as real catalogues are
    services = []
    for id_ in range(1, SERVICES + 1):
        low = rng.choice([10, 50, 100, 500, 1000])
        services.append(
            FakeService(
                id_,
                f"Service {id_} [{seed}]",
                rng.choice(types),
                f"Category {id_ % 40}",
                Decimal(rng.randint(5, 50_000)) / 1000,
                low,
                low * rng.choice([10, 100, 1000]),
                refill=rng.random() < 0.4,
                cancel=rng.random() < 0.5,
                dripfeed=rng.random() < 0.3,
            )
        )
    return services


async def cheapest(rounds: int) -> dict[str, float]:
    made = {f"p{i}": FakePanel(services=catalogue(i)).panel(timeout=120.0) for i in range(PANELS)}
    async with smmpanel.Panels(made) as panels:
        start = time.perf_counter()
        loaded = await panels.services()
        fetch = time.perf_counter() - start
        assert sum(map(len, loaded.values())) == PANELS * SERVICES

        def query() -> Awaitable[tuple[str, smmpanel.Service]]:
            return panels.cheapest(type="Default", quantity=1000, refill=True)

        first = await timed(query, 1)
        warm = await timed(query, rounds)

        async def nothing() -> None:
            with contextlib.suppress(LookupError):
                await panels.cheapest(quantity=1000, where=lambda name, service: False)

        scan = await timed(nothing, max(3, rounds // 4))
    for panel in made.values():
        await panel.aclose()
    return {
        "fetch": fetch,
        "first": first[0],
        "warm": statistics.median(warm),
        "scan": statistics.median(scan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--serve", nargs=2, metavar=("COUNT", "LATENCY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), float(args.serve[1]))
        return
    rounds = 5 if args.quick else 20

    ms = 1000
    print(
        f"balances(): {PANELS} fake panels, {LATENCY * ms:.0f} ms per answer, medians of {rounds}"
    )
    print("| transport | one panel ms | all panels ms | ratio (target <= 1.2) | CPU/panel ms |")
    print("|---|---:|---:|---:|---:|")
    with server() as ports:
        runs = [("HTTP, from_toml", anyio.run(balances_http, rounds, ports))]
    runs.append(("in memory", anyio.run(balances_memory, rounds)))
    for label, figures in runs:
        one, every, cpu = figures["one"] * ms, figures["all"] * ms, figures["cpu"] * ms
        print(f"| {label} | {one:.1f} | {every:.1f} | {every / one:.2f} | {cpu:.2f} |")
        if "cold" in figures:
            print(f"| {label}, first call (connects) | | {figures['cold'] * ms:.1f} | | |")

    figures = anyio.run(cheapest, rounds)
    fetch, first, warm, scan = (figures[k] * ms for k in ("fetch", "first", "warm", "scan"))
    print()
    print(f"cheapest(): {PANELS} catalogues of {SERVICES:,} services, from the cache")
    print("| call | ms |")
    print("|---|---:|")
    print(f"| services(), first fetch (not from the cache) | {fetch:.0f} |")
    print(f"| first cheapest (learns currencies, builds the rate index) | {first:.1f} |")
    print(f"| cheapest(type, quantity, refill), cached (target < 50) | {warm:.2f} |")
    print(f"| a query nothing matches (looks at all {PANELS * SERVICES:,}) | {scan:.1f} |")


if __name__ == "__main__":
    main()
