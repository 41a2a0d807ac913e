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
        pass
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
        assert_type(panel.watch([1]), AsyncGenerator[OrderStatus])
        async for chunk in panel.iter_statuses(iter([1, 2])):
            assert_type(chunk, Bulk[OrderStatus])
        async for status in panel.watch([1, 2], every=5.0):
            assert_type(status, OrderStatus)
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
    assert_type(service.refill, bool)
    assert_type(service.cancel, bool)
    assert_type(service.dripfeed, bool)
    assert_type(service.description, str | None)
    assert_type(service.extra, dict[str, Any])
    assert_type(service.cost(1000), Decimal)

    assert_type(status.order, int)
    assert_type(status.status, Status)
    assert_type(status.charge, Decimal | None)
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
