"""Running one action: its form body, one exchange, and what a failure becomes for the caller.

The client's one way down: ``Panel`` and the bulk layer call ``Calls``, ``Calls`` calls the
http layer, and the answer comes back up as models. This is where a ``Failure`` becomes the
exception the caller sees, and where ``add`` decides an order may exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sniffio

from .._errors import Failure, PanelError, ProtocolError, TransportError, UncertainOrderError
from .._http import Exchange
from .._models import PerID
from .._protocol import Form, bind
from .actions import ADD, Action

__all__ = ["Calls"]

T = TypeVar("T")


class Calls:
    """A ``Panel``'s actions on the wire; refuses to run once closed."""

    __slots__ = ("_exchange", "_fast", "_form", "closed")

    def __init__(self, form: Form, exchange: Exchange, *, fast: bool) -> None:
        self._form = form
        self._exchange = exchange
        self._fast = fast
        self.closed = False

    def check(self) -> None:
        """``RuntimeError`` when no call may run: closed, or ``fast=True`` outside asyncio."""
        if self.closed:
            raise RuntimeError("this Panel is closed; create a new one")
        if self._fast and sniffio.current_async_library() != "asyncio":
            raise RuntimeError("fast=True runs on asyncio only (aiohttp); drop it under trio")

    async def _send(self, action: str, body: bytes, parse: Callable[[Any], T], read: bool) -> T:
        self.check()
        try:
            return await self._exchange.call(action, body, parse, read=read)
        except Failure as failure:
            caught = failure
        # Raised outside the except block: the error keeps the cause it was built with.
        raise caught.error

    async def one(self, action: Action[T], id: int | None = None) -> T:
        """A call without IDs, or with one (``id``); raises its error."""
        if id is None:
            body = self._form.body(action.name, {})
            return await self._send(action.name, body, action.parse, action.read)
        body = self._form.body(action.name, {action.field or "": str(id)})
        return await self._send(action.name, body, bind(action.parse, id), action.read)

    def chunks(self, action: Action[PerID[T]]) -> Callable[[list[int]], Awaitable[PerID[T]]]:
        """A runner for the bulk layer: one chunk of IDs in, a value or an error per ID out.

        It never raises for a panel, network or protocol failure: a failed chunk is its
        error for each of its IDs, so one chunk can never cancel the others.
        """

        async def run(ids: list[int]) -> PerID[T]:
            self.check()
            body = self._form.ids(action.name, action.field or "", ids)
            parse = bind(action.parse, ids)  # the parser, with its fast path when it has one
            try:
                return await self._exchange.call(action.name, body, parse, read=action.read)
            except Failure as failure:
                return dict.fromkeys(ids, failure.error)

        return run

    async def add(self, fields: dict[str, str]) -> int:
        """Place an order; a failure after the request may have left is ``UncertainOrderError``."""
        self.check()
        body = self._form.body(ADD.name, fields)
        try:
            return await self._exchange.call(ADD.name, body, ADD.parse, read=False)
        except Failure as failure:
            caught = failure
        error = caught.error
        if type(error) is PanelError and (error.status_code or 0) >= 500:
            # A 5xx whose words do not clearly refuse the order: it may have been placed.
            message = f"{error.message} (HTTP {error.status_code}); the order may exist"
            raise UncertainOrderError(message, fields=fields) from error
        if isinstance(error, ProtocolError):
            message = f"{error.message}; the order may exist"
            raise UncertainOrderError(message, fields=fields) from error
        if isinstance(error, TransportError) and not caught.unsent:
            message = f"{error.message}; the order may exist"
            raise UncertainOrderError(message, fields=fields) from error.__cause__
        raise error  # an answer, or a request that never left: the order does not exist
