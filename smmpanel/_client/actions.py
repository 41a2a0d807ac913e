"""The table of actions: each API call's form action, ID field, parser and retry policy.

``Panel``'s methods are rows of this table; ``Calls`` runs a row. Adding an action is
adding a row (and its parser in ``_protocol.answers``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

from .. import _protocol as proto
from .._models import Balance, OrderStatus, PerID, RefillStatus, Service

__all__ = [
    "ADD",
    "BALANCE",
    "CANCEL",
    "REFILL",
    "REFILLS",
    "REFILL_STATUS",
    "REFILL_STATUSES",
    "SERVICES",
    "STATUS",
    "STATUSES",
    "Action",
]

T = TypeVar("T")


@attrs.frozen
class Action(Generic[T]):
    """One API action as the client calls it.

    ``parse`` reads the answer's JSON: ``parse(data)``, ``parse(data, id)`` for a one-ID
    action, ``parse(data, ids)`` for a multi-ID one. ``field`` is the form field of the
    ID(s), and ``what`` the name an ID is given in errors. ``read``: retried on any
    transient failure; a write (``read=False``) only when the request never left.
    """

    name: str
    parse: Callable[..., T]
    read: bool = True
    field: str | None = None
    what: str = "order"


def _refill(data: object, _: int) -> int:
    return proto.parse_refill(data)


BALANCE: Action[Balance] = Action("balance", proto.parse_balance)
SERVICES: Action[list[Service]] = Action("services", proto.parse_services)
ADD: Action[int] = Action("add", proto.parse_add, read=False)
STATUS: Action[OrderStatus] = Action("status", proto.parse_status, field="order")
STATUSES: Action[PerID[OrderStatus]] = Action("status", proto.parse_statuses, field="orders")
REFILL: Action[int] = Action("refill", _refill, read=False, field="order")
REFILLS: Action[PerID[int]] = Action("refill", proto.parse_refills, read=False, field="orders")
REFILL_STATUS: Action[RefillStatus] = Action(
    "refill_status", proto.parse_refill_status, field="refill", what="refill"
)
REFILL_STATUSES: Action[PerID[RefillStatus]] = Action(
    "refill_status", proto.parse_refill_statuses, field="refills", what="refill"
)
CANCEL: Action[PerID[int]] = Action("cancel", proto.parse_cancels, read=False, field="orders")
