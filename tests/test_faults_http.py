"""Fault tests over real HTTP: a FakePanel served by uvicorn on 127.0.0.1, faults injected.

A bulk poll must come through a bad hour with every order accounted for, and a bot must
never place an order twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import psutil
import pytest

import smmpanel
from smmpanel.testing import FakePanel

pytest.importorskip("uvicorn", reason="serve() needs the cli extra")

pytestmark = pytest.mark.anyio

FAULTS = ("html502", "empty500", "drop", "rate_limit", "truncated", "slow")
IDS = range(1, 10_001)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakePanel, str]]:
    """One FakePanel (every ID known: auto_orders) served for the whole module."""
    fake = FakePanel(auto_orders=True)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def fake(served: tuple[FakePanel, str]) -> Iterator[FakePanel]:
    panel, _ = served
    panel.clear_faults()
    panel.reset_stats()
    yield panel
    panel.clear_faults()


@pytest.fixture
def url(served: tuple[FakePanel, str]) -> str:
    return served[1]


def inject_all(fake: FakePanel, rate: float) -> None:
    """Spread ``rate`` evenly over every fault kind (slow answers outlast the timeout)."""
    for kind in FAULTS:
        fake.inject(kind, rate=rate / len(FAULTS), delay=1.0, retry_after=0.05)


async def expected_statuses(fake: FakePanel) -> dict[int, smmpanel.OrderStatus]:
    """The right answers, asked through the in-memory transport with no faults."""
    fake.clear_faults()
    async with fake.panel() as panel:
        result = await panel.statuses(IDS)
    assert not result.errors
    fake.reset_stats()
    return result.ok


def successful_ids(fake: FakePanel) -> Counter[int]:
    """How often each ID was in a request the client got a complete, good answer to."""
    return Counter(
        id
        for r in fake.requests
        if r.answered and r.fault is None and r.action == "status"
        for id in r.ids
    )


async def test_bulk_statuses_survive_twenty_percent_faults(fake: FakePanel, url: str) -> None:
    """10,000 IDs with 20% of requests failing in every way: each ID answered, asked once."""
    expected = await expected_statuses(fake)
    inject_all(fake, 0.2)
    async with smmpanel.Panel(url, fake.key, retries=12, backoff=0, timeout=0.3) as panel:
        result = await panel.statuses(IDS)
    assert not result.errors
    assert result.ok == expected
    assert list(result.ok) == list(IDS)
    asked = successful_ids(fake)
    assert set(asked) == set(IDS)
    assert max(asked.values()) == 1
    faults = Counter(r.fault for r in fake.requests if r.fault)
    assert set(faults) == set(FAULTS)


async def test_without_retries_only_the_failed_chunks_carry_errors(
    fake: FakePanel, url: str
) -> None:
    """With retries exhausted, each failed chunk's IDs carry its error; the rest are answered."""
    expected = await expected_statuses(fake)
    for kind in ("html502", "empty500", "drop", "truncated", "slow"):
        fake.inject(kind, rate=0.04, delay=1.0)
    async with smmpanel.Panel(url, fake.key, retries=0, timeout=0.3) as panel:
        result = await panel.statuses(IDS)
    assert len(result) == len(IDS)
    assert result.errors, "20% of requests failed: some IDs must carry errors"
    for error in result.errors.values():
        assert isinstance(error, smmpanel.TransportError | smmpanel.ProtocolError)
    for order, status in result.ok.items():
        assert status == expected[order]
    failed_chunks = {tuple(r.ids) for r in fake.requests if r.fault}
    failed_ids = {id for chunk in failed_chunks for id in chunk}
    assert set(result.errors) == failed_ids


async def test_an_add_whose_connection_drops_is_uncertain_and_placed_once(
    fake: FakePanel, url: str
) -> None:
    """The panel records the order, the connection drops: UncertainOrderError, one order."""
    before = len(fake.orders)
    fake.inject("drop", actions="add", times=1)
    async with smmpanel.Panel(url, fake.key, retries=3, backoff=0) as panel:
        with pytest.raises(smmpanel.UncertainOrderError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert len(fake.orders) == before + 1
    assert [r.action for r in fake.requests] == ["add"]
    assert caught.value.fields["link"] == "https://x.example/p/1"
    assert fake.key not in repr(caught.value) + str(caught.value.fields)


async def test_an_add_refused_at_connect_is_retried_and_placed_once(fake: FakePanel) -> None:
    """A refused connection never reached the panel: retried, and the order exists once."""
    before = len(fake.orders)
    fake.inject("refuse", actions="add", times=2)
    async with fake.panel(retries=3, backoff=0) as panel:
        order = await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert order in fake.orders
    assert len(fake.orders) == before + 1
    assert [r.fault for r in fake.requests] == ["refuse", "refuse", None]


async def test_an_add_to_a_closed_port_is_a_transport_error(unused_tcp_port: int) -> None:
    """Nothing listens: a plain TransportError (the order surely does not exist)."""
    url = f"http://127.0.0.1:{unused_tcp_port}/api/v2"
    async with smmpanel.Panel(url, "k", retries=1, backoff=0) as panel:
        with pytest.raises(smmpanel.TransportError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert not isinstance(caught.value, smmpanel.UncertainOrderError)


def connections_to(port: int) -> list[Any]:
    me = psutil.Process()
    return [c for c in me.net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


async def test_no_connection_or_task_is_left_behind(
    fake: FakePanel, url: str, anyio_backend: str
) -> None:
    """Thousands of requests with failures, then aclose(): no socket or task remains."""
    port = int(url.split(":")[2].split("/")[0])
    tasks_before = len(asyncio.all_tasks()) if anyio_backend == "asyncio" else 0
    inject_all(fake, 0.1)
    options: dict[str, Any] = {"retries": 8, "backoff": 0, "timeout": 0.3, "chunk_size": 50}
    async with smmpanel.Panel(url, fake.key, **options) as panel:
        for _ in range(2):
            result = await panel.statuses(range(1, 50_001))
            assert not result.errors
        assert connections_to(port)
    assert len(fake.requests) > 2000
    await anyio.sleep(0.05)
    assert [c.status for c in connections_to(port) if c.status == "ESTABLISHED"] == []
    if anyio_backend == "asyncio":
        assert len(asyncio.all_tasks()) == tasks_before


async def test_cancelling_a_bulk_call_over_http_leaves_nothing_running(
    fake: FakePanel, url: str
) -> None:
    """A cancelled statuses() returns promptly; the Panel then closes every connection."""
    port = int(url.split(":")[2].split("/")[0])
    fake.inject("slow", rate=1.0, delay=30.0)
    async with smmpanel.Panel(url, fake.key, concurrency=8) as panel:
        with anyio.move_on_after(0.5) as scope:
            await panel.statuses(IDS)
        assert scope.cancelled_caught
    fake.clear_faults()
    await anyio.sleep(0.05)
    assert [c.status for c in connections_to(port) if c.status == "ESTABLISHED"] == []


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
