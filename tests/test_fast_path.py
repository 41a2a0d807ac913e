"""The fast path of status answers gives what the tolerant path gives, for any answer.

``fast`` reads the common shapes straight from bytes; anything else is ``None`` and the
tolerant path reads it. Generated answers (weird numbers, whitespace, missing fields,
nulls, huge ints, non-ASCII, error entries, unknown keys) must come out equal either way,
through ``read_reply`` as the client calls it. Also: a draft-built ``OrderStatus`` is an
ordinary one, the shared empty ``extra`` cannot change, and the shared tables stay bounded.
"""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smmpanel import OrderStatus, Status
from smmpanel._errors import Failure, SMMPanelError
from smmpanel._models import NO_EXTRA, StatusDraft
from smmpanel._protocol import bind, convert, decode, fast, parse_status, parse_statuses, read_reply

FIELDS = ["status", "charge", "start_count", "start_counter", "remains", "currency"]
MORE = ["order", "id", "error", "message", "runs", "data", "errors", "msg"]

weird_text = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-0",
        "+5",
        "007",
        " 3572 ",
        "3572.0",
        "3572.5",
        "1e3",
        "1E+999",
        "1e999999999",
        "NaN",
        "-Infinity",
        "sNaN",
        "1,250.00000",
        "1,25",
        "12,34,56",
        "1_000",
        "٣٤",
        "²",
        "Unknown",
        "Partial",
        " In progress ",
        "IN_PROGRESS",
        "Cancelled",
        "Fail",
        "error",
        "Incorrect order ID",
        "Заказ не найден",
        "USD",
        " usd ",
        "€",
        "9" * 120,
        "1" * 4400,
        "0.27819",
        "0.10",
        "\u00a0Partial\u00a0",
        "Partial\t",
    ]
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=False, allow_infinity=False),
    weird_text,
    st.text(max_size=12),
)
value = st.one_of(
    scalar,
    st.lists(scalar, max_size=2),
    st.dictionaries(st.sampled_from(["error", "a", "status"]), scalar, max_size=2),
)


@st.composite
def entry(draw: st.DrawFn, plain: bool = False) -> object:
    """One entry: usually an object of the documented fields, sometimes anything."""
    if plain:
        fields = draw(st.lists(st.sampled_from(FIELDS), unique=True))
        found: dict[str, object] = {k: draw(weird_text) for k in fields}
        found["status"] = draw(st.sampled_from(["Partial", "Completed", " Pending ", "x"]))
        return found
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(scalar)
    if kind == 1:
        return draw(st.lists(scalar, max_size=2))
    keys = draw(st.lists(st.sampled_from(FIELDS + (MORE if kind < 5 else [])), unique=True))
    return {k: draw(value) for k in keys}


@st.composite
def answer(draw: st.DrawFn, plain: bool = False) -> tuple[bytes, list[int]]:
    ids = draw(st.lists(st.integers(1, 10**12), min_size=1, max_size=8, unique=True))
    keyed = [i for i in ids if plain or draw(st.integers(0, 7))]  # some IDs left out
    data: dict[str, object] = {str(i): draw(entry(plain)) for i in keyed}
    if not plain and draw(st.integers(0, 5)) == 0:
        near = [f"0{ids[0]}", f" {ids[0]}", f"+{ids[0]}", f"{ids[0]}.0", "-0", "0"]
        data[draw(st.sampled_from(["status", "data", "x", *near]))] = draw(entry())
    indent = draw(st.sampled_from([None, 1, "\t"]))
    body = json.dumps(data, indent=indent, ensure_ascii=draw(st.booleans()))
    return body.encode(), ids


def outcome(read: Any) -> object:
    """What a read gives, comparable: models by value and repr, errors by type and words."""

    def seen(value: object) -> object:
        if isinstance(value, SMMPanelError):
            return (type(value), str(value), value.action)
        return (value, repr(value))

    try:
        result = read()
    except Failure as failure:
        return ("failure", seen(failure.error), failure.transient)
    if isinstance(result, dict):
        return [(k, seen(v)) for k, v in result.items()]
    return seen(result)


def reply(content: bytes, parse: Any) -> Any:
    return lambda: read_reply("status", 200, {}, content, lambda t: t, parse)


