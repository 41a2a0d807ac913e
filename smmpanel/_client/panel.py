"""``Panel``: the async client. One connection pool and one throttle per ``Panel``."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
import sniffio

from .._config import (
    DEFAULT_BACKOFF,
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_CHUNK,
    USER_AGENT,
)
from .._http import ClientWire, Exchange, Wire, own_wire
from .._models import Balance, Bulk, OrderStatus, PerID, RefillStatus, Service
from .._protocol import Form
from .._validate import (
    FIELDS,
    ListField,
    check_backoff,
    check_id,
    check_ids,
    check_int,
    check_rate_limit,
    check_timeout,
    check_url,
    order_fields,
    unique_ids,
)
from . import actions
from .actions import Action
from .bulk import chunked, collect, stream
from .calls import Calls
from .watch import Watch, check_watch

__all__ = ["Panel"]

T = TypeVar("T")


class Panel:
    """An SMM panel's API: ``async with Panel(url, key) as panel: await panel.balance()``.

    Every call is one form ``POST`` to ``url``; the key travels only in the body.
    ``concurrency`` caps requests in flight across all calls on this ``Panel`` (the pool is
    sized to match); ``chunk_size`` caps IDs per multi-ID request; ``retries`` are extra
    attempts for reads (writes only when the request never left); ``rate_limit`` caps
    requests per second, on the whole ``Panel`` or per action (``{"status": 2, "*": 5}``).
    Pass ``http_client`` to share a pool (it is never closed here) or
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
        concurrency: int = DEFAULT_CONCURRENCY,
        chunk_size: int = MAX_CHUNK,
        retries: int = DEFAULT_RETRIES,
        rate_limit: float | Mapping[str, float] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: float = DEFAULT_BACKOFF,
        fast: bool = False,
    ) -> None:
        self._url = check_url(url)
        if not isinstance(key, str) or not key.strip():
            raise ValueError("key must be a non-empty string")
        if key in self._url.partition("?")[2]:
            raise ValueError("the API key must not be in the URL's query; it goes in the body")
        check_int("concurrency", concurrency, 1)
        check_int("chunk_size", chunk_size, 1, MAX_CHUNK)
        check_int("retries", retries, 0)
        limits = check_rate_limit(rate_limit)
        check_backoff(backoff)
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        if fast and (http_client is not None or transport is not None):
            raise ValueError("fast=True makes its own transport; drop http_client/transport")
        if fast:
            _check_fast_loop()
        timeout = check_timeout(timeout)

        self._concurrency = concurrency
        self._chunk_size = chunk_size
        self._rate_limit = limits
        self._owns_client = http_client is None
        wire: Wire
        if http_client is None and transport is None:
            # Our own wire: no httpx client layer (or aiohttp's when fast); an environment
            # proxy for this URL makes it an httpx client that reads it, as httpx does.
            wire = own_wire(self._url, concurrency, timeout, fast=fast, user_agent=USER_AGENT)
        else:
            if http_client is None:
                # The caller's transport carries the pool limits.
                http_client = httpx.AsyncClient(
                    transport=transport, timeout=timeout, headers={"User-Agent": USER_AGENT}
                )
            wire = ClientWire(http_client, self._url, timeout)
        self._client: httpx.AsyncClient | None = http_client
        self._wire = Exchange(
            self._url,
            key,
            wire,
            concurrency=concurrency,
            rate_limit=limits,
            retries=retries,
            backoff=float(backoff),
        )
        self._calls = Calls(Form(key), self._wire, fast=fast)

    # ------------------------------------------------------------------ lifecycle

    def __repr__(self) -> str:
        return f"<Panel {self._url!r} concurrency={self._concurrency}>"

    @property
    def url(self) -> str:
        """The panel's API URL."""
        return self._url

    @property
    def rate_limit(self) -> float | dict[str, float] | None:
        """The ``rate_limit`` this ``Panel`` was made with (requests per second), or ``None``.

        A mapping comes back as a copy: changing it changes nothing here.
        """
        limits = self._rate_limit
        return dict(limits) if isinstance(limits, dict) else limits

    @property
    def concurrency(self) -> int:
        """Requests in flight at most, across all calls on this ``Panel``."""
        return self._concurrency

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose`."""
        return self._calls.closed

    def __del__(self) -> None:
        # Only a warning: closing needs the event loop, which may be gone by now.
        calls = getattr(self, "_calls", None)  # None when __init__ refused its arguments
        if calls is not None and not calls.closed and self._owns_client:
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await panel.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    async def __aenter__(self) -> Self:
        if self._calls.closed:
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
        if self._calls.closed:
            return
        self._calls.closed = True
        if self._owns_client:
            await self._wire.wire.aclose()

    # ------------------------------------------------------------------ actions

    async def balance(self) -> Balance:
        """The account's balance."""
        return await self._calls.one(actions.BALANCE)

    async def services(self) -> list[Service]:
        """The panel's service catalogue."""
        return await self._calls.one(actions.SERVICES)

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
        given = locals()  # the named fields, exactly as ``FIELDS`` lists them
        fields = order_fields(service, {name: given[name] for name in FIELDS}, extra)
        return await self._calls.add(fields)

    async def status(self, order: int | str) -> OrderStatus:
        """One order's status; raises ``NotFoundError`` for an unknown ID."""
        return await self._one(actions.STATUS, order)

    async def statuses(self, orders: Iterable[int | str]) -> Bulk[OrderStatus]:
        """Any number of orders' statuses, 100-ID chunks at a time, concurrently."""
        return await self._bulk(actions.STATUSES, orders)

    def iter_statuses(
        self, orders: Iterable[int | str] | AsyncIterable[int | str]
    ) -> AsyncGenerator[Bulk[OrderStatus]]:
        """Statuses streamed one chunk's ``Bulk`` at a time, as they complete.

        IDs are read only as requests can take them (each chunk is sent as soon as it is
        read), and only a few answered chunks wait for you, so memory does not grow with
        their number. Use ``contextlib.aclosing`` if you may stop early.
        """
        self._calls.check()
        run = self._calls.chunks(actions.STATUSES)
        return stream(orders, self._chunk_size, run, self._concurrency)

    def watch(
        self,
        orders: Iterable[int | str],
        *,
        every: float = 60.0,
        until: float | None = None,
        failures: int = 3,
    ) -> Watch:
        """Each order's first status, then only changes, every ``every`` seconds (a ``Watch``).

        Ends when every order is final or not found, or after ``until`` seconds. Raises the
        last error once ``failures`` rounds in a row failed for every order still watched.
        Arguments and IDs are checked here, before anything is sent.
        """
        check_watch(every, until, failures)
        checked = check_ids(orders, "order")
        return Watch(self.statuses, checked, every=every, until=until, failures=failures)

    async def refill(self, order: int | str) -> int:
        """Ask for a refill of one order; returns the refill's ID."""
        return await self._one(actions.REFILL, order)

    async def refills(self, orders: Iterable[int | str]) -> Bulk[int]:
        """Refills for any number of orders; ``ok`` maps each order to its refill ID."""
        return await self._bulk(actions.REFILLS, orders)

    async def refill_status(self, refill: int | str) -> RefillStatus:
        """One refill's status."""
        return await self._one(actions.REFILL_STATUS, refill)

    async def refill_statuses(self, refills: Iterable[int | str]) -> Bulk[RefillStatus]:
        """Any number of refills' statuses."""
        return await self._bulk(actions.REFILL_STATUSES, refills)

    async def cancel(self, orders: Iterable[int | str]) -> Bulk[int]:
        """Cancel any number of orders; ``ok`` holds what the panel returned for each."""
        return await self._bulk(actions.CANCEL, orders)

    # ------------------------------------------------------------------ machinery

    async def _one(self, action: Action[T], id: int | str) -> T:
        return await self._calls.one(action, check_id(id, action.what))

    async def _bulk(self, action: Action[PerID[T]], ids: Iterable[int | str]) -> Bulk[T]:
        checked = unique_ids(ids, action.what)  # becomes the answer's ``ok``
        self._calls.check()
        if not checked:
            return Bulk()
        count = -(-len(checked) // self._chunk_size)  # chunks, made one at a time as sent
        run = self._calls.chunks(action)
        chunks = chunked(list(checked), self._chunk_size)
        return await collect(checked, chunks, run, min(self._concurrency, count))


def _check_fast_loop() -> None:
    """``fast=True`` made inside a trio program fails now, not at its first call."""
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return  # made outside an event loop: the first call checks
    if library != "asyncio":
        raise RuntimeError(f"fast=True runs on asyncio only (aiohttp), not {library}")
