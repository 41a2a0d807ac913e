"""``FakePanel``: the seeds' shapes in both dialects, what ``Panel`` makes of them, the order
lifecycle on the fake clock, balance, every error text, order types, records, auto_orders."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import anyio
import httpx
import orjson
import pytest

import smmpanel.testing
from smmpanel import (
    AuthenticationError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    Panel,
    RefillState,
    Status,
)
from smmpanel.testing import DEFAULT_SERVICES, ORDER_TYPES, FakePanel, FakeService

pytestmark = pytest.mark.anyio

LINK = "https://example.com/p/1"


async def post(fake: FakePanel, **fields: str) -> httpx.Response:
    """One raw form POST through the in-memory transport, the right key included."""
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        return await client.post(fake.url, data={"key": fake.key, **fields})


async def call(fake: FakePanel, **fields: str) -> Any:
    """The JSON answer of one raw request (checked to be HTTP 200)."""
    response = await post(fake, **fields)
    assert response.status_code == 200
    return orjson.loads(response.content)


# ---------------------------------------------------------------------------- v2 (seed 003)


async def test_v2_balance_shape() -> None:
    """Seed 003: ``{"balance": "100.84292", "currency": "USD"}``, money as a string."""
    fake = FakePanel(balance="100.84292")
    assert await call(fake, action="balance") == {"balance": "100.84292", "currency": "USD"}


async def test_v2_services_shape() -> None:
    """Seed 003: int ``service``, string rate/min/max, ``refill``/``cancel`` booleans."""
    services = await call(FakePanel(), action="services")
    assert len(services) == len(ORDER_TYPES) == 14
    assert [s["type"] for s in services] == list(ORDER_TYPES)
    assert services[0] == {
        "service": 1,
        "name": "Instagram Followers [Refill 30D] [Max 100K] [Start 0-1H]",
        "type": "Default",
        "category": "Instagram - Followers [Guaranteed/Refill]",
        "rate": "0.90",
        "min": "50",
        "max": "100000",
        "refill": True,
        "cancel": True,
    }
    for entry in services:
        assert list(entry) == [
            "service", "name", "type", "category", "rate", "min", "max", "refill", "cancel"
        ]  # fmt: skip
        assert isinstance(entry["service"], int)
        assert all(isinstance(entry[k], str) for k in ("rate", "min", "max"))
        assert isinstance(entry["refill"], bool)
        assert isinstance(entry["cancel"], bool)
    assert {s["refill"] for s in services} == {True, False}
    assert {s["cancel"] for s in services} == {True, False}


async def test_v2_add_and_status_shapes() -> None:
    """``{"order": 23501}``; a status with capitalized words, strings and ``currency``."""
    fake = FakePanel()
    assert await call(fake, action="add", service="1", link=LINK, quantity="1000") == {
        "order": 23501
    }
    status = await call(fake, action="status", order="23501")
    assert status == {
        "charge": "0.90000",
        "start_count": "0",
        "status": "Pending",
        "remains": "1000",
        "currency": "USD",
    }
    assert list(status) == ["charge", "start_count", "status", "remains", "currency"]


async def test_v2_multi_status_shape() -> None:
    """Keyed by ID; an unknown ID is ``{"error": "Incorrect order ID"}``."""
    fake = FakePanel()
    fake.place(1, 1000)
    fake.advance(10)
    assert await call(fake, action="status", orders="23501,10") == {
        "23501": {
            "charge": "0.90000",
            "start_count": "4319",
            "status": "In progress",
            "remains": "500",
            "currency": "USD",
        },
        "10": {"error": "Incorrect order ID"},
    }


async def test_v2_refill_shapes() -> None:
    """Single ``{"refill": "1"}``; multi a list of ``{"order": N, "refill": M|{"error"}}``."""
    fake = FakePanel()
    first, second = fake.place(1, 100), fake.place(1, 100)
    fake.advance(60)
    assert await call(fake, action="refill", order=str(first)) == {"refill": "1"}
    assert await call(fake, action="refill", orders=f"{second},3") == [
        {"order": second, "refill": 2},
        {"order": 3, "refill": {"error": "Incorrect order ID"}},
    ]


async def test_v2_refill_status_shapes() -> None:
    """Single ``{"status": "Completed"}``; multi a list with ``{"error": "Refill not found"}``."""
    fake = FakePanel()
    order = fake.place(1, 100)
    fake.advance(60)
    await call(fake, action="refill", orders=f"{order},{order}")
    fake.advance(60)
    assert await call(fake, action="refill_status", refill="1") == {"status": "Completed"}
    assert await call(fake, action="refill_status", refills="1,2,3") == [
        {"refill": 1, "status": "Completed"},
        {"refill": 2, "status": "Completed"},
        {"refill": 3, "status": {"error": "Refill not found"}},
    ]


async def test_v2_cancel_shape() -> None:
    """A list of ``{"order": N, "cancel": 1}`` or ``{"cancel": {"error": ...}}``."""
    fake = FakePanel()
    order = fake.place(1, 100)
    assert await call(fake, action="cancel", orders=f"9,{order}") == [
        {"order": 9, "cancel": {"error": "Incorrect order ID"}},
        {"order": order, "cancel": 1},
    ]


# ---------------------------------------------------------------------------- v1 (seed 000)


async def test_v1_balance_and_add_shapes() -> None:
    """Seed 000: ``{"status": "success", ...}`` wrappers on balance and add."""
    fake = FakePanel(dialect="v1", balance="0.03")
    assert await call(fake, action="balance") == {
        "status": "success",
        "balance": "0.03",
        "currency": "USD",
    }
    fake.balance = 100
    answer = await call(fake, action="add", service="1", link=LINK, quantity="50")
    assert answer == {"status": "success", "order": 23501}


async def test_v1_services_shape() -> None:
    """Seed 000: everything a string, plus ``desc`` and ``dripfeed``; no refill/cancel."""
    services = await call(FakePanel(dialect="v1"), action="services")
    assert services[0] == {
        "service": "1",
        "name": "Instagram Followers [Refill 30D] [Max 100K] [Start 0-1H]",
        "category": "Instagram - Followers [Guaranteed/Refill]",
        "rate": "0.90",
        "min": "50",
        "max": "100000",
        "type": "Default",
        "desc": "Link: profile URL. Speed: 10K/day. Drip-feed available. 30 days refill.",
        "dripfeed": 1,
    }
    for entry in services:
        assert list(entry) == [
            "service", "name", "category", "rate", "min", "max", "type", "desc", "dripfeed"
        ]  # fmt: skip
    assert {s["dripfeed"] for s in services} == {0, 1}


async def test_v1_status_shapes() -> None:
    """Seed 000: ``order`` inside, numbers as strings, lowercase words, bare-string errors."""
    fake = FakePanel(dialect="v1")
    order = fake.place(1, 50)
    assert await call(fake, action="status", order=str(order)) == {
        "order": "23501",
        "status": "pending",
        "charge": "0.0450",
        "start_count": "0",
        "remains": "50",
    }
    fake.advance(7)
    assert await call(fake, action="status", orders=f"{order},2") == {
        "23501": {
            "order": "23501",
            "status": "in progress",
            "charge": "0.0450",
            "start_count": "4319",
            "remains": "40",
        },
        "2": "Incorrect order ID",
    }
    fake.advance(60)
    assert (await call(fake, action="status", order=str(order)))["status"] == "completed"


async def test_v1_refill_refill_status_cancel_shapes() -> None:
    """Not in the v1 seeds: the v2 shapes with numbers as strings (and lowercase words)."""
    fake = FakePanel(dialect="v1")
    done = fake.place(1, 100)
    fake.advance(60)
    pending = fake.place(1, 100)
    assert await call(fake, action="refill", order=str(done)) == {"refill": "1"}
    assert await call(fake, action="refill", orders=f"{done},7") == [
        {"order": str(done), "refill": "2"},
        {"order": "7", "refill": {"error": "Incorrect order ID"}},
    ]
    assert await call(fake, action="refill_status", refill="1") == {"status": "pending"}
    assert await call(fake, action="refill_status", refills="1,9") == [
        {"refill": "1", "status": "pending"},
        {"refill": "9", "status": {"error": "Refill not found"}},
    ]
    assert await call(fake, action="cancel", orders=f"{pending}") == [
        {"order": str(pending), "cancel": "1"}
    ]


@pytest.mark.parametrize(
    ("dialect", "content_type"),
    [("v1", "text/html; charset=UTF-8"), ("v2", "application/json")],
)
async def test_content_type(dialect: str, content_type: str) -> None:
    """v1 serves JSON as ``text/html`` like PerfectPanel; v2 as ``application/json``."""
    fake = FakePanel(dialect=dialect)  # type: ignore[arg-type]
    for fields in ({"action": "balance"}, {"action": "nope"}):
        response = await post(fake, **fields)
        assert response.headers["content-type"] == content_type


# ---------------------------------------------------------------------------- through Panel


@pytest.mark.parametrize("dialect", ["v1", "v2"])
async def test_panel_parses_every_answer(dialect: str) -> None:
    """``smmpanel.Panel`` reads every action's answer in both dialects."""
    fake = FakePanel(dialect=dialect, balance="100")  # type: ignore[arg-type]
    async with fake.panel(backoff=0) as panel:
        balance = await panel.balance()
        assert balance.amount == Decimal("100")
        assert balance.currency == "USD"

        services = await panel.services()
        assert [s.id for s in services] == list(range(1, 15))
        first = services[0]
        assert (first.type, first.rate, first.min, first.max) == (
            "Default",
            Decimal("0.90"),
            50,
            100_000,
        )
        if dialect == "v1":
            assert first.dripfeed
            assert first.description is not None
        else:
            assert first.refill
            assert first.cancel
            assert not services[1].refill

        order = await panel.add(service=1, link=LINK, quantity=1000)
        assert order == 23501
        assert fake.balance == Decimal("99.1")
        status = await panel.status(order)
        assert (status.status, status.charge, status.remains) == (
            Status.PENDING, Decimal("0.9"), 1000
        )  # fmt: skip
        assert status.currency == ("USD" if dialect == "v2" else None)

        fake.advance(10)
        bulk = await panel.statuses([order, 5])
        assert bulk.ok[order].status is Status.IN_PROGRESS
        assert bulk.ok[order].start_count == 4319
        assert bulk.ok[order].remains == 500
        assert isinstance(bulk.errors[5], NotFoundError)

        fake.advance(60)
        assert (await panel.status(order)).status is Status.COMPLETED
        assert await panel.refill(order) == 1
        refills = await panel.refills([order, 5])
        assert refills.ok == {order: 2}
        assert isinstance(refills.errors[5], NotFoundError)
        refill = await panel.refill_status(1)
        assert refill.status is RefillState.PENDING
        states = await panel.refill_statuses([1, 2, 99])
        assert set(states.ok) == {1, 2}
        assert isinstance(states.errors[99], NotFoundError)

        pending = await panel.add(service=1, link=LINK, quantity=100)
        canceled = await panel.cancel([pending, order, 5])
        assert canceled.ok == {pending: 1}
        assert isinstance(canceled.errors[order], InvalidRequestError)
        assert isinstance(canceled.errors[5], NotFoundError)
        assert (await panel.status(pending)).status is Status.CANCELED


