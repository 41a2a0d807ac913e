"""fast=True: the aiohttp transport over real HTTP keeps every guarantee of the default one."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import anyio
import pytest

import smmpanel
from smmpanel.testing import FakePanel

pytest.importorskip("aiohttp")
pytest.importorskip("uvicorn", reason="serve() needs the cli extra")


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only."""
    return "asyncio"


pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakePanel, str]]:
    fake = FakePanel(auto_orders=True)
    with fake.serve() as url:
        yield fake, url


async def test_fast_statuses_match_the_default_transport(served: tuple[FakePanel, str]) -> None:
    """The same 5,000 statuses, whichever stack carried them."""
    fake, url = served
    async with smmpanel.Panel(url, fake.key, fast=True, concurrency=16) as panel:
        fast = await panel.statuses(range(1, 5001))
        balance = await panel.balance()
    async with smmpanel.Panel(url, fake.key, concurrency=16) as panel:
        default = await panel.statuses(range(1, 5001))
    assert fast == default
    assert len(fast.ok) == 5000
    assert balance.currency == "USD"


async def test_fast_dropped_add_is_uncertain_and_not_retried(
    served: tuple[FakePanel, str],
) -> None:
    """aiohttp reports a dropped connection like a connect failure; it must not be retried."""
    fake, url = served
    fake.reset_stats()
    before = len(fake.orders)
    fake.inject("drop", actions="add", times=1)
    try:
        async with smmpanel.Panel(url, fake.key, fast=True, retries=3, backoff=0) as panel:
            with pytest.raises(smmpanel.UncertainOrderError):
                await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    finally:
        fake.clear_faults()
    assert len(fake.orders) == before + 1
    assert [r.action for r in fake.requests] == ["add"]


async def test_fast_add_to_a_closed_port_is_a_plain_transport_error() -> None:
    """A refused connection is proven unsent: TransportError, not UncertainOrderError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v2"
    async with smmpanel.Panel(url, "k", fast=True, retries=1, backoff=0) as panel:
        with pytest.raises(smmpanel.TransportError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert not isinstance(caught.value, smmpanel.UncertainOrderError)


def test_fast_refuses_trio_clearly() -> None:
    """Under trio, fast=True says so instead of failing inside aiohttp."""

    async def main() -> None:
        async with smmpanel.Panel("http://127.0.0.1:9/api/v2", "k", fast=True) as panel:
            await panel.balance()

    with pytest.raises(RuntimeError, match="asyncio only"):
        anyio.run(main, backend="trio")


def test_fast_cannot_be_combined_with_a_transport() -> None:
    """fast=True builds its own transport."""
    import httpx

    with pytest.raises(ValueError, match="fast=True"):
        smmpanel.Panel(
            "https://p.example/api/v2",
            "k",
            fast=True,
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )
