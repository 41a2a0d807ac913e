"""Reading panels' answers: every seed example and every PANELS.md variant, parsed purely.

Each answer is a plain ``decode`` + ``parse_*`` call: no HTTP. A per-ID result is either the
model or an exception, compared here as ``(class, message)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from _panels import ERROR_TEXTS

import smmpanel
from smmpanel import (
    AuthenticationError,
    Balance,
    InvalidRequestError,
    NotFoundError,
    OrderStatus,
    PanelError,
    RateLimitError,
    RefillState,
    RefillStatus,
    Service,
    SMMPanelError,
    Status,
)
from smmpanel._protocol import (
    NOT_JSON,
    ShapeError,
    decode,
    error_class,
    find_error,
    parse_add,
    parse_balance,
    parse_cancels,
    parse_refill,
    parse_refill_status,
    parse_refill_statuses,
    parse_refills,
    parse_services,
    parse_status,
    parse_statuses,
)

# The seed documents' texts (public API docs of real panels), kept as the project's own data.
SEEDS = Path(__file__).resolve().parent / "data" / "seeds"


def answer(body: str | bytes) -> Any:
    """The JSON of a body, as the client reads it."""
    data = decode(body.encode() if isinstance(body, str) else body)
    assert data is not NOT_JSON, body
    return data


def parse(action: str, body: str | bytes, ids: Sequence[int] = ()) -> Any:
    """Parse ``body`` as the answer to ``action`` for ``ids``; per-ID errors as (class, text)."""
    data = answer(body)
    single: dict[str, Callable[[Any], Any]] = {
        "balance": parse_balance,
        "services": parse_services,
        "add": parse_add,
        "refill": parse_refill,
        "status": lambda d: parse_status(d, ids[0]),
        "refill_status": lambda d: parse_refill_status(d, ids[0]),
    }
    multi: dict[str, Callable[[Any, Sequence[int]], dict[int, Any]]] = {
        "statuses": parse_statuses,
        "refills": parse_refills,
        "refill_statuses": parse_refill_statuses,
        "cancel": parse_cancels,
    }
    if action in single:
        return single[action](data)
    result = multi[action](data, ids)
    return {
        id: (type(value), value.message) if isinstance(value, SMMPanelError) else value
        for id, value in result.items()
    }


def status(order: int, word: str, **fields: Any) -> OrderStatus:
    """An expected ``OrderStatus``."""
    return OrderStatus(order=order, status=Status.parse(word), raw_status=word, **fields)


def refill(id: int, word: str) -> RefillStatus:
    """An expected ``RefillStatus``."""
    return RefillStatus(refill=id, status=RefillState.parse(word), raw_status=word)


# ----------------------------------------------------------------------------- the five seeds

# The v1 pages (000, 001, 002, 004) print the same examples; 002 prints them without braces
# and the services examples have bare words and missing commas: these are their shapes.
V1_SERVICES = """[
  {"service": "5", "name": "Instagram Followers [15K] ",
   "category": "Instagram - Followers [Guaranteed\\/Refill] - Less Drops \\u2b50",
   "rate": "1.02", "min": "500", "max": "10000",
   "type": "default", "desc": "usernames", "dripfeed": 1},
  {"service": "9", "name": "Instagram Followers - Max 300k - No refill - 30-40k\\/Day",
   "category": "Instagram - Followers [Guaranteed\\/Refill] - Less Drops \\u2b50",
   "rate": "0.04", "min": "500", "max": "300000",
   "type": "default", "desc": "usernames", "dripfeed": 1},
  {"service": "10",
   "name": "Instagram Followers ( 30 days auto refill ) ( Max 350K ) (Indian Majority )",
   "category": "Instagram - Followers [Guaranteed\\/Refill] - Less Drops \\u2b50",
   "rate": "1.2", "min": "100", "max": "350000",
   "type": "default", "desc": "usernames", "dripfeed": 1}
]"""
V1_CATEGORY = "Instagram - Followers [Guaranteed/Refill] - Less Drops \u2b50"


def v1_service(id: int, name: str, rate: str, min: int, max: int) -> Service:
    return Service(
        id=id,
        name=name,
        type="default",
        category=V1_CATEGORY,
        rate=Decimal(rate),
        min=min,
        max=max,
        dripfeed=True,
        description="usernames",
    )


V1_SERVICES_PARSED = [
    v1_service(5, "Instagram Followers [15K]", "1.02", 500, 10000),
    v1_service(9, "Instagram Followers - Max 300k - No refill - 30-40k/Day", "0.04", 500, 300000),
    v1_service(
        10,
        "Instagram Followers ( 30 days auto refill ) ( Max 350K ) (Indian Majority )",
        "1.2",
        100,
        350000,
    ),
]
V1_EXAMPLES: list[tuple[str, str, Sequence[int], Any]] = [
    ("add", '{"status": "success", "order": 32}', (), 32),
    (
        "status",
        '{"order": "32", "status": "pending", "charge": "0.0360",'
        ' "start_count": "0", "remains": "0"}',
        (32,),
        status(32, "pending", charge=Decimal("0.0360"), start_count=0, remains=0),
    ),
    (
        "statuses",
        """{"12": {"order": "12", "status": "processing", "charge": "1.2600",
                   "start_count": "0", "remains": "0"},
            "2": "Incorrect order ID",
            "13": {"order": "13", "status": "pending", "charge": "0.6300",
                   "start_count": "0", "remains": "0"}}""",
        (12, 2, 13),
        {
            12: status(12, "processing", charge=Decimal("1.2600"), start_count=0, remains=0),
            2: (NotFoundError, "Incorrect order ID"),
            13: status(13, "pending", charge=Decimal("0.6300"), start_count=0, remains=0),
        },
    ),
    ("services", V1_SERVICES, (), V1_SERVICES_PARSED),
    (
        "balance",
        '{"status": "success", "balance": "0.03", "currency": "USD"}',
        (),
        Balance(Decimal("0.03"), "USD"),
    ),
]
V2_EXAMPLES: list[tuple[str, str, Sequence[int], Any]] = [
    (
        "services",
        """[{"service": 1, "name": "Followers", "type": "Default", "category": "First Category",
             "rate": "0.90", "min": "50", "max": "10000", "refill": true, "cancel": true},
            {"service": 2, "name": "Comments", "type": "Custom Comments",
             "category": "Second Category", "rate": "8", "min": "10", "max": "1500",
             "refill": false, "cancel": true}]""",
        (),
        [
            Service(
                id=1,
                name="Followers",
                type="Default",
                category="First Category",
                rate=Decimal("0.90"),
                min=50,
                max=10000,
                refill=True,
                cancel=True,
            ),
            Service(
                id=2,
                name="Comments",
                type="Custom Comments",
                category="Second Category",
                rate=Decimal("8"),
                min=10,
                max=1500,
                refill=False,
                cancel=True,
            ),
        ],
    ),
    ("add", '{"order": 23501}', (), 23501),
    (
        "status",
        '{"charge": "0.27819", "start_count": "3572", "status": "Partial",'
        ' "remains": "157", "currency": "USD"}',
        (1,),
        status(
            1, "Partial", charge=Decimal("0.27819"), start_count=3572, remains=157, currency="USD"
        ),
    ),
    (
        "statuses",
        """{"1": {"charge": "0.27819", "start_count": "3572", "status": "Partial",
                  "remains": "157", "currency": "USD"},
            "10": {"error": "Incorrect order ID"},
            "100": {"charge": "1.44219", "start_count": "234", "status": "In progress",
                    "remains": "10", "currency": "USD"}}""",
        (1, 10, 100),
        {
            1: status(
                1,
                "Partial",
                charge=Decimal("0.27819"),
                start_count=3572,
                remains=157,
                currency="USD",
            ),
            10: (NotFoundError, "Incorrect order ID"),
            100: status(
                100,
                "In progress",
                charge=Decimal("1.44219"),
                start_count=234,
                remains=10,
                currency="USD",
            ),
        },
    ),
    ("refill", '{"refill": "1"}', (), 1),
    (
        "refills",
        """[{"order": 1, "refill": 1}, {"order": 2, "refill": 2},
            {"order": 3, "refill": {"error": "Incorrect order ID"}}]""",
        (1, 2, 3),
        {1: 1, 2: 2, 3: (NotFoundError, "Incorrect order ID")},
    ),
    ("refill_status", '{"status": "Completed"}', (1,), refill(1, "Completed")),
    (
        "refill_statuses",
        """[{"refill": 1, "status": "Completed"}, {"refill": 2, "status": "Rejected"},
            {"refill": 3, "status": {"error": "Refill not found"}}]""",
        (1, 2, 3),
        {
            1: refill(1, "Completed"),
            2: refill(2, "Rejected"),
            3: (NotFoundError, "Refill not found"),
        },
    ),
    (
        "cancel",
        '[{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}]',
        (9, 2),
        {9: (NotFoundError, "Incorrect order ID"), 2: 1},
    ),
    (
        "balance",
        '{"balance": "100.84292", "currency": "USD"}',
        (),
        Balance(Decimal("100.84292"), "USD"),
    ),
]
SEED_EXAMPLES = {
    "000_754cb2b82f89fe21.txt": V1_EXAMPLES,
    "001_c5445121ecb89530.txt": V1_EXAMPLES,
    "002_13e8db10794b0de1.txt": V1_EXAMPLES,
    "003_0242dedf896476dc.txt": V2_EXAMPLES,
    "004_854f45524809e53d.txt": V1_EXAMPLES,
}
# "Example response" in the seeds' five languages.
_EXAMPLE_MARK = re.compile(
    "Exemplo de resposta|Respuesta de ejemplo|\u00d6rnek yan\u0131t|Example response"
    "|\u0627\u0633\u062a\u062c\u0627\u0628\u0629 \u0627\u0644\u0645\u062b\u0627\u0644"
)


@pytest.mark.parametrize(
    ("action", "body", "ids", "expected"),
    [
        pytest.param(action, body, ids, expected, id=f"{seed[:3]}-{action}")
        for seed, examples in SEED_EXAMPLES.items()
        for action, body, ids, expected in examples
    ],
)
def test_seed_example(action: str, body: str, ids: Sequence[int], expected: Any) -> None:
    """Every example answer in the five seed documents parses to the expected objects."""
    assert parse(action, body, ids) == expected


@pytest.mark.parametrize("seed", sorted(SEED_EXAMPLES))
def test_every_seed_example_is_a_test_case(seed: str) -> None:
    """The table above holds as many examples as the seed document prints."""
    text = (SEEDS / seed).read_text(encoding="utf-8")
    assert len(_EXAMPLE_MARK.findall(text)) == len(SEED_EXAMPLES[seed])


# ------------------------------------------------------------------------- values as sent

NUMBER_VARIANTS = [
    ('"157"', 157),
    ("157", 157),
    ("157.0", 157),
    ('"157.0"', 157),
    ('" 157 "', 157),
    ('""', None),
    ("null", None),
    ('"Unknown"', None),
    ('"N/A"', None),
]


@pytest.mark.parametrize("field", ["start_count", "remains"])
@pytest.mark.parametrize(("raw", "expected"), NUMBER_VARIANTS)
def test_count_fields_read_every_variant(field: str, raw: str, expected: int | None) -> None:
    """start_count and remains: strings, ints, floats, "", null and words ("Unknown" is None)."""
    result = parse("status", f'{{"status": "Pending", "{field}": {raw}}}', (7,))
    assert getattr(result, field) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"0.27819"', Decimal("0.27819")),
        ("0.27819", Decimal("0.27819")),
        ("1", Decimal(1)),
        ('"1.2600"', Decimal("1.2600")),
        ('""', None),
        ("null", None),
        ('"Unknown"', None),
    ],
)
def test_charge_reads_every_variant(raw: str, expected: Decimal | None) -> None:
    """charge: strings, ints, floats, "", null and words; money is a Decimal or None."""
    result = parse("status", f'{{"status": "Completed", "charge": {raw}}}', (7,))
    assert result.charge == expected
    assert result.charge is None or type(result.charge) is Decimal


@pytest.mark.parametrize(
    "digits",
    ["0.1", "0.10", "100.84292", "0.27819", "1.5e2", "2E-7", "-0.5", "12345678901.123456789"],
)
def test_a_json_number_is_the_decimal_of_its_own_digits(digits: str) -> None:
    """A JSON float never goes through binary floating point: 0.1 is Decimal("0.1")."""
    amount = parse("balance", f'{{"balance": {digits}}}').amount
    assert type(amount) is Decimal
    assert str(amount) == str(Decimal(digits))


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ('{"balance": 100.84292}', "amount", "100.84292"),
        ('{"balance": 100.84292, "currency": "USD"}', "amount", "100.84292"),
        ('{"status": "Partial", "charge": 0.27819}', "charge", "0.27819"),
        ('{"status": "Partial", "charge": 1.4421900}', "charge", "1.4421900"),
    ],
)
def test_money_from_json_floats_keeps_digits(body: str, field: str, expected: str) -> None:
    """Balances and charges sent as JSON numbers keep exactly the digits the panel sent."""
    action = "balance" if "balance" in body else "status"
    value = getattr(parse(action, body, (1,)), field)
    assert type(value) is Decimal
    assert str(value) == expected


def test_money_from_a_long_json_integer_is_exact() -> None:
    """An integer too long for 64 bits is still exact."""
    amount = parse("balance", '{"balance": 123456789012345678901234567890}').amount
    assert amount == Decimal("123456789012345678901234567890")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("1", True),
        ('"1"', True),
        ('"true"', True),
        ("false", False),
        ("0", False),
        ('"0"', False),
        ('""', None),
        ("null", None),
    ],
)
@pytest.mark.parametrize("field", ["refill", "cancel", "dripfeed"])
def test_service_flags_read_every_variant(field: str, raw: str, expected: bool | None) -> None:
    """refill/cancel/dripfeed as true, 1, "1", "0", false or null."""
    body = f'[{{"service": 1, "name": "n", "rate": "1", "min": 1, "max": 2, "{field}": {raw}}}]'
    assert getattr(parse("services", body)[0], field) is expected


def test_service_flags_are_none_when_absent() -> None:
    """A panel that does not send refill/cancel/dripfeed has not said: unknown, not "no"."""
    [service] = parse("services", '[{"service": 1, "name": "n", "rate": "1", "min": 1, "max": 2}]')
    assert (service.refill, service.cancel, service.dripfeed) == (None, None, None)


@pytest.mark.parametrize(
    ("service", "rate", "min", "max"),
    [
        ('"5"', '"1.02"', '"500"', '"10000"'),
        ("5", "1.02", "500", "10000"),
        ("5", '"1.02"', "500", '"10000"'),
    ],
)
def test_service_numbers_as_strings_or_numbers(service: str, rate: str, min: str, max: str) -> None:
    """service, rate, min and max come as strings or numbers; rate is an exact Decimal."""
    body = f'[{{"service": {service}, "name": "n", "rate": {rate}, "min": {min}, "max": {max}}}]'
    [parsed] = parse("services", body)
    assert (parsed.id, parsed.rate, parsed.min, parsed.max) == (5, Decimal("1.02"), 500, 10000)
    assert type(parsed.rate) is Decimal


# ------------------------------------------------------------------------ wrappers and shapes


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"balance": "100.84292", "currency": "USD"}', Balance(Decimal("100.84292"), "USD")),
        (
            '{"status": "success", "balance": "0.03", "currency": "USD"}',
            Balance(Decimal("0.03"), "USD"),
        ),
        ('{"balance": 12.5, "currency": "EUR"}', Balance(Decimal("12.5"), "EUR")),
        ('{"balance": "7"}', Balance(Decimal(7), None)),
        ('{"balance": "7", "currency": ""}', Balance(Decimal(7), None)),
        ('{"balance": "7", "currency": " USD "}', Balance(Decimal(7), "USD")),
        (
            '{"status": "success", "data": {"balance": "1.5", "currency": "INR"}}',
            Balance(Decimal("1.5"), "INR"),
        ),
        ('"42.10"', Balance(Decimal("42.10"), None)),
        ("42.10", Balance(Decimal("42.10"), None)),
    ],
)
def test_balance_shapes(body: str, expected: Balance) -> None:
    """Balance: plain, in a success wrapper, as a number, with or without currency."""
    assert parse("balance", body) == expected


@pytest.mark.parametrize(
    "body", ['{"order": 23501}', '{"status": "success", "order": 23501}', '{"order": "23501"}']
)
def test_add_shapes(body: str) -> None:
    """add: the order ID as an int or a string, plain or in a success wrapper."""
    assert parse("add", body) == 23501


@pytest.mark.parametrize(
    "body",
    ["{}", '{"order": null}', '{"order": "abc"}', '{"order": 0}', '{"status": "success"}', "[]"],
)
def test_add_without_an_order_id_is_a_shape_error(body: str) -> None:
    """An add answer holding no order ID is not silently read as an order."""
    with pytest.raises(ShapeError):
        parse("add", body)


SERVICE = '{"service": 1, "name": "n", "rate": "1", "min": 1, "max": 2}'


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (f"[{SERVICE}]", 1),
        (f'{{"services": [{SERVICE}, {SERVICE}]}}', 2),
        (f'{{"status": "success", "data": [{SERVICE}]}}', 1),
        ('{"status": "success", "data": "Empty Data"}', 0),
        ("[]", 0),
    ],
)
def test_services_shapes(body: str, count: int) -> None:
    """services: a list, {"services": [...]}, a data wrapper, or SmartPanel's "Empty Data"."""
    services = parse("services", body)
    assert len(services) == count
    assert all(isinstance(service, Service) for service in services)


