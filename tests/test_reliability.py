"""Retries, write safety, rate limits, cancellation and bounds, through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
import pytest

import smmpanel
from smmpanel._config import MAX_RETRY_AFTER
from smmpanel._http import exchange as _wire
from smmpanel._http import throttle as _gate
from smmpanel._protocol import retry_after

pytestmark = pytest.mark.anyio

URL = "https://panel.example/api/v2"
KEY = "s3cr3t-key-0123456789"
OK_STATUS = {"charge": "0.27819", "start_count": "3572", "status": "Partial", "remains": "157"}


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


class Script:
    """A mock panel that answers from a script of failures, then succeeds; counts attempts."""

    def __init__(self, *failures: Callable[[httpx.Request], httpx.Response]) -> None:
        self.failures = list(failures)
        self.seen: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        fields = form(request)
        self.seen.append(fields)
        if self.failures:
            return self.failures.pop(0)(request)
        return ok(fields)

    def actions(self) -> list[str]:
        return [f["action"] for f in self.seen]


def ok(fields: dict[str, str]) -> httpx.Response:
    action = fields["action"]
    if action == "balance":
        return httpx.Response(200, json={"balance": "10.5", "currency": "USD"})
    if action == "add":
        return httpx.Response(200, json={"order": 23501})
    if action == "status" and "orders" in fields:
        return httpx.Response(200, json=dict.fromkeys(fields["orders"].split(","), OK_STATUS))
    if action == "status":
        return httpx.Response(200, json=OK_STATUS)
    if action == "refill" and "orders" in fields:
        ids = fields["orders"].split(",")
        return httpx.Response(200, json=[{"order": int(i), "refill": int(i) + 1} for i in ids])
    if action == "refill":
        return httpx.Response(200, json={"refill": "7"})
    if action == "cancel":
        ids = fields["orders"].split(",")
        return httpx.Response(200, json=[{"order": int(i), "cancel": 1} for i in ids])
    return httpx.Response(200, json={"error": "Incorrect request"})


def html502(_: httpx.Request) -> httpx.Response:
    return httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>")


def empty500(_: httpx.Request) -> httpx.Response:
    return httpx.Response(500, content=b"")


def truncated(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=b'{"balance": "10.5", "curr')


def timeout408(_: httpx.Request) -> httpx.Response:
    return httpx.Response(408, text="Request Timeout")


def limited(_: httpx.Request) -> httpx.Response:
    return httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "0"})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def dropped(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without a response", request=request)


def panel(handler: Any, **options: Any) -> smmpanel.Panel:
    options.setdefault("backoff", 0)
    return smmpanel.Panel(URL, KEY, transport=httpx.MockTransport(handler), **options)


@pytest.mark.parametrize(
    "failure", [html502, empty500, truncated, timeout408, limited, refused, read_timeout, dropped]
)
async def test_reads_are_retried_until_they_succeed(
    failure: Callable[[httpx.Request], httpx.Response],
) -> None:
    """A read survives each kind of transient failure, twice in a row."""
    script = Script(failure, failure)
    async with panel(script, retries=3) as p:
        balance = await p.balance()
    assert balance == smmpanel.Balance(Decimal("10.5"), "USD")
    assert script.actions() == ["balance"] * 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (html502, smmpanel.ProtocolError),
        (empty500, smmpanel.ProtocolError),
        (read_timeout, smmpanel.TransportError),
        (limited, smmpanel.RateLimitError),
    ],
)
async def test_reads_give_up_after_their_retries(
    failure: Callable[[httpx.Request], httpx.Response], error: type[Exception]
) -> None:
    """retries=2 means three attempts, then the last failure is raised."""
    script = Script(*[failure] * 5)
    async with panel(script, retries=2) as p:
        with pytest.raises(error):
            await p.status(5)
    assert len(script.seen) == 3


async def test_a_clear_panel_error_is_never_retried() -> None:
    """A bad key will not get better by asking again."""
    script = Script(*[lambda _: httpx.Response(200, json={"error": "Invalid API key"})] * 5)
    async with panel(script, retries=3) as p:
        with pytest.raises(smmpanel.AuthenticationError):
            await p.balance()
    assert len(script.seen) == 1


@pytest.mark.parametrize("failure", [read_timeout, dropped, html502, empty500, truncated])
async def test_add_after_sending_is_uncertain_and_not_retried(
    failure: Callable[[httpx.Request], httpx.Response],
) -> None:
    """Once the request may have reached the panel, add raises UncertainOrderError, once."""
    script = Script(failure)
    async with panel(script, retries=3) as p:
        with pytest.raises(smmpanel.UncertainOrderError) as caught:
            await p.add(service=1, link="https://x.example/p/1", quantity=100)
    assert len(script.seen) == 1
    assert caught.value.action == "add"
    assert caught.value.fields == {
        "service": "1",
        "link": "https://x.example/p/1",
        "quantity": "100",
    }
    assert KEY not in repr(caught.value.fields)


async def test_add_refused_at_connect_is_retried_and_placed_once() -> None:
    """A connection that was never made is safe to retry, even for a write."""
    script = Script(refused, refused)
    async with panel(script, retries=3) as p:
        assert await p.add(service=1, link="https://x.example/p/1", quantity=100) == 23501
    assert script.actions() == ["add"] * 3


async def test_add_that_never_left_is_a_plain_transport_error() -> None:
    """When every connection attempt was refused, the order surely does not exist."""
    script = Script(*[refused] * 4)
    async with panel(script, retries=1) as p:
        with pytest.raises(smmpanel.TransportError) as caught:
            await p.add(service=1, link="https://x.example/p/1", quantity=100)
    assert not isinstance(caught.value, smmpanel.UncertainOrderError)
    assert len(script.seen) == 2


async def test_add_rate_limited_is_not_retried() -> None:
    """A 429 to a write is reported, not retried: writes retry only when never sent."""
    script = Script(limited)
    async with panel(script, retries=3) as p:
        with pytest.raises(smmpanel.RateLimitError):
            await p.add(service=1, link="https://x.example/p/1", quantity=100)
    assert len(script.seen) == 1


async def test_refill_after_sending_is_not_retried() -> None:
    """refill raises its TransportError after one attempt."""
    script = Script(read_timeout)
    async with panel(script, retries=3) as p:
        with pytest.raises(smmpanel.TransportError) as caught:
            await p.refill(5)
    assert not isinstance(caught.value, smmpanel.UncertainOrderError)
    assert len(script.seen) == 1


async def test_bulk_cancel_failure_lands_on_each_id_of_the_chunk() -> None:
    """A failed write chunk puts its error on each of its IDs; other chunks are answered."""
    script = Script(html502)
    async with panel(script, retries=3, chunk_size=2, concurrency=1) as p:
        result = await p.cancel([1, 2, 3, 4])
    assert list(result.errors) == [1, 2]
    assert all(isinstance(e, smmpanel.ProtocolError) for e in result.errors.values())
    assert result.ok == {3: 1, 4: 1}
    assert len(script.seen) == 2


async def test_bulk_read_survives_failing_chunks() -> None:
    """Every chunk of a bulk read is retried on its own; every ID ends up answered."""
    script = Script(html502, refused, empty500, limited, truncated)
    async with panel(script, retries=5, chunk_size=10, concurrency=4) as p:
        result = await p.statuses(range(1, 101))
    assert list(result.ok) == list(range(1, 101))
    assert not result.errors


async def test_retries_exhausted_put_the_error_on_the_chunk_ids_only() -> None:
    """With retries=0, the one failing chunk's IDs carry its error; the rest are answered."""
    script = Script(empty500)
    async with panel(script, retries=0, chunk_size=5, concurrency=1) as p:
        result = await p.statuses(range(1, 16))
    assert list(result.errors) == [1, 2, 3, 4, 5]
    assert list(result.ok) == list(range(6, 16))


