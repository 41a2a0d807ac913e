"""``FakePanel``: an SMM panel in memory, for tests, demos, fault drills and benchmarks."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

import anyio
import attrs
import msgspec

from ._asgi import Receive, Scope, Send, asgi
from ._book import Book, Ids, number
from ._catalogue import DEFAULT_SERVICES, FakeService, fold, to_decimal
from ._dialect import DIALECTS
from ._faults import CLOUDFLARE_502, Fault, Faults
from ._orders import FakeOrder, FakeRefill
from ._records import Received, Reply
from ._rules import Refusal, sample_fields
from ._server import serve
from ._transport import FakeTransport

if TYPE_CHECKING:
    import httpx

    from .._client import Panel

__all__ = ["FakePanel"]

logger = logging.getLogger("smmpanel.testing")

_ID_FIELDS = {
    "status": ("orders", "order"),
    "refill": ("orders", "order"),
    "cancel": ("orders", "order"),
    "refill_status": ("refills", "refill"),
}
_HTML = "text/html; charset=UTF-8"
_NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>"
_UNPROCESSED = frozenset({"html502", "empty500", "rate_limit"})
_NAP = 0.05  # how often a served request's wait checks whether serve() is stopping
Sleep = Callable[[float], Awaitable[bool]]


class FakePanel:
    """An in-memory SMM panel that answers like the seed documents' panels.

    Plug it into a client without a network (``Panel(fake.url, fake.key,
    transport=fake.transport())``, or ``fake.panel()``), serve it as an ASGI app, or run it
    on a local port with ``with fake.serve() as url``.

    Orders move as the fake clock advances (``advance``; with ``realtime`` also by itself):
    ``Pending`` for 5 s, then ``In progress`` for ``max(10 s, quantity / 100 per s)`` (plus
    ``(runs - 1) * interval`` for drip-feed), then ``Completed``; orders whose ID ends in 0
    end ``Partial`` with a fifth undelivered and refunded. A pending order cancels with a
    full refund. Subscriptions stay ``Active`` until their expiry date has passed. Refills:
    ``Pending`` 5 s, ``In progress`` 10 s, ``Completed``; every 5th is ``Rejected``.

    Faults (``inject``), in memory / over a socket:

    - ``html502``, ``empty500``, ``rate_limit``: that HTTP answer; the panel never sees it.
    - ``truncated``: processed; the 200 JSON answer is cut in half.
    - ``slow``: waits ``delay`` s, then processes and answers. In memory, a wait past the
      client's read timeout raises ``httpx.ReadTimeout`` (processed all the same).
    - ``drop``: processed, then ``httpx.RemoteProtocolError`` / half the declared body and
      a closed connection.
    - ``refuse``: not processed; ``httpx.ConnectError`` / nothing sent, so uvicorn answers
      500 (a real refusal needs a closed port, e.g. after ``serve()`` has exited).
    """

    def __init__(
        self,
        *,
        dialect: Literal["v1", "v2"] = "v2",
        key: str = "test-key",
        balance: Decimal | int | str = Decimal("1000"),
        currency: str = "USD",
        services: Iterable[FakeService] | None = None,
        realtime: bool = False,
        latency: float = 0.0,
        auto_orders: bool = False,
        seed: int = 0,
        max_records: int | None = 10_000,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be 'v1' or 'v2', got {dialect!r}")
        if not isinstance(key, str) or not key:
            raise ValueError("key must be a non-empty string")
        self.key = key
        self.dialect = dialect
        self.currency = currency
        self.latency = _seconds("latency", latency)
        if max_records is not None and (
            isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 0
        ):
            raise ValueError(f"max_records must be an int >= 0 or None, got {max_records!r}")
        self.requests: deque[Received] = deque(maxlen=max_records)
        """The latest ``max_records`` requests received (all with ``None``), oldest first:
        a long-running fake keeps a bounded memory."""
        self.in_flight = 0
        """Requests being handled right now."""
        self.max_in_flight = 0
        """The most requests ever handled at once (since ``reset_stats``)."""
        self._lock = threading.Lock()  # the ASGI app may run in serve()'s thread
        self._faults = Faults(seed)
        self._book = Book(
            DIALECTS[dialect],
            to_decimal(balance),
            currency,
            DEFAULT_SERVICES if services is None else services,
            realtime=realtime,
            auto_orders=auto_orders,
        )
        self.orders: dict[int, FakeOrder] = self._book.orders
        self.refills: dict[int, FakeRefill] = self._book.refills
        self._content_type = DIALECTS[dialect].content_type
        self._stopping = threading.Event()  # set while serve() shuts down

    def __repr__(self) -> str:
        return (
            f"<FakePanel {self.dialect} orders={len(self.orders)} "
            f"balance={self.balance} {self.currency}>"
        )

    # ------------------------------------------------------------------ state

    @property
    def balance(self) -> Decimal:
        """The account's balance: down with each order, up with refunds."""
        with self._lock:
            self._book.settle()
            return self._book.balance

    @balance.setter
    def balance(self, value: Decimal | int | str) -> None:
        amount = to_decimal(value)
        with self._lock:
            self._book.balance = amount

    @property
    def services(self) -> tuple[FakeService, ...]:
        """The catalogue."""
        return tuple(self._book.services.values())

    @property
    def auto_orders(self) -> bool:
        """Whether unknown order IDs get a synthetic status instead of an error."""
        return self._book.auto_orders

    @auto_orders.setter
    def auto_orders(self, value: bool) -> None:
        self._book.auto_orders = bool(value)

    @property
    def clock(self) -> float:
        """Seconds on the fake clock since the fake was made."""
        return self._book.now()

    @property
    def faults(self) -> list[Fault]:
        """The injected faults, each with how often it has ``fired``."""
        return list(self._faults.active)

    @property
    def url(self) -> str:
        """An API URL for the in-memory transport; it never resolves."""
        return f"https://fake-panel.invalid{self.path}"

    @property
    def path(self) -> str:
        """The API's path (``/api/v2``): the only one that answers; any other is a 404."""
        return f"/api/{self.dialect}"

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward; orders and refills move on, refunds are paid."""
        step = _seconds("seconds", seconds)
        with self._lock:
            self._book.advance(step)

    def place(
        self,
        service: int,
        quantity: int,
        link: str = "https://example.com/p/1",
        **fields: str | int,
    ) -> int:
        """Place an order server-side (no request recorded); returns its ID.

        Charged like ``add``. Fields the service's type needs and you leave out are made up
        (``quantity`` comment lines for Custom Comments...). Raises ``ValueError`` with the
        panel's words when ``add`` would be refused.
        """
        known = self._book.services.get(service)
        if known is None:
            raise ValueError("Incorrect service ID")
        form = {"service": str(service)}
        if fold(known.type) != "subscriptions":
            form |= {"link": link, "quantity": str(quantity)}
        form |= sample_fields(known, quantity)
        form |= {name: str(value) for name, value in fields.items()}
        with self._lock:
            try:
                return self._book.place(form).id
            except Refusal as refusal:
                raise ValueError(refusal.message) from None

    def update_service(self, service_id: int, **changes: Any) -> FakeService:
        """Change a service between calls (``rate="1.20"``, ``max=500``...); returns it."""
        with self._lock:
            if service_id not in self._book.services:
                raise ValueError(f"no service {service_id!r} in this fake's catalogue")
            service = attrs.evolve(self._book.services[service_id], **changes)
            self._book.services[service_id] = service
            self._book.recatalogue()
        return service

    def remove_service(self, service_id: int) -> None:
        """Drop a service from the catalogue: ``services`` stops listing it, ``add`` refuses it."""
        with self._lock:
            if self._book.services.pop(service_id, None) is None:
                raise ValueError(f"no service {service_id!r} in this fake's catalogue")
            self._book.recatalogue()

    def add_service(self, service: FakeService) -> None:
        """Add a service to the catalogue (its ID must be new)."""
        if not isinstance(service, FakeService):
            raise TypeError(f"expected a FakeService, got {type(service).__name__}")
        with self._lock:
            if service.id in self._book.services:
                raise ValueError(f"the catalogue already has a service {service.id}")
            self._book.services[service.id] = service
            self._book.recatalogue()

    def inject(
        self,
        kind: str,
        *,
        rate: float = 1.0,
        times: int | None = None,
        actions: Iterable[str] | str | None = None,
        delay: float = 5.0,
        retry_after: float = 1.0,
    ) -> None:
        """Add a fault: ``html502``, ``empty500``, ``rate_limit``, ``truncated``, ``slow``,
        ``drop`` or ``refuse`` (see ``FaultKind``).

        ``rate`` is the chance a request gets it, ``times`` caps how often it fires,
        ``actions`` limits it to these actions; ``delay`` is the wait of ``slow`` and
        ``retry_after`` the ``Retry-After`` of ``rate_limit``.
        """
        with self._lock:
            self._faults.add(
                kind,
                rate=rate,
                times=times,
                actions=actions,
                delay=delay,
                retry_after=retry_after,
            )

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self._lock:
            self._faults.active.clear()

    def reset_stats(self) -> None:
        """Forget the requests received and the in-flight peak (orders stay)."""
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight

    # ------------------------------------------------------------------ plugging in

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-memory httpx transport to this fake: no sockets, same answers."""
        return FakeTransport(self)

    def panel(self, **options: Any) -> Panel:
        """A ``smmpanel.Panel`` wired to this fake through ``transport()``."""
        from .._client import Panel

        return Panel(self.url, self.key, transport=self.transport(), **options)

    def serve(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> contextlib.AbstractContextManager[str]:
        """Serve over real HTTP with uvicorn in a background thread; yields the API URL.

        ``port=0`` picks a free port. Needs the ``cli`` extra (uvicorn).
        """
        return serve(self, host, port, self._stopping)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: a form POST to ``path`` in, the panel's JSON out; elsewhere a 404."""
        await asgi(self, scope, receive, send)

    # ------------------------------------------------------------------ one request

    async def reply(
        self,
        method: str,
        body: bytes,
        *,
        limit: float | None = None,
        served: bool = False,
        path: str | None = None,
    ) -> Reply:
        """The endpoint: record, fault, wait and answer one request.

        Both transports hand their requests here and only write the ``Reply`` out: the
        in-memory ``FakeTransport`` and the ASGI app (``served``: its waits end early
        when ``serve()`` stops). ``limit`` is the client's read timeout (in-memory only):
        a wait longer than that ends in a ``timeout`` reply, though the request is still
        processed, as a slow panel still processes a request its client gave up on.
        A ``path`` other than the API's is a 404, as a web server says for a mistyped URL
        (not recorded: the panel never sees it).
        """
        if path is not None and path.rstrip("/") != self.path:
            return Reply(404, _NOT_FOUND, _HTML)
        sleep: Sleep = self._nap if served else _sleep
        # Like PHP's $_POST: only a POST body carries fields.
        form = _form(body) if method.upper() == "POST" else {}
        action = form.get("action", "")
        ids = _ids(action, form)
        received = Received(
            action=action,
            fields={k: v for k, v in form.items() if k != "key" and k != "action"},
            ids=[n for n in ids.numbers if n],
        )
        with self._lock:
            fault = self._faults.draw(action)
            kind = received.fault = fault.kind if fault is not None else None
            self.requests.append(received)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("fake panel: %s request, fault %s", action or "(no action)", kind)
        if kind == "refuse":
            return Reply(0, b"", "", "refuse")
        with self._flight():
            wait = self.latency + (fault.delay if fault is not None and kind == "slow" else 0.0)
            if wait > 0:
                if limit is not None and wait > limit:
                    await sleep(limit)
                    self._process(received, form, ids, complete=False)
                    return Reply(0, b"", "", "timeout")
                if not await sleep(wait):
                    return Reply(0, b"", "", "gone")
            if fault is not None and fault.kind in _UNPROCESSED:
                return self._stopped(fault, received)
            complete = kind not in ("truncated", "drop")
            answer = self._process(received, form, ids, complete=complete)
            if kind == "truncated":
                return Reply(200, answer[: len(answer) // 2], self._content_type)
            return Reply(200, answer, self._content_type, "drop" if kind == "drop" else "answer")

    def _stopped(self, fault: Fault, received: Received) -> Reply:
        """The answer of a fault that stops a request before the panel sees it."""
        if fault.kind == "html502":
            return Reply(502, CLOUDFLARE_502, _HTML)
        if fault.kind == "empty500":
            return Reply(500, b"", _HTML)
        received.error = "Too many requests"
        retry_after = f"{fault.retry_after:g}"
        body = b'{"error":"Too many requests"}'
        return Reply(429, body, self._content_type, retry_after=retry_after)

    def _process(
        self, received: Received, form: dict[str, str], ids: Ids, *, complete: bool
    ) -> bytes:
        """Check the key, run the action; the JSON answer or ``{"error": ...}``."""
        error = None
        answer: Any = None
        with self._lock:
            if form.get("key") != self.key:
                error = "Invalid API key"
            else:
                try:
                    answer = self._book.handle(received.action, form, ids)
                except Refusal as refusal:
                    error = refusal.message
        received.error = error
        received.answered = complete and error is None
        return msgspec.json.encode({"error": error} if error is not None else answer)

    @contextlib.contextmanager
    def _flight(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _nap(self, seconds: float) -> bool:
        """A served request's wait: False when ``serve()`` is stopping, so it ends quickly."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            await anyio.sleep(min(left, _NAP))
        return False


async def _sleep(seconds: float) -> bool:
    """An in-memory request's wait: nothing stops it early."""
    await anyio.sleep(seconds)
    return True


def _form(body: bytes) -> dict[str, str]:
    """A form body's fields (the last of repeated names wins, as in PHP).

    ``parse_qsl`` would do, but it unquotes every value character by character; most
    values here need nothing, and a list of IDs needs only its ``%2C`` commas.
    """
    form = {}
    for pair in body.decode("utf-8", "replace").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            form[_unquote(name)] = _unquote(value)
    return form


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        text = text.replace("%2C", ",")
        if "%" in text:
            text = unquote(text)
    return text


def _ids(action: str, form: dict[str, str]) -> Ids:
    """The IDs of a request, split on commas (``orders=1,2,3``) without a regex."""
    fields = _ID_FIELDS.get(action)
    if fields is None:
        return Ids(False, [], [])
    many, one = fields
    if many in form:
        tokens = [token for token in (t.strip() for t in form[many].split(",")) if token]
        numbers = [number(t) for t in tokens]
        return Ids(True, tokens, numbers)
    token = form.get(one, "").strip()
    return Ids(False, [token], [number(token)]) if token else Ids(False, [], [])


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return float(value)
