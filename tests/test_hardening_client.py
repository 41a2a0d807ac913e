"""Issue 9 (client): what real panels, hostile answers and new users hit, through the public API.

Each test names the item of the issue it covers; each failed before its fix.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest
from _hardening import (
    KEY,
    OK,
    URL,
    Recorder,
    json_answer,
    pairs,
    panel,
    text_answer,
)

import smmpanel
from smmpanel import (
    ProtocolError,
    SMMPanelError,
    Status,
)

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------- 2. extra field names


async def test_2_extra_field_names_are_form_encoded() -> None:
    recorder = Recorder(json_answer({"order": 1}))
    async with panel(recorder) as p:
        await p.add(service=1, **{"x&key": "evil", "a=b": "c d"})
    sent = pairs(recorder.requests[0])
    assert [value for name, value in sent if name == "key"] == [KEY]
    assert ("x&key", "evil") in sent
    assert ("a=b", "c d") in sent


@pytest.mark.parametrize("name", ["key", "action", "KEY", " key", "Action"])
async def test_2_extra_names_that_override_key_or_action_are_refused(name: str) -> None:
    recorder = Recorder(json_answer({"order": 1}))
    async with panel(recorder) as p:
        with pytest.raises(ValueError, match=r"key|action"):
            await p.add(service=1, **{name: "x"})
    assert recorder.requests == []


# ---------------------------------------------------------------- 8. sendable IDs


@pytest.mark.parametrize(
    "bad",
    [10**5000, "1" + "0" * 5000, 2**63, "9" * 30],
    ids=["int5000", "str5000", "2**63", "30"],
)
async def test_8_an_id_too_large_to_send_is_refused_before_sending(bad: Any) -> None:
    recorder = Recorder(json_answer({}))
    async with panel(recorder) as p:
        ids = [*range(1, 1901), bad]
        for call in (p.cancel, p.statuses, p.refills, p.refill_statuses):
            with pytest.raises(ValueError):
                await call(ids)
        for one in (p.status, p.refill, p.refill_status):
            with pytest.raises(ValueError):
                await one(bad)
    assert recorder.requests == []


async def test_8_the_largest_sendable_id_is_sent() -> None:
    big = 2**63 - 1
    recorder = Recorder(json_answer({str(big): OK}))
    async with panel(recorder) as p:
        bulk = await p.statuses([big])
    assert bulk.ok[big].charge == Decimal("0.27819")


# ---------------------------------------------------------------- 13. Watch


async def test_13_watch_raises_when_the_panel_stays_down() -> None:
    recorder = Recorder(text_answer("<html>502</html>", 502))
    async with panel(recorder, retries=0) as p:
        with pytest.raises(ProtocolError):
            async for _ in p.watch([1, 2], every=0, failures=3):
                pass
    assert len(recorder.requests) == 3


async def test_13_watch_keeps_not_found_and_errors() -> None:
    answers = iter(
        [
            {"1": {**OK, "status": "Pending"}, "2": {"error": "Incorrect order ID"}},
            {"1": {**OK, "status": "Completed"}},
        ]
    )
    async with panel(lambda r: httpx.Response(200, json=next(answers)), retries=0) as p:
        watch = p.watch([1, 2], every=0)
        seen = [s async for s in watch]
    assert [s.status for s in seen] == [Status.PENDING, Status.COMPLETED]
    assert watch.not_found == {2}
    assert watch.errors == {}


async def test_13_watch_until_bounds_a_watch_over_subscriptions() -> None:
    async with panel(json_answer({"1": {**OK, "status": "Active"}})) as p:
        started = anyio.current_time()
        seen = [s async for s in p.watch([1], every=0.05, until=0.3)]
    assert [s.status for s in seen] == [Status.ACTIVE]
    assert anyio.current_time() - started < 2


async def test_13_watch_errors_hold_the_latest_failure_per_order() -> None:
    answers = iter(
        [
            {"1": {**OK, "status": "Pending"}, "2": {**OK, "status": "Pending"}},
            {"1": {**OK, "status": "Pending"}, "2": {"error": "Too many requests"}},
            {"1": {**OK, "status": "Completed"}, "2": {**OK, "status": "Completed"}},
        ]
    )
    errors: list[dict[int, SMMPanelError]] = []
    async with panel(lambda r: httpx.Response(200, json=next(answers)), retries=0) as p:
        watch = p.watch([1, 2], every=0)
        async for _ in watch:
            errors.append(dict(watch.errors))
    assert any(2 in e for e in errors)
    assert watch.errors == {}


async def test_13_watch_checks_its_arguments() -> None:
    recorder = Recorder(json_answer({}))
    async with panel(recorder) as p:
        for bad in ({"failures": 0}, {"until": -1}, {"every": -1}):
            with pytest.raises(ValueError):
                p.watch([1], **bad)
    assert recorder.requests == []


async def test_13_watch_stops_early_on_aclose() -> None:
    pending = {"1": {**OK, "status": "Pending"}, "2": {**OK, "status": "Pending"}}
    recorder = Recorder(json_answer(pending))
    async with panel(recorder) as p:
        async with p.watch([1, 2], every=3600) as watch:
            first = [await anext(watch), await anext(watch)]
            with anyio.fail_after(5):  # the next poll is an hour away: aclose ends the wait
                async with anyio.create_task_group() as tg:
                    tg.start_soon(anext, watch)
                    await anyio.sleep(0.05)
                    tg.cancel_scope.cancel()
        await watch.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(watch)
    assert [s.order for s in first] == [1, 2]
    assert len(recorder.requests) == 1


# ---------------------------------------------------------------- 18. fast under trio


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_18_fast_under_trio_fails_at_construction() -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(RuntimeError, match="asyncio"):
        smmpanel.Panel(URL, KEY, fast=True)