async def test_retry_after_is_read_from_seconds_and_dates() -> None:
    """Retry-After in seconds or as an HTTP date becomes RateLimitError.retry_after."""
    assert retry_after("7") == 7.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None
    script = Script(
        lambda _: httpx.Response(
            429, json={"error": "Too many requests"}, headers={"Retry-After": "3"}
        )
    )
    async with panel(script, retries=0) as p:
        with pytest.raises(smmpanel.RateLimitError) as caught:
            await p.balance()
    assert caught.value.retry_after == 3.0
    assert caught.value.status_code == 429


class VirtualClock:
    """anyio.current_time and anyio.sleep for the gate, on a clock only sleeps move."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def current_time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def throttle(rate: Any, clock: VirtualClock, concurrency: int = 1) -> _gate.Throttle:
    return _gate.Throttle(rate, concurrency, now=clock.current_time, sleep=clock.sleep)


async def turn(gate: _gate.Throttle, action: str = "status") -> None:
    await gate.enter(action)
    gate.leave()


async def test_gate_spaces_requests_by_the_rate(clock: VirtualClock) -> None:
    """rate_limit=4 lets one request go every 0.25 s."""
    gate = throttle(4, clock)
    for _ in range(5):
        await turn(gate)
    assert clock.now == pytest.approx(101.0)


async def test_gate_pause_holds_everyone(clock: VirtualClock) -> None:
    """A 429's pause delays every later request of the Panel, not just the one that got it."""
    gate = throttle(None, clock)
    await turn(gate)
    assert clock.sleeps == []
    gate.pause(2.0)
    await turn(gate)
    await turn(gate)
    assert clock.now == pytest.approx(102.0)
    gate.pause(1000)
    await turn(gate)
    assert clock.now == pytest.approx(102.0 + MAX_RETRY_AFTER)


