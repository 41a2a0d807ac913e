"""The clients compared, each run in a fresh process: ``python -m benchmarks.clients NAME ...``.

Prints one JSON line: wall seconds, client CPU seconds (this process only), peak RSS, and
how many orders came back answered, so a fast wrong answer cannot win.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable

import anyio

Client = Callable[[str, str, int, int], Awaitable[int]]
CLIENTS: dict[str, Client] = {}
NAIVE_SAMPLE = 200
BACKENDS = {"smmpanel-trio": "trio"}
"""Clients that run under another event loop than asyncio."""


def client(name: str) -> Callable[[Client], Client]:
    def register(fn: Client) -> Client:
        CLIENTS[name] = fn
        return fn

    return register


def chunks(n: int, size: int = 100) -> list[list[int]]:
    return [list(range(start, min(start + size, n + 1))) for start in range(1, n + 1, size)]


@client("naive")
async def naive(url: str, key: str, n: int, concurrency: int) -> int:
    """One status request per order, one after another (what a first script does)."""
    import httpx

    answered = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for order in range(1, min(n, NAIVE_SAMPLE) + 1):
            response = await http.post(url, data={"key": key, "action": "status", "order": order})
            answered += "status" in response.json()
    return answered


@client("floor-httpx")
async def floor_httpx(url: str, key: str, n: int, concurrency: int) -> int:
    """What a careful engineer writes by hand: httpx, anyio workers, 100-ID chunks, orjson."""
    import httpx
    import orjson

    answered = 0
    todo = iter(chunks(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal answered
        for chunk in todo:
            data = {"key": key, "action": "status", "orders": ",".join(map(str, chunk))}
            response = await http.post(url, data=data)
            answered += len(orjson.loads(response.content))

    async with (
        httpx.AsyncClient(timeout=30, limits=limits) as http,
        anyio.create_task_group() as tg,
    ):
        for _ in range(concurrency):
            tg.start_soon(worker, http)
    return answered


@client("floor-aiohttp")
async def floor_aiohttp(url: str, key: str, n: int, concurrency: int) -> int:
    """The fastest stack by hand: aiohttp, asyncio workers, 100-ID chunks, msgspec."""
    import aiohttp
    import msgspec

    answered = 0
    todo = iter(chunks(n))
    decode = msgspec.json.Decoder().decode

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal answered
        for chunk in todo:
            data = {"key": key, "action": "status", "orders": ",".join(map(str, chunk))}
            async with http.post(url, data=data) as response:
                body = await response.read()  # read first: += would load the count before
                answered += len(decode(body))

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        anyio.create_task_group() as tg,
    ):
        for _ in range(concurrency):
            tg.start_soon(worker, http)
    return answered


@client("smmpanel")
async def smmpanel_statuses(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel.statuses: typed OrderStatus objects in one Bulk."""
    import smmpanel

    async with smmpanel.Panel(url, key, concurrency=concurrency) as panel:
        result = await panel.statuses(range(1, n + 1))
    return len(result.ok)


@client("smmpanel-iter")
async def smmpanel_iter(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel.iter_statuses: one Bulk per chunk as it completes, memory independent of n."""
    import smmpanel

    answered = 0
    async with smmpanel.Panel(url, key, concurrency=concurrency) as panel:
        async for bulk in panel.iter_statuses(range(1, n + 1)):
            answered += len(bulk.ok)
    return answered


@client("smmpanel-fast")
async def smmpanel_fast(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel(fast=True).statuses: the same over the aiohttp transport."""
    import smmpanel

    async with smmpanel.Panel(url, key, concurrency=concurrency, fast=True) as panel:
        result = await panel.statuses(range(1, n + 1))
    return len(result.ok)


@client("smmpanel-fast-iter")
async def smmpanel_fast_iter(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel(fast=True).iter_statuses."""
    import smmpanel

    answered = 0
    async with smmpanel.Panel(url, key, concurrency=concurrency, fast=True) as panel:
        async for bulk in panel.iter_statuses(range(1, n + 1)):
            answered += len(bulk.ok)
    return answered


@client("floor-aiohttp-single")
async def floor_aiohttp_single(url: str, key: str, n: int, concurrency: int) -> int:
    """One order per request by hand (aiohttp + msgspec): the floor for single calls."""
    import aiohttp
    import msgspec

    answered = 0
    todo = iter(range(1, n + 1))
    decode = msgspec.json.Decoder().decode

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal answered
        for order in todo:
            data = {"key": key, "action": "status", "order": str(order)}
            async with http.post(url, data=data) as response:
                body = await response.read()
                answered += "status" in decode(body)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        anyio.create_task_group() as tg,
    ):
        for _ in range(concurrency):
            tg.start_soon(worker, http)
    return answered


@client("smmpanel-single")
async def smmpanel_single(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel.status(order), one order per call, ``concurrency`` callers."""
    import smmpanel

    answered = 0
    todo = iter(range(1, n + 1))

    async def worker(panel: smmpanel.Panel) -> None:
        nonlocal answered
        for order in todo:
            found = await panel.status(order)
            answered += found.order == order

    async with (
        smmpanel.Panel(url, key, concurrency=concurrency) as panel,
        anyio.create_task_group() as tg,
    ):
        for _ in range(concurrency):
            tg.start_soon(worker, panel)
    return answered


@client("smmpanel-small")
async def smmpanel_small(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel.statuses of one chunk (100 IDs) per call, ``concurrency`` callers."""
    import smmpanel

    answered = 0
    todo = iter(chunks(n))

    async def worker(panel: smmpanel.Panel) -> None:
        nonlocal answered
        for chunk in todo:
            result = await panel.statuses(chunk)  # awaited first: += reads before an await
            answered += len(result.ok)

    async with (
        smmpanel.Panel(url, key, concurrency=concurrency) as panel,
        anyio.create_task_group() as tg,
    ):
        for _ in range(concurrency):
            tg.start_soon(worker, panel)
    return answered


@client("smmpanel-trio")
async def smmpanel_trio(url: str, key: str, n: int, concurrency: int) -> int:
    """Panel.statuses, as ``smmpanel``, under trio (see ``BACKENDS``)."""
    return await smmpanel_statuses(url, key, n, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(CLIENTS))
    parser.add_argument("url")
    parser.add_argument("key")
    parser.add_argument("orders", type=int)
    parser.add_argument("concurrency", type=int)
    args = parser.parse_args()
    run = CLIENTS[args.name]
    # Imports and interpreter start-up are not the client's work per order: warm them first.
    import httpx  # noqa: F401

    import smmpanel  # noqa: F401

    wall, cpu = time.perf_counter(), time.process_time()
    answered = anyio.run(
        run,
        args.url,
        args.key,
        args.orders,
        args.concurrency,
        backend=BACKENDS.get(args.name, "asyncio"),
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump({"wall": wall, "cpu": cpu, "rss_mb": rss, "answered": answered}, sys.stdout)


if __name__ == "__main__":
    main()
