"""Issue 9 (http): what real panels, hostile answers and new users hit, through the public API.

Each test names the item of the issue it covers; each failed before its fix.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any
from urllib.parse import quote_plus

import anyio
import httpx
import pytest
from _hardening import (
    KEY,
    OK,
    URL,
    assert_no_key,
    form,
    json_answer,
    key_forms,
    panel,
    text_answer,
)

import smmpanel
from smmpanel import (
    ProtocolError,
    SMMPanelError,
)

pytestmark = pytest.mark.anyio


# ---------------------------------------------------------------- 3. redirects


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_3_no_redirect_is_followed_with_the_key(code: int) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "panel.example":
            return httpx.Response(code, headers={"Location": "http://evil.example/steal"})
        return httpx.Response(200, json={"balance": "1", "currency": "USD"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    async with client, smmpanel.Panel(URL, KEY, http_client=client, retries=0) as p:
        with pytest.raises(SMMPanelError) as info:
            await p.balance()
    assert [r.url.host for r in seen] == ["panel.example"]
    assert "evil.example" in str(info.value)  # says where it was sent


# ---------------------------------------------------------------- 4. redaction


@pytest.mark.parametrize("form_", key_forms())
@pytest.mark.parametrize("status", [200, 403, 502])
async def test_4_an_echoed_key_is_scrubbed_in_every_form(form_: str, status: int) -> None:
    body = f"<html><body>bad key {form_} here</body></html>"
    async with panel(text_answer(body, status), retries=0) as p:
        with pytest.raises(SMMPanelError) as info:
            await p.balance()
    assert_no_key(info.value)


@pytest.mark.parametrize("form_", key_forms())
async def test_4_an_echoed_key_in_json_words_is_scrubbed(form_: str) -> None:
    raw = '{"error": "Invalid API key ' + form_.replace('"', '\\"') + '"}'
    async with panel(text_answer(raw), retries=0) as p:
        with pytest.raises(SMMPanelError) as info:
            await p.balance()
    assert_no_key(info.value)


async def test_4_a_key_in_a_location_header_is_scrubbed() -> None:
    location = f"https://login.example/?key={quote_plus(KEY)}"
    async with panel(lambda r: httpx.Response(302, headers={"Location": location})) as p:
        with pytest.raises(SMMPanelError) as info:
            await p.balance()
    assert_no_key(info.value)


# ---------------------------------------------------------------- 5. rate limit in every window


async def test_5_requests_held_by_the_limiter_still_keep_the_rate() -> None:
    """rate_limit=10, concurrency=1: the first answer is slow; no burst follows it."""
    times: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        times.append(anyio.current_time())
        if len(times) == 1:
            await anyio.sleep(0.5)
        return httpx.Response(200, json={"balance": "1", "currency": "USD"})

    async with (
        smmpanel.Panel(
            URL,
            KEY,
            transport=httpx.MockTransport(handler),
            rate_limit=10,
            concurrency=1,
        ) as p,
        anyio.create_task_group() as tg,
    ):
        for _ in range(4):
            tg.start_soon(p.balance)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4
    assert min(gaps) >= 0.09, gaps


async def test_5_a_cancelled_waiter_gives_its_turn_back() -> None:
    async with panel(json_answer({"balance": "1", "currency": "USD"}), rate_limit=5) as p:
        await p.balance()
        with anyio.move_on_after(0.05):
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(p.balance)
        await anyio.sleep(0.3)
        started = anyio.current_time()
        await p.balance()
        assert anyio.current_time() - started < 1.0


# ---------------------------------------------------------------- 6. per-action limits


async def test_6_rate_limit_per_action() -> None:
    times: dict[str, list[float]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        action = form(request)["action"]
        times.setdefault(action, []).append(time.monotonic())
        if action == "balance":
            return httpx.Response(200, json={"balance": "1", "currency": "USD"})
        return httpx.Response(200, json=OK)

    async with (
        panel(handler, rate_limit={"status": 10}, concurrency=8) as p,
        anyio.create_task_group() as tg,
    ):
        for _ in range(3):
            tg.start_soon(p.status, 1)
        for _ in range(5):
            tg.start_soon(p.balance)
    status = times["status"]
    assert min(b - a for a, b in itertools.pairwise(status)) >= 0.09
    balance = times["balance"]
    assert max(balance) - min(balance) < 0.09  # an action the mapping does not name is free


async def test_6_star_limits_every_request() -> None:
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return httpx.Response(200, json={"balance": "1", "currency": "USD"})

    async with panel(handler, rate_limit={"*": 10, "status": 100}) as p:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(p.balance)
        assert p.rate_limit == {"*": 10, "status": 100}
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.09


@pytest.mark.parametrize(
    "bad",
    [{"stats": 1}, {"status": 0}, {"status": -1}, {"status": "2"}, {"*": True}, {1: 2}],
)
def test_6_a_bad_limit_mapping_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        smmpanel.Panel(URL, KEY, rate_limit=bad)


# ---------------------------------------------------------------- 12. logging


async def test_12_retries_print_nothing_when_logging_is_not_configured(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, root.handlers = root.handlers, []
    try:
        async with panel(text_answer("<html>502</html>", 502), retries=2) as p:
            with pytest.raises(ProtocolError):
                await p.balance()
    finally:
        root.handlers = handlers
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


async def test_12_retries_are_logged_on_the_smmpanel_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="smmpanel"):
        async with panel(text_answer(f"<html>502 {KEY}</html>", 502), retries=2) as p:
            with pytest.raises(ProtocolError):
                await p.balance()
    records = [r for r in caplog.records if r.name.startswith("smmpanel")]
    assert len(records) >= 2
    text = "\n".join(r.getMessage() for r in records)
    assert "balance" in text
    assert "ProtocolError" in text
    assert "attempt" in text
    for form_ in key_forms():
        assert form_ not in text


def test_12_no_process_wide_hook_is_changed() -> None:
    """A retrying call leaves logging's handlers, the last resort and stamina's hooks alone."""
    import pathlib
    import sys

    root = logging.getLogger()
    handlers, last_resort = list(root.handlers), logging.lastResort
    stamina = sys.modules.get("stamina")
    hooks = stamina.instrumentation.get_on_retry_hooks() if stamina else None

    async def retrying() -> None:
        async with panel(text_answer("<html>502</html>", 502), retries=2) as p:
            with pytest.raises(ProtocolError):
                await p.balance()

    anyio.run(retrying)
    assert root.handlers == handlers
    assert logging.lastResort is last_resort
    if stamina is not None:
        assert stamina.instrumentation.get_on_retry_hooks() == hooks
    package = pathlib.Path(smmpanel.__file__).parent
    for source in package.rglob("*.py"):
        assert "set_on_retry_hooks" not in source.read_text(encoding="utf-8"), source
