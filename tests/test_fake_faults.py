"""``FakePanel`` faults and ``serve()``: each fault kind over the in-memory transport and over
real HTTP on 127.0.0.1, what ``Panel`` makes of them, and the server's own lifecycle."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import anyio
import httpx
import orjson
import pytest

from smmpanel import (
    Panel,
    ProtocolError,
    RateLimitError,
    SMMPanelError,
    TransportError,
    UncertainOrderError,
)
from smmpanel.testing import FakePanel

pytestmark = pytest.mark.anyio

LINK = "https://example.com/p/1"
ADD = {"action": "add", "service": "1", "link": LINK, "quantity": "100"}
KINDS = ["html502", "empty500", "rate_limit", "truncated", "slow", "drop", "refuse"]


def form(fake: FakePanel, fields: dict[str, str]) -> dict[str, str]:
    """A request's form: the fake's key and ``fields``."""
    return {"key": fake.key, **fields}


async def faulted(
    kind: str, fields: dict[str, str] = ADD, *, delay: float = 5.0, retry_after: float = 1.0
) -> tuple[FakePanel, httpx.Response]:
    """A fresh fake with one fault of ``kind``, and its raw answer to one in-memory request."""
    fake = FakePanel()
    fake.inject(kind, delay=delay, retry_after=retry_after)
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        response = await client.post(fake.url, data=form(fake, fields))
    return fake, response


@pytest.fixture
def served() -> Iterator[tuple[FakePanel, str]]:
    """A fake on a free local port, stopped after the test."""
    fake = FakePanel()
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with fake.serve() as url:
        yield fake, url


async def wait_until(condition: Callable[[], object], seconds: float = 3.0) -> None:
    """Poll ``condition()`` until true: for what a served fake does in its own thread."""
    with anyio.fail_after(seconds):
        # The condition changes in the server's thread, where no anyio.Event could be set.
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.01)


# ---------------------------------------------------------------------------- in memory


async def test_html502_in_memory() -> None:
    """A Cloudflare-like 502 page; the panel never sees the request."""
    fake, response = await faulted("html502")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert b"502: Bad gateway" in response.content
    assert b"Cloudflare" in response.content
    assert not fake.orders
    assert fake.balance == 1000
    assert fake.requests[-1].fault == "html502"
    assert not fake.requests[-1].answered


async def test_empty500_in_memory() -> None:
    """HTTP 500 with an empty body; not processed."""
    fake, response = await faulted("empty500")
    assert (response.status_code, response.content) == (500, b"")
    assert not fake.orders


async def test_rate_limit_in_memory() -> None:
    """HTTP 429 with ``Retry-After`` and ``{"error": "Too many requests"}``; not processed."""
    fake, response = await faulted("rate_limit", retry_after=2.5)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2.5"
    assert orjson.loads(response.content) == {"error": "Too many requests"}
    assert not fake.orders
    assert fake.requests[-1].error == "Too many requests"


async def test_truncated_in_memory() -> None:
    """Processed (the order exists, charged), but the JSON answer is cut in half."""
    fake, response = await faulted("truncated")
    assert response.status_code == 200
    assert response.content == b'{"order":23501}'[:7]
    assert list(fake.orders) == [23501]
    assert fake.balance == Decimal("999.91")
    assert not fake.requests[-1].answered


async def test_slow_in_memory_trips_the_read_timeout() -> None:
    """The transport honours the client's read timeout; the request is still processed."""
    fake = FakePanel()
    fake.inject("slow", delay=30)
    started = time.monotonic()
    async with httpx.AsyncClient(transport=fake.transport(), timeout=0.05) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(fake.url, data=form(fake, ADD))
    assert time.monotonic() - started < 1
    assert list(fake.orders) == [23501]
    assert fake.requests[-1].fault == "slow"
    assert not fake.requests[-1].answered


