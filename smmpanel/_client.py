"""``Panel``: the async client. One connection pool, one limiter, one gate per ``Panel``."""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import warnings
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx
import sniffio

from . import _protocol as proto
from ._bulk import Answers, chunked, gather, split, stream
from ._config import DEFAULT_BACKOFF, DEFAULT_TIMEOUT, MAX_CHUNK, USER_AGENT
from ._convert import ShapeError
from ._errors import (
    AuthenticationError,
    InsecureURLWarning,
    PanelError,
    ProtocolError,
    RateLimitError,
    SMMPanelError,
    TransportError,
    UncertainOrderError,
)
from ._fast import fast_transport
from ._fields import ListField, check_id, check_ids, order_fields
from ._models import Balance, Bulk, OrderStatus, RefillStatus, Service
from ._pool import pooled_transport
from ._wire import Wire

__all__ = ["Panel"]

T = TypeVar("T")

_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json, text/html;q=0.5, */*;q=0.1",
}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Panel:
    """An SMM panel's API: ``async with Panel(url, key) as panel: await panel.balance()``.

    Every call is one form ``POST`` to ``url``; the key travels only in the body.
    ``concurrency`` caps requests in flight across all calls on this ``Panel`` (the pool is
    sized to match); ``chunk_size`` caps IDs per multi-ID request; ``retries`` are extra
    attempts for reads (writes only when the request never left); ``rate_limit`` caps
    requests per second. Pass ``http_client`` to share a pool (it is never closed here) or
    ``transport`` to plug in a fake panel or a proxy. ``backoff`` is the first retry's wait
    in seconds (doubling up to 30 s, with as much jitter). ``fast=True`` uses the aiohttp
    stack of the ``fast`` extra: less client CPU per request, asyncio only.
    """

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        concurrency: int = 8,
        chunk_size: int = MAX_CHUNK,
        retries: int = 3,
        rate_limit: float | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: float = DEFAULT_BACKOFF,
        fast: bool = False,
    ) -> None:
        self._url = _check_url(url)
        if not isinstance(key, str) or not key.strip():
            raise ValueError("key must be a non-empty string")
        if key in self._url.partition("?")[2]:
            raise ValueError("the API key must not be in the URL's query; it goes in the body")
        _check_int("concurrency", concurrency, 1)
        _check_int("chunk_size", chunk_size, 1, MAX_CHUNK)
        _check_int("retries", retries, 0)
        if rate_limit is not None and not (
            isinstance(rate_limit, int | float)
            and not isinstance(rate_limit, bool)
            and rate_limit > 0
        ):
            raise ValueError(f"rate_limit must be a positive number or None, got {rate_limit!r}")
        if not isinstance(backoff, int | float) or isinstance(backoff, bool) or backoff < 0:
            raise ValueError(f"backoff must be a non-negative number, got {backoff!r}")
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        if fast and (http_client is not None or transport is not None):
            raise ValueError("fast=True makes its own transport; drop http_client/transport")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            timeout = httpx.Timeout(float(timeout))
        elif not isinstance(timeout, httpx.Timeout):
            raise ValueError(f"timeout must be a positive number or httpx.Timeout, got {timeout!r}")

        self._concurrency = concurrency
        self._chunk_size = chunk_size
        self._rate_limit = rate_limit
        self._fast = fast
        self._owns_client = http_client is None
        if fast:
            transport = fast_transport(concurrency)
        elif transport is None and http_client is None:
            transport = pooled_transport(concurrency)
        if http_client is None:
            # The transport is always ours or the caller's, so it carries the pool limits.
            http_client = httpx.AsyncClient(
                transport=transport, timeout=timeout, headers={"User-Agent": USER_AGENT}
            )
        self._client = http_client
        self._wire = Wire(
            self._url,
            key,
            http_client,
            timeout=timeout,
            concurrency=concurrency,
            rate_limit=rate_limit,
            retries=retries,
            backoff=float(backoff),
        )
        self._state = _State.OPEN

    # ------------------------------------------------------------------ lifecycle

    def __repr__(self) -> str:
        return f"<Panel {self._url!r} concurrency={self._concurrency}>"

    @property
    def url(self) -> str:
        """The panel's API URL."""
        return self._url

    @property
    def rate_limit(self) -> float | None:
        """The ``rate_limit`` this ``Panel`` was made with (requests per second), or ``None``."""
        return self._rate_limit

    @property
    def concurrency(self) -> int:
        """Requests in flight at most, across all calls on this ``Panel``."""
        return self._concurrency

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._state is _State.CLOSED

    def __del__(self) -> None:
        # Only a warning: closing needs the event loop, which may be gone by now.
        if getattr(self, "_state", _State.CLOSED) is _State.OPEN and self._owns_client:
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await panel.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    async def __aenter__(self) -> Self:
        if self._state is _State.CLOSED:
            raise RuntimeError("this Panel is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool if this ``Panel`` made it; safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------ actions

    async def balance(self) -> Balance:
        """The account's balance."""
        return await self._single("balance", {}, proto.parse_balance)

    async def services(self) -> list[Service]:
        """The panel's service catalogue."""
        return await self._single("services", {}, proto.parse_services)

    async def add(
        self,
        *,
        service: int | str,
        link: str | None = None,
        quantity: int | None = None,
        runs: int | None = None,
        interval: int | None = None,
        comments: ListField | None = None,
        usernames: ListField | None = None,
        hashtags: ListField | None = None,
        hashtag: str | None = None,
        username: str | None = None,
        media: str | None = None,
        min: int | None = None,
        max: int | None = None,
        posts: int | None = None,
        old_posts: int | None = None,
        delay: int | None = None,
        expiry: dt.date | str | None = None,
        answer_number: int | None = None,
        groups: ListField | None = None,
        **extra: Any,
    ) -> int:
        """Place an order; returns its ID. Never retried once the request may have left.

        Raises ``UncertainOrderError`` (with the order's fields) when the request may have
        reached the panel but no answer could be read: the order may exist.
        """
        fields = order_fields(
            service,
            {
                "link": link,
                "quantity": quantity,
                "runs": runs,
                "interval": interval,
                "comments": comments,
                "usernames": usernames,
                "hashtags": hashtags,
                "hashtag": hashtag,
                "username": username,
                "media": media,
                "min": min,
                "max": max,
                "posts": posts,
                "old_posts": old_posts,
                "delay": delay,
                "expiry": expiry,
                "answer_number": answer_number,
                "groups": groups,
            },
            extra,
        )
        body = self._wire.body("add", fields)
        try:
            data = await self._call("add", body, read=False)
            return proto.parse_add(data)
        except ShapeError as error:
            raise UncertainOrderError(
                f"add: the panel's answer holds no order ID ({error}); the order may exist",
                fields=fields,
            ) from None
        except ProtocolError as error:
            raise UncertainOrderError(
                f"{error.message}; the order may exist", fields=fields
            ) from error
        except TransportError as error:
            if isinstance(error, UncertainOrderError) or getattr(error, "_unsent", False):
                raise  # never left: the order surely does not exist
            raise UncertainOrderError(
                f"{error.message}; the order may exist", fields=fields
            ) from error.__cause__

    async def status(self, order: int | str) -> OrderStatus:
        """One order's status; raises ``NotFoundError`` for an unknown ID."""
        order_id = check_id(order, "order")
        return await self._single(
            "status", {"order": str(order_id)}, lambda data: proto.parse_status(data, order_id)
        )

    async def statuses(self, orders: Iterable[int | str]) -> Bulk[OrderStatus]:
        """Any number of orders' statuses, 100-ID chunks at a time, concurrently."""
        return await self._bulk("status", "orders", orders, proto.parse_statuses, read=True)

    def iter_statuses(
        self, orders: Iterable[int | str] | AsyncIterable[int | str]
    ) -> AsyncGenerator[Bulk[OrderStatus]]:
        """Statuses streamed one chunk's ``Bulk`` at a time, as they complete.

        IDs are read only a window of chunks ahead of the requests (one chunk at first,
        growing while the stream keeps up), so memory does not grow with their number.
        Use ``contextlib.aclosing`` if you may stop early.
        """
        self._check_open()
        run = self._runner("status", "orders", proto.parse_statuses, read=True)
        return stream(orders, self._chunk_size, run, self._concurrency)

    async def watch(
        self, orders: Iterable[int | str], *, every: float = 60.0
    ) -> AsyncGenerator[OrderStatus]:
        """Each order's first status, then only changes; ends when all are final or not found.

        Orders drop out of the polling set once final or unknown to the panel. Orders whose
        poll failed (network, protocol) are polled again next round.
        """
        if not isinstance(every, int | float) or isinstance(every, bool) or every < 0:
            raise ValueError(f"every must be a non-negative number of seconds, got {every!r}")
        active = check_ids(orders, "order")
        last: dict[int, OrderStatus] = {}
        while active:
            bulk = await self.statuses(active)
            still: list[int] = []
            for order in active:
                current = bulk.ok.get(order)
                if current is None:
                    error = bulk.errors[order]
                    if isinstance(error, AuthenticationError):
                        raise error
                    if not isinstance(error, PanelError) or isinstance(error, RateLimitError):
                        still.append(order)
                    continue
                if last.get(order) != current:
                    last[order] = current
                    yield current
                if not current.final:
                    still.append(order)
            active = still
            if active:
                await anyio.sleep(every)

    async def refill(self, order: int | str) -> int:
        """Ask for a refill of one order; returns the refill's ID."""
        order_id = check_id(order, "order")
        return await self._single(
            "refill", {"order": str(order_id)}, proto.parse_refill, read=False
        )

    async def refills(self, orders: Iterable[int | str]) -> Bulk[int]:
        """Refills for any number of orders; ``ok`` maps each order to its refill ID."""
        return await self._bulk("refill", "orders", orders, proto.parse_refills, read=False)

    async def refill_status(self, refill: int | str) -> RefillStatus:
        """One refill's status."""
        refill_id = check_id(refill, "refill")
        return await self._single(
            "refill_status",
            {"refill": str(refill_id)},
            lambda data: proto.parse_refill_status(data, refill_id),
        )

    async def refill_statuses(self, refills: Iterable[int | str]) -> Bulk[RefillStatus]:
        """Any number of refills' statuses."""
        return await self._bulk(
            "refill_status", "refills", refills, proto.parse_refill_statuses, read=True
        )

    async def cancel(self, orders: Iterable[int | str]) -> Bulk[int]:
        """Cancel any number of orders; ``ok`` holds what the panel returned for each."""
        return await self._bulk("cancel", "orders", orders, proto.parse_cancels, read=False)

    # ------------------------------------------------------------------ machinery

    async def _call(self, action: str, body: bytes, *, read: bool) -> Any:
        self._check_open()
        return await self._wire.call(action, body, read=read)

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise RuntimeError("this Panel is closed; create a new one")
        if self._fast and sniffio.current_async_library() != "asyncio":
            raise RuntimeError("fast=True runs on asyncio only (aiohttp); drop it under trio")

    async def _single(
        self,
        action: str,
        fields: dict[str, str],
        parse: Callable[[Any], T],
        *,
        read: bool = True,
    ) -> T:
        data = await self._call(action, self._wire.body(action, fields), read=read)
        try:
            return parse(data)
        except ShapeError as error:
            raise ProtocolError(f"{action}: {error}", action=action) from None

    def _runner(
        self,
        action: str,
        field: str,
        parse: Callable[[Any, Sequence[int]], Answers[T]],
        *,
        read: bool,
    ) -> Callable[[list[int]], Any]:
        prefix = self._wire.body(action, {}) + f"&{field}=".encode()

        async def run(ids: list[int]) -> Answers[T]:
            body = prefix + "%2C".join(map(str, ids)).encode()  # the comma, form-encoded
            try:
                return parse(await self._call(action, body, read=read), ids)
            except SMMPanelError as error:
                return dict.fromkeys(ids, error)
            except ShapeError as error:
                return dict.fromkeys(ids, ProtocolError(f"{action}: {error}", action=action))

        return run

    async def _bulk(
        self,
        action: str,
        field: str,
        ids: Iterable[int | str],
        parse: Callable[[Any, Sequence[int]], Answers[T]],
        *,
        read: bool,
    ) -> Bulk[T]:
        checked = check_ids(ids, "refill" if field == "refills" else "order")
        self._check_open()
        if not checked:
            return Bulk()
        chunks = list(chunked(checked, self._chunk_size))
        run = self._runner(action, field, parse, read=read)
        answers = await gather(chunks, run, min(self._concurrency, len(chunks)))
        return split(checked, answers)


def _check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def _check_url(url: object) -> str:
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
