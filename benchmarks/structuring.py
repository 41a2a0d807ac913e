"""Micro-benchmark: microseconds per status entry to parse and structure a 100-ID answer."""

from __future__ import annotations

import json
import timeit

import msgspec
import orjson

from smmpanel import _protocol

ENTRY = {
    "charge": "0.27819",
    "start_count": "3572",
    "status": "In progress",
    "remains": "157",
    "currency": "USD",
}
IDS = list(range(1, 101))
BODY = orjson.dumps({str(i): ENTRY for i in IDS})
DATA = orjson.loads(BODY)


def per_entry(fn: object, number: int = 2000) -> float:
    """Best of five runs, in microseconds per entry."""
    runs = timeit.repeat(fn, number=number, repeat=5)  # type: ignore[arg-type]
    return min(runs) / number / len(IDS) * 1e6


def run() -> list[tuple[str, float]]:
    decoder = msgspec.json.Decoder()
    return [
        ("json.loads", per_entry(lambda: json.loads(BODY))),
        ("orjson.loads", per_entry(lambda: orjson.loads(BODY))),
        ("msgspec decode (untyped)", per_entry(lambda: decoder.decode(BODY))),
        ("smmpanel converter only", per_entry(lambda: _protocol.parse_statuses(DATA, IDS))),
        (
            "smmpanel decode + converter",
            per_entry(lambda: _protocol.parse_statuses(_protocol.decode(BODY), IDS)),
        ),
    ]