@pytest.mark.parametrize("key", ["desc", "description"])
def test_service_description_from_desc_or_description(key: str) -> None:
    """The description comes from ``desc`` or ``description``, stripped."""
    body = f'[{{"service": 1, "name": "n", "rate": "1", "min": 1, "max": 2, "{key}": " Real  "}}]'
    [service] = parse("services", body)
    assert service.description == "Real"
    assert service.extra == {}


def test_service_keeps_unnamed_fields_in_extra() -> None:
    """Fields API.md does not name land in ``extra`` as sent."""
    body = (
        '[{"service": 1, "name": "n", "rate": "1", "min": 1, "max": 2, "type": "Package",'
        ' "category": "c", "average_time": "2 hours", "speed": 5, "desc": "d"}]'
    )
    [service] = parse("services", body)
    assert service.extra == {"average_time": "2 hours", "speed": 5}
    assert service.type == "Package"
    assert service.description == "d"


def test_service_text_fields_are_stripped() -> None:
    """Names, types and categories lose surrounding whitespace and keep the rest."""
    body = (
        '[{"service": 1, "name": "  Likes  [Fast]   ", "type": " Default ",'
        ' "category": "\\tInstagram - Likes \\n", "rate": "1", "min": 1, "max": 2}]'
    )
    [service] = parse("services", body)
    assert (service.name, service.type, service.category) == (
        "Likes  [Fast]",
        "Default",
        "Instagram - Likes",
    )


