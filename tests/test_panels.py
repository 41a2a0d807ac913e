"""``Panels``: the mapping, ``from_toml``, ``balances``, ``cheapest`` and ``add_cheapest``."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest
from _fleet import Held, fleet, panels_of

import smmpanel
from smmpanel import (
    Balance,
    InvalidRequestError,
    Panel,
    Panels,
    TransportError,
    UncertainOrderError,
)
from smmpanel._panels.config import read_config
from smmpanel.testing import FakePanel

pytestmark = pytest.mark.anyio

SECRET = "SECRET-KEY-0123456789"


@pytest.fixture
def fakes() -> dict[str, FakePanel]:
    return fleet()


@pytest.fixture
async def panels(fakes: dict[str, FakePanel]) -> AsyncIterator[Panels]:
    made = panels_of(fakes)
    async with Panels(made) as panels:
        yield panels
    for panel in made.values():
        await panel.aclose()


def closed_port_url() -> str:
    """A loopback URL on which nothing listens: a panel that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"


# ---------------------------------------------------------------------------- the mapping


async def test_panels_is_a_mapping_of_its_panels(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    assert panels.names == ["big", "cheap", "euro"]
    assert len(panels) == 3
    assert "cheap" in panels
    assert "nope" not in panels
    assert list(panels) == panels.names
    assert isinstance(panels["big"], Panel)
    assert dict(panels.items())["euro"] is panels["euro"]
    with pytest.raises(KeyError, match="nope"):
        panels["nope"]
    assert repr(panels) == "<Panels big, cheap, euro>"


def test_bad_arguments_are_refused() -> None:
    panel = FakePanel().panel()
    try:
        with pytest.raises(TypeError, match="mapping"):
            Panels([panel])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            Panels({})
        with pytest.raises(TypeError, match=r"not a smmpanel\.Panel"):
            Panels({"a": "https://x.example/api/v2"})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="never a float"):
            Panels({"a": panel}, rates={"EUR": 1.08})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="positive"):
            Panels({"a": panel}, rates={"EUR": "0"})
        with pytest.raises(ValueError, match="unknown panel"):
            Panels({"a": panel}, currencies={"b": "USD"})
    finally:
        anyio.run(panel.aclose)


async def test_panels_given_are_the_callers_and_stay_open(fakes: dict[str, FakePanel]) -> None:
    made = panels_of(fakes)
    async with Panels(made):
        pass
    assert not any(panel.closed for panel in made.values())
    for panel in made.values():
        await panel.aclose()


# ---------------------------------------------------------------------------- balances


async def test_balances_of_every_panel(panels: Panels, fakes: dict[str, FakePanel]) -> None:
    fakes["cheap"].balance = "12.5"
    balances = await panels.balances()
    assert list(balances) == ["big", "cheap", "euro"]
    assert balances["cheap"] == Balance(Decimal("12.50"), "USD")
    assert balances["euro"] == Balance(Decimal("1000.00"), "EUR")


async def test_a_panel_that_is_down_has_its_error_and_the_others_answer(
    fakes: dict[str, FakePanel],
) -> None:
    fakes["cheap"].inject("refuse", rate=1.0)
    fakes["euro"].inject("html502", rate=1.0)
    made = panels_of(fakes)
    async with Panels(made) as panels:
        balances = await panels.balances()
    assert isinstance(balances["big"], Balance)
    assert type(balances["cheap"]) is TransportError
    assert isinstance(balances["euro"], smmpanel.ProtocolError)
    for panel in made.values():
        await panel.aclose()


