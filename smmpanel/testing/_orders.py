"""Orders and refills on the fake clock: each state is a pure function of the time.

Deriving the state from the clock (instead of ticking every order) keeps ``advance()`` O(1)
and a status request O(IDs), however many orders exist.

Timeline of an order placed at ``t``:

- ``Pending`` until ``t + PENDING_SECONDS``; ``start_count`` is 0, ``remains`` the quantity.
- ``In progress`` for ``max(MIN_DELIVERY_SECONDS, quantity / UNITS_PER_SECOND)`` seconds
  (drip-feed adds ``(runs - 1) * interval`` minutes); ``remains`` falls linearly.
- ``Completed`` with ``remains`` 0; or ``Partial`` for orders whose ID ends in 0 (when a
  fifth of the quantity is at least one unit): a fifth stays undelivered and is refunded.
- ``Canceled`` (full refund) when canceled while pending.
- Subscriptions: ``Pending``, then ``Active`` until their expiry date has passed, then
  ``Expired``.

A refill requested at ``t``: ``Pending`` for ``REFILL_PENDING_SECONDS``, then ``Rejected``
when its ID is a multiple of 5, otherwise ``In progress`` for ``REFILL_SECONDS``, then
``Completed``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs

from ._catalogue import FakeService, fold

__all__ = [
    "AUTO_PERIOD",
    "FakeOrder",
    "FakeRefill",
    "MIN_DELIVERY_SECONDS",
    "OrderView",
    "PENDING_SECONDS",
    "REFILL_PENDING_SECONDS",
    "REFILL_SECONDS",
    "UNITS_PER_SECOND",
    "auto_view",
    "start_count_of",
]

PENDING_SECONDS = 5.0
"""How long a new order waits before it starts."""
MIN_DELIVERY_SECONDS = 10.0
"""The shortest delivery, so even small orders are seen ``In progress``."""
UNITS_PER_SECOND = 100
"""Delivery speed: 10,000 units take 100 seconds."""
REFILL_PENDING_SECONDS = 5.0
"""How long a refill waits before it starts (or is rejected)."""
REFILL_SECONDS = 10.0
"""How long a refill runs."""

_ZERO = Decimal(0)


@attrs.frozen
class OrderView:
    """An order as a status answer shows it at one moment."""

    status: str
    charge: Decimal
    start_count: int
    remains: int


@attrs.define(eq=False)
class FakeOrder:
    """An order the fake holds; ``status``, ``remains``... read the fake's clock."""

    id: int
    service: FakeService
    quantity: int
    """Units to deliver in all (drip-feed: quantity per run times runs)."""
    charge: Decimal
    """What the balance was charged when the order was placed."""
    created: float
    """The fake clock's time at placement, in seconds."""
    fields: dict[str, str]
    """The order's form fields as sent (never the key)."""
    clock: Callable[[], float] = attrs.field(repr=False)
    runs: int = 1
    interval: int = 0
    """Drip-feed interval, in minutes."""
    expires: float | None = None
    """Subscriptions: the fake clock's time their expiry date has passed."""
    canceled_at: float | None = None
    subscription: bool = attrs.field(
        init=False,
        default=attrs.Factory(
            lambda self: fold(self.service.type) == "subscriptions", takes_self=True
        ),
    )
    """Subscriptions never complete: they stay ``Active`` until they expire."""

    @property
    def link(self) -> str:
        """The order's link ("" for subscriptions, which take a username)."""
        return self.fields.get("link", "")

    @property
    def starts(self) -> float:
        """When delivery starts."""
        return self.created + PENDING_SECONDS

    @property
    def ends(self) -> float:
        """When delivery ends (subscriptions: never, unless they expire)."""
        if self.subscription:
            return self.expires if self.expires is not None else float("inf")
        delivery = max(MIN_DELIVERY_SECONDS, self.quantity / UNITS_PER_SECOND)
        return self.starts + delivery + (self.runs - 1) * self.interval * 60

    @property
    def undelivered(self) -> int:
        """Units a partial order leaves undelivered; 0 for orders that complete."""
        if self.subscription or self.id % 10:
            return 0
        return self.quantity // 5

    @property
    def refund(self) -> Decimal:
        """What a partial order gives back when it ends."""
        return self.service.cost(self.undelivered) if self.undelivered else _ZERO

    def view(self, now: float | None = None) -> OrderView:
        """The order as a status answer shows it at ``now`` (default: the fake's clock)."""
        if now is None:
            now = self.clock()
        if self.canceled_at is not None and now >= self.canceled_at:
            return OrderView("Canceled", _ZERO, 0, self.quantity)
        if now < self.starts:
            return OrderView("Pending", self.charge, 0, 0 if self.subscription else self.quantity)
        start_count = start_count_of(self.id)
        if self.subscription:
            word = "Expired" if self.expires is not None and now >= self.expires else "Active"
            return OrderView(word, self.charge, 0, 0)
        ends = self.ends
        if now >= ends:
            if self.undelivered:
                return OrderView(
                    "Partial", self.charge - self.refund, start_count, self.undelivered
                )
            return OrderView("Completed", self.charge, start_count, 0)
        done = (now - self.starts) / (ends - self.starts)
        remains = self.quantity - int((self.quantity - self.undelivered) * done)
        return OrderView("In progress", self.charge, start_count, remains)

    @property
    def status(self) -> str:
        """The current status word (``Pending``, ``In progress``, ``Completed``...)."""
        return self.view().status

    @property
    def remains(self) -> int:
        """Units not delivered yet."""
        return self.view().remains

    @property
    def start_count(self) -> int:
        """The counter seen when delivery started (0 while pending)."""
        return self.view().start_count