# ---------------------------------------------------------------------------- lifecycle


async def test_order_lifecycle() -> None:
    """Pending 5 s, then delivery at 100/s (10 s at least), remains falling, then Completed."""
    fake = FakePanel()
    order = fake.orders[fake.place(1, 2000)]
    seen = []
    for step in (0, 4.9, 0.1, 10, 10, 0.1):
        fake.advance(step)
        seen.append((order.status, order.start_count, order.remains))
    assert seen == [
        ("Pending", 0, 2000),
        ("Pending", 0, 2000),
        ("In progress", 4319, 2000),
        ("In progress", 4319, 1000),
        ("Completed", 4319, 0),
        ("Completed", 4319, 0),
    ]
    assert order.link == LINK
    assert order.fields["quantity"] == "2000"


async def test_partial_orders_are_partly_refunded() -> None:
    """An order whose ID ends in 0 ends Partial with a fifth undelivered, refunded."""
    fake = FakePanel()
    for _ in range(9):
        fake.place(1, 50)
    partial = fake.place(1, 1000)
    assert partial == 23510
    before = fake.balance
    fake.advance(5 + 9.5)
    assert fake.balance == before
    assert fake.orders[partial].status == "In progress"
    fake.advance(0.5)
    assert fake.balance == before + Decimal("0.18")
    assert await call(fake, action="status", order=str(partial)) == {
        "charge": "0.72000",
        "start_count": str(100 + partial * 7919 % 9900),
        "status": "Partial",
        "remains": "200",
        "currency": "USD",
    }
    assert {fake.orders[o].status for o in fake.orders if o != partial} == {"Completed"}


