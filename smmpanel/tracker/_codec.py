"""``OrderStatus`` to store columns and JSON, and back, losing nothing.

Money is kept as the ``Decimal``'s text, ``extra`` as JSON with sorted keys, so a status
read back equals the one written and two equal statuses always give equal columns (which
is how a change is noticed: by comparing columns, without decoding).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import attrs
import msgspec

from .._models import OrderStatus, Status

__all__ = ["Key", "from_json", "from_key", "key_of", "to_json", "utc"]

Key = tuple[str, str, str | None, int | None, int | None, str | None, str | None]
"""(status, raw_status, charge, start_count, remains, currency, extra JSON): the columns."""

_HAS_EXTRA = "extra" in attrs.fields_dict(OrderStatus)
_ENCODER = msgspec.json.Encoder(enc_hook=str, order="sorted")


def _extra(status: OrderStatus) -> str | None:
    extra = getattr(status, "extra", None)
    return _ENCODER.encode(extra).decode() if extra else None


def key_of(status: OrderStatus) -> Key:
    """The columns of a status."""
    charge = status.charge
    return (
        status.status.value,
        status.raw_status,
        None if charge is None else str(charge),
        status.start_count,
        status.remains,
        status.currency,
        _extra(status) if _HAS_EXTRA else None,
    )


def from_key(order: int, key: Key) -> OrderStatus:
    """The status the columns hold."""
    word, raw, charge, start_count, remains, currency, extra = key
    fields: dict[str, Any] = {
        "order": order,
        "status": Status(word),
        "charge": None if charge is None else Decimal(charge),
        "start_count": start_count,
        "remains": remains,
        "currency": currency,
        "raw_status": raw,
    }
    if _HAS_EXTRA:
        fields["extra"] = msgspec.json.decode(extra) if extra else {}
    return OrderStatus(**fields)


def to_json(order: int, key: Key | None) -> str | None:
    """An event's side as JSON text (the columns, named as ``smmpanel status --format json``)."""
    if key is None:
        return None
    word, raw, charge, start_count, remains, currency, extra = key
    return _ENCODER.encode(
        {
            "order": order,
            "status": word,
            "raw_status": raw,
            "charge": charge,
            "start_count": start_count,
            "remains": remains,
            "currency": currency,
            "extra": msgspec.json.decode(extra) if extra else {},
        }
    ).decode()


def from_json(text: str | None) -> OrderStatus | None:
    """The status an event's JSON side holds."""
    if text is None:
        return None
    data = msgspec.json.decode(text)
    extra = data.get("extra") or {}
    key: Key = (
        data["status"],
        data["raw_status"],
        data["charge"],
        data["start_count"],
        data["remains"],
        data["currency"],
        _ENCODER.encode(extra).decode() if extra else None,
    )
    return from_key(int(data["order"]), key)


def utc(seconds: float | None) -> dt.datetime | None:
    """A stored time (seconds since the epoch) as an aware UTC datetime."""
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
