"""The default transport above concurrency 8: pools of at most 8 behind one transport."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import smmpanel
from smmpanel._http import pool as _pool
from smmpanel.testing import FakePanel

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakePanel, str]]:
    fake = FakePanel(auto_orders=True, latency=0.01)
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with fake.serve() as url:
        yield fake, url


@pytest.mark.parametrize(("concurrency", "shards"), [(1, 1), (8, 1), (9, 2), (32, 4), (64, 8)])
def test_connections_are_split_into_pools_of_at_most_eight(concurrency: int, shards: int) -> None:
    """Concurrency 32 is four pools of eight; up to eight stays one plain pool."""
    transport = _pool.pooled_transport(concurrency)
    if shards == 1:
        assert isinstance(transport, httpx.AsyncHTTPTransport)
    else:
        assert isinstance(transport, _pool._Sharded)
        assert len(transport._shards) == shards


async def test_a_sharded_panel_answers_everything_and_frees_every_slot(
    served: tuple[FakePanel, str],
) -> None:
    """Concurrency 32 over real HTTP: all answered, 32 in flight at most, no slot left busy."""
    fake, url = served
    fake.reset_stats()
    async with smmpanel.Panel(url, fake.key, concurrency=32) as panel:
        transport = panel._client._transport
        assert isinstance(transport, _pool._Sharded)
        result = await panel.statuses(range(1, 20_001))
        assert transport._busy == [0, 0, 0, 0]
    assert len(result.ok) == 20_000
    assert not result.errors
    assert 8 < fake.max_in_flight <= 32


async def test_a_failed_request_frees_its_slot(served: tuple[FakePanel, str]) -> None:
    """Dropped connections and timeouts still hand the shard's slot back."""
    fake, url = served
    fake.inject("drop", rate=0.3)
    try:
        async with smmpanel.Panel(url, fake.key, concurrency=16, retries=0) as panel:
            transport = panel._client._transport
            assert isinstance(transport, _pool._Sharded)
            result = await panel.statuses(range(1, 5001))
            assert transport._busy == [0, 0]
    finally:
        fake.clear_faults()
    assert result.errors
    assert len(result) == 5000


def test_https_pools_share_one_ssl_context_per_process() -> None:
    """Loading CA certificates costs 25-95 ms: it happens once per process, not per Panel."""
    contexts = {
        id(shard._pool._ssl_context)
        for transport in (_pool.pooled_transport(8), _pool.pooled_transport(64))
        for shard in getattr(transport, "_shards", [transport])
    }
    assert len(contexts) == 1


def test_an_http_panel_loads_no_ca_certificates() -> None:
    """A plain-http pool never verifies a certificate, so it skips loading them."""
    transport = _pool.pooled_transport(8, https=False)
    context = transport._pool._ssl_context  # type: ignore[attr-defined]
    assert context is not None
    assert context.cert_store_stats()["x509_ca"] == 0
