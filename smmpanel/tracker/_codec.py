"""``OrderStatus`` to one compact JSON text and back, losing nothing.

A status is stored as the JSON array ``[order, status, raw_status, charge, start_count,
remains, currency, extra]``: money as the ``Decimal``'s text, ``extra`` with sorted keys. Two
equal statuses always give the same text, so a change is noticed by comparing texts, and
the same text is the order's ``state`` column and an event's ``previous``/``current``: a
poll encodes each answer once (in C, by msgspec) and decodes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec

from .._models import OrderStatus, Status

__all__ = ["Key", "from_json", "from_key", "key_of", "state_of", "to_json", "utc"]

Key = tuple[str, str]
"""(status word, state JSON text): the ``status`` and ``state`` columns."""

_ENCODER = msgspec.json.Encoder(enc_hook=str, order="sorted")
_encode = _ENCODER.encode
_decode = msgspec.json.decode


def key_of(status: OrderStatus) -> Key:
    """The columns of a status: its word and its state text."""
    word = status.status
    return word._value_, _encode(
        (
            status.order,
            word,
            status.raw_status,
            status.charge,
            status.start_count,
            status.remains,
            status.currency,
            status.extra,
        )
    ).decode()


def state_of(
    order: int,
    word: str,
    raw: str | None,
    charge: str | None,
    start_count: int | None,
    remains: int | None,
    currency: str | None,
    extra: str | None,
) -> str:
    """The state text of a status kept as separate columns (schema version 1)."""
    return _encode(
        (
            order,
            word,
            raw or "",
            charge,
            start_count,
            remains,
            currency,
            _decode(extra) if extra else {},
        )
    ).decode()


def _status(data: list[Any]) -> OrderStatus:
    order, word, raw, charge, start_count, remains, currency, extra = data
    return OrderStatus(
        order=order,
        status=Status(word),
        charge=None if charge is None else Decimal(charge),
        start_count=start_count,
        remains=remains,
        currency=currency,
        raw_status=raw,
        extra=extra or {},
    )


def from_key(order: int, key: Key) -> OrderStatus:
    """The status the columns hold."""
    status = from_json(key[1])
    assert status is not None
    return status


def to_json(order: int, key: Key | None) -> str | None:
    """An event's side as JSON text: the state text itself."""
    return None if key is None else key[1]


def from_json(text: str | None) -> OrderStatus | None:
    """The status a state text (or an event side of schema version 1, an object) holds."""
    if text is None:
        return None
    data = _decode(text)
    if isinstance(data, dict):  # written by schema version 1
        return _status(
            [
                data["order"],
                data["status"],
                data["raw_status"],
                data["charge"],
                data["start_count"],
                data["remains"],
                data["currency"],
                data.get("extra"),
            ]
        )
    return _status(data)


def utc(seconds: float | None) -> dt.datetime | None:
    """A stored time (seconds since the epoch) as an aware UTC datetime."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