async def test_cancel() -> None:
    """A pending order cancels with a full refund; a started one or a no-cancel service won't."""
    fake = FakePanel()
    started = fake.place(1, 1000)
    no_cancel = fake.place(10, 100)  # Comment Likes: cancel false
    fake.advance(6)
    pending = fake.place(1, 1000)
    before = fake.balance
    assert await call(fake, action="cancel", orders=f"{pending},{started},{no_cancel}") == [
        {"order": pending, "cancel": 1},
        {"order": started, "cancel": {"error": "Cancel is not allowed: the order is in progress"}},
        {"order": no_cancel, "cancel": {"error": "Cancel is disabled for this service"}},
    ]
    assert fake.balance == before + Decimal("0.9")
    assert await call(fake, action="status", order=str(pending)) == {
        "charge": "0.00000",
        "start_count": "0",
        "status": "Canceled",
        "remains": "1000",
        "currency": "USD",
    }
    assert (await call(fake, action="cancel", orders=str(pending)))[0]["cancel"] == {
        "error": "Cancel is not allowed: the order is canceled"
    }


async def test_canceled_partial_order_is_refunded_once() -> None:
    """Canceling an order that would end Partial refunds it once, in full."""
    fake = FakePanel(balance="10")
    for _ in range(9):
        fake.place(1, 50)
    order = fake.place(1, 1000)
    await call(fake, action="cancel", orders=str(order))
    fake.advance(3600)
    assert fake.balance == Decimal("10") - 9 * Decimal("0.045")