def test_service_cost_is_exact() -> None:
    """cost(quantity) is rate * quantity / 1000 in Decimal."""
    [service] = parse("services", '[{"service": 1, "name": "n", "rate": 0.9, "min": 1, "max": 2}]')
    assert service.cost(1500) == Decimal("1.35")


# ------------------------------------------------------------------------ order statuses


def test_start_counter_is_start_count() -> None:
    """Panels that say start_counter mean start_count."""
    result = parse("status", '{"status": "In progress", "start_counter": "3572"}', (5,))
    assert result.start_count == 3572


@pytest.mark.parametrize("remains", ["-25", '"-25"'])
def test_negative_remains_is_kept(remains: str) -> None:
    """Over-delivery shows as negative remains, kept as sent."""
    result = parse("status", f'{{"status": "Completed", "remains": {remains}}}', (5,))
    assert result.remains == -25


@pytest.mark.parametrize("currency", ["USD", "EUR", "BRL", "INR", "VND"])
def test_status_currency_is_any_word(currency: str) -> None:
    """currency is kept as sent, whatever it is."""
    result = parse("status", f'{{"status": "Pending", "currency": "{currency}"}}', (5,))
    assert result.currency == currency


def test_status_without_currency() -> None:
    """A status without currency has currency None."""
    assert parse("status", '{"status": "Pending"}', (5,)).currency is None


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ('{"status": "In progress", "runs": "5", "orders": [101, 102]}', "In progress"),
        ('{"status": "Active", "posts": "3", "orders": ["101", "102"]}', "Active"),
        ('{"status": "Completed", "runs": 10, "charge": "1.20", "orders": []}', "Completed"),
    ],
)
def test_drip_feed_and_subscription_statuses(body: str, word: str) -> None:
    """Drip-feed and subscription statuses carry runs/posts/orders and may lack charge/remains."""
    result = parse("status", body, (77,))
    assert result.order == 77
    assert result.raw_status == word
    assert result.status is Status.parse(word)
    assert result.remains is None
    assert result.start_count is None


