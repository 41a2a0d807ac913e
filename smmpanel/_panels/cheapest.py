"""``cheapest``: the lowest ``cost(quantity)`` across catalogues, in one currency.

Each catalogue's index lists a type's services by rate, so the first service that allows
the quantity and matches the flags and the filter is that panel's cheapest: a search over
50 catalogues of 5,000 services reads a few rows of each, not all 250,000.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import attrs

from .._models import Service
from .catalogue import Entry

__all__ = ["Candidate", "Query", "candidates"]

Where = Callable[[str, Service], bool]


@attrs.frozen
class Query:
    """What the caller asked for; ``None`` fields match anything."""

    type: str | None = None
    quantity: int | None = None
    refill: bool | None = None
    cancel: bool | None = None
    dripfeed: bool | None = None
    where: Where | None = None

    def __attrs_post_init__(self) -> None:
        if self.quantity is not None and (
            isinstance(self.quantity, bool)
            or not isinstance(self.quantity, int)
            or self.quantity < 1
        ):
            raise ValueError(f"quantity must be a positive int, got {self.quantity!r}")
        for name in ("refill", "cancel", "dripfeed"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{name} must be True, False or None, got {value!r}")
        if self.type is not None and not isinstance(self.type, str):
            raise ValueError(f"type must be a string, got {type(self.type).__name__}")
        if self.where is not None and not callable(self.where):
            raise ValueError("where must be a function (name, service) -> bool")

    def matches(self, name: str, service: Service) -> bool:
        """Whether ``service`` of panel ``name`` allows the quantity and has the flags."""
        quantity = self.quantity
        if quantity is not None and not service.min <= quantity <= service.max:
            return False
        # A flag the panel does not state (None) never matches a flag asked for.
        if self.refill is not None and service.refill is not self.refill:
            return False
        if self.cancel is not None and service.cancel is not self.cancel:
            return False
        if self.dripfeed is not None and service.dripfeed is not self.dripfeed:
            return False
        return self.where is None or bool(self.where(name, service))


@attrs.frozen
class Candidate:
    """One panel's cheapest match and its cost in the first panel's currency."""

    name: str
    service: Service
    cost: Decimal


def candidates(
    entries: Mapping[str, Entry], factors: Mapping[str, Decimal], query: Query
) -> list[Candidate]:
    """Each panel's cheapest match, cheapest first (ties: panel order).

    ``factors`` turns each panel's money into the reference currency; a panel without a
    factor is left out. Cost is ``rate * quantity / 1000`` (``quantity`` 1000 when none is
    given, so rates are compared).
    """
    quantity = 1000 if query.quantity is None else query.quantity
    found = []
    for position, (name, entry) in enumerate(entries.items()):
        factor = factors.get(name)
        if factor is None:
            continue
        for service in entry.by_rate(query.type):
            if query.matches(name, service):
                found.append((service.cost(quantity) * factor, position, name, service))
                break
    found.sort(key=lambda row: (row[0], row[1]))
    return [Candidate(name, service, cost) for cost, _, name, service in found]
