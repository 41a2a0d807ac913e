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
from typing import Any, NamedTuple

from .._validate import positive_int
from ._catalogue import FakeService
from ._dialect import Dialect, money
from ._orders import AUTO_PERIOD, FakeOrder, FakeRefill, auto_view, start_count_of
from ._rules import Refusal, check_add

__all__ = ["FIRST_ORDER", "FIRST_REFILL", "MAX_IDS", "Book", "Ids"]

FIRST_ORDER = 23501
"""Order IDs start here, as on a panel that has been running for a while (seed 003)."""
FIRST_REFILL = 1
MAX_IDS = 100
"""The most IDs one multi-ID request may carry."""


class Ids(NamedTuple):
    """The IDs a request names, split once and shared by the record and the action."""

    many: bool
    """The multi-ID form (``orders``, ``refills``), answered per ID."""
    tokens: list[str]
    """The IDs as sent (stripped), in order; an answer repeats them."""
    numbers: list[int]
    """Each token's value, 0 for a token that is not an ID."""


_NO_ORDER = "Incorrect order ID"
_NO_REFILL = "Refill not found"


def number(token: str) -> int:
    """The ID a token of ASCII digits names; 0 (no order has it) for anything else."""
    return positive_int(token) or 0


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
        self._auto_rows = [_auto_row(dialect, r) for r in range(AUTO_PERIOD)]
        self._actions: dict[str, Callable[[Mapping[str, str], Ids], Any]] = {
            "balance": self._balance,
            "services": self._services,
            "add": self._add,
            "status": self._status,
            "refill": self._refill,
            "refill_status": self._refill_status,
            "cancel": self._cancel,
        }

    def recatalogue(self) -> None:
        """Rebuild the ``services`` answer after the catalogue changed."""
        self._catalogue = self.dialect.services(self.services.values())

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
        service = self.services.get(number(form.get("service", "").strip()))
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
        if not ids.tokens:
            raise Refusal(_NO_ORDER)
        now = self.now()
        if not ids.many:
            entry = self._status_entry(ids.numbers[0], now)
            if entry is None:
                raise Refusal(_NO_ORDER)
            return entry
        _check_count(ids)
        missing = self.dialect.missing(_NO_ORDER)
        entries = {}
        for token, order_id in zip(ids.tokens, ids.numbers, strict=True):
            entries[token] = self._status_entry(order_id, now) or missing
        return entries

    def _status_entry(self, order_id: int, now: float) -> dict[str, Any] | None:
        order = self.orders.get(order_id)
        if order is not None:
            view = order.view(now)
            return self.dialect.status(
                order_id,
                self.dialect.word(view.status),
                money(view.charge, self.dialect.charge_places),
                str(view.start_count),
                str(view.remains),
                self.currency,
            )
        if self.auto_orders and order_id:
            word, charge, started, remains = self._auto_rows[order_id % AUTO_PERIOD]
            start_count = str(start_count_of(order_id)) if started else "0"
            return self.dialect.status(order_id, word, charge, start_count, remains, self.currency)
        return None

    def _refill(self, form: Mapping[str, str], ids: Ids) -> Any:
        if not ids.tokens:
            raise Refusal(_NO_ORDER)
        now = self.now()
        if not ids.many:
            return {"refill": str(self._new_refill(ids.numbers[0], now))}
        return self._per_id(ids, "order", "refill", self._new_refill, now)

    def _new_refill(self, order_id: int, now: float) -> int:
        order = self._order(order_id)
        if not order.service.refill:
            raise Refusal("Refill is disabled for this service")
        if order.view(now).status != "Completed":
            raise Refusal("Refill is not allowed: the order is not completed")
        refill = FakeRefill(id=self._next_refill, order=order.id, created=now, clock=self.now)
        self._next_refill += 1
        self.refills[refill.id] = refill
        return refill.id

    def _refill_status(self, form: Mapping[str, str], ids: Ids) -> Any:
        if not ids.tokens:
            raise Refusal(_NO_REFILL)
        now = self.now()
        if not ids.many:
            return {"status": self._refill_word(ids.numbers[0], now)}
        return self._per_id(ids, "refill", "status", self._refill_word, now)

    def _refill_word(self, refill_id: int, now: float) -> str:
        refill = self.refills.get(refill_id)
        if refill is None:
            raise Refusal(_NO_REFILL)
        return self.dialect.word(refill.word(now))

    def _cancel(self, form: Mapping[str, str], ids: Ids) -> Any:
        if not ids.tokens:
            raise Refusal(_NO_ORDER)
        return self._per_id(ids, "order", "cancel", self._cancel_one, self.now())

    def _cancel_one(self, order_id: int, now: float) -> int:
        order = self._order(order_id)
        if not order.service.cancel:
            raise Refusal("Cancel is disabled for this service")
        status = order.view(now).status
        if status != "Pending":
            raise Refusal(f"Cancel is not allowed: the order is {status.lower()}")
        order.canceled_at = now
        self.balance += order.charge
        return 1

    # ------------------------------------------------------------------ helpers

    def _order(self, order_id: int) -> FakeOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise Refusal(_NO_ORDER)
        return order

    def _per_id(
        self, ids: Ids, id_key: str, key: str, act: Callable[[int, float], Any], now: float
    ) -> list[dict[str, Any]]:
        """A list answer, one entry per ID: ``{id_key: ID, key: result or {"error": ...}}``.

        The ID is the dialect's number, or the token as sent when it is not an ID.
        """
        _check_count(ids)
        entries = []
        for token, value in zip(ids.tokens, ids.numbers, strict=True):
            try:
                result = act(value, now)
            except Refusal as refusal:
                result = {"error": refusal.message}
            else:
                result = self.dialect.id(result) if isinstance(result, int) else result
            echo = self.dialect.id(value) if value else token
            entries.append({id_key: echo, key: result})
        return entries


def _check_count(ids: Ids) -> None:
    if len(ids.tokens) > MAX_IDS:
        raise Refusal("Too many IDs")


def _auto_row(dialect: Dialect, residue: int) -> tuple[str, str, bool, str]:
    """One row of the synthetic statuses, in the dialect's words."""
    word, charge, started, remains = auto_view(residue)
    return dialect.word(word), charge, started, str(remains)