def test_subscription_status_is_active_and_not_final() -> None:
    """A running subscription is ACTIVE, and ACTIVE is not final."""
    result = parse("status", '{"status": "Active", "posts": 3, "orders": [1]}', (9,))
    assert result.status is Status.ACTIVE
    assert not result.final


def test_status_keeps_the_order_id_asked_for() -> None:
    """A single status answer omits the ID; the result carries the one asked for."""
    assert parse("status", '{"status": "Pending"}', (123,)).order == 123


def test_status_keyed_by_its_id() -> None:
    """A single status answered in the multi form, keyed by the order's ID."""
    result = parse("status", '{"5": {"status": "Completed", "charge": "1"}}', (5,))
    assert result == status(5, "Completed", charge=Decimal(1))


@pytest.mark.parametrize(
    "body", ['{"5": "Incorrect order ID"}', '{"5": {"error": "Incorrect order ID"}}']
)
def test_status_keyed_error_raises(body: str) -> None:
    """A single status keyed by its ID with a per-ID error raises that error."""
    with pytest.raises(NotFoundError, match="Incorrect order ID"):
        parse("status", body, (5,))


@pytest.mark.parametrize("body", ["{}", '{"charge": "1"}', '{"status": null}', "[]", '"text"'])
def test_status_without_a_status_word_is_a_shape_error(body: str) -> None:
    """A status answer with no status word cannot be read."""
    with pytest.raises(ShapeError):
        parse("status", body, (5,))


