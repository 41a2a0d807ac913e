"""Invariants checked with Hypothesis: bulk chunking, and parsing of every value variant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smmpanel import OrderStatus, Panel, RefillState, Status
from smmpanel._protocol import decode, parse_refill_statuses, parse_status, parse_statuses

URL = "https://panel.example/api/v2"
KEY = "hypothesis-key"

# ------------------------------------------------------------------------------ chunking


class Counting:
    """A mock panel that answers every status chunk and remembers the chunks it was sent."""

    def __init__(self) -> None:
        self.chunks: list[list[int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        fields = dict(httpx.QueryParams(request.content.decode()))
        ids = [int(i) for i in fields["orders"].split(",")]
        self.chunks.append(ids)
        return httpx.Response(200, json={str(i): {"status": "Pending"} for i in ids})


ids_with_repeats = st.lists(
    st.integers(min_value=1, max_value=400).flatmap(lambda i: st.sampled_from([i, str(i)])),
    max_size=350,
)


@pytest.mark.anyio
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=ids_with_repeats, chunk_size=st.integers(min_value=1, max_value=100))
async def test_chunking_sends_each_id_once_in_bounded_chunks(
    ids: list[int | str], chunk_size: int
) -> None:
    """Any IDs with repeats, any chunk_size: each unique ID is sent exactly once, no request
    holds more than chunk_size IDs, and the result follows the first-seen input order."""
    panel_side = Counting()
    transport = httpx.MockTransport(panel_side)
    async with Panel(URL, KEY, transport=transport, chunk_size=chunk_size, concurrency=4) as panel:
        bulk = await panel.statuses(ids)
    first_seen = list(dict.fromkeys(int(i) for i in ids))
    sent = [id for chunk in panel_side.chunks for id in chunk]
    assert sorted(sent) == sorted(first_seen)
    assert len(sent) == len(set(sent))
    assert all(1 <= len(chunk) <= chunk_size for chunk in panel_side.chunks)
    assert len(panel_side.chunks) == -(-len(first_seen) // chunk_size)
    assert list(bulk.ok) == first_seen
    assert bulk.errors == {}


# ------------------------------------------------------------------------------ parsing

WORDS: dict[tuple[str, ...], Status] = {
    ("pending",): Status.PENDING,
    ("in", "progress"): Status.IN_PROGRESS,
    ("processing",): Status.PROCESSING,
    ("completed",): Status.COMPLETED,
    ("partial",): Status.PARTIAL,
    ("canceled",): Status.CANCELED,
    ("cancelled",): Status.CANCELED,
    ("refunded",): Status.REFUNDED,
    ("active",): Status.ACTIVE,
    ("awaiting",): Status.AWAITING,
    ("paused",): Status.PAUSED,
    ("expired",): Status.EXPIRED,
    ("fail",): Status.FAILED,
    ("error",): Status.FAILED,
}
KNOWN_FOLDED = {"".join(parts) for parts in WORDS} | {"complete", "failed"}


@st.composite
def spelled(draw: st.DrawFn, parts: tuple[str, ...]) -> str:
    """A word as panels spell it: any case, parts joined by " ", "_", "-" or nothing, padded."""
    joiner = draw(st.sampled_from([" ", "_", "-", ""]))
    word = joiner.join(parts)
    word = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    pad = st.sampled_from(["", " ", "  ", "\t"])
    return draw(pad) + word + draw(pad)


@st.composite
def status_words(draw: st.DrawFn) -> tuple[str, Status]:
    """A known status word in any spelling, or an unknown word (UNKNOWN)."""
    if draw(st.integers(0, 4)) == 0:
        word = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12))
        folded = word.replace(" ", "")
        if not folded or folded in KNOWN_FOLDED:
            word, folded = "queued", "queued"
        return word, Status.UNKNOWN
    parts, status = draw(st.sampled_from(list(WORDS.items())))
    return draw(spelled(parts)), status


MISSING = st.sampled_from(['""', "null", '"Unknown"', '"N/A"', "absent"])


@dataclass
class Field:
    json: str  # the value as JSON text, or "absent"
    expected: Any


@st.composite
def money_field(draw: st.DrawFn) -> Field:
    """charge as a JSON string, a JSON number with its own digits, an int, or missing."""
    kind = draw(st.sampled_from(["string", "number", "int", "missing"]))
    if kind == "missing":
        return Field(draw(MISSING), None)
    if kind == "int":
        value = draw(st.integers(0, 10**9))
        return Field(str(value), Decimal(value))
    amount = draw(st.decimals(min_value=0, max_value=10**6, places=draw(st.integers(1, 6))))
    digits = format(amount, "f")
    return Field(f'"{digits}"' if kind == "string" else digits, Decimal(digits))


@st.composite
def count_field(draw: st.DrawFn, low: int = 0) -> Field:
    """A count as an int, a string, a padded string, a float ending in .0, or missing."""
    kind = draw(st.sampled_from(["int", "string", "padded", "float", "missing"]))
    if kind == "missing":
        return Field(draw(MISSING), None)
    value = draw(st.integers(low, 10**9))
    text = {"int": str(value), "string": f'"{value}"', "padded": f'" {value} "'}.get(
        kind, f"{value}.0"
    )
    return Field(text, value)


@st.composite
def status_entries(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A status entry's JSON text and the OrderStatus fields it must parse to."""
    word, status = draw(status_words())
    charge = draw(money_field())
    start = draw(count_field())
    remains = draw(count_field(low=-1000))
    currency = draw(st.none() | st.sampled_from(["USD", "EUR", "BRL", "INR", "VND"]))
    start_key = draw(st.sampled_from(["start_count", "start_counter"]))
    members = [f'"status": {json.dumps(word)}']
    for name, field in (("charge", charge), (start_key, start), ("remains", remains)):
        if field.json != "absent":
            members.append(f'"{name}": {field.json}')
    if currency is not None:
        members.append(f'"currency": " {currency} "')
    if draw(st.booleans()):
        members.append('"runs": "3", "orders": [11, 12]')
    order = draw(st.permutations(members))
    expected = {
        "status": status,
        "raw_status": word.strip(),
        "charge": charge.expected,
        "start_count": start.expected,
        "remains": remains.expected,
        "currency": currency,
    }
    return "{" + ", ".join(order) + "}", expected


