"""Issue 9 (protocol): what real panels, hostile answers and new users hit, through the public API.

Each test names the item of the issue it covers; each failed before its fix.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

import httpx
import pytest
from _hardening import (
    OK,
    Recorder,
    form,
    json_answer,
    panel,
)

import smmpanel
from smmpanel import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PanelError,
    ProtocolError,
    SMMPanelError,
    Status,
    UncertainOrderError,
)

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------- 1. add on 5xx with JSON


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize(
    "body",
    [
        {"error": "Internal Server Error"},
        {"message": "Server Error"},
        {"error": "oops"},
    ],
)
async def test_1_add_answered_5xx_with_a_json_error_is_uncertain(
    status: int, body: dict[str, str]
) -> None:
    """A 5xx to add is uncertain unless the words clearly refuse the order."""
    recorder = Recorder(json_answer(body, status))
    async with panel(recorder) as p:
        with pytest.raises(UncertainOrderError) as info:
            await p.add(service=1, link="https://x.example/p", quantity=100)
    assert len(recorder.requests) == 1
    assert info.value.fields["service"] == "1"


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("Not enough funds on balance", smmpanel.InsufficientFundsError),
        ("Invalid API key", AuthenticationError),
        ("Incorrect service ID", InvalidRequestError),
        ("Too many requests", smmpanel.RateLimitError),
    ],
)
async def test_1_add_5xx_with_clear_refusal_words_is_that_refusal(
    text: str, cls: type[PanelError]
) -> None:
    async with panel(json_answer({"error": text}, 500)) as p:
        with pytest.raises(cls):
            await p.add(service=1, link="https://x.example/p", quantity=100)


# ---------------------------------------------------------------- 7. never an exception from inside


WEIRD_NUMBERS = [
    "\u00b2",
    "\u2460",
    "\u0663",
    "9" * 5000,
    "1e999999",
    "NaN",
    "Infinity",
]


@pytest.mark.parametrize("value", WEIRD_NUMBERS)
@pytest.mark.parametrize("field", ["start_count", "remains", "charge"])
async def test_7_weird_numbers_never_escape_as_bare_errors(value: str, field: str) -> None:
    async with panel(json_answer({**OK, field: value}), retries=0) as p:
        with contextlib.suppress(SMMPanelError):
            await p.status(1)


@pytest.mark.parametrize("value", WEIRD_NUMBERS)
async def test_7_a_multi_id_call_reports_a_weird_entry_per_id(value: str) -> None:
    answer = {"1": {**OK, "start_count": value}, "2": OK}
    async with panel(json_answer(answer), retries=0) as p:
        bulk = await p.statuses([1, 2])
    assert set(bulk.ok) | set(bulk.errors) == {1, 2}
    assert bulk.ok[2].remains == 157
    if 1 in bulk.errors:
        assert isinstance(bulk.errors[1], ProtocolError)


async def test_7_watch_survives_a_weird_entry() -> None:
    answers = iter(
        [
            {"1": {**OK, "start_count": "\u00b2", "status": "Pending"}, "2": OK},
            {"1": {**OK, "status": "Completed"}, "2": OK},
        ]
    )
    async with panel(lambda r: httpx.Response(200, json=next(answers)), retries=0) as p:
        seen = [s async for s in p.watch([1, 2], every=0)]
    assert {s.order for s in seen} == {1, 2}


# ---------------------------------------------------------------- 9. thousands separators


async def test_9_thousands_separators_are_read_everywhere() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        action = form(request)["action"]
        if action == "balance":
            return httpx.Response(200, json={"balance": "1,250.00000", "currency": "USD"})
        if action == "services":
            service = {"service": 1, "name": "x", "type": "Default", "category": "c"}
            return httpx.Response(
                200, json=[{**service, "rate": "1,250.50", "min": "1,000", "max": "10,000"}]
            )
        return httpx.Response(200, json={**OK, "charge": "1,250.00000", "remains": "1,000"})

    async with panel(handler) as p:
        assert (await p.balance()).amount == Decimal("1250.00000")
        service = (await p.services())[0]
        assert service.rate == Decimal("1250.50")
        assert service.min == 1000
        assert service.max == 10000
        status = await p.status(1)
        assert status.charge == Decimal("1250.00000")
        assert status.remains == 1000


@pytest.mark.parametrize("value", ["1,25", "1.250,00", "12,34,56"])
async def test_9_ambiguous_money_fails_the_same_way_everywhere(value: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        action = form(request)["action"]
        if action == "balance":
            return httpx.Response(200, json={"balance": value, "currency": "USD"})
        return httpx.Response(200, json={**OK, "charge": value})

    async with panel(handler, retries=0) as p:
        with pytest.raises(ProtocolError):
            await p.balance()
        with pytest.raises(ProtocolError):
            await p.status(1)


# ---------------------------------------------------------------- 10. shapes


async def test_10_an_error_nested_under_status() -> None:
    async with panel(json_answer({"status": {"error": "Refill not found"}})) as p:
        with pytest.raises(NotFoundError):
            await p.refill_status(3)


async def test_10_a_status_object_nested_under_status() -> None:
    async with panel(json_answer({"status": {**OK, "status": "Completed"}})) as p:
        status = await p.status(1)
    assert status.status is Status.COMPLETED
    assert status.remains == 157


async def test_10_a_single_answer_in_a_one_element_list() -> None:
    async with panel(json_answer([{"error": "Incorrect order ID"}])) as p:
        with pytest.raises(NotFoundError):
            await p.status(1)
    async with panel(json_answer([OK])) as p:
        assert (await p.status(1)).remains == 157


async def test_10_a_single_refill_answered_as_a_list() -> None:
    async with panel(json_answer([{"order": 5, "refill": 77}])) as p:
        assert await p.refill(5) == 77
    async with panel(json_answer([{"order": 5, "refill": {"error": "Refill not found"}}])) as p:
        with pytest.raises(NotFoundError):
            await p.refill(5)


async def test_10_a_one_id_multi_request_answered_in_the_single_form() -> None:
    async with panel(json_answer(OK)) as p:
        bulk = await p.statuses([9])
    assert bulk.ok[9].remains == 157
    async with panel(json_answer({"refill": "12"})) as p:
        assert (await p.refills([9])).ok == {9: 12}
    async with panel(json_answer({"status": "Completed", "refill": 4})) as p:
        assert (await p.refill_statuses([4])).ok[4].status is smmpanel.RefillState.COMPLETED


async def test_10_a_crash_page_as_json_is_not_the_panels_words() -> None:
    recorder = Recorder(json_answer({"message": "Server Error"}, 500))
    async with panel(recorder, retries=2) as p:
        with pytest.raises(SMMPanelError) as info:
            await p.balance()
    assert not isinstance(info.value, PanelError)
    assert len(recorder.requests) == 3  # retried as a server failure
    assert "not JSON" not in str(info.value)
    assert "500" in str(info.value)


@pytest.mark.parametrize("status", [200, 429])
async def test_10_a_bare_message_naming_a_rate_limit_is_one(status: int) -> None:
    async with panel(json_answer({"message": "Too Many Attempts."}, status), retries=0) as p:
        with pytest.raises(smmpanel.RateLimitError) as info:
            await p.balance()
    assert "Too Many Attempts" in str(info.value)


async def test_10_unknown_json_shape_says_what_was_wrong() -> None:
    async with panel(json_answer({"foo": "bar"})) as p:
        with pytest.raises(ProtocolError) as info:
            await p.balance()
    assert "not JSON" not in str(info.value)


# ---------------------------------------------------------------- 11. families of words

FAMILIES: list[tuple[str, type[PanelError]]] = [
    ("Your IP address is not allowed to use the API", AuthenticationError),
    ("IP not whitelisted", AuthenticationError),
    ("API access is disabled for your account", AuthenticationError),
    ("API access disabled", AuthenticationError),
    ("Wrong API token", AuthenticationError),
    ("User not found or banned", AuthenticationError),
    ("Access denied", AuthenticationError),
    ("Ung\u00fcltiger API-Schl\u00fcssel", AuthenticationError),
    ("Service not found or inactive", InvalidRequestError),
    ("This service is inactive", InvalidRequestError),
    ("Service is disabled", InvalidRequestError),
    ("Service unavailable for your account", InvalidRequestError),
    ("The order already has an open refill request", InvalidRequestError),
    ("Refill request already exists", InvalidRequestError),
    ("This order cannot be cancelled", InvalidRequestError),
    ("Order has already started and can not be canceled", InvalidRequestError),
    ("Refill is not available yet for this order", InvalidRequestError),
    ("Cancel is not available for this service", InvalidRequestError),
    ("Link is invalid", InvalidRequestError),
    ("Quantity exceeds the maximum of 5000", InvalidRequestError),
    ("Order not found", NotFoundError),
    ("No such order", NotFoundError),
    ("Order ID 123 does not exist", NotFoundError),
    ("Refill ID not found", NotFoundError),
    ("Sipari\u015f bulunamad\u0131", NotFoundError),
    ("Kh\u00f4ng t\u00ecm th\u1ea5y \u0111\u01a1n h\u00e0ng", NotFoundError),
    ("Balance is too low", smmpanel.InsufficientFundsError),
    ("You do not have enough funds", smmpanel.InsufficientFundsError),
    ("Rate limit exceeded, slow down", smmpanel.RateLimitError),
    ("Too Many Attempts.", smmpanel.RateLimitError),
]


@pytest.mark.parametrize(("text", "cls"), FAMILIES)
async def test_11_words_decide_the_family_in_single_calls(text: str, cls: type[PanelError]) -> None:
    async with panel(json_answer({"error": text}), retries=0) as p:
        with pytest.raises(cls):
            await (p.status(1) if cls is NotFoundError else p.balance())


@pytest.mark.parametrize(
    "text",
    ["The order already has an open refill request", "This order cannot be cancelled"],
)
async def test_11_a_refusal_to_act_on_an_order_is_not_not_found(text: str) -> None:
    refills = [{"order": 1, "refill": {"error": text}}, {"order": 2, "refill": 9}]
    cancels = [{"order": 1, "cancel": {"error": text}}, {"order": 2, "cancel": 1}]
    async with panel(json_answer(refills)) as p:
        bulk = await p.refills([1, 2])
    assert isinstance(bulk.errors[1], InvalidRequestError)
    assert bulk.ok == {2: 9}
    async with panel(json_answer(cancels)) as p:
        bulk = await p.cancel([1, 2])
    assert isinstance(bulk.errors[1], InvalidRequestError)
    async with panel(json_answer([{"order": 1, "error": text}, {"order": 2, "cancel": 1}])) as p:
        bulk = await p.cancel([1, 2])
    assert isinstance(bulk.errors[1], InvalidRequestError)


async def test_11_an_unknown_order_in_refills_is_still_not_found() -> None:
    answer = [{"order": 1, "refill": {"error": "Incorrect order ID"}}]
    async with panel(json_answer(answer)) as p:
        bulk = await p.refills([1])
    assert isinstance(bulk.errors[1], NotFoundError)


# ---------------------------------------------------------------- 14, 15. models


async def test_14_absent_service_flags_are_none() -> None:
    service = {
        "service": 1,
        "name": "x",
        "type": "Default",
        "category": "c",
        "rate": "1",
    }
    async with panel(json_answer([{**service, "min": 1, "max": 2}])) as p:
        got = (await p.services())[0]
    assert got.refill is None
    assert got.cancel is None
    assert got.dripfeed is None
    flagged = {
        **service,
        "min": 1,
        "max": 2,
        "refill": False,
        "cancel": "1",
        "dripfeed": 0,
    }
    async with panel(json_answer([flagged])) as p:
        got = (await p.services())[0]
    assert (got.refill, got.cancel, got.dripfeed) == (False, True, False)


async def test_15_order_status_keeps_what_it_does_not_name() -> None:
    answer = {**OK, "runs": "3", "orders": [11, 12], "posts": 4}
    async with panel(json_answer(answer)) as p:
        status = await p.status(1)
    assert status.extra == {"runs": "3", "orders": [11, 12], "posts": 4}
    async with panel(json_answer(OK)) as p:
        assert (await p.status(1)).extra == {}
