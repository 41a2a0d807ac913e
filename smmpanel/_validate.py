"""Checking what callers pass before anything is sent: options, IDs and ``add``'s order fields.

``FIELDS`` is the one table of ``add``'s named fields: ``Panel.add`` formats its keyword
arguments by it, the command line reads ``--field`` by it, and the fake panel's rules take
their list fields from it.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import warnings
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TypeGuard

import httpx

from ._errors import InsecureURLWarning

__all__ = [
    "ACTIONS",
    "FIELDS",
    "LIST_FIELDS",
    "MAX_ID",
    "Kind",
    "ListField",
    "check_backoff",
    "check_id",
    "check_ids",
    "check_int",
    "check_rate_limit",
    "check_timeout",
    "check_url",
    "order_fields",
    "positive_int",
    "shown",
    "unique_ids",
]

ListField = str | Iterable[str]


class Kind(enum.Enum):
    """How an order field is checked and sent."""

    COUNT = "count"  # a non-negative integer, sent as its digits
    TEXT = "text"  # one string, sent as it is
    LIST = "list"  # strings, sent one a line
    DATE = "date"  # a date, sent as d/m/Y (or a string, as it is)


FIELDS: dict[str, Kind] = {
    "link": Kind.TEXT,
    "quantity": Kind.COUNT,
    "runs": Kind.COUNT,
    "interval": Kind.COUNT,
    "comments": Kind.LIST,
    "usernames": Kind.LIST,
    "hashtags": Kind.LIST,
    "hashtag": Kind.TEXT,
    "username": Kind.TEXT,
    "media": Kind.TEXT,
    "min": Kind.COUNT,
    "max": Kind.COUNT,
    "posts": Kind.COUNT,
    "old_posts": Kind.COUNT,
    "delay": Kind.COUNT,
    "expiry": Kind.DATE,
    "answer_number": Kind.COUNT,
    "groups": Kind.LIST,
}
"""``add``'s named fields besides ``service``, in the order of its signature."""
LIST_FIELDS = frozenset(name for name, kind in FIELDS.items() if kind is Kind.LIST)
"""The fields that hold one value a line: comments, usernames, hashtags, groups."""