def check(result: object, order: int, expected: dict[str, Any]) -> None:
    assert isinstance(result, OrderStatus)
    assert result.order == order
    for name, value in expected.items():
        assert getattr(result, name) == value, name
    if result.charge is not None:
        assert type(result.charge) is Decimal
        assert str(result.charge) == str(expected["charge"])


@given(entry=status_entries(), order=st.integers(1, 10**12))
def test_any_status_entry_parses_to_its_fields(
    entry: tuple[str, dict[str, Any]], order: int
) -> None:
    """A status entry built from any mix of value variants parses to the right fields."""
    text, expected = entry
    check(parse_status(decode(text.encode()), order), order, expected)


@given(
    entries=st.lists(status_entries(), min_size=1, max_size=6),
    form=st.sampled_from(["keyed", "list", "list-with-ids"]),
)
def test_any_multi_status_answer_parses_each_entry(
    entries: list[tuple[str, dict[str, Any]]], form: str
) -> None:
    """Keyed by ID or a list in request order, every entry parses to its own fields."""
    ids = list(range(101, 101 + len(entries)))
    texts = [text for text, _ in entries]
    if form == "keyed":
        body = "{" + ", ".join(f'"{i}": {t}' for i, t in zip(ids, texts, strict=True)) + "}"
    elif form == "list":
        body = "[" + ", ".join(texts) + "]"
    else:
        body = (
            "["
            + ", ".join(f'{{"order": {i}, ' + t[1:] for i, t in zip(ids, texts, strict=True))
            + "]"
        )
    result = parse_statuses(decode(body.encode()), ids)
    assert list(result) == ids
    for id, (_, expected) in zip(ids, entries, strict=True):
        check(result[id], id, expected)


REFILL_WORDS = {
    ("pending",): RefillState.PENDING,
    ("in", "progress"): RefillState.IN_PROGRESS,
    ("completed",): RefillState.COMPLETED,
    ("rejected",): RefillState.REJECTED,
    ("error",): RefillState.FAILED,
}


@given(
    words=st.lists(
        st.sampled_from(list(REFILL_WORDS)).flatmap(
            lambda parts: spelled(parts).map(lambda word: (word, REFILL_WORDS[parts]))
        ),
        min_size=1,
        max_size=5,
    ),
    keyed=st.booleans(),
)
def test_any_refill_status_answer_parses_each_word(
    words: list[tuple[str, RefillState]], keyed: bool
) -> None:
    """Refill words in any spelling, keyed or listed, map to their RefillState."""
    ids = list(range(1, len(words) + 1))
    if keyed:
        data: Any = {str(i): {"status": w} for i, (w, _) in zip(ids, words, strict=True)}
    else:
        data = [{"refill": i, "status": w} for i, (w, _) in zip(ids, words, strict=True)]
    result = parse_refill_statuses(decode(json.dumps(data).encode()), ids)
    for id, (word, state) in zip(ids, words, strict=True):
        refill = result[id]
        assert not isinstance(refill, Exception)
        assert (refill.refill, refill.status, refill.raw_status) == (id, state, word.strip())