async def test_drip_feed_runs_spread_over_intervals() -> None:
    """Drip-feed: quantity per run times runs, delivered over (runs - 1) intervals longer."""
    fake = FakePanel()
    answer = await call(
        fake, action="add", service="1", link=LINK, quantity="100", runs="3", interval="2"
    )
    order = fake.orders[answer["order"]]
    assert order.quantity == 300
    assert order.charge == Decimal("0.27")
    fake.advance(5 + 10 + 239)
    assert order.status == "In progress"
    fake.advance(1)
    assert order.status == "Completed"


async def test_subscription_active_until_expiry() -> None:
    """Subscriptions go Pending, Active, then Expired once their expiry date has passed."""
    fake = FakePanel()
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).strftime("%d/%m/%Y")
    answer = await call(
        fake,
        action="add",
        service="11",
        username="someone",
        min="100",
        max="200",
        posts="4",
        delay="30",
        expiry=tomorrow,
    )
    order = fake.orders[answer["order"]]
    assert order.charge == Decimal("0.45") * 800 / 1000
    assert order.status == "Pending"
    fake.advance(3600)
    assert order.status == "Active"
    fake.advance(2 * 86400)
    assert order.status == "Expired"
    assert (await call(fake, action="status", order=str(order.id)))["status"] == "Expired"


async def test_refill_lifecycle() -> None:
    """Refills: Pending 5 s, In progress 10 s, Completed; every 5th refill is Rejected."""
    fake = FakePanel()
    order = fake.place(1, 100)
    fake.advance(60)
    refills = [(await call(fake, action="refill", order=str(order)))["refill"] for _ in range(5)]
    assert refills == ["1", "2", "3", "4", "5"]
    words = []
    for step in (0, 5, 10):
        fake.advance(step)
        words.append([fake.refills[r].status for r in (1, 5)])
    assert words == [["Pending", "Pending"], ["In progress", "Rejected"], ["Completed", "Rejected"]]
    assert fake.refills[1].order == order


async def test_refill_refusals() -> None:
    """No refill before completion, nor on a service without refill."""
    fake = FakePanel()
    fresh = fake.place(1, 100)
    no_refill = fake.place(12, 100)  # Poll: refill false
    fake.advance(60)
    late = fake.place(1, 100)
    assert await call(fake, action="refill", orders=f"{late},{no_refill},{fresh}") == [
        {"order": late, "refill": {"error": "Refill is not allowed: the order is not completed"}},
        {"order": no_refill, "refill": {"error": "Refill is disabled for this service"}},
        {"order": fresh, "refill": 1},
    ]


async def test_order_ids_start_realistic_and_increase() -> None:
    """Order IDs start at 23501, as on a panel that has run for a while, and count up."""
    fake = FakePanel()
    assert [fake.place(1, 100) for _ in range(3)] == [23501, 23502, 23503]


async def test_realtime_clock_follows_real_time() -> None:
    """``realtime=True``: the clock moves by itself, and ``advance`` still adds to it."""
    fake = FakePanel(realtime=True)
    start = fake.clock
    await anyio.sleep(0.05)
    assert fake.clock - start >= 0.04
    fake.advance(100)
    assert fake.clock - start >= 100
    assert FakePanel().clock == 0.0


# ---------------------------------------------------------------------------- balance


async def test_balance_goes_down_by_rate_times_quantity() -> None:
    """Each order costs rate * quantity / 1000, exactly."""
    fake = FakePanel(balance="10")
    await call(fake, action="add", service="10", link=LINK, quantity="150", username="me")
    assert fake.balance == Decimal("10") - Decimal("0.153")
    assert await call(fake, action="balance") == {"balance": "9.84700", "currency": "USD"}
    fake.place(2, 1)  # a package: 2500.00 per 1000 packages
    assert fake.balance == Decimal("7.347")