async def test_slow_in_memory_answers_within_the_timeout() -> None:
    """A delay shorter than the timeout only delays the answer."""
    started = time.monotonic()
    fake, response = await faulted("slow", {"action": "balance"}, delay=0.05)
    assert time.monotonic() - started >= 0.04
    assert response.status_code == 200
    assert fake.requests[-1].answered


async def test_drop_in_memory() -> None:
    """Processed and charged, then the connection drops: ``RemoteProtocolError``."""
    fake = FakePanel()
    fake.inject("drop")
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
            await client.post(fake.url, data=form(fake, ADD))
    assert list(fake.orders) == [23501]
    assert fake.balance == Decimal("999.91")


async def test_refuse_in_memory() -> None:
    """``ConnectError``, nothing processed, yet the attempt is recorded with its fault."""
    fake = FakePanel()
    fake.inject("refuse")
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        with pytest.raises(httpx.ConnectError, match="Connection refused"):
            await client.post(fake.url, data=form(fake, ADD))
    assert not fake.orders
    assert [r.fault for r in fake.requests] == ["refuse"]
    assert fake.max_in_flight == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_reads_retry_through_every_fault(kind: str) -> None:
    """``Panel`` retries a read through one fault of each kind and gets the balance."""
    fake = FakePanel()
    fake.inject(kind, times=1, delay=1, retry_after=0.01)
    async with fake.panel(timeout=0.1, backoff=0) as panel:
        assert (await panel.balance()).amount == 1000
    assert [r.fault for r in fake.requests] == [kind, None]
    assert [r.answered for r in fake.requests] == [False, True]


@pytest.mark.parametrize(
    ("kind", "error", "placed"),
    [
        ("html502", UncertainOrderError, 0),
        ("empty500", UncertainOrderError, 0),
        ("rate_limit", RateLimitError, 0),
        ("truncated", UncertainOrderError, 1),
        ("slow", UncertainOrderError, 1),
        ("drop", UncertainOrderError, 1),
    ],
)
async def test_add_is_never_sent_twice(kind: str, error: type[SMMPanelError], placed: int) -> None:
    """A write that may have reached the panel is not retried; the fake shows what happened."""
    fake = FakePanel()
    fake.inject(kind, times=1, delay=1, retry_after=0.01)
    async with fake.panel(timeout=0.1, backoff=0) as panel:
        with pytest.raises(error):
            await panel.add(service=1, link=LINK, quantity=100)
    assert len(fake.requests) == 1
    assert len(fake.orders) == placed
    assert fake.balance == 1000 - placed * Decimal("0.09")


async def test_add_is_retried_when_refused() -> None:
    """A refused connection never reached the panel, so even ``add`` is retried: one order."""
    fake = FakePanel()
    fake.inject("refuse", times=2)
    async with fake.panel(backoff=0) as panel:
        order = await panel.add(service=1, link=LINK, quantity=100)
    assert [r.fault for r in fake.requests] == ["refuse", "refuse", None]
    assert list(fake.orders) == [order]


async def test_rate_draws_are_seeded() -> None:
    """``rate`` is a probability drawn from ``seed``: the same seed, the same faults."""

    async def pattern(seed: int) -> list[bool]:
        fake = FakePanel(seed=seed)
        fake.inject("empty500", rate=0.3)
        async with httpx.AsyncClient(transport=fake.transport()) as client:
            for _ in range(200):
                await client.post(fake.url, data=form(fake, {"action": "balance"}))
        return [r.fault is not None for r in fake.requests]

    first = await pattern(7)
    assert first == await pattern(7)
    assert first != await pattern(8)
    assert 30 <= sum(first) <= 90


async def test_times_and_actions_limit_a_fault() -> None:
    """``actions`` picks the actions hit, ``times`` caps the count; ``clear_faults`` ends it."""
    fake = FakePanel()
    fake.inject("html502", actions="status", times=2)
    fake.inject("empty500", actions=["balance"])
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        for action in ("services", "status", "status", "status", "balance"):
            await client.post(fake.url, data=form(fake, {"action": action, "order": "1"}))
        assert [f.fired for f in fake.faults] == [2, 1]
        fake.clear_faults()
        await client.post(fake.url, data=form(fake, {"action": "balance"}))
    assert [r.fault for r in fake.requests] == [
        None, "html502", "html502", None, "empty500", None
    ]  # fmt: skip