def test_status_text_fields_are_stripped() -> None:
    """raw_status and currency lose surrounding whitespace (long trailing runs included)."""
    result = parse("status", '{"status": "  In progress" , "currency": "USD          "}', (5,))
    assert result.raw_status == "In progress"
    assert result.status is Status.IN_PROGRESS
    assert result.currency == "USD"


COMPLETED = '{"status": "Completed"}'
PENDING = '{"status": "Pending"}'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            f'{{"1": {COMPLETED}, "2": {PENDING}}}',
            {1: status(1, "Completed"), 2: status(2, "Pending")},
            id="keyed",
        ),
        pytest.param(
            f'{{"1": {COMPLETED}}}',
            {1: status(1, "Completed"), 2: (NotFoundError, None)},
            id="keyed-omitting-an-id",
        ),
        pytest.param(
            f'{{"2": {PENDING}, "1": {COMPLETED}}}',
            {1: status(1, "Completed"), 2: status(2, "Pending")},
            id="keyed-in-another-order",
        ),
        pytest.param(
            f'{{"1": {COMPLETED}, "2": "Incorrect order ID"}}',
            {1: status(1, "Completed"), 2: (NotFoundError, "Incorrect order ID")},
            id="bare-string-error",
        ),
        pytest.param(
            f'{{"1": {COMPLETED}, "2": "Incorrect order ID      "}}',
            {1: status(1, "Completed"), 2: (NotFoundError, "Incorrect order ID")},
            id="bare-string-error-with-trailing-whitespace",
        ),
        pytest.param(
            f'{{"1": {COMPLETED}, "2": {{"error": "Incorrect order ID"}}}}',
            {1: status(1, "Completed"), 2: (NotFoundError, "Incorrect order ID")},
            id="error-object",
        ),
        pytest.param(
            f'{{"1": {COMPLETED}, "2": null}}',
            {1: status(1, "Completed"), 2: (NotFoundError, None)},
            id="null-entry",
        ),
        pytest.param(
            f"[{COMPLETED}, {PENDING}]",
            {1: status(1, "Completed"), 2: status(2, "Pending")},
            id="list-in-request-order",
        ),
        pytest.param(
            f'[{COMPLETED}, "Incorrect order ID"]',
            {1: status(1, "Completed"), 2: (NotFoundError, "Incorrect order ID")},
            id="list-with-a-bare-string-error",
        ),
        pytest.param(
            '[{"order": "2", "status": "Pending"}, {"order": 1, "status": "Completed"}]',
            {1: status(1, "Completed"), 2: status(2, "Pending")},
            id="list-naming-its-ids",
        ),
        pytest.param(
            f'{{"status": "success", "data": {{"1": {COMPLETED}, "2": {PENDING}}}}}',
            {1: status(1, "Completed"), 2: status(2, "Pending")},
            id="success-wrapper",
        ),
    ],
)
def test_multi_status_shapes(body: str, expected: dict[int, Any]) -> None:
    """Multi-status: keyed, keyed leaving IDs out, bare-string errors, lists in request order."""
    result = parse("statuses", body, (1, 2))
    assert list(result) == [1, 2]
    for id, want in expected.items():
        if isinstance(want, tuple) and want[1] is None:
            assert result[id][0] is want[0]
        else:
            assert result[id] == want


def test_multi_status_of_one_id_in_the_single_form() -> None:
    """One ID asked with ``orders`` and answered in the single-status form."""
    assert parse("statuses", COMPLETED, (4,)) == {4: status(4, "Completed")}