async def test_within_bounds_a_panel_that_never_answers(fakes: dict[str, FakePanel]) -> None:
    made = panels_of(fakes)
    held = Held(fakes["big"].transport())
    made["stuck"] = Panel(fakes["big"].url, fakes["big"].key, transport=held)
    async with Panels(made) as panels:
        balances = await panels.balances(within=0.2)
    assert isinstance(balances["stuck"], TransportError)
    assert "within 0.2 s" in str(balances["stuck"])
    assert all(isinstance(balances[name], Balance) for name in ("big", "cheap", "euro"))
    with pytest.raises(ValueError, match="within"):
        await panels.balances(within=0)
    for panel in made.values():
        await panel.aclose()


async def test_balances_over_http_with_a_closed_port(fakes: dict[str, FakePanel]) -> None:
    with fakes["big"].serve() as big, fakes["euro"].serve() as euro:
        made = {
            "big": Panel(big, fakes["big"].key, retries=0),
            "down": Panel(closed_port_url(), "k", retries=0),
            "euro": Panel(euro, fakes["euro"].key, retries=0),
        }
        async with Panels(made) as panels:
            balances = await panels.balances()
        for panel in made.values():
            await panel.aclose()
    assert isinstance(balances["big"], Balance)
    assert isinstance(balances["euro"], Balance)
    assert isinstance(balances["down"], TransportError)


# ---------------------------------------------------------------------------- cheapest


async def test_cheapest_is_the_lowest_cost_that_allows_the_quantity(panels: Panels) -> None:
    assert await panels.cheapest(quantity=500) == ("big", _service(panels, "big", 2))
    # 2 allows at most 1000; 11 (0.60) is then the cheapest, until 10,000
    name, found = await panels.cheapest(quantity=5000)
    assert (name, found.id) == ("big", 3)  # 3 (0.30) starts at 5000
    name, found = await panels.cheapest(quantity=2000)
    assert (name, found.id) == ("cheap", 11)
    name, found = await panels.cheapest(quantity=60_000)
    assert (name, found.id) == ("big", 1)


async def test_cheapest_matches_flags_type_and_where(panels: Panels) -> None:
    name, found = await panels.cheapest(quantity=2000, refill=True)
    assert (name, found.id) == ("cheap", 10)
    name, found = await panels.cheapest(quantity=2000, refill=False)
    assert (name, found.id) == ("cheap", 11)
    name, found = await panels.cheapest(quantity=2000, refill=True, cancel=True)
    assert (name, found.id) == ("big", 1)
    name, found = await panels.cheapest(type="package")
    assert (name, found.id) == ("big", 4)
    name, found = await panels.cheapest(quantity=2000, where=lambda n, s: n != "cheap")
    assert (name, found.id) == ("big", 1)
    name, found = await panels.cheapest(type="Default")  # no quantity: the lowest rate
    assert (name, found.id) == ("big", 3)


async def test_nothing_matches_is_a_lookup_error(panels: Panels) -> None:
    with pytest.raises(LookupError, match="no service matches"):
        await panels.cheapest(quantity=200_000)
    with pytest.raises(LookupError, match="left out: euro"):
        await panels.cheapest(type="Comment Likes")
    with pytest.raises(ValueError, match="quantity"):
        await panels.cheapest(quantity=0)
    with pytest.raises(ValueError, match="refill"):
        await panels.cheapest(refill="yes")  # type: ignore[arg-type]


async def test_other_currencies_are_left_out_unless_rates_convert_them(
    fakes: dict[str, FakePanel],
) -> None:
    made = panels_of(fakes)
    async with Panels(made) as plain:
        name, _ = await plain.cheapest(quantity=100, refill=True)
        assert name == "cheap"  # euro's 0.40 EUR is not compared with dollars
    async with Panels(made, rates={"EUR": Decimal("2")}) as converted:
        name, _ = await converted.cheapest(quantity=100, refill=True)
        assert name == "cheap"  # 0.40 EUR = 0.80 USD > 0.70 USD
    async with Panels(made, rates={"EUR": Decimal("1.10")}) as converted:
        name, found = await converted.cheapest(quantity=100, refill=True)
        assert (name, found.id) == ("euro", 20)  # 0.44 USD
    euro_first = {"euro": made["euro"], "cheap": made["cheap"]}
    async with Panels(euro_first, rates={"USD": Decimal("0.5")}) as reverse:
        name, _ = await reverse.cheapest(quantity=100, refill=True)
        assert name == "cheap"  # 0.70 USD = 0.35 EUR < 0.40 EUR
    for panel in made.values():
        await panel.aclose()