async def test_not_enough_funds() -> None:
    """An order over the balance is refused, nothing charged, nothing placed."""
    fake = FakePanel(balance="0.89")
    answer = await call(fake, action="add", service="1", link=LINK, quantity="1000")
    assert answer == {"error": "Not enough funds on balance"}
    assert fake.balance == Decimal("0.89")
    assert not fake.orders
    fake.balance = "0.90"
    assert await call(fake, action="add", service="1", link=LINK, quantity="1000") == {
        "order": 23501
    }
    assert fake.balance == 0


async def test_money_is_never_rounded_away() -> None:
    """v1 prints at least 2 (balance) or 4 (charge) decimals, more when the amount has them."""
    fake = FakePanel(dialect="v1", balance="5")
    order = fake.place(10, 150)  # 0.153
    assert (await call(fake, action="balance"))["balance"] == "4.847"
    assert (await call(fake, action="status", order=str(order)))["charge"] == "0.1530"


# ---------------------------------------------------------------------------- errors

ERRORS = [
    ({"key": "wrong"}, "Invalid API key"),
    ({"key": ""}, "Invalid API key"),
    ({"action": "refund"}, "Incorrect request"),
    ({"action": ""}, "Incorrect request"),
    ({"service": "99"}, "Incorrect service ID"),
    ({"service": "abc"}, "Incorrect service ID"),
    ({"quantity": "49"}, "Quantity less than minimal 50"),
    ({"quantity": ""}, "Quantity less than minimal 50"),
    ({"quantity": "100001"}, "Quantity more than maximal 100000"),
    ({"link": ""}, "Bad link"),
    ({"link": "two words"}, "Bad link"),
    ({"quantity": "100000"}, "Not enough funds on balance"),
    ({"runs": "1", "interval": "5"}, "Incorrect runs: drip-feed needs at least 2"),
    ({"runs": "3"}, "Incorrect interval in minutes"),
    ({"action": "status", "order": "1"}, "Incorrect order ID"),
    ({"action": "status", "order": "abc"}, "Incorrect order ID"),
    ({"action": "status"}, "Incorrect order ID"),
    ({"action": "refill", "order": "1"}, "Incorrect order ID"),
    ({"action": "refill_status", "refill": "1"}, "Refill not found"),
    ({"action": "refill_status"}, "Refill not found"),
    ({"action": "status", "orders": ",".join(map(str, range(1, 102)))}, "Too many IDs"),
    ({"action": "refill", "orders": ",".join(map(str, range(1, 102)))}, "Too many IDs"),
    ({"action": "refill_status", "refills": ",".join(map(str, range(1, 102)))}, "Too many IDs"),
    ({"action": "cancel", "orders": ",".join(map(str, range(1, 102)))}, "Too many IDs"),
]


@pytest.mark.parametrize("dialect", ["v1", "v2"])
@pytest.mark.parametrize(("fields", "message"), ERRORS, ids=[m for _, m in ERRORS])
async def test_error_texts(dialect: str, fields: dict[str, str], message: str) -> None:
    """Every refusal is HTTP 200 ``{"error": "..."}`` with the panel's usual words."""
    fake = FakePanel(dialect=dialect, balance="50")  # type: ignore[arg-type]
    base = {"key": fake.key, "action": "add", "service": "1", "link": LINK, "quantity": "100"}
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        response = await client.post(fake.url, data={**base, **fields})
    assert response.status_code == 200
    assert orjson.loads(response.content) == {"error": message}
    assert fake.requests[-1].error == message
    assert not fake.requests[-1].answered
    assert fake.balance == Decimal("50")
    assert not fake.orders


async def test_refill_disabled_error() -> None:
    """A single refill on a service without refill: ``Refill is disabled for this service``."""
    fake = FakePanel()
    order = fake.place(12, 100)
    fake.advance(60)
    answer = await call(fake, action="refill", order=str(order))
    assert answer == {"error": "Refill is disabled for this service"}


async def test_errors_raise_the_right_classes_through_panel() -> None:
    """The fake's words land in the client's exception classes."""
    fake = FakePanel(balance="1")
    async with fake.panel(backoff=0, retries=0) as panel:
        with pytest.raises(InvalidRequestError, match="Incorrect service ID"):
            await panel.add(service=99, link=LINK, quantity=100)
        with pytest.raises(InvalidRequestError, match="Quantity less than minimal 50"):
            await panel.add(service=1, link=LINK, quantity=1)
        with pytest.raises(InvalidRequestError, match="Bad link"):
            await panel.add(service=1, quantity=100)
        with pytest.raises(InsufficientFundsError, match="Not enough funds on balance"):
            await panel.add(service=1, link=LINK, quantity=10_000)
        with pytest.raises(NotFoundError, match="Incorrect order ID"):
            await panel.status(1)
        with pytest.raises(NotFoundError, match="Refill not found"):
            await panel.refill_status(1)
    async with Panel(fake.url, "wrong-key", transport=fake.transport(), retries=0) as panel:
        with pytest.raises(AuthenticationError, match="Invalid API key"):
            await panel.balance()