async def test_a_429_pauses_the_panel_for_its_retry_after(clock: VirtualClock) -> None:
    """After a 429 with Retry-After: 30, the next request waits 30 s on the Panel's gate."""
    script = Script(
        lambda _: httpx.Response(
            429, json={"error": "Too many requests"}, headers={"Retry-After": "30"}
        )
    )
    async with panel(script, retries=0) as p:
        p._wire.throttle = throttle(None, clock, concurrency=8)
        with pytest.raises(smmpanel.RateLimitError):
            await p.balance()
        await p.balance()
    assert clock.sleeps == [pytest.approx(30.0)]


async def test_cancelling_a_bulk_call_returns_promptly_and_leaves_nothing_running() -> None:
    """A cancelled statuses() stops every chunk; no request stays in flight."""
    in_flight = 0
    started = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        started.set()
        try:
            await anyio.sleep(3600)
        finally:
            in_flight -= 1
        return httpx.Response(200, json={})

    async with panel(slow, concurrency=4) as p:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(p.statuses, range(1, 1001))
                await started.wait()
                scope.cancel()
        assert scope.cancelled_caught
        assert in_flight == 0
    assert in_flight == 0


async def test_an_oversized_answer_is_a_protocol_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer over the size limit is refused, not read into memory."""
    monkeypatch.setattr(_wire, "MAX_BODY", 1000)
    big = b'{"balance": "' + b"9" * 5000 + b'"}'
    async with panel(lambda _: httpx.Response(200, content=big), retries=0) as p:
        with pytest.raises(smmpanel.ProtocolError, match="too large"):
            await p.balance()


# httpx nests async generators in Response.aiter_bytes; stopping early leaves the inner one
# for the garbage collector, which trio reports. The connection itself is closed.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_oversized_streamed_answer_is_a_protocol_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a Content-Length the limit applies while reading."""
    monkeypatch.setattr(_wire, "MAX_BODY", 1000)

    async def chunks() -> Any:
        for _ in range(100):
            yield b"9" * 100

    async with panel(lambda _: httpx.Response(200, content=chunks()), retries=0) as p:
        with pytest.raises(smmpanel.ProtocolError, match="too large"):
            await p.balance()
