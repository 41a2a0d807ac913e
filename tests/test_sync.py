"""``smmpanel.sync``: blocking twins of ``Panel`` and ``Panels`` over one background loop."""

from __future__ import annotations

import asyncio
import collections.abc
import gc
import inspect
import threading
import typing
from decimal import Decimal
from pathlib import Path

import pytest
import trio
from _fleet import fleet

import smmpanel
from smmpanel import Balance, Bulk, OrderStatus, Status, TransportError, sync
from smmpanel.sync import _LOOP, Iteration, _Twin
from smmpanel.testing import FakePanel


@pytest.fixture(autouse=True)
def _loop_stops() -> typing.Iterator[None]:
    yield
    gc.collect()
    assert not _LOOP.running, "a test left a sync object open"


def sync_panel(fake: FakePanel, **options: typing.Any) -> sync.Panel:
    return sync.Panel(fake.url, fake.key, transport=fake.transport(), **options)


def _async_methods(cls: type) -> dict[str, typing.Any]:
    """Public methods of ``cls`` that are coroutines or return an async iterator."""
    found = {}
    for name, member in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            found[name] = member
            continue
        returns = typing.get_type_hints(member).get("return")
        origin = typing.get_origin(returns) or returns
        if isinstance(origin, type) and issubclass(origin, collections.abc.AsyncIterator):
            found[name] = member
    return found


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"), [(smmpanel.Panel, sync.Panel), (smmpanel.Panels, sync.Panels)]
)
def test_every_public_async_method_has_its_twin(async_cls: type, sync_cls: type) -> None:
    methods = _async_methods(async_cls)
    assert {"balances", "services"} <= set(methods) or {"balance", "watch"} <= set(methods)
    for name, method in methods.items():
        if name == "aclose":
            assert callable(sync_cls.close)
            continue
        twin = sync_cls.__dict__.get(name)
        assert isinstance(twin, _Twin), f"sync.{sync_cls.__name__} has no twin of {name}"
        assert twin.method is method
        iterates = not inspect.iscoroutinefunction(method)
        assert twin.iterate is iterates, name
    twins = {name for name, value in vars(sync_cls).items() if isinstance(value, _Twin)}
    assert twins == set(methods) - {"aclose"}
    for name, value in vars(async_cls).items():  # properties and class methods too
        if not name.startswith("_") and isinstance(value, property | classmethod):
            assert hasattr(sync_cls, name), f"sync.{sync_cls.__name__} lacks {name}"


def test_the_constructor_is_the_async_one() -> None:
    assert inspect.signature(sync.Panel) == inspect.signature(smmpanel.Panel)
    fake = FakePanel()
    with pytest.raises(ValueError, match="concurrency"):
        sync_panel(fake, concurrency=0)
    assert not _LOOP.running


def test_same_results_as_the_async_panel() -> None:
    fake = FakePanel()
    with sync_panel(fake) as panel:
        assert panel.balance() == Balance(Decimal("1000.00000"), "USD")
        assert [s.id for s in panel.services()] == [s.id for s in fake.services]
        order = panel.add(service=1, link="https://x.example/p/1", quantity=100)
        assert panel.status(order).status is Status.PENDING
        result = panel.statuses([order, 999])
        assert isinstance(result, Bulk)
        assert set(result.ok) == {order}
        assert isinstance(result.errors[999], smmpanel.NotFoundError)
        fake.advance(100)
        refill = panel.refill(order)
        assert panel.refill_status(refill).refill == refill
        assert list(panel.refill_statuses([refill]).ok) == [refill]
        assert list(panel.cancel([order]).errors) == [order]  # completed: not cancelable
        assert panel.url == fake.url
        assert panel.concurrency == 8
        assert not panel.closed
        assert "test-key" not in repr(panel)
    assert panel.closed
    with pytest.raises(RuntimeError, match="closed"):
        panel.balance()


def test_errors_are_the_async_ones() -> None:
    fake = FakePanel()
    fake.inject("refuse", rate=1.0)
    with sync_panel(fake, retries=0) as panel:
        with pytest.raises(TransportError):
            panel.balance()
        with pytest.raises(ValueError, match="positive integer"):
            panel.status(0)


def test_iter_statuses_and_watch_are_plain_iterators() -> None:
    fake = FakePanel(auto_orders=True)
    with sync_panel(fake, chunk_size=10) as panel:
        chunks = panel.iter_statuses(range(1, 101))
        assert isinstance(chunks, Iteration)
        assert not isinstance(chunks, collections.abc.AsyncIterator)
        assert sum(len(chunk) for chunk in chunks) == 100
        fake.auto_orders = False
        orders = [panel.add(service=1, link="https://x.example/p", quantity=100) for _ in range(3)]
        seen: list[OrderStatus] = []
        for status in panel.watch(orders, every=0):
            seen.append(status)
            fake.advance(4)
        assert {s.order for s in seen} == set(orders)
        assert all(s.final for s in seen[-3:])
        with pytest.raises(ValueError, match="every"):
            list(panel.watch(orders, every=-1))


