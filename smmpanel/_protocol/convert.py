"""The one cattrs converter, built once at import, tolerant of every dialect panels send.

Panels send numbers as strings, ints, floats, ``""``, ``null`` or words like ``"Unknown"``,
booleans as ``true``/``1``/``"1"``, and rename fields (``service``, ``start_counter``,
``desc``). Scalar hooks absorb the value quirks; class hooks map the names.

``Service`` and ``Balance`` use cattrs' generated structure functions with renames.
``OrderStatus`` and ``RefillStatus`` have hand-written hooks: their ID usually comes from the
request (a key of the answer, or its position), not from the entry, and they are the hot
path of bulk polling, where one function call per entry beats copying each entry into a
dict the generated function could read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .._models import (
    NO_EXTRA,
    Balance,
    OrderStatus,
    RefillState,
    RefillStatus,
    Service,
    Status,
    StatusDraft,
)

__all__ = [
    "CHARGES",
    "COUNTS",
    "CURRENCIES",
    "MISS",
    "WORDS",
    "ShapeError",
    "charge",
    "converter",
    "count",
    "currency",
    "integer",
    "order_status",
    "refill_status",
    "service",
    "word",
]


class ShapeError(ValueError):
    """Raised by hooks for JSON of a shape no dialect uses; ``classify.shape_error`` reports it."""


def money(value: object) -> Decimal | None:
    """Exact money, or ``None`` for ``""``, ``null``, words and non-finite numbers."""
    if type(value) is str:  # the common case first: PHP panels send money as strings
        try:
            number = Decimal(value)  # Decimal() itself ignores surrounding whitespace
        except InvalidOperation:
            if "," not in value:
                return None  # "", "Unknown", words: no amount
            return _grouped(value)
        return number if number.is_finite() else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr() is the shortest text that reads back as this float: the JSON's own digits.
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return money(str(value))
    return None


# PHP's number_format(): "1,250.00000", "1,000". Anything else with a comma ("1,25",
# "1.250,00", "12,34,56") could mean two amounts: refused, never guessed or dropped.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _grouped(value: str) -> Decimal:
    """Money with thousands separators, where they can mean one thing only."""
    stripped = value.strip()
    if _GROUPED.fullmatch(stripped):
        return Decimal(stripped.replace(",", ""))
    raise ShapeError(f"ambiguous number {_snippet(value)}")


def integer(value: object) -> int | None:
    """An int from ``3572``, ``"3572"``, ``"3572.0"`` or ``3572.0``; ``None`` for anything else."""
    if type(value) is int:
        return value
    if type(value) is str:
        # isdigit() accepts "²" and "①", which int() refuses; past 4300 digits int() refuses
        # too (Python's int-string limit). Both fall through to the checks below.
        if len(value) <= _MAX_DIGITS:
            try:
                return int(value)  # int() itself ignores surrounding whitespace
            except ValueError:
                pass
        number = money(value)
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int):
        return int(value)
    else:
        number = money(value)
    # ``"1e999999999"`` is integral too, but int() of it would take minutes and gigabytes.
    if number is None or number.adjusted() > _MAX_DIGITS or number != number.to_integral_value():
        return None
    return int(number)


_MAX_DIGITS = 100


def _digits(value: str) -> int | None:
    """The hot path of counts: ASCII digits straight to int, anything else via ``integer``."""
    if value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
        return int(value)
    return integer(value)


def flag(value: object) -> bool:
    """``true``, ``1``, ``"1"``, ``"true"``, ``"yes"`` are true; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on", "y"}
    return False


def text(value: object) -> str:
    """A text field without its surrounding whitespace; numbers become their digits."""
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise ShapeError(f"expected text, got {type(value).__name__}")


def optional_text(value: object) -> str | None:
    """Like :func:`text`, but ``None`` for a missing or empty value."""
    if value is None:
        return None
    return text(value) or None


def _required(convert: Any, what: str) -> Any:
    def hook(value: object, _: object) -> Any:
        result = convert(value)
        if result is None:
            raise ShapeError(f"{what}: unreadable value {_snippet(value)}")
        return result

    return hook