async def test_first_injected_fault_wins() -> None:
    """One request carries at most one fault: the first that fires."""
    fake = FakePanel()
    fake.inject("truncated")
    fake.inject("html502")
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        await client.post(fake.url, data=form(fake, {"action": "balance"}))
    assert fake.requests[-1].fault == "truncated"
    assert [f.fired for f in fake.faults] == [1, 0]


def test_inject_checks_its_arguments() -> None:
    """A typo in a fault's name or a bad number fails at once."""
    fake = FakePanel()
    with pytest.raises(ValueError, match="unknown fault"):
        fake.inject("html503")
    with pytest.raises(ValueError, match="rate"):
        fake.inject("drop", rate=1.5)
    with pytest.raises(ValueError, match="times"):
        fake.inject("drop", times=-1)
    with pytest.raises(ValueError, match="delay"):
        fake.inject("slow", delay=-1)
    assert fake.faults == []


async def test_latency_delays_every_answer() -> None:
    """``latency`` models a remote panel: every answer waits that long."""
    fake = FakePanel(latency=0.05)
    async with fake.panel() as panel:
        started = time.monotonic()
        await panel.balance()
    assert time.monotonic() - started >= 0.045


# ---------------------------------------------------------------------------- over HTTP


@pytest.mark.parametrize(
    ("dialect", "content_type"),
    [("v1", "text/html; charset=UTF-8"), ("v2", "application/json")],
)
async def test_serve_over_real_http(dialect: str, content_type: str) -> None:
    """``serve()`` yields a local URL a client uses like any panel's; the port closes on exit."""
    fake = FakePanel(dialect=dialect)  # type: ignore[arg-type]
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with fake.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith(f"/api/{dialect}")
        async with httpx.AsyncClient() as client:
            response = await client.post(url, data=form(fake, {"action": "balance"}))
        assert response.headers["content-type"] == content_type
        async with Panel(url, fake.key) as panel:
            order = await panel.add(service=1, link=LINK, quantity=100)
            bulk = await panel.statuses([order, 1])
        assert bulk.ok[order].raw_status.lower() == "pending"
        assert fake.orders[order].link == LINK
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):  # a real refusal: nothing listens any more
            await client.post(url, data=form(fake, {"action": "balance"}))


async def test_html502_over_http(served: tuple[FakePanel, str]) -> None:
    """The 502 page crosses a real socket; nothing is processed."""
    fake, url = served
    fake.inject("html502")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, data=form(fake, ADD))
    assert response.status_code == 502
    assert b"Cloudflare" in response.content
    assert not fake.orders


async def test_empty500_over_http(served: tuple[FakePanel, str]) -> None:
    """HTTP 500, ``Content-Length: 0``."""
    fake, url = served
    fake.inject("empty500")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, data=form(fake, ADD))
    assert (response.status_code, response.content) == (500, b"")
    assert not fake.orders


async def test_rate_limit_over_http(served: tuple[FakePanel, str]) -> None:
    """HTTP 429 with ``Retry-After``; the client reads the hint."""
    fake, url = served
    fake.inject("rate_limit", retry_after=3)
    async with Panel(url, fake.key, retries=0) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.balance()
    assert caught.value.retry_after == 3.0
    assert caught.value.status_code == 429


async def test_truncated_over_http(served: tuple[FakePanel, str]) -> None:
    """A complete HTTP answer whose JSON is cut in half; the order was placed."""
    fake, url = served
    fake.inject("truncated")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, data=form(fake, ADD))
    assert response.status_code == 200
    assert response.content == b'{"order":23501}'[:7]
    assert list(fake.orders) == [23501]
    async with Panel(url, fake.key, retries=0) as panel:
        fake.inject("truncated")
        with pytest.raises(ProtocolError, match="truncated"):
            await panel.balance()