def test_stopping_an_iteration_early_stops_its_requests() -> None:
    fake = FakePanel(auto_orders=True)
    with sync_panel(fake, chunk_size=10, concurrency=1) as panel:
        with panel.iter_statuses(range(1, 10_001)) as chunks:
            assert len(next(chunks)) == 10
        asked = len(fake.requests)
        assert asked < 10
        assert list(chunks) == []
        dropped = panel.iter_statuses(range(1, 10_001))
        next(dropped)
        del dropped
        gc.collect()
        before = len(fake.requests)
        assert panel.balance()
        assert len(fake.requests) == before + 1  # nothing else is polling


def test_usable_from_many_threads_at_once() -> None:
    fake = FakePanel(auto_orders=True)
    results: list[int] = []
    with sync_panel(fake) as panel:

        def work(start: int) -> None:
            results.append(len(panel.statuses(range(start, start + 250))))

        threads = [threading.Thread(target=work, args=(i * 1000 + 1,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [250] * 8


@pytest.mark.parametrize("runner", ["asyncio", "trio"])
def test_usable_while_a_loop_runs_in_this_thread(runner: str) -> None:
    """As in Jupyter: a loop runs in the calling thread, the portal's loop is elsewhere."""
    fake = FakePanel()

    async def notebook_cell() -> Balance:
        with sync_panel(fake) as panel:
            return panel.balance()

    balance = asyncio.run(notebook_cell()) if runner == "asyncio" else trio.run(notebook_cell)
    assert balance.currency == "USD"


def test_an_unclosed_panel_warns() -> None:
    panel = sync_panel(FakePanel())
    panel.close()
    panel.close()  # twice is fine
    unclosed = sync_panel(FakePanel())
    with pytest.warns(ResourceWarning, match="never closed"):
        unclosed.__del__()
    unclosed.close()


# ---------------------------------------------------------------------------- Panels


def test_sync_panels_over_sync_panels() -> None:
    fakes = fleet()
    members = {name: sync_panel(fake, retries=0) for name, fake in fakes.items()}
    fakes["big"].inject("refuse", rate=1.0)
    with sync.Panels(members, rates={"EUR": Decimal("1.10")}) as panels:
        assert panels.names == ["big", "cheap", "euro"]
        assert panels["cheap"] is members["cheap"]
        assert len(panels) == 3
        assert "euro" in panels
        balances = panels.balances()
        assert isinstance(balances["big"], TransportError)
        assert isinstance(balances["cheap"], Balance)
        catalogue = panels.services()
        assert set(catalogue) == {"cheap", "euro"}
        assert set(catalogue.errors) == {"big"}
        name, found = panels.cheapest(quantity=100, refill=True)
        assert (name, found.id) == ("euro", 20)
        placed = panels.add_cheapest(quantity=100, refill=True, link="https://x.example/p/1")
        assert placed[0] == "euro"
    assert not any(member.closed for member in members.values())
    for member in members.values():
        member.close()
    with pytest.raises(TypeError, match="sync"):
        sync.Panels({"a": "https://x.example/api/v2"})  # type: ignore[dict-item]


def test_sync_panels_from_toml_over_http(tmp_path: Path) -> None:
    fakes = fleet()
    with fakes["big"].serve() as big, fakes["cheap"].serve() as cheap:
        path = tmp_path / "panels.toml"
        path.write_text(
            f'[panels.big]\nurl = "{big}"\nkey = "{fakes["big"].key}"\n\n'
            f'[panels.cheap]\nurl = "{cheap}"\nkey = "{fakes["cheap"].key}"\n'
        )
        with sync.Panels.from_toml(path) as panels:
            assert isinstance(panels["big"], sync.Panel)
            assert panels["big"].balance().amount == Decimal("1000.00")
            assert {name for name, b in panels.balances().items() if isinstance(b, Balance)} == {
                "big",
                "cheap",
            }
            assert panels.cheapest(quantity=2000, refill=True)[0] == "cheap"
        assert panels["big"].closed
        with pytest.raises(RuntimeError, match="closed"):
            panels.balances()
    (tmp_path / "empty.toml").write_text("")
    with pytest.raises(ValueError, match="no panels"):
        sync.Panels.from_toml(tmp_path / "empty.toml")