def _snippet(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _build() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    # Scalars first, so the generated class hooks pick them up.
    conv.register_structure_hook(Decimal, _required(money, "money"))
    conv.register_structure_hook(Decimal | None, lambda v, _: money(v))
    conv.register_structure_hook(int, _required(integer, "integer"))
    conv.register_structure_hook(int | None, lambda v, _: integer(v))
    conv.register_structure_hook(bool, lambda v, _: flag(v))
    conv.register_structure_hook(bool | None, lambda v, _: None if v in (None, "") else flag(v))
    conv.register_structure_hook(str, lambda v, _: text(v))
    conv.register_structure_hook(str | None, lambda v, _: optional_text(v))
    conv.register_structure_hook(Status, lambda v, _: Status.parse(v))
    conv.register_structure_hook(RefillState, lambda v, _: RefillState.parse(v))

    balance = make_dict_structure_fn(Balance, conv, amount=override(rename="balance"))
    conv.register_structure_hook(Balance, _mapping_only(balance))
    conv.register_structure_hook(
        Service,
        lambda v, _: service(v),
    )
    conv.register_structure_hook(
        OrderStatus, lambda v, _: order_status(v, _mapping(v, "order status").get("order"))
    )
    conv.register_structure_hook(
        RefillStatus, lambda v, _: refill_status(v, _mapping(v, "refill status").get("refill"))
    )
    return conv


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _mapping_only(hook: Any) -> Any:
    def checked(value: object, cl: object) -> Any:
        return hook(_mapping(value, getattr(cl, "__name__", "value")), cl)

    return checked


converter = _build()

_SERVICE_FIELDS = frozenset(
    {"service", "id", "name", "type", "category", "rate", "min", "max", "refill", "cancel"}
    | {"dripfeed", "desc", "description"}
)
_service_fn = make_dict_structure_fn(
    Service,
    converter,
    id=override(rename="service"),
    description=override(omit=True),
    extra=override(omit=True),
)
_SERVICE_DEFAULTS = {"type": "", "category": ""}


def service(value: object) -> Service:
    """A catalogue entry; unknown keys land in ``extra``, ``desc`` or ``description`` alike."""
    entry = _mapping(value, "service")
    if "service" not in entry and "id" in entry:
        entry = {**entry, "service": entry["id"]}
    missing = [k for k in _SERVICE_DEFAULTS if k not in entry]
    if missing:
        entry = {**entry, **{k: _SERVICE_DEFAULTS[k] for k in missing}}
    for key in ("service", "name", "rate", "min", "max"):
        if key not in entry:
            raise ShapeError(f"service: missing {key!r}")
    built = _service_fn(entry, Service)
    description = optional_text(entry.get("desc", entry.get("description")))
    extra = {k: v for k, v in entry.items() if k not in _SERVICE_FIELDS}
    if description is None and not extra:
        return built
    return Service(
        id=built.id,
        name=built.name,
        type=built.type,
        category=built.category,
        rate=built.rate,
        min=built.min,
        max=built.max,
        refill=built.refill,
        cancel=built.cancel,
        dripfeed=built.dripfeed,
        description=description,
        extra=extra,
    )


def order_status(value: object, order: object) -> OrderStatus:
    """One status entry; ``order`` is the ID the request asked for (panels may omit it).

    The hot path of bulk polling (``fast`` inlines the same steps for typed entries): plain
    lookups, the shared tables for texts, a draft filled slot by slot.
    """
    entry = value if type(value) is dict else _mapping(value, "order status")
    order_id = order if type(order) is int else integer(order)
    if order_id is None:
        raise ShapeError(f"order status: unreadable order ID {_snippet(order)}")
    raw_status, status = status_of(entry.get("status"))
    start = entry.get("start_count")
    if start is None:
        start = entry.get("start_counter")
    # A keys-view subset test runs in C: the common entry costs no copy.
    extra = NO_EXTRA if entry.keys() <= _STATUS_FIELDS else _extra(entry)
    draft: Any = StatusDraft.__new__(StatusDraft)  # frozen to mypy
    draft.order = order_id
    draft.status = status
    draft.charge = charge_of(entry.get("charge"))
    draft.start_count = count_of(start)
    draft.remains = count_of(entry.get("remains"))
    draft.currency = currency_of(entry.get("currency"))
    draft.raw_status = raw_status
    draft.extra = extra
    draft.__class__ = OrderStatus
    done: OrderStatus = draft
    return done


# --------------------------------------------------------------- values statuses share
#
# A million statuses hold a handful of status words and currencies, and often the same
# charges and counts. Each text seen maps to the one value it means, so equal values are
# one object (all immutable: str, int, Decimal, Status) and a repeated text costs a lookup
# instead of a parse. Each table is bounded: when full it starts again, so memory stays
# flat whatever a panel sends. ``fast`` reads the tables directly and calls the functions
# below on a miss; the tolerant path always calls them: both give the same values.

MISS: Any = object()
"""What ``table.get(text, MISS)`` gives for a text not seen yet (``None`` is a value)."""
WORDS: dict[str, tuple[str, Status]] = {}
"""A status text as sent -> (``raw_status``, ``status``); ``("", UNKNOWN)`` when blank."""
CHARGES: dict[str, Decimal | None] = {}
CURRENCIES: dict[str, str | None] = {}
COUNTS: dict[str, int | None] = {}
_LIMIT = 16384  # entries per table (a few MB at most)
_LONGEST = 40  # longer texts are read each time, never kept


def _keep(table: dict[str, Any], key: str, value: object) -> None:
    if len(key) <= _LONGEST:
        if len(table) >= _LIMIT:
            table.clear()
        table[key] = value


def word(value: str) -> tuple[str, Status]:
    """(``raw_status``, ``status``) of a status text."""
    raw_status = value.strip()
    found = (raw_status, Status.parse(raw_status))
    _keep(WORDS, value, found)
    return found


def charge(value: str) -> Decimal | None:
    """Money from a text: ``None`` for blanks, words and non-finite numbers."""
    number: Decimal | None
    try:
        number = Decimal(value)  # Decimal() itself ignores surrounding whitespace
    except InvalidOperation:
        if "," in value:
            return _grouped(value)  # refused when ambiguous; never kept
        number = None  # "", "Unknown", words: no amount
    else:
        if not number.is_finite():
            number = None
    _keep(CHARGES, value, number)
    return number


def count(value: str) -> int | None:
    """A count from a text, as :func:`integer` reads it."""
    number = _digits(value)
    _keep(COUNTS, value, number)
    return number


def currency(value: str) -> str | None:
    """A currency code without its surrounding whitespace; ``None`` when blank."""
    code = value.strip() or None
    _keep(CURRENCIES, value, code)
    return code


def status_of(raw: object) -> tuple[str, Status]:
    """(``raw_status``, ``status``) of an entry's ``status`` value; ``ShapeError`` when blank."""
    if type(raw) is str:
        found = WORDS.get(raw)
        raw_status, status = found if found is not None else word(raw)
    elif raw is None or isinstance(raw, Mapping | list):
        raw_status = ""
    else:
        raw_status = text(raw)
        status = Status.parse(raw_status)
    if not raw_status:
        raise ShapeError("order status: missing or unreadable 'status'")
    return raw_status, status


def charge_of(value: object) -> Decimal | None:
    """An entry's ``charge``, whatever its JSON type."""
    if type(value) is str:
        found = CHARGES.get(value, MISS)
        return found if found is not MISS else charge(value)
    return money(value)


def count_of(value: object) -> int | None:
    """An entry's ``start_count`` or ``remains``, whatever its JSON type."""
    if type(value) is str:
        found = COUNTS.get(value, MISS)
        return found if found is not MISS else count(value)
    return integer(value)


def currency_of(value: object) -> str | None:
    """An entry's ``currency``, whatever its JSON type."""
    if type(value) is str:
        found = CURRENCIES.get(value, MISS)
        return found if found is not MISS else currency(value)
    return optional_text(value)


_STATUS_FIELDS = frozenset(
    {"order", "id", "status", "charge", "start_count", "start_counter", "remains", "currency"}
)


def _extra(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in _STATUS_FIELDS}


def refill_status(value: object, refill: object) -> RefillStatus:
    """One refill status: an object with ``status``, or the bare word."""
    raw = _mapping(value, "refill status").get("status") if not isinstance(value, str) else value
    refill_id = integer(refill)
    if refill_id is None:
        raise ShapeError(f"refill status: unreadable refill ID {_snippet(refill)}")
    if isinstance(raw, Mapping | list) or raw is None:
        raise ShapeError("refill status: unreadable 'status'")
    raw_status = text(raw)
    return RefillStatus(
        refill=refill_id, status=RefillState.parse(raw_status), raw_status=raw_status
    )