@attrs.define(eq=False)
class FakeRefill:
    """A refill of a completed order; ``status`` reads the fake's clock."""

    id: int
    order: int
    created: float
    clock: Callable[[], float] = attrs.field(repr=False)

    def word(self, now: float) -> str:
        """The refill's status word at ``now``."""
        elapsed = now - self.created
        if elapsed < REFILL_PENDING_SECONDS:
            return "Pending"
        if self.id % 5 == 0:
            return "Rejected"
        if elapsed < REFILL_PENDING_SECONDS + REFILL_SECONDS:
            return "In progress"
        return "Completed"

    @property
    def status(self) -> str:
        """The current status word (``Pending``, ``In progress``, ``Completed``, ``Rejected``)."""
        return self.word(self.clock())


AUTO_PERIOD = 150
"""Synthetic statuses repeat every ``AUTO_PERIOD`` IDs (but for ``start_count``)."""
_AUTO_WORDS = ("Pending", "In progress", "Completed", "Partial", "Canceled")


def start_count_of(order_id: int) -> int:
    """The counter an order's delivery starts from: any plausible number, fixed per ID."""
    return 100 + (order_id * 7919) % 9900


def auto_view(order_id: int) -> tuple[str, str, bool, int]:
    """A synthetic status from the ID alone: (word, charge text, started?, remains).

    The word cycles with ``order_id % 5``; everything here depends on
    ``order_id % AUTO_PERIOD`` only, so callers can tabulate it (``start_count`` is
    ``start_count_of(order_id)`` once started, else 0).
    """
    phase = order_id % 5
    quantity = 100 * (1 + order_id % 10)
    cents = quantity * (50 + order_id % AUTO_PERIOD)  # the charge in 1/100000
    if phase == 3:  # partial: a fifth undelivered and refunded
        cents -= cents // 5
    elif phase == 4:  # canceled: all refunded
        cents = 0
    charge = f"{cents // 100000}.{cents % 100000:05d}"
    remains = (quantity, quantity // 2, 0, quantity // 5, quantity)[phase]
    return _AUTO_WORDS[phase], charge, phase in (1, 2, 3), remains