async def test_a_declared_currency_spares_the_balance_call(fakes: dict[str, FakePanel]) -> None:
    made = panels_of({"cheap": fakes["cheap"], "euro": fakes["euro"]})
    async with Panels(made, currencies={"cheap": "USD", "euro": "USD"}) as panels:
        name, _ = await panels.cheapest(quantity=100, refill=True)
    assert name == "euro"  # stated as USD, so compared as sent
    assert all(r.action != "balance" for f in fakes.values() for r in f.requests)
    for panel in made.values():
        await panel.aclose()


async def test_price_changes_and_dropped_services_between_calls(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    name, found = await panels.cheapest(quantity=2000, refill=True)
    assert found.id == 10
    fakes["cheap"].update_service(10, rate="0.95")
    name, found = await panels.cheapest(quantity=2000, refill=True)
    assert found.id == 10  # the cached catalogue
    name, found = await panels.cheapest(quantity=2000, refill=True, max_age=0)
    assert (name, found.id) == ("big", 1)
    fakes["big"].remove_service(1)
    with pytest.raises(LookupError):
        await panels.cheapest(quantity=2000, refill=True, cancel=True, max_age=0)


async def test_a_panel_whose_balance_fails_is_left_out_and_said_so(
    fakes: dict[str, FakePanel],
) -> None:
    fakes["cheap"].inject("html502", rate=1.0, actions="balance")
    made = panels_of(fakes)
    async with Panels(made) as panels:
        name, found = await panels.cheapest(quantity=2000, refill=True)
        assert (name, found.id) == ("big", 1)
        with pytest.raises(LookupError, match="cheap: its currency is unknown"):
            await panels.cheapest(quantity=2000, refill=False)
    for panel in made.values():
        await panel.aclose()


def _service(panels: Panels, name: str, id: int) -> smmpanel.Service:
    entry = panels._catalogues[name].entry
    assert entry is not None
    return next(s for s in entry.services if s.id == id)


# ---------------------------------------------------------------------------- add_cheapest


async def test_add_cheapest_orders_from_the_cheapest(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    name, found, order = await panels.add_cheapest(
        quantity=2000, refill=True, link="https://x.example/p/1"
    )
    assert (name, found.id) == ("cheap", 10)
    assert fakes["cheap"].orders[order].quantity == 2000


async def test_add_cheapest_fails_over_on_a_refusal(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    fakes["cheap"].balance = 0
    name, found, order = await panels.add_cheapest(
        quantity=2000, refill=True, link="https://x.example/p/1"
    )
    assert (name, found.id) == ("big", 1)
    assert order in fakes["big"].orders
    assert not fakes["cheap"].orders


async def test_add_cheapest_fails_over_when_the_request_never_left(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    await panels.services()
    fakes["cheap"].inject("refuse", rate=1.0, actions="add")
    name, _, _ = await panels.add_cheapest(quantity=2000, refill=True, link="https://x.example/p")
    assert name == "big"


async def test_add_cheapest_never_fails_over_after_an_uncertain_order(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    fakes["cheap"].inject("drop", rate=1.0, actions="add")
    with pytest.raises(UncertainOrderError):
        await panels.add_cheapest(quantity=2000, refill=True, link="https://x.example/p/1")
    assert len(fakes["cheap"].orders) == 1  # it was placed: the answer was lost
    assert not fakes["big"].orders  # and it was not placed again elsewhere


async def test_add_cheapest_raises_the_last_refusal_with_the_others_noted(
    panels: Panels, fakes: dict[str, FakePanel]
) -> None:
    await panels.services()
    fakes["cheap"].balance = 0
    fakes["big"].remove_service(1)  # still in the cache: the panel refuses it
    with pytest.raises(InvalidRequestError, match="Incorrect service ID") as caught:
        await panels.add_cheapest(quantity=2000, refill=True, link="https://x.example/p/1")
    assert caught.value.__notes__ == [
        "also refused by cheap: InsufficientFundsError: Not enough funds on balance"
    ]
    assert not fakes["cheap"].orders
    assert not fakes["big"].orders


# ---------------------------------------------------------------------------- from_toml


def write(tmp_path: Path, text: str, name: str = "panels.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def served(fakes: dict[str, FakePanel]) -> Iterator[dict[str, str]]:
    with fakes["big"].serve() as big, fakes["cheap"].serve() as cheap:
        yield {"big": big, "cheap": cheap}


async def test_from_toml_over_http_shares_one_pool_and_closes_it(
    tmp_path: Path,
    served: dict[str, str],
    fakes: dict[str, FakePanel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BIG_KEY", fakes["big"].key)
    path = write(
        tmp_path,
        f"""
        [panels.big]
        url = "{served["big"]}"
        key_env = "BIG_KEY"
        concurrency = 4
        timeout = 5.5
        retries = 1
        rate_limit = 50

        [panels.cheap]
        url = "{served["cheap"]}"
        key = "{fakes["cheap"].key}"
        currency = "USD"

        [rates]
        EUR = "1.08"
        """,
    )
    panels = Panels.from_toml(path)
    async with panels:
        assert panels.names == ["big", "cheap"]
        assert panels["big"].concurrency == 4
        assert panels["big"].rate_limit == 50.0
        client = panels._client
        assert client is not None
        assert all(panel._client is client for panel in panels.values())
        balances = await panels.balances()
        assert balances["big"] == Balance(Decimal("1000.00"), "USD")
        name, found = await panels.cheapest(quantity=2000, refill=True)
        assert (name, found.id) == ("cheap", 10)
    assert client.is_closed
    assert all(panel.closed for panel in panels.values())
    assert panels._rates == {"EUR": Decimal("1.08")}


async def test_from_toml_uses_a_given_client_and_leaves_it_open(
    tmp_path: Path, served: dict[str, str], fakes: dict[str, FakePanel]
) -> None:
    path = write(tmp_path, f'[panels.big]\nurl = "{served["big"]}"\nkey = "{fakes["big"].key}"\n')
    async with httpx.AsyncClient() as client:
        async with Panels.from_toml(path, http_client=client) as panels:
            assert isinstance(await panels["big"].balance(), Balance)
        assert panels["big"].closed
        assert not client.is_closed


def test_a_rate_limit_table_is_read_per_action(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        [panels.main]
        url = "https://panel.example/api/v2"
        key = "{SECRET}"
        rate_limit = {{ status = 2, add = 1, services = 0.0028, "*" = 5 }}
        """,
    )
    (main,) = read_config(path).panels
    assert main.options == {"rate_limit": {"status": 2.0, "add": 1.0, "services": 0.0028, "*": 5.0}}
    assert SECRET not in repr(main)


U = '[panels.main]\nurl = "{url}"\nkey = "{key}"\n'
"""A good start, for the mistakes that come after it."""

BAD_FILES = [
    ("[panels.main\nurl = 1", "", "not valid TOML"),
    ('title = "no panels"', "", "no panels"),
    ("[panels]\nmain = 3", "main", "must be a table"),
    ('[panels.main]\nkey = "{key}"', "main', field 'url", "missing"),
    ('[panels.main]\nurl = 5\nkey = "{key}"', "main', field 'url", "non-empty string, got 5"),
    ('[panels.main]\nurl = "ftp://x.example/api"\nkey = "{key}"', "main', field 'url", "http"),
    (U + 'kye = "{key}"', "main', field 'kye", "unknown"),
    ('[panels.main]\nurl = "{url}"', "main', field 'key_env", "missing"),
    (U + 'key_env = "X"', "main', field 'key", "not both"),
    ('[panels.main]\nurl = "{url}"\nkey_env = "SMMPANEL_TEST_UNSET"', "field 'key_env", "not set"),
    ('[panels.main]\nurl = "{url}"\nkey_env = 3', "main', field 'key_env", "environment"),
    ('[panels.main]\nurl = "{url}"\nkey = ""', "main', field 'key", "non-empty"),
    (U + "concurrency = 0", "'concurrency", ">= 1, got 0"),
    (
        U + 'concurrency = "{key}"',
        "'concurrency",
        "string",
    ),
    (U + "chunk_size = 101", "'chunk_size", "1..100"),
    (U + "retries = -1", "'retries", ">= 0"),
    (U + "retries = 1.5", "'retries", "integer"),
    (U + "timeout = 0", "'timeout", "> 0"),
    (U + 'timeout = "{key}"', "'timeout", "string"),
    (U + "backoff = -1", "'backoff", ">= 0"),
    (U + "rate_limit = 0", "'rate_limit", "per second"),
    (U + "rate_limit = true", "'rate_limit", "boolean"),
    (U + "rate_limit = {{}}", "'rate_limit", "empty"),
    (
        U + "rate_limit = {{ stats = 2 }}",
        "'rate_limit.stats",
        "not an action",
    ),
    (
        U + 'rate_limit = {{ add = "{key}" }}',
        "'rate_limit.add",
        "string",
    ),
    (U + "currency = 5", "'currency", "currency code"),
    (
        U + '[rates]\nEUR = "x"',
        "[rates], field 'EUR",
        "number",
    ),
    (
        U + "[rates]\nEUR = -1",
        "[rates], field 'EUR",
        "> 0",
    ),
    (U + "rates = 1", "main', field 'rates", "unknown"),
    (
        '[panels.main]\nurl = "{url}?key={key}"\nkey = "{key}"',
        "main', field 'url",
        "must not be in the URL",
    ),
]


@pytest.mark.parametrize(("text", "where", "problem"), BAD_FILES)
def test_a_bad_file_names_the_file_panel_and_field_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, where: str, problem: str
) -> None:
    monkeypatch.delenv("SMMPANEL_TEST_UNSET", raising=False)
    path = write(tmp_path, text.format(url="https://panel.example/api/v2", key=SECRET))
    with pytest.raises(ValueError, match=problem) as caught:
        Panels.from_toml(path)
    message = str(caught.value)
    assert message.startswith(str(path) + ":")
    assert where in message
    if where and "[rates]" not in where:
        assert "panel 'main'" in message
    assert problem in message
    assert SECRET not in message
    assert SECRET not in repr(caught.value.args)


def test_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.toml: cannot read"):
        Panels.from_toml(tmp_path / "nope.toml")


async def test_the_shared_transport_keeps_one_small_pool_per_host(
    served: dict[str, str], fakes: dict[str, FakePanel]
) -> None:
    from smmpanel._panels.pool import HostPools, origin

    pools = HostPools({origin(served["big"]): 2})
    async with httpx.AsyncClient(transport=pools) as client:
        big = Panel(served["big"], fakes["big"].key, http_client=client)
        cheap = Panel(served["cheap"], fakes["cheap"].key, http_client=client)
        async with big, cheap:
            assert isinstance((await big.statuses(range(1, 1001))).errors[1], smmpanel.PanelError)
            assert isinstance(await cheap.balance(), Balance)
        assert set(pools._pools) == {origin(served["big"]), origin(served["cheap"])}
        assert fakes["big"].max_in_flight <= 2  # that host's pool holds two connections
    assert pools._pools == {}