def test_multi_status_per_id_errors_keep_their_class() -> None:
    """A per-ID error is classified by its words; an unclassified one is NotFoundError."""
    result = parse(
        "statuses",
        '{"1": "Invalid API key", "2": "Too many requests", "3": "Ошибка", "4": "Order Not found"}',
        (1, 2, 3, 4),
    )
    assert [result[id][0] for id in (1, 2, 3, 4)] == [
        AuthenticationError,
        RateLimitError,
        NotFoundError,
        NotFoundError,
    ]


# ---------------------------------------------------------------------- refills and cancels


@pytest.mark.parametrize(
    "body", ['{"refill": "1"}', '{"refill": 1}', '{"status": "success", "refill": "1"}']
)
def test_refill_shapes(body: str) -> None:
    """refill: the refill ID as an int or a string, plain or wrapped."""
    assert parse("refill", body) == 1


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ('{"refill": {"error": "Incorrect order ID"}}', NotFoundError),
        ('{"refill": {"error": "Refill is disabled for this service"}}', InvalidRequestError),
    ],
)
def test_refill_error_object_raises(body: str, cls: type[PanelError]) -> None:
    """A single refill answered with an error object raises it."""
    with pytest.raises(cls):
        parse("refill", body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '[{"order": 1, "refill": 11}, {"order": 2, "refill": "12"}]',
            {1: 11, 2: 12},
            id="list-ids-as-int-or-string",
        ),
        pytest.param(
            '[{"order": "2", "refill": 12},'
            ' {"order": "1", "refill": {"error": "Incorrect order ID"}}]',
            {1: (NotFoundError, "Incorrect order ID"), 2: 12},
            id="list-in-another-order",
        ),
        pytest.param(
            '[{"order": 1, "refill": 11}]',
            {1: 11, 2: (NotFoundError, None)},
            id="list-leaving-an-id-out",
        ),
        pytest.param(
            '{"1": {"order": 1, "refill": 11},'
            ' "2": {"order": 2, "refill": {"error": "Order Not found"}}}',
            {1: 11, 2: (NotFoundError, "Order Not found")},
            id="keyed-entries",
        ),
        pytest.param('{"1": 11, "2": "12"}', {1: 11, 2: 12}, id="keyed-values"),
        pytest.param(
            '{"1": 11, "2": "Incorrect order ID"}',
            {1: 11, 2: (NotFoundError, "Incorrect order ID")},
            id="keyed-bare-string-error",
        ),
    ],
)
def test_multi_refill_shapes(body: str, expected: dict[int, Any]) -> None:
    """Multi refill: a list of {order, refill}, refill IDs as 1 or "1", or keyed by order."""
    result = parse("refills", body, (1, 2))
    assert list(result) == [1, 2]
    for id, want in expected.items():
        if isinstance(want, tuple) and want[1] is None:
            assert result[id][0] is want[0]
        else:
            assert result[id] == want


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '[{"order": 9, "cancel": {"error": "Incorrect order ID"}}, {"order": 2, "cancel": 1}]',
            {9: (NotFoundError, "Incorrect order ID"), 2: 1},
            id="seed-list",
        ),
        pytest.param(
            '[{"order": "2", "cancel": "1"}, {"order": "9", "cancel": 0}]',
            {9: 0, 2: 1},
            id="strings",
        ),
        pytest.param(
            '{"9": 1, "2": {"error": "Order Not found"}}',
            {9: 1, 2: (NotFoundError, "Order Not found")},
            id="keyed",
        ),
        pytest.param(
            '[{"order": 2, "cancel": true}]', {9: (NotFoundError, None), 2: 1}, id="omitted"
        ),
    ],
)
def test_multi_cancel_shapes(body: str, expected: dict[int, Any]) -> None:
    """Multi cancel: what the panel returned for each order, or that order's error."""
    result = parse("cancel", body, (9, 2))
    assert list(result) == [9, 2]
    for id, want in expected.items():
        if isinstance(want, tuple) and want[1] is None:
            assert result[id][0] is want[0]
        else:
            assert result[id] == want


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ('{"status": "Completed"}', "Completed"),
        ('{"status": " In progress  "}', "In progress"),
        ('{"refill": "4", "status": "Rejected"}', "Rejected"),
        ('{"4": {"status": "Pending"}}', "Pending"),
        ('{"status": "success", "data": {"status": "Error"}}', "Error"),
        ('"Completed"', "Completed"),
    ],
)
def test_refill_status_shapes(body: str, word: str) -> None:
    """refill_status: {"status": word}, keyed by refill ID or wrapped; the word is stripped."""
    assert parse("refill_status", body, (4,)) == refill(4, word)


