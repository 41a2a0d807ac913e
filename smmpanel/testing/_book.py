"""The fake panel's books: catalogue, balance, orders, refills, the clock, and the actions.

Pure bookkeeping, no I/O and no locking: ``FakePanel`` calls it under its lock, from the
in-memory transport and from the ASGI app alike, so both paths answer the same way.
"""

from __future__ import annotations

import datetime as dt
import heapq
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from ._catalogue import FakeService
from ._dialect import Dialect, money
from ._orders import FakeOrder, FakeRefill, auto_view
from ._rules import Refusal, check_add

__all__ = ["FIRST_ORDER", "FIRST_REFILL", "MAX_IDS", "Book", "Ids"]

FIRST_ORDER = 23501
"""Order IDs start here, as on a panel that has been running for a while (seed 003)."""
FIRST_REFILL = 1
MAX_IDS = 100
"""The most IDs one multi-ID request may carry."""

Ids = tuple[bool, list[str]]
"""The IDs of a request: (multi-ID form?, the ID tokens as sent, stripped, repeats dropped)."""

_NO_ORDER = "Incorrect order ID"
_NO_REFILL = "Refill not found"


def number(token: str) -> int | None:
    """A positive ID from a token of ASCII digits; ``None`` for anything else."""
    if token.isascii() and token.isdigit():
        value = int(token)
        return value if value > 0 else None
    return None