async def test_slow_over_http(served: tuple[FakePanel, str]) -> None:
    """The client times out; the panel still processes the order when its delay is over."""
    fake, url = served
    fake.inject("slow", delay=0.5)
    async with Panel(url, fake.key, timeout=0.1) as panel:
        with pytest.raises(UncertainOrderError, match="timed out"):
            await panel.add(service=1, link=LINK, quantity=100)
    assert not fake.orders
    await wait_until(lambda: fake.orders)
    assert fake.requests[0].fault == "slow"
    assert fake.requests[0].error is None


async def test_drop_over_http(served: tuple[FakePanel, str]) -> None:
    """Headers promise the whole body, half arrives, the connection closes; order placed."""
    fake, url = served
    fake.inject("drop")
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending complete"):
            await client.post(url, data=form(fake, ADD))
    assert list(fake.orders) == [23501]
    async with Panel(url, fake.key) as panel:
        fake.inject("drop", times=1)
        with pytest.raises(UncertainOrderError):
            await panel.add(service=1, link=LINK, quantity=100)
    assert len(fake.orders) == 2


async def test_refuse_over_http(served: tuple[FakePanel, str]) -> None:
    """Over ASGI a refusal can only send nothing: uvicorn answers 500, nothing is processed."""
    fake, url = served
    fake.inject("refuse")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, data=form(fake, ADD))
    assert response.status_code == 500
    assert not fake.orders
    assert fake.requests[-1].fault == "refuse"


async def test_reads_retry_through_every_fault_over_http(served: tuple[FakePanel, str]) -> None:
    """Over real HTTP too, a read gets through one fault of each kind."""
    fake, url = served
    async with Panel(url, fake.key, timeout=0.1, backoff=0) as panel:
        for kind in KINDS:
            fake.reset_stats()
            fake.inject(kind, times=1, delay=0.5, retry_after=0.01)
            assert (await panel.balance()).amount == 1000
            assert [r.fault for r in fake.requests] == [kind, None]


async def test_deliberate_faults_log_nothing(
    served: tuple[FakePanel, str], caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn's complaints about the unfinished answers of drop/refuse are hushed; no key."""
    caplog.set_level(logging.DEBUG)
    fake, url = served
    async with httpx.AsyncClient() as client:
        for kind in ("drop", "refuse"):
            fake.inject(kind, times=1)
            with contextlib.suppress(httpx.HTTPError):
                await client.post(url, data=form(fake, {"action": "balance"}))
        await client.post(url, data=form(fake, {"action": "balance"}))
    await wait_until(lambda: fake.in_flight == 0)
    assert "ASGI callable" not in caplog.text
    assert fake.key not in caplog.text
    assert "fake panel: balance request, fault drop" in caplog.text


async def test_max_in_flight_over_http(served: tuple[FakePanel, str]) -> None:
    """Concurrent requests over sockets are counted too."""
    fake, url = served
    fake.latency = 0.05
    fake.auto_orders = True
    async with Panel(url, fake.key, concurrency=4) as panel:
        bulk = await panel.statuses(range(1, 801))
    assert len(bulk.ok) == 800
    assert fake.max_in_flight == 4
    assert fake.in_flight == 0


async def test_serve_stops_promptly_with_a_request_waiting() -> None:
    """Exiting ``serve()`` ends a slow request's wait; the request is then not processed."""
    fake = FakePanel()
    fake.inject("slow", delay=60)
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with fake.serve() as url:
        async with Panel(url, fake.key, timeout=0.1, retries=0) as panel:
            with pytest.raises(TransportError):
                await panel.balance()
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert fake.in_flight == 0
    assert not fake.requests[0].answered


def test_two_fakes_serve_side_by_side() -> None:
    """Port 0 picks a free port for each."""
    first, second = FakePanel(), FakePanel(dialect="v1")
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with first.serve() as one, second.serve() as two:
        assert one != two
        assert one.endswith("/api/v2")
        assert two.endswith("/api/v1")