def tolerant_many(ids: list[int]) -> Any:
    return lambda data: parse_statuses(data, ids)


def tolerant_one(order: int) -> Any:
    return lambda data: parse_status(data, order)


SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(answer())
def test_many_fast_equals_tolerant(case: tuple[bytes, list[int]]) -> None:
    body, ids = case
    fast_read = outcome(reply(body, bind(parse_statuses, ids)))
    assert fast_read == outcome(reply(body, tolerant_many(ids)))
    found = fast.statuses(body, ids)
    if found is not None:
        assert outcome(lambda: found) == outcome(lambda: parse_statuses(decode(body), ids))


@SETTINGS
@given(answer(plain=True))
def test_the_common_shape_takes_the_fast_path(case: tuple[bytes, list[int]]) -> None:
    body, ids = case
    found = fast.statuses(body, ids)
    assert found is not None
    assert list(found) == ids
    assert outcome(lambda: found) == outcome(lambda: parse_statuses(decode(body), ids))


@SETTINGS
@given(entry(), st.integers(1, 10**15), st.booleans())
def test_one_fast_equals_tolerant(value: object, order: int, wrap: bool) -> None:
    body = json.dumps({str(order): value} if wrap else value).encode()
    assert outcome(reply(body, bind(parse_status, order))) == outcome(
        reply(body, tolerant_one(order))
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"1": {"status": "Partial", "status": "Completed"}}',  # a repeated key: the last
        b'{"1": {"status": "Partial"}, "1": "Incorrect order ID"}',
        b'\xef\xbb\xbf{"1": {"status": "Partial"}}',  # a BOM: the tolerant path
        b'{"1": {"status": "Partial", "charge": 0.10}}',  # a JSON number keeps its digits
        b'{"1": {"status": "Partial", "charge": 1e400, "remains": 1e2}}',
        b'{"1": {"status": "caf\xc3\xa9"}}',
        b'{"1": {"status": "caf\xe9"}}',  # not UTF-8
        b'{"1": {"status": "x", "charge": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"1": {"status": "Partial", "message": "", "error": ""}}',
        b'{"status": "success", "data": {"1": {"status": "Partial"}}}',
        b'{"1": {"status": {"error": "Incorrect order ID"}}}',
        b"[]",
        b"{}",
        b"",
        b"<html>",
    ],
)
def test_edge_bodies_agree(body: bytes) -> None:
    ids = [1]
    assert outcome(reply(body, bind(parse_statuses, ids))) == outcome(
        reply(body, tolerant_many(ids))
    )
    assert outcome(reply(body, bind(parse_status, 1))) == outcome(reply(body, tolerant_one(1)))


def test_a_common_answer_is_read_fast() -> None:
    body = json.dumps(
        {
            "123": {
                "charge": "0.27819",
                "start_count": "3572",
                "status": "Partial",
                "remains": "157",
                "currency": "USD",
            },
            "124": {"error": "Incorrect order ID"},
        }
    ).encode()
    found = fast.statuses(body, [123, 124, 125])
    assert found is not None
    status = found[123]
    assert type(status) is OrderStatus
    assert status == OrderStatus(
        123, Status.PARTIAL, Decimal("0.27819"), 3572, 157, "USD", "Partial", {}
    )
    assert [type(found[124]).__name__, type(found[125]).__name__] == ["NotFoundError"] * 2
    single = fast.status(json.dumps({"status": "Completed", "charge": "1"}).encode(), 5)
    assert single == OrderStatus(5, Status.COMPLETED, Decimal("1"), raw_status="Completed")


def test_values_are_shared_between_statuses() -> None:
    body = json.dumps(
        {str(i): {"status": "Partial", "charge": "0.5", "currency": "USD"} for i in (1, 2)}
    ).encode()
    found = fast.statuses(body, [1, 2])
    assert found is not None
    one, two = found[1], found[2]
    assert isinstance(one, OrderStatus)
    assert isinstance(two, OrderStatus)
    assert one.raw_status is two.raw_status
    assert one.currency is two.currency
    assert one.charge is two.charge
    assert one.extra is two.extra is NO_EXTRA