# ---------------------------------------------------------------------------- order types

TYPES: list[tuple[int, dict[str, str], int]] = [
    (1, {"link": LINK, "quantity": "100"}, 100),
    (2, {"link": LINK}, 1),
    (3, {"link": LINK, "comments": "Nice!\r\nWow\n\nGreat\n" + "\n".join("x" * 7)}, 10),
    (4, {"link": LINK, "quantity": "100", "usernames": "a\nb", "hashtags": "#x\n#y"}, 100),
    (5, {"link": LINK, "usernames": "\n".join(f"user{n}" for n in range(12))}, 12),
    (6, {"link": LINK, "quantity": "100", "hashtag": "travel"}, 100),
    (7, {"link": LINK, "quantity": "100", "username": "someone"}, 100),
    (8, {"link": LINK, "quantity": "100", "media": "https://example.com/p/2"}, 100),
    (9, {"link": LINK, "comments": "One\nTwo"}, 1),
    (10, {"link": LINK, "quantity": "100", "username": "owner"}, 100),
    (11, {"username": "someone", "min": "50", "max": "100", "delay": "0"}, 100),
    (12, {"link": LINK, "quantity": "100", "answer_number": "2"}, 100),
    (13, {"link": LINK, "username": "owner", "comments": "\n".join("abcde")}, 5),
    (14, {"link": LINK, "quantity": "500", "groups": "https://t.me/a\nhttps://t.me/b"}, 500),
]


@pytest.mark.parametrize(("service", "fields", "quantity"), TYPES, ids=ORDER_TYPES)
async def test_every_order_type_takes_its_fields(
    service: int, fields: dict[str, str], quantity: int
) -> None:
    """Each seed order type is placed from its documented fields and charged for its size."""
    fake = FakePanel()
    answer = await call(fake, action="add", service=str(service), **fields)
    order = fake.orders[answer["order"]]
    assert order.quantity == quantity
    assert order.charge == DEFAULT_SERVICES[service - 1].cost(quantity)
    assert fake.balance == 1000 - order.charge


@pytest.mark.parametrize(
    ("service", "drop", "message"),
    [
        (1, "quantity", "Quantity less than minimal 50"),
        (2, "link", "Bad link"),
        (3, "comments", "Incorrect comments"),
        (4, "hashtags", "Incorrect hashtags"),
        (4, "usernames", "Incorrect usernames"),
        (5, "usernames", "Incorrect usernames"),
        (6, "hashtag", "Incorrect hashtag"),
        (7, "username", "Incorrect username"),
        (8, "media", "Incorrect media"),
        (9, "comments", "Incorrect comments"),
        (10, "username", "Incorrect username"),
        (11, "username", "Incorrect username"),
        (11, "min", "Quantity less than minimal 50"),
        (11, "delay", "Incorrect delay"),
        (12, "answer_number", "Incorrect answer number"),
        (13, "username", "Incorrect username"),
        (13, "comments", "Incorrect comments"),
        (14, "groups", "Incorrect groups"),
    ],
)
async def test_order_type_refuses_a_missing_field(service: int, drop: str, message: str) -> None:
    """Leaving out a field the type needs is refused with a word naming it."""
    fields = {k: v for k, v in TYPES[service - 1][1].items() if k != drop}
    answer = await call(FakePanel(), action="add", service=str(service), **fields)
    assert answer == {"error": message}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"min": "200", "max": "100"}, "Incorrect min: greater than max"),
        ({"max": "20001"}, "Quantity more than maximal 20000"),
        ({"posts": "many"}, "Incorrect posts"),
        ({"expiry": "2027-01-05"}, "Incorrect expiry date, expected d/m/Y"),
        ({"expiry": "01/01/2001"}, "Incorrect expiry date: it has passed"),
    ],
)
async def test_subscription_refusals(fields: dict[str, str], message: str) -> None:
    """Subscriptions check min/max, posts and the d/m/Y expiry."""
    base = {"username": "someone", "min": "50", "max": "100", "delay": "0"}
    answer = await call(FakePanel(), action="add", service="11", **{**base, **fields})
    assert answer == {"error": message}


