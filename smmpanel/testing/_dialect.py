"""The two answer dialects, byte for byte as the seed documents print them.

- ``v1`` (seed 000, PerfectPanel's older API): ``{"status": "success", ...}`` wrappers on
  ``add`` and ``balance``, numbers as strings, lowercase status words, a per-ID error as a
  bare string, services with ``desc`` and ``dripfeed``, served as ``text/html``.
- ``v2`` (seed 003): integer service and order IDs, capitalized status words with
  ``currency``, a per-ID error as ``{"error": ...}``, services with ``refill``/``cancel``
  booleans, served as ``application/json``.

The seeds show refill, refill_status and cancel only for v2; v1 answers them in the v2
shapes with numbers as strings (and its lowercase words).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ._catalogue import FakeService

__all__ = ["DIALECTS", "Dialect", "money"]

_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(9)}


def money(value: Decimal, places: int) -> str:
    """At least ``places`` decimals, as panels print money, but never rounded away."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return f"{value:f}"
    return f"{value.quantize(_QUANTA[places]):f}"


_SUBSCRIPTION_DELAYS = frozenset({0, 5, 10, 15, 30, 60, 90})
_LONG_DELAYS = _SUBSCRIPTION_DELAYS | frozenset(
    {120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600}
)


@attrs.frozen
class Dialect:
    """How one API version writes its answers."""

    name: str
    content_type: str
    v1: bool
    charge_places: int
    balance_places: int
    delays: frozenset[int]
    """Subscription delays (minutes) the version's documents allow."""

    def id(self, number: int) -> int | str:
        """An ID inside an answer: a string in v1."""
        return str(number) if self.v1 else number

    def word(self, word: str) -> str:
        """A status word: lowercase in v1 (``in progress``), capitalized in v2."""
        return word.lower() if self.v1 else word

    def services(self, services: Iterable[FakeService]) -> list[dict[str, Any]]:
        """The catalogue, in the seed's key order."""
        if self.v1:
            return [
                {
                    "service": str(s.id),
                    "name": s.name,
                    "category": s.category,
                    "rate": f"{s.rate:f}",
                    "min": str(s.min),
                    "max": str(s.max),
                    "type": s.type,
                    "desc": s.description,
                    "dripfeed": 1 if s.dripfeed else 0,
                }
                for s in services
            ]
        return [
            {
                "service": s.id,
                "name": s.name,
                "type": s.type,
                "category": s.category,
                "rate": f"{s.rate:f}",
                "min": str(s.min),
                "max": str(s.max),
                "refill": s.refill,
                "cancel": s.cancel,
            }
            for s in services
        ]

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        """``{"balance": "100.84292", "currency": "USD"}``, wrapped in v1."""
        body = {"balance": money(amount, self.balance_places), "currency": currency}
        return {"status": "success", **body} if self.v1 else body

    def added(self, order: int) -> dict[str, Any]:
        """``{"order": 23501}``; v1 ``{"status": "success", "order": 32}`` (an int in both)."""
        return {"status": "success", "order": order} if self.v1 else {"order": order}

    def status(
        self,
        order: int,
        word: str,
        charge: str,
        start_count: str,
        remains: str,
        currency: str,
    ) -> dict[str, Any]:
        """One order's status, from its fields as text; ``word`` already in this dialect."""
        if self.v1:
            return {
                "order": str(order),
                "status": word,
                "charge": charge,
                "start_count": start_count,
                "remains": remains,
            }
        return {
            "charge": charge,
            "start_count": start_count,
            "status": word,
            "remains": remains,
            "currency": currency,
        }

    def missing(self, message: str) -> str | dict[str, str]:
        """A per-ID error inside a multi-status: a bare string in v1, an object in v2."""
        return message if self.v1 else {"error": message}


DIALECTS = {
    "v1": Dialect(
        name="v1",
        content_type="text/html; charset=UTF-8",
        v1=True,
        charge_places=4,
        balance_places=2,
        delays=_SUBSCRIPTION_DELAYS,
    ),
    "v2": Dialect(
        name="v2",
        content_type="application/json",
        v1=False,
        charge_places=5,
        balance_places=5,
        delays=_LONG_DELAYS,
    ),
}
