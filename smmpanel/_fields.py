"""Checking what callers pass before anything is sent: IDs and ``add``'s order fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

__all__ = ["ListField", "check_id", "check_ids", "order_fields"]

ListField = str | Iterable[str]


def check_id(value: object, what: str = "ID") -> int:
    """A positive int from an int or a string of digits; ``ValueError`` for anything else."""
    if type(value) is int:
        if value > 0:
            return value
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            number = int(text)
            if number > 0:
                return number
    elif isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return int(value)
    raise ValueError(f"{what} must be a positive integer, got {value!r:.60}")


def check_ids(values: Iterable[object], what: str = "ID") -> list[int]:
    """Every ID checked first, repeats dropped, order kept: nothing is sent for a bad list."""
    if isinstance(values, str | bytes):
        raise TypeError(f"expected an iterable of {what}s, got a single {type(values).__name__}")
    seen: dict[int, None] = {}
    for value in values:
        seen[check_id(value, what)] = None
    return list(seen)


_INT_FIELDS = (
    "quantity",
    "runs",
    "interval",
    "min",
    "max",
    "posts",
    "old_posts",
    "delay",
    "answer_number",
)
_TEXT_FIELDS = ("link", "hashtag", "username", "media")
_LIST_FIELDS = ("comments", "usernames", "hashtags", "groups")


def _count(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r:.60}")
    return str(int(text))


def _lines(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a string or a sequence of strings")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold strings, got {type(item).__name__}")
    return "\n".join(items)


def _extra(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return _lines(name, value)
    raise TypeError(f"field {name} has an unsupported type {type(value).__name__}")


def order_fields(
    service: object, fields: Mapping[str, object], extra: Mapping[str, object]
) -> dict[str, str]:
    """The form fields of an ``add``, checked and formatted; ``None`` values are left out."""
    if service is None:
        raise TypeError("add() needs a service")
    out = {"service": str(check_id(service, "service"))}
    for name, value in fields.items():
        if value is None:
            continue
        if name in _INT_FIELDS:
            out[name] = _count(name, value)
        elif name in _TEXT_FIELDS:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
            out[name] = value
        elif name in _LIST_FIELDS:
            out[name] = _lines(name, value)
        elif name == "expiry":
            if isinstance(value, dt.date):
                out[name] = value.strftime("%d/%m/%Y")
            elif isinstance(value, str):
                out[name] = value
            else:
                raise TypeError(f"expiry must be a date or a string, got {type(value).__name__}")
        else:  # pragma: no cover - the signature names every field
            out[name] = _extra(name, value)
    for name, value in extra.items():
        if name in {"key", "action"}:
            raise ValueError(f"{name!r} is set by the client and cannot be passed as a field")
        if value is not None:
            out[name] = _extra(name, value)
    if "quantity" in out and out["quantity"] == "0":
        raise ValueError("quantity must be a positive integer, got 0")
    return out
