"""The default wire: httpcore connections in a pool of our own, one per Panel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import smmpanel
from smmpanel._http import pool as _pool
from smmpanel._http import wire as _wire
from smmpanel.testing import FakePanel

pytestmark = pytest.mark.anyio

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakePanel, str]]:
    fake = FakePanel(auto_orders=True, latency=0.01)
    pytest.importorskip("uvicorn", reason="serve() needs the cli extra")
    with fake.serve() as url:
        yield fake, url


def wire_of(panel: smmpanel.Panel) -> _pool.PoolWire:
    wire = panel._wire.wire
    assert isinstance(wire, _pool.PoolWire)
    return wire


async def test_a_panel_answers_everything_and_hands_every_connection_back(
    served: tuple[FakePanel, str],
) -> None:
    """Concurrency 32 over real HTTP: all answered, 32 in flight at most, none left taken."""
    fake, url = served
    fake.reset_stats()
    async with smmpanel.Panel(url, fake.key, concurrency=32) as panel:
        wire = wire_of(panel)
        result = await panel.statuses(range(1, 20_001))
        assert 8 < wire.connections <= 32
        assert wire.idle == wire.connections
    assert wire.connections == 0
    assert len(result.ok) == 20_000
    assert not result.errors
    assert 8 < fake.max_in_flight <= 32


async def test_a_failed_request_closes_its_connection(served: tuple[FakePanel, str]) -> None:
    """Dropped connections are closed and forgotten, never handed to the next request."""
    fake, url = served
    fake.inject("drop", rate=0.3)
    try:
        async with smmpanel.Panel(url, fake.key, concurrency=16, retries=0) as panel:
            wire = wire_of(panel)
            result = await panel.statuses(range(1, 5001))
            assert wire.idle == wire.connections <= 16
    finally:
        fake.clear_faults()
    assert result.errors
    assert len(result) == 5000


def test_https_wires_share_one_ssl_context_per_process() -> None:
    """Loading CA certificates costs 25-95 ms: it happens once per process, not per Panel."""
    contexts = {
        id(_pool.PoolWire(url, size, timeout=TIMEOUT, user_agent="t")._ssl)
        for url, size in [("https://a.example/api/v2", 8), ("https://b.example/x", 64)]
    }
    assert contexts == {id(_pool.ssl_context())}


def test_an_http_panel_loads_no_ca_certificates() -> None:
    """A plain-http wire never verifies a certificate, so it has no SSL context at all."""
    wire = _pool.PoolWire("http://a.example/api/v2", 8, timeout=TIMEOUT, user_agent="t")
    assert wire._ssl is None


def test_the_request_line_and_host_are_those_httpx_writes() -> None:
    """A port, a query and an IDN host come out as httpx would send them."""
    url = "https://bücher.example:8443/api/v2?x=1"
    wire = _pool.PoolWire(url, 8, timeout=TIMEOUT, user_agent="t")
    request = httpx.Request("POST", url)
    assert wire._target == request.url.raw_path
    assert dict(wire._headers)[b"Host"] == request.headers["Host"].encode()


@pytest.mark.parametrize(
    ("proxies", "kind"),
    [({}, _pool.PoolWire), ({"HTTPS_PROXY": "http://127.0.0.1:3128"}, _wire.ClientWire)],
)
async def test_an_environment_proxy_goes_through_httpx(
    monkeypatch: pytest.MonkeyPatch, proxies: dict[str, str], kind: type
) -> None:
    """HTTPS_PROXY and friends are read by httpx's client, exactly as httpx reads them."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    for name, value in proxies.items():
        monkeypatch.setenv(name, value)
    async with smmpanel.Panel("https://panel.example/api/v2", "k") as panel:
        assert isinstance(panel._wire.wire, kind)
