"""Never executed: type-checked by mypy to pin the public API's types (see pyproject ``files``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Any, assert_type

import httpx

import smmpanel
from smmpanel import (
    Balance,
    Bulk,
    OrderStatus,
    Panel,
    RateLimitError,
    RefillState,
    RefillStatus,
    Service,
    SMMPanelError,
    Status,
    Watch,
)


async def panel_methods(key: str) -> None:
    async with Panel(
        "https://panel.example/api/v2",
        key,
        timeout=httpx.Timeout(10.0),
        concurrency=4,
        chunk_size=50,
        retries=2,
        rate_limit=2.0,
    ) as panel:
        assert_type(panel, Panel)
        assert_type(panel.rate_limit, float | dict[str, float] | None)
        assert_type(await panel.balance(), Balance)
        assert_type(await panel.services(), list[Service])
        assert_type(await panel.add(service=1, link="https://x.example/p/1", quantity=100), int)
    async with Panel("https://panel.example/api/v2", key, rate_limit={"status": 2, "*": 5}):
        assert_type(
            await panel.add(
                service="1",
                username="u",
                min=1,
                max=2,
                posts=3,
                old_posts=1,
                delay=30,
                expiry=dt.date(2027, 1, 5),
                comments=["a", "b"],
                usernames="a\nb",
                groups=("g",),
                country="US",
            ),
            int,
        )
        assert_type(await panel.status(1), OrderStatus)
        assert_type(await panel.status("1"), OrderStatus)
        assert_type(await panel.statuses([1, "2"]), Bulk[OrderStatus])
        assert_type(await panel.refill(1), int)
        assert_type(await panel.refills(range(1, 5)), Bulk[int])
        assert_type(await panel.refill_status(1), RefillStatus)
        assert_type(await panel.refill_statuses([1]), Bulk[RefillStatus])
        assert_type(await panel.cancel({1, 2}), Bulk[int])
        assert_type(panel.iter_statuses([1, 2]), AsyncGenerator[Bulk[OrderStatus]])
        assert_type(panel.watch([1]), Watch)
        async for chunk in panel.iter_statuses(iter([1, 2])):
            assert_type(chunk, Bulk[OrderStatus])
        watch = panel.watch([1, 2], every=5.0, until=3600, failures=5)
        async with watch:
            async for status in watch:
                assert_type(status, OrderStatus)
        assert_type(watch.not_found, set[int])
        assert_type(watch.errors, dict[int, SMMPanelError])
        await watch.aclose()
        await panel.aclose()


async def shared_client(client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport) -> None:
    Panel("https://panel.example/api/v2", "k", http_client=client)
    Panel("https://panel.example/api/v2", "k", transport=transport)


def models(
    balance: Balance,
    service: Service,
    status: OrderStatus,
    refill: RefillStatus,
    bulk: Bulk[OrderStatus],
) -> None:
    assert_type(balance.amount, Decimal)
    assert_type(balance.currency, str | None)

    assert_type(service.id, int)
    assert_type(service.name, str)
    assert_type(service.type, str)
    assert_type(service.category, str)
    assert_type(service.rate, Decimal)
    assert_type(service.min, int)
    assert_type(service.max, int)
    assert_type(service.refill, bool | None)
    assert_type(service.cancel, bool | None)
    assert_type(service.dripfeed, bool | None)
    assert_type(service.description, str | None)
    assert_type(service.extra, dict[str, Any])
    assert_type(service.cost(1000), Decimal)

    assert_type(status.order, int)
    assert_type(status.status, Status)
    assert_type(status.charge, Decimal | None)
    assert_type(status.extra, dict[str, Any])
    assert_type(status.start_count, int | None)
    assert_type(status.remains, int | None)
    assert_type(status.currency, str | None)
    assert_type(status.raw_status, str)
    assert_type(status.final, bool)

    assert_type(refill.refill, int)
    assert_type(refill.status, RefillState)
    assert_type(refill.raw_status, str)

    assert_type(bulk.ok, dict[int, OrderStatus])
    assert_type(bulk.errors, dict[int, SMMPanelError])
    assert_type(bulk.result(1), OrderStatus)


def errors(error: SMMPanelError, limited: RateLimitError, protocol: smmpanel.ProtocolError) -> None:
    assert_type(error.action, str | None)
    assert_type(error.message, str)
    assert_type(limited.retry_after, float | None)
    assert_type(protocol.status_code, int | None)
    assert_type(protocol.body, str)
    assert_type(smmpanel.__version__, str)
    assert issubclass(smmpanel.InsecureURLWarning, Warning)


async def many_panels(panel: Panel, old: list[Service]) -> None:
    from pathlib import Path

    from smmpanel import Catalogue, CatalogueDiff, Panels, diff

    panels = Panels({"main": panel}, rates={"EUR": Decimal("1.08")}, currencies={"main": "USD"})
    assert_type(Panels.from_toml("panels.toml"), Panels)
    assert_type(Panels.from_toml(Path("p.toml"), http_client=httpx.AsyncClient()), Panels)
    async with panels:
        assert_type(panels["main"], Panel)
        assert_type(panels.names, list[str])
        assert_type(len(panels), int)
        assert_type("main" in panels, bool)
        assert_type(await panels.balances(), dict[str, Balance | SMMPanelError])
        assert_type(await panels.balances(within=5.0), dict[str, Balance | SMMPanelError])
        catalogue = await panels.services(max_age=60.0, refresh=True)
        assert_type(catalogue, Catalogue)
        assert_type(catalogue["main"], list[Service])
        assert_type(catalogue.errors, dict[str, SMMPanelError])
        assert_type(
            await panels.cheapest(
                type="Default",
                quantity=1000,
                refill=True,
                cancel=None,
                dripfeed=False,
                where=lambda name, service: service.rate < 1,
            ),
            tuple[str, Service],
        )
        assert_type(
            await panels.add_cheapest(quantity=1000, link="https://x.example/p/1", runs=2),
            tuple[str, Service, int],
        )
    change = diff(old, catalogue["main"])
    assert_type(change, CatalogueDiff)
    assert_type(change.added, list[Service])
    assert_type(change.removed, list[Service])
    assert_type(change.suspect, bool)
    assert_type(change.reason, str | None)
    for service_id, field, _, _ in change.changed:
        assert_type(service_id, int)
        assert_type(field, str)
    assert_type(diff(old, smmpanel.ProtocolError("x"), threshold=0.8), CatalogueDiff)


def blocking(key: str) -> None:
    from collections.abc import Iterator

    from smmpanel import Catalogue, sync

    with sync.Panel("https://panel.example/api/v2", key, concurrency=4, retries=2) as panel:
        assert_type(panel, sync.Panel)
        assert_type(panel.balance(), Balance)
        assert_type(panel.services(), list[Service])
        assert_type(panel.add(service=1, link="https://x.example/p/1", quantity=100), int)
        assert_type(panel.status(1), OrderStatus)
        assert_type(panel.statuses([1, "2"]), Bulk[OrderStatus])
        assert_type(panel.refill_statuses([1]), Bulk[RefillStatus])
        chunks = panel.iter_statuses([1, 2])
        assert_type(chunks, sync.Iteration[Bulk[OrderStatus]])
        assert isinstance(chunks, Iterator)
        for status in panel.watch([1, 2], every=5.0):
            assert_type(status, OrderStatus)
        assert_type(panel.url, str)
        assert_type(panel.closed, bool)
        chunks.close()
    with sync.Panels.from_toml("panels.toml") as panels:
        assert_type(panels["main"], sync.Panel)
        assert_type(panels.balances(), dict[str, Balance | SMMPanelError])
        assert_type(panels.services(max_age=60.0), Catalogue)
        assert_type(panels.cheapest(quantity=1000, refill=True), tuple[str, Service])
    sync.Panels({"main": panel}, rates={"EUR": Decimal("1.08")}).close()