class Book:
    """State and actions; every action returns the answer's JSON or raises ``Refusal``."""

    def __init__(
        self,
        dialect: Dialect,
        balance: Decimal,
        currency: str,
        services: Iterable[FakeService],
        *,
        realtime: bool,
        auto_orders: bool,
    ) -> None:
        self.dialect = dialect
        self.balance = balance
        self.currency = currency
        self.services: dict[int, FakeService] = {}
        for service in services:
            if not isinstance(service, FakeService):
                raise TypeError(f"services must be FakeService objects, got {service!r:.60}")
            if service.id in self.services:
                raise ValueError(f"two services have the ID {service.id}")
            self.services[service.id] = service
        self.auto_orders = auto_orders
        self.orders: dict[int, FakeOrder] = {}
        self.refills: dict[int, FakeRefill] = {}
        self._next_order = FIRST_ORDER
        self._next_refill = FIRST_REFILL
        self._realtime = realtime
        self._offset = 0.0
        self._started = time.monotonic()
        # The calendar day at clock 0, for subscriptions' expiry dates (local, as users'
        # tests write ``date.today()``).
        self._epoch = dt.datetime.now()
        self._refunds: list[tuple[float, int]] = []  # (when, order ID) of partial orders
        self._catalogue = dialect.services(self.services.values())
        self._actions: dict[str, Callable[[Mapping[str, str], Ids], Any]] = {
            "balance": self._balance,
            "services": self._services,
            "add": self._add,
            "status": self._status,
            "refill": self._refill,
            "refill_status": self._refill_status,
            "cancel": self._cancel,
        }

    # ------------------------------------------------------------------ the clock

    def now(self) -> float:
        """Seconds on the fake clock: moved by ``advance``, and by real time if ``realtime``."""
        if self._realtime:
            return self._offset + (time.monotonic() - self._started)
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward; refunds that fall due are paid."""
        self._offset += seconds
        self.settle()

    def settle(self) -> None:
        """Pay the refunds of partial orders that have ended by now."""
        if not self._refunds:
            return
        now = self.now()
        while self._refunds and self._refunds[0][0] <= now:
            _, order_id = heapq.heappop(self._refunds)
            order = self.orders[order_id]
            if order.canceled_at is None:
                self.balance += order.refund

    # ------------------------------------------------------------------ actions

    def handle(self, action: str, form: Mapping[str, str], ids: Ids) -> Any:
        """Answer one authenticated request."""
        handler = self._actions.get(action)
        if handler is None:
            raise Refusal("Incorrect request")
        self.settle()
        return handler(form, ids)

    def _balance(self, form: Mapping[str, str], ids: Ids) -> Any:
        return self.dialect.balance(self.balance, self.currency)

    def _services(self, form: Mapping[str, str], ids: Ids) -> Any:
        return self._catalogue

    def _add(self, form: Mapping[str, str], ids: Ids) -> Any:
        return self.dialect.added(self.place(form).id)

    def place(self, form: Mapping[str, str]) -> FakeOrder:
        """Check, charge and store an order; raise ``Refusal`` with the panel's words."""
        service_id = number(form.get("service", "").strip())
        service = self.services.get(service_id) if service_id is not None else None
        if service is None:
            raise Refusal("Incorrect service ID")
        placement = check_add(service, form, self.dialect.delays)
        now = self.now()
        expires = None
        if placement.expiry is not None:
            end = dt.datetime.combine(placement.expiry + dt.timedelta(days=1), dt.time())
            expires = (end - self._epoch).total_seconds()
            if expires <= now:
                raise Refusal("Incorrect expiry date: it has passed")
        if placement.charge > self.balance:
            raise Refusal("Not enough funds on balance")
        self.balance -= placement.charge
        order = FakeOrder(
            id=self._next_order,
            service=service,
            quantity=placement.quantity,
            charge=placement.charge,
            created=now,
            fields={k: v for k, v in form.items() if k not in ("key", "action")},
            clock=self.now,
            runs=placement.runs,
            interval=placement.interval,
            expires=expires,
        )
        self._next_order += 1
        self.orders[order.id] = order
        if order.undelivered:
            heapq.heappush(self._refunds, (order.ends, order.id))
        return order

    def _status(self, form: Mapping[str, str], ids: Ids) -> Any:
        many, tokens = ids
        if not tokens:
            raise Refusal(_NO_ORDER)
        now = self.now()
        if not many:
            entry = self._status_entry(tokens[0], now)
            if entry is None:
                raise Refusal(_NO_ORDER)
            return entry
        _check_count(tokens)
        missing = self.dialect.missing(_NO_ORDER)
        return {token: self._status_entry(token, now) or missing for token in tokens}

    def _status_entry(self, token: str, now: float) -> dict[str, Any] | None:
        order_id = number(token)
        if order_id is None:
            return None
        order = self.orders.get(order_id)
        if order is not None:
            view = order.view(now)
            charge = money(view.charge, self.dialect.charge_places)
            return self.dialect.status(
                order_id, view.status, charge, view.start_count, view.remains, self.currency
            )
        if self.auto_orders:
            word, charge, start_count, remains = auto_view(order_id)
            return self.dialect.status(order_id, word, charge, start_count, remains, self.currency)
        return None

    def _refill(self, form: Mapping[str, str], ids: Ids) -> Any:
        many, tokens = ids
        if not tokens:
            raise Refusal(_NO_ORDER)
        now = self.now()
        if not many:
            return {"refill": str(self._new_refill(tokens[0], now))}
        _check_count(tokens)
        return [
            {"order": self._echo(token), "refill": self._per_id(self._new_refill, token, now)}
            for token in tokens
        ]

    def _new_refill(self, token: str, now: float) -> int:
        order = self._order(token)
        if not order.service.refill:
            raise Refusal("Refill is disabled for this service")
        if order.view(now).status != "Completed":
            raise Refusal("Refill is not allowed: the order is not completed")
        refill = FakeRefill(id=self._next_refill, order=order.id, created=now, clock=self.now)
        self._next_refill += 1
        self.refills[refill.id] = refill
        return refill.id

    def _refill_status(self, form: Mapping[str, str], ids: Ids) -> Any:
        many, tokens = ids
        if not tokens:
            raise Refusal(_NO_REFILL)
        now = self.now()
        if not many:
            return {"status": self._refill_word(tokens[0], now)}
        _check_count(tokens)
        return [
            {"refill": self._echo(token), "status": self._per_id(self._refill_word, token, now)}
            for token in tokens
        ]

    def _refill_word(self, token: str, now: float) -> str:
        refill_id = number(token)
        refill = self.refills.get(refill_id) if refill_id is not None else None
        if refill is None:
            raise Refusal(_NO_REFILL)
        return self.dialect.word(refill.word(now))

    def _cancel(self, form: Mapping[str, str], ids: Ids) -> Any:
        _, tokens = ids
        if not tokens:
            raise Refusal(_NO_ORDER)
        _check_count(tokens)
        now = self.now()
        return [
            {"order": self._echo(token), "cancel": self._per_id(self._cancel_one, token, now)}
            for token in tokens
        ]

    def _cancel_one(self, token: str, now: float) -> int:
        order = self._order(token)
        if not order.service.cancel:
            raise Refusal("Cancel is disabled for this service")
        status = order.view(now).status
        if status != "Pending":
            raise Refusal(f"Cancel is not allowed: the order is {status.lower()}")
        order.canceled_at = now
        self.balance += order.charge
        return 1

    # ------------------------------------------------------------------ helpers

    def _order(self, token: str) -> FakeOrder:
        order_id = number(token)
        order = self.orders.get(order_id) if order_id is not None else None
        if order is None:
            raise Refusal(_NO_ORDER)
        return order

    def _echo(self, token: str) -> int | str:
        """The ID as a list answer repeats it: the dialect's number, or the token as sent."""
        value = number(token)
        return self.dialect.id(value) if value is not None else token

    def _per_id(self, act: Callable[[str, float], Any], token: str, now: float) -> Any:
        """One ID's value in a list answer: the result, or ``{"error": ...}``."""
        try:
            value = act(token, now)
        except Refusal as refusal:
            return {"error": refusal.message}
        return self.dialect.id(value) if isinstance(value, int) else value


def _check_count(tokens: list[str]) -> None:
    if len(tokens) > MAX_IDS:
        raise Refusal("Too many IDs")