# ------------------------------------------------------------------- the draft and extra


def test_order_status_has_nothing_its_init_would_add() -> None:
    """A draft sets the slots as ``__init__`` would: no validator, converter or hook."""
    fields = attrs.fields(OrderStatus)
    assert all(f.validator is None and f.converter is None for f in fields)
    assert not hasattr(OrderStatus, "__attrs_post_init__")
    assert not hasattr(OrderStatus, "__attrs_pre_init__")
    assert {f.name for f in fields} == set(OrderStatus.__slots__) - {"__weakref__"}
    assert StatusDraft.__slots__ == ()


def test_a_drafted_status_is_an_ordinary_frozen_status() -> None:
    drafted = convert.order_status({"status": " Partial ", "charge": "1.5", "runs": 3}, 9)
    built = OrderStatus(9, Status.PARTIAL, Decimal("1.5"), None, None, None, "Partial", {"runs": 3})
    assert type(drafted) is OrderStatus
    assert drafted == built
    assert hash(drafted) == hash(built)
    assert repr(drafted) == repr(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        drafted.remains = 3  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del drafted.charge  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(drafted)) == drafted
    assert attrs.evolve(drafted, remains=1).remains == 1


def test_the_shared_empty_extra_cannot_change() -> None:
    status = convert.order_status({"status": "Partial"}, 1)
    assert status.extra == {}
    assert status.extra is NO_EXTRA
    assert isinstance(status.extra, dict)
    for mutate in (
        lambda e: e.__setitem__("a", 1),
        lambda e: e.update(a=1),
        lambda e: e.setdefault("a", 1),
        lambda e: e.pop("a"),
        lambda e: e.popitem(),
        lambda e: e.clear(),
        lambda e: e.__ior__({"a": 1}),
    ):
        with pytest.raises(TypeError):
            mutate(status.extra)
    assert status.extra == {}
    copied = dict(status.extra)
    copied["a"] = 1  # a copy is a plain dict
    assert type(status.extra.copy()) is dict
    assert type(status.extra | {"a": 1}) is dict
    assert pickle.loads(pickle.dumps(status)).extra is NO_EXTRA
    assert copy.deepcopy(status).extra is NO_EXTRA
    assert copy.copy(NO_EXTRA) is NO_EXTRA
    assert repr(status).endswith("extra={})")
    assert json.dumps(status.extra) == "{}"


def test_the_shared_tables_stay_bounded() -> None:
    limit = convert._LIMIT
    for i in range(3 * limit):
        convert.order_status({"status": f"w{i}", "charge": f"{i}.5", "remains": str(i)}, 1)
    for table in (convert.WORDS, convert.CHARGES, convert.COUNTS):
        assert 0 < len(table) <= limit
    convert.order_status({"status": "x" * 100, "charge": "1" * 100}, 1)
    assert "x" * 100 not in convert.WORDS
    assert "1" * 100 not in convert.CHARGES


# ------------------------------------------------------------- answers straight into Bulk


@pytest.mark.anyio
async def test_collect_fills_ok_and_errors_in_the_order_of_ids() -> None:
    """Chunks finish out of order, some IDs fail: both dicts keep the order of the IDs."""
    import anyio

    from smmpanel._client.bulk import chunked, collect
    from smmpanel._errors import NotFoundError

    ids = list(range(1, 26))

    async def run(chunk: list[int]) -> dict[int, int | SMMPanelError]:
        await anyio.sleep(0.001 * (30 - chunk[0]))  # later chunks answer first
        return {i: NotFoundError("no", action="status") if i % 7 == 0 else i * 10 for i in chunk}

    bulk = await collect(dict.fromkeys(ids), list(chunked(ids, 4)), run, 4)
    assert list(bulk.ok) == [i for i in ids if i % 7]
    assert list(bulk.ok.values()) == [i * 10 for i in ids if i % 7]
    assert list(bulk.errors) == [7, 14, 21]
    clean = await collect(dict.fromkeys(ids), list(chunked(ids, 10)), lambda c: _values(c), 2)
    assert list(clean.ok) == ids
    assert not clean.errors


async def _values(chunk: list[int]) -> dict[int, int | SMMPanelError]:
    return {i: i for i in chunk}