@pytest.mark.parametrize(
    "body", ['{"status": {"error": "Refill not found"}}', '{"error": "Refill not found"}']
)
def test_refill_status_error_raises(body: str) -> None:
    """A refill_status error, inside ``status`` or at the top, raises NotFoundError."""
    with pytest.raises(NotFoundError, match="Refill not found"):
        parse("refill_status", body, (4,))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '[{"refill": 1, "status": "Completed"},'
            ' {"refill": 2, "status": {"error": "Refill not found"}}]',
            {1: refill(1, "Completed"), 2: (NotFoundError, "Refill not found")},
            id="list",
        ),
        pytest.param(
            '[{"refill": "2", "status": "Rejected"}, {"refill": "1", "status": "Pending"}]',
            {1: refill(1, "Pending"), 2: refill(2, "Rejected")},
            id="list-in-another-order",
        ),
        pytest.param(
            '{"1": {"status": "Completed"}, "2": {"status": "Error"}}',
            {1: refill(1, "Completed"), 2: refill(2, "Error")},
            id="keyed-objects",
        ),
        pytest.param(
            '{"1": "Completed", "2": "Refill not found"}',
            {1: refill(1, "Completed"), 2: (NotFoundError, "Refill not found")},
            id="keyed-bare-words",
        ),
        pytest.param(
            '{"1": "In progress"}',
            {1: refill(1, "In progress"), 2: (NotFoundError, None)},
            id="keyed-leaving-an-id-out",
        ),
        pytest.param(
            '{"1": {"status": "Completed"}, "2": {"error": "Refill not found"}}',
            {1: refill(1, "Completed"), 2: (NotFoundError, "Refill not found")},
            id="keyed-error-object",
        ),
    ],
)
def test_multi_refill_status_shapes(body: str, expected: dict[int, Any]) -> None:
    """Multi refill_status: a list of {refill, status}, or an object keyed by refill ID."""
    result = parse("refill_statuses", body, (1, 2))
    assert list(result) == [1, 2]
    for id, want in expected.items():
        if isinstance(want, tuple) and want[1] is None:
            assert result[id][0] is want[0]
        else:
            assert result[id] == want


# --------------------------------------------------------------------------- status words

STATUS_WORDS = [
    ("Pending", Status.PENDING),
    ("pending", Status.PENDING),
    ("PENDING", Status.PENDING),
    ("In progress", Status.IN_PROGRESS),
    ("inprogress", Status.IN_PROGRESS),
    ("IN_PROGRESS", Status.IN_PROGRESS),
    ("in_progress", Status.IN_PROGRESS),
    ("In-Progress", Status.IN_PROGRESS),
    ("  in   progress  ", Status.IN_PROGRESS),
    ("Processing", Status.PROCESSING),
    ("processing", Status.PROCESSING),
    ("Completed", Status.COMPLETED),
    ("completed", Status.COMPLETED),
    ("Partial", Status.PARTIAL),
    ("Canceled", Status.CANCELED),
    ("Cancelled", Status.CANCELED),
    ("CANCELLED", Status.CANCELED),
    ("Refunded", Status.REFUNDED),
    ("Active", Status.ACTIVE),
    ("Awaiting", Status.AWAITING),
    ("Paused", Status.PAUSED),
    ("Expired", Status.EXPIRED),
    ("Fail", Status.FAILED),
    ("Error", Status.FAILED),
    ("Queued for review", Status.UNKNOWN),
    ("Beklemede", Status.UNKNOWN),
    ("", Status.UNKNOWN),
]


@pytest.mark.parametrize(("word", "expected"), STATUS_WORDS)
def test_status_words(word: str, expected: Status) -> None:
    """Status words match ignoring case, spaces, _ and -; unknown words are UNKNOWN."""
    assert Status.parse(word) is expected


@pytest.mark.parametrize("word", ["Queued for review", "Beklemede", "Wartend", "on hold"])
def test_unknown_status_word_is_kept_visible(word: str) -> None:
    """An unknown word is UNKNOWN (never PENDING), with the panel's word in raw_status."""
    result = parse("status", json.dumps({"status": word}), (5,))
    assert result.status is Status.UNKNOWN
    assert result.raw_status == word
    assert not result.final


@pytest.mark.parametrize("value", [None, 1, 1.5, ["Pending"], {"a": 1}])
def test_status_parse_never_raises(value: object) -> None:
    """Status.parse takes anything and answers UNKNOWN for what is not a word."""
    assert Status.parse(value) is Status.UNKNOWN


@pytest.mark.parametrize(
    ("word", "final"),
    [
        ("Pending", False),
        ("In progress", False),
        ("Processing", False),
        ("Active", False),
        ("Awaiting", False),
        ("Paused", False),
        ("Whatever", False),
        ("Completed", True),
        ("Partial", True),
        ("Canceled", True),
        ("Refunded", True),
        ("Expired", True),
        ("Fail", True),
    ],
)
def test_final_statuses(word: str, final: bool) -> None:
    """final is true for completed, partial, canceled, refunded, expired and failed."""
    assert parse("status", json.dumps({"status": word}), (5,)).final is final
    assert Status.parse(word).final is final


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Pending", RefillState.PENDING),
        ("pending", RefillState.PENDING),
        ("In progress", RefillState.IN_PROGRESS),
        ("IN_PROGRESS", RefillState.IN_PROGRESS),
        ("inprogress", RefillState.IN_PROGRESS),
        ("Completed", RefillState.COMPLETED),
        (" COMPLETED ", RefillState.COMPLETED),
        ("Rejected", RefillState.REJECTED),
        ("Error", RefillState.FAILED),
        ("Reviewing", RefillState.UNKNOWN),
        ("", RefillState.UNKNOWN),
    ],
)
def test_refill_words(word: str, expected: RefillState) -> None:
    """Refill words match like status words; Error is FAILED; unknown words are UNKNOWN."""
    assert RefillState.parse(word) is expected