@pytest.mark.parametrize(("dialect", "accepted"), [("v1", False), ("v2", True)])
async def test_subscription_delays_follow_the_dialect(dialect: str, accepted: bool) -> None:
    """v1 documents delays up to 90 minutes; v2 up to 600."""
    fake = FakePanel(dialect=dialect)  # type: ignore[arg-type]
    fields = {"username": "someone", "min": "50", "max": "100", "delay": "120"}
    answer = await call(fake, action="add", service="11", **fields)
    assert ("order" in answer) is accepted


async def test_drip_feed_needs_a_drip_feed_service() -> None:
    """``runs``/``interval`` on a service without drip-feed are refused."""
    fake = FakePanel(services=[FakeService(7, "Likes", rate="0.10")])
    answer = await call(
        fake, action="add", service="7", link=LINK, quantity="100", runs="2", interval="5"
    )
    assert answer == {"error": "Drip-feed is disabled for this service"}


async def test_place_fills_in_what_a_type_needs() -> None:
    """``place`` works for every default service and raises the panel's words as ValueError."""
    fake = FakePanel(balance="100000")
    for service in DEFAULT_SERVICES:
        order = fake.orders[fake.place(service.id, service.min)]
        assert order.service is service
    assert fake.orders[23503].quantity == 10  # Custom Comments: one line per unit
    assert len(fake.requests) == 0
    with pytest.raises(ValueError, match="Incorrect service ID"):
        fake.place(99, 100)
    with pytest.raises(ValueError, match="Quantity less than minimal 50"):
        fake.place(1, 1)
    fake.balance = 0
    with pytest.raises(ValueError, match="Not enough funds on balance"):
        fake.place(1, 100)


