"""Micro-benchmark: microseconds per status entry, from an answer's bytes to typed results.

Both common shapes (a 100-ID ``status`` answer keyed by ID, and the single-order answer),
read by the whole pipeline ``read_reply`` runs: the fast path (``fast.bind``: bytes straight
to ``OrderStatus``) and the tolerant path it falls back to (generic decode, then
``answers``), beside bare JSON parsers as the floor.
Then what a ``Panel()`` costs to build (issue 10: ≤ 5 ms for ``http://``; https panels share
one SSL context per process) beside a bare ``httpx.AsyncClient()``, which builds its own.
``python -m benchmarks.structuring`` prints both tables.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable

import anyio
import httpx
import msgspec
import orjson

import smmpanel
from smmpanel import _protocol
from smmpanel._protocol import fast

ENTRY = {
    "charge": "0.27819",
    "start_count": "3572",
    "status": "Partial",
    "remains": "157",
    "currency": "USD",
}
IDS = list(range(1, 101))
BODY = orjson.dumps({str(i): ENTRY for i in IDS})
DATA = orjson.loads(BODY)
ONE = orjson.dumps(ENTRY)


def _scrub(text: str) -> str:
    return text


def per_entry(fn: Callable[[], object], entries: int = len(IDS), number: int = 2000) -> float:
    """Best of seven runs, in microseconds per entry."""
    runs = timeit.repeat(fn, number=number, repeat=7)
    return min(runs) / number / entries * 1e6


def run() -> list[tuple[str, float]]:
    decoder = msgspec.json.Decoder()
    many = _protocol.bind(_protocol.parse_statuses, IDS)
    one = _protocol.bind(_protocol.parse_status, 123)
    assert fast.statuses(BODY, IDS) == _protocol.parse_statuses(_protocol.decode(BODY), IDS)

    def reply(content: bytes, parse: Callable[[object], object]) -> object:
        return _protocol.read_reply("status", 200, {}, content, _scrub, parse)

    def tolerant(data: object) -> object:  # a plain callable: read_reply's tolerant steps
        return _protocol.parse_statuses(data, IDS)

    def tolerant_one(data: object) -> object:
        return _protocol.parse_status(data, 123)

    return [
        ("json.loads", per_entry(lambda: json.loads(BODY))),
        ("orjson.loads", per_entry(lambda: orjson.loads(BODY))),
        ("msgspec decode (untyped)", per_entry(lambda: decoder.decode(BODY))),
        ("tolerant: converter only (parsed JSON in)", per_entry(lambda: tolerant(DATA))),
        ("tolerant: bytes -> results (read_reply)", per_entry(lambda: reply(BODY, tolerant))),
        ("fast: bytes -> results (read_reply)", per_entry(lambda: reply(BODY, many))),
        (
            "single order, tolerant: bytes -> result",
            per_entry(lambda: reply(ONE, tolerant_one), 1, 50_000),
        ),
        ("single order, fast: bytes -> result", per_entry(lambda: reply(ONE, one), 1, 50_000)),
    ]


def construction(number: int = 50) -> list[tuple[str, float]]:
    """Milliseconds to build one client (best of five rounds of ``number``), all closed after."""
    made: list[smmpanel.Panel | httpx.AsyncClient] = []

    def build(make: Callable[[], smmpanel.Panel | httpx.AsyncClient]) -> float:
        def batch() -> None:
            made.extend(make() for _ in range(number))

        return min(timeit.repeat(batch, number=1, repeat=5)) / number * 1e3

    rows = [
        ("Panel('http://...')", build(lambda: smmpanel.Panel("http://127.0.0.1:9/api/v2", "k"))),
        ("Panel('https://...')", build(lambda: smmpanel.Panel("https://example.com/api/v2", "k"))),
        ("httpx.AsyncClient() (its own SSL context)", build(httpx.AsyncClient)),
    ]

    async def close() -> None:
        for client in made:
            await client.aclose()

    anyio.run(close)
    return rows


if __name__ == "__main__":
    rows = run()
    base = dict(rows)["orjson.loads"]
    print("| step | µs/entry | ÷ orjson.loads |\n|---|---:|---:|")
    for name, value in rows:
        print(f"| {name} | {value:.3f} | {value / base:.1f} |")
    print("\n| client built | ms each | ÷ the 5 ms bound |\n|---|---:|---:|")
    for name, value in construction():
        print(f"| {name} | {value:.3f} | {value / 5:.3f} |")