def test_unknown_refill_word_is_kept_visible() -> None:
    """An unknown refill word is UNKNOWN with the panel's word in raw_status."""
    assert parse("refill_status", '{"status": "Reviewing "}', (3,)) == RefillStatus(
        refill=3, status=RefillState.UNKNOWN, raw_status="Reviewing"
    )


# --------------------------------------------------------------------------- error envelopes

LONG_TAIL = " " * 300


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": "Incorrect order ID"}', "Incorrect order ID"),
        (
            '{"error": "Sipari\\u015f bulunamad\\u0131.", "status": "104"}',
            "Sipari\u015f bulunamad\u0131.",
        ),
        (
            '{"status": "error", "message": "Invalid Interval in minutes"}',
            "Invalid Interval in minutes",
        ),
        (
            '{"status": "Error", "message": "Invalid Interval in minutes"}',
            "Invalid Interval in minutes",
        ),
        ('{"success": false, "message": "Invalid API key"}', "Invalid API key"),
        (
            '{"error": {"action": ["The selected action is invalid."]}}',
            "The selected action is invalid.",
        ),
        ('{"error": ["Order Not found"]}', "Order Not found"),
        (f'{{"error": "Not enough funds on balance{LONG_TAIL}"}}', "Not enough funds on balance"),
        ('{"error": "neworder.error.not_enough_funds"}', "neworder.error.not_enough_funds"),
        ('{"errors": {"link": ["Bad link"]}}', "Bad link"),
    ],
)
def test_error_envelopes(body: str, message: str) -> None:
    """Every error envelope yields the panel's own message, stripped."""
    assert find_error(answer(body)) == message


@pytest.mark.parametrize(
    "body",
    [
        '{"status": "Error"}',
        '{"status": "Completed", "charge": "1"}',
        '{"status": "success", "order": 32}',
        '{"balance": "1", "error": ""}',
        '{"order": 5, "error": null}',
        "[]",
        '"Incorrect order ID"',
    ],
)
def test_answers_that_are_not_error_envelopes(body: str) -> None:
    """An order's "Error" state, success wrappers and empty error fields are not envelopes."""
    assert find_error(answer(body)) is None


@pytest.mark.parametrize(("text", "cls"), ERROR_TEXTS)
def test_error_texts_pick_their_class(text: str, cls: type[PanelError]) -> None:
    """Each text of the PANELS.md table (and localized ones) names its class, in any case."""
    assert error_class(text) is cls
    assert error_class(text.upper() + LONG_TAIL) is cls


# ------------------------------------------------------------------------------- raw bodies


@pytest.mark.parametrize(
    "body",
    [
        b'\xef\xbb\xbf{"balance": "1.5"}',
        b'\n\n{"balance": "1.5"}',
        b'\xef\xbb\xbf\r\n\r\n  {"balance": "1.5"}\n',
        b'   {"balance": "1.5"}   ',
    ],
)
def test_bom_and_blank_lines_before_json(body: bytes) -> None:
    """A UTF-8 BOM, blank lines or spaces around the JSON are skipped."""
    assert parse_balance(answer(body)) == Balance(Decimal("1.5"))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"<!DOCTYPE html><html><title>Just a moment...</title></html>",
        b'{"balance": "1.5"',
        b"Fatal error: Uncaught PDOException",
        b"\xff\xfe\x00",
    ],
)
def test_bodies_that_are_not_json(body: bytes) -> None:
    """Empty, HTML, truncated and binary bodies are NOT_JSON, never an exception."""
    assert decode(body) is NOT_JSON


@pytest.mark.anyio
@pytest.mark.parametrize(
    "content_type", ["text/html; charset=UTF-8", "text/plain", "application/json"]
)
async def test_json_served_as_text_html_is_json(content_type: str) -> None:
    """A body that parses as JSON is JSON whatever its Content-Type (BOM and blank lines too)."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = b'\xef\xbb\xbf\n\n{"balance": 100.84292, "currency": "USD"}'
        return httpx.Response(200, content=body, headers={"Content-Type": content_type})

    transport = httpx.MockTransport(handler)
    async with smmpanel.Panel("https://panel.example/api/v2", "k", transport=transport) as panel:
        balance = await panel.balance()
    assert balance == Balance(Decimal("100.84292"), "USD")
    assert str(balance.amount) == "100.84292"


def test_deeply_nested_error_values_do_not_exhaust_the_stack() -> None:
    """An error value nested hundreds deep still reads as an error, not a RecursionError."""
    body = '{"error": ' + "[" * 900 + '"Incorrect order ID"' + "]" * 900 + "}"
    assert find_error(answer(body))
    assert parse("statuses", '{"1": ' + "[" * 900 + '"x"' + "]" * 900 + "}", (1,))[1][0] in (
        NotFoundError,
        smmpanel.ProtocolError,
    )


@pytest.mark.parametrize("value", ['"1e999999999"', '"-1E+99999999"', "1e999999999"])
def test_counts_with_absurd_exponents_are_none(value: str) -> None:
    """A count like "1e999999999" is unreadable (None), not minutes of int() arithmetic."""
    assert parse("status", f'{{"status": "Pending", "remains": {value}}}', (1,)).remains is None