_CLIENT_FIELDS = frozenset({"key", "action"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


# ---------------------------------------------------------------------------- IDs

MAX_ID = 2**63 - 1
"""The largest ID: PHP_INT_MAX, what panels' databases hold. A larger one cannot be sent."""
_MAX_DIGITS = len(str(MAX_ID))


def positive_int(token: str | bytes) -> int | None:
    """The ID a token of ASCII digits spells (1..``MAX_ID``), else ``None``: every ID is read so.

    The length is checked before ``int()``, so a 5,000-digit token costs nothing and never
    meets Python's int-string limit.
    """
    if not (token.isdigit() and token.isascii()):
        return None
    digits = token.lstrip(b"0") if isinstance(token, bytes) else token.lstrip("0")
    if not digits or len(digits) > _MAX_DIGITS:
        return None
    number = int(digits)
    return number if number <= MAX_ID else None


def shown(value: object, width: int = 60) -> str:
    """A short repr for an error message; a huge int is described, never converted whole."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = int(value.bit_length() * 0.30103) + 1
        return f"an int of about {digits} digits"
    try:
        text = repr(value)
    except ValueError:  # an int subclass past the int-string limit
        return f"a {type(value).__name__}"
    return text if len(text) <= width else text[: width - 3] + "..."


def check_id(value: object, what: str = "ID") -> int:
    """A positive int (at most ``MAX_ID``) from an int or a string of digits; else ``ValueError``.

    ``MAX_ID`` bounds it because whatever is accepted here must be sendable: a bulk call
    checks every ID before its first request.
    """
    if type(value) is int:
        if 0 < value <= MAX_ID:
            return value
    elif isinstance(value, str):
        number = positive_int(value.strip())
        if number is not None:
            return number
    elif isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return int(value)
    raise ValueError(f"{what} must be a positive integer up to 2**63-1, got {shown(value)}")


def check_ids(values: Iterable[object], what: str = "ID") -> list[int]:
    """Every ID checked first, repeats dropped, order kept: nothing is sent for a bad list."""
    return list(unique_ids(values, what))


def unique_ids(values: Iterable[object], what: str = "ID") -> dict[int, None]:
    """``check_ids`` as the dict it builds: the IDs in order as keys, every value ``None``.

    A bulk call lays its ``ok`` out on this very dict, so a million IDs cost one dict of
    them, not two (and no second 40 MB table freed mid-call to fragment the heap).
    """
    if isinstance(values, str | bytes):
        raise TypeError(f"expected an iterable of {what}s, got a single {type(values).__name__}")
    seen: dict[int, None] = {}
    for value in values:
        seen[check_id(value, what)] = None
    return seen


# ---------------------------------------------------------------------------- options


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """``ValueError`` unless ``value`` is an int in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


ACTIONS = frozenset({"add", "balance", "services", "status", "refill", "refill_status", "cancel"})
"""The API's actions: the names a ``rate_limit`` mapping may limit, besides ``"*"``."""


def check_rate_limit(rate_limit: object) -> float | dict[str, float] | None:
    """``rate_limit`` as given (a mapping copied), or ``ValueError``.

    ``None``, a positive number of requests per second, or a mapping from action names
    (and ``"*"``, every request) to positive numbers.
    """
    if rate_limit is None or (_number(rate_limit) and rate_limit > 0):
        return rate_limit
    if not isinstance(rate_limit, Mapping):
        raise ValueError(
            f"rate_limit must be a positive number, a mapping of action to number, or None, "
            f"got {rate_limit!r:.60}"
        )
    limits: dict[str, float] = {}
    for name, rate in rate_limit.items():
        if name != "*" and name not in ACTIONS:
            known = ", ".join(sorted(ACTIONS))
            raise ValueError(f"rate_limit names an unknown action {name!r:.60}; use {known} or *")
        if not (_number(rate) and rate > 0):
            raise ValueError(f"rate_limit[{name!r}] must be a positive number, got {rate!r:.60}")
        limits[name] = rate
    return limits


def check_backoff(backoff: object) -> None:
    """``ValueError`` unless ``backoff`` is a non-negative number of seconds."""
    if not _number(backoff) or backoff < 0:
        raise ValueError(f"backoff must be a non-negative number, got {backoff!r}")


def check_timeout(timeout: object) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a positive number of seconds, or the one passed."""
    if _number(timeout) and timeout > 0:
        return httpx.Timeout(float(timeout))
    if isinstance(timeout, httpx.Timeout):
        return timeout
    raise ValueError(f"timeout must be a positive number or httpx.Timeout, got {timeout!r}")


def check_url(url: object) -> str:
    """An http(s) URL with a host; plain http to a non-loopback host warns."""
    if not isinstance(url, str):
        raise ValueError(f"url must be a string, got {type(url).__name__}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ValueError(f"not a valid URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("url must be an http:// or https:// URL with a host")
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        warnings.warn(
            f"{url} is plain http: the API key would travel in clear text; use https",
            InsecureURLWarning,
            stacklevel=3,
        )
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------- order fields


def _count(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if isinstance(value, int):
        if 0 <= value <= MAX_ID:
            return str(value)
    else:
        text = value.strip()
        number = positive_int(text)
        if number is not None:
            return str(number)
        if text and text.isascii() and text.strip("0") == "":
            return "0"
    raise ValueError(f"{name} must be an integer 0..2**63-1, got {shown(value)}")


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


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


def _date(name: str, value: object) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a date or a string, got {type(value).__name__}")


_FORMAT = {Kind.COUNT: _count, Kind.TEXT: _text, Kind.LIST: _lines, Kind.DATE: _date}


def _extra(name: str, value: object) -> str:
    """A field ``FIELDS`` does not name: whatever a panel's own order type wants."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int) and -MAX_ID - 1 <= value <= MAX_ID:
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return _date(name, value)
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return _lines(name, value)
    if isinstance(value, int):
        raise ValueError(f"field {shown(name)} must fit in 64 bits, got {shown(value)}")
    raise TypeError(f"field {shown(name)} has an unsupported type {type(value).__name__}")


def _overrides(name: str) -> bool:
    """Whether a field name would set ``key`` or ``action`` on some panel.

    PHP drops leading spaces from a name and reads ``key[x]`` as ``key``; other stacks fold
    case. Any of these would let a field replace the client's own (PHP keeps the last).
    """
    return name.partition("[")[0].strip().casefold() in _CLIENT_FIELDS


def order_fields(
    service: object, fields: Mapping[str, object], extra: Mapping[str, object]
) -> dict[str, str]:
    """The form fields of an ``add``, checked and formatted; ``None`` values are left out.

    ``fields`` are named in ``FIELDS``; ``extra`` holds any others.
    """
    if service is None:
        raise TypeError("add() needs a service")
    out = {"service": str(check_id(service, "service"))}
    for name, value in fields.items():
        if value is not None:
            out[name] = _FORMAT[FIELDS[name]](name, value)
    for name in extra:
        if not isinstance(name, str):
            raise TypeError(f"field names must be strings, got {type(name).__name__}")
        if _overrides(name):
            raise ValueError(f"{shown(name)} would override the key or action the client sends")
    for name, value in extra.items():
        if value is not None:
            out[name] = _extra(name, value)
    if out.get("quantity") == "0":
        raise ValueError("quantity must be a positive integer, got 0")
    return out