async def test_custom_catalogue() -> None:
    """A catalogue of your own, checked on creation."""
    fake = FakePanel(services=[FakeService(5, "Views", rate="0.001", min=100, max=10**6)])
    assert await call(fake, action="services") == [
        {
            "service": 5,
            "name": "Views",
            "type": "Default",
            "category": "Fake services",
            "rate": "0.001",
            "min": "100",
            "max": "1000000",
            "refill": False,
            "cancel": False,
        }
    ]
    with pytest.raises(ValueError, match="unknown order type"):
        FakeService(1, "x", type="Teleport")
    with pytest.raises(ValueError, match="min <= max"):
        FakeService(1, "x", min=10, max=5)
    with pytest.raises(TypeError, match="Decimal, int or str"):
        FakeService(1, "x", rate=0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two services"):
        FakePanel(services=[FakeService(1, "a"), FakeService(1, "b")])


# ---------------------------------------------------------------------------- records

SECRET = "s3cr3t+/=&?% key"


async def test_records_hold_fields_and_ids_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """``requests`` keeps action, fields (no key), IDs and outcome; no log line has the key."""
    caplog.set_level(logging.DEBUG)
    fake = FakePanel(key=SECRET)
    order = fake.place(1, 100)
    async with fake.panel() as panel:
        await panel.statuses([order, 7, 8])
        with pytest.raises(NotFoundError):
            await panel.refill_status(3)
        await panel.add(service=1, link=LINK, quantity=100)
    status, refill, add = fake.requests
    assert (status.action, status.fields, status.ids) == (
        "status", {"orders": f"{order},7,8"}, [order, 7, 8]
    )  # fmt: skip
    assert status.answered
    assert status.error is None
    assert status.fault is None
    assert (refill.ids, refill.answered, refill.error) == ([3], False, "Refill not found")
    assert add.fields == {"service": "1", "link": LINK, "quantity": "100"}
    assert add.ids == []
    assert add.answered
    assert fake.orders[23502].fields == add.fields
    for text in (repr(fake.requests), repr(fake), repr(fake.orders), caplog.text):
        assert SECRET not in text
        assert "s3cr3t" not in text
    assert "fake panel: status request" in caplog.text


async def test_special_characters_in_fields_survive() -> None:
    """Form encoding round-trips: ``+``, ``%``, ``&``, commas and UTF-8 in keys and fields."""
    fake = FakePanel(key=SECRET)
    async with fake.panel() as panel:
        await panel.add(
            service=1, link="https://x.example/p?a=1&b=2", quantity=100, note="a+b=50% ✓,\nc"
        )
    assert fake.requests[-1].fields["note"] == "a+b=50% ✓,\nc"
    assert fake.orders[23501].link == "https://x.example/p?a=1&b=2"


async def test_max_in_flight_with_a_concurrent_panel() -> None:
    """``max_in_flight`` sees the client's concurrency; ``in_flight`` is 0 when idle."""
    fake = FakePanel(latency=0.02, auto_orders=True)
    async with fake.panel(concurrency=4) as panel:
        bulk = await panel.statuses(range(1, 1001))
    assert len(bulk.ok) == 1000
    assert len(fake.requests) == 10
    assert all(r.answered for r in fake.requests)
    assert fake.max_in_flight == 4
    assert fake.in_flight == 0
    fake.reset_stats()
    assert len(fake.requests) == 0
    assert fake.max_in_flight == 0


async def test_get_and_json_bodies_are_not_read() -> None:
    """Like PHP's ``$_POST``: a GET or a JSON body carries no key."""
    fake = FakePanel()
    async with httpx.AsyncClient(transport=fake.transport()) as client:
        got = await client.get(fake.url, params={"key": fake.key, "action": "balance"})
        posted = await client.post(fake.url, json={"key": fake.key, "action": "balance"})
    assert orjson.loads(got.content) == orjson.loads(posted.content) == {"error": "Invalid API key"}


# ---------------------------------------------------------------------------- auto_orders


async def test_auto_orders_answer_every_id_from_the_id_alone() -> None:
    """Unknown IDs get a deterministic synthetic status cycling over five words."""
    fake = FakePanel(auto_orders=True)
    answer = await call(fake, action="status", orders="100,101,102,103,104,0,x")
    assert [answer[str(i)]["status"] for i in range(100, 105)] == [
        "Pending", "In progress", "Completed", "Partial", "Canceled"
    ]  # fmt: skip
    assert answer["100"] == {
        "charge": "0.15000",
        "start_count": "0",
        "status": "Pending",
        "remains": "100",
        "currency": "USD",
    }
    assert answer["0"] == answer["x"] == {"error": "Incorrect order ID"}
    assert answer == await call(
        FakePanel(auto_orders=True), action="status", orders="100,101,102,103,104,0,x"
    )
    # Refills and cancels of unknown IDs stay errors; placed orders keep their own status.
    assert await call(fake, action="refill", order="101") == {"error": "Incorrect order ID"}
    order = fake.place(1, 100)
    assert (await call(fake, action="status", order=str(order)))["status"] == "Pending"


async def test_auto_orders_v1_words_and_many_ids_through_panel() -> None:
    """10,000 synthetic IDs parse, with v1's lowercase words mapped to the same states."""
    fake = FakePanel(dialect="v1", auto_orders=True)
    async with fake.panel() as panel:
        bulk = await panel.statuses(range(1, 10_001))
    assert len(bulk.ok) == 10_000
    assert not bulk.errors
    assert {s.status for s in bulk.ok.values()} == {
        Status.PENDING, Status.IN_PROGRESS, Status.COMPLETED, Status.PARTIAL, Status.CANCELED
    }  # fmt: skip
    assert bulk.ok[1].raw_status == "in progress"
    assert bulk.ok[1].start_count == 100 + 7919
    assert len(fake.requests) == 100


# ---------------------------------------------------------------------------- ASGI, package


async def test_asgi_app_answers_through_httpx() -> None:
    """The fake is an ASGI app: on its API path, same answers as over the transport."""
    fake = FakePanel(dialect="v1")
    transport = httpx.ASGITransport(app=fake)
    async with Panel(f"http://127.0.0.1{fake.path}", fake.key, transport=transport) as panel:
        assert (await panel.balance()).amount == 1000
        order = await panel.add(service=1, link=LINK, quantity=100)
    async with httpx.AsyncClient(transport=transport) as client:  # issue 9, item 17
        elsewhere = await client.post("http://127.0.0.1/anything", data={"key": fake.key})
    assert elsewhere.status_code == 404
    assert fake.orders[order].quantity == 100
    assert fake.max_in_flight == 1
    assert fake.in_flight == 0


async def test_asgi_lifespan_is_answered() -> None:
    """Servers that send lifespan events get their completions."""
    fake = FakePanel()
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Any] = []

    async def receive() -> Any:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await fake({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


async def test_options_are_checked() -> None:
    """Bad options fail at construction, not on the first request."""
    with pytest.raises(ValueError, match="dialect"):
        FakePanel(dialect="v3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key"):
        FakePanel(key="")
    with pytest.raises(ValueError, match="latency"):
        FakePanel(latency=-1)
    with pytest.raises(TypeError):
        FakePanel(balance=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        FakePanel().advance(-1)


def test_public_surface() -> None:
    """``smmpanel.testing`` exports a sorted ``__all__``, all of it importable."""
    names = smmpanel.testing.__all__
    assert names == sorted(names)
    assert {"FakePanel", "FakeService", "FakeOrder", "FakeRefill", "Received"} <= set(names)
    for name in names:
        assert hasattr(smmpanel.testing, name)
