"""The API key never leaks: not in reprs, not in any exception, not in any log record.

A panel may echo the key back (in an error message, an HTML page, a per-ID error); the key
must still appear nowhere the caller or a log can see.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import httpx
import pytest

import smmpanel
from smmpanel import Bulk, Panel, SMMPanelError

pytestmark = pytest.mark.anyio

URL = "https://panel.example/api/v2"
KEY = "sk-live+S3CRET/key=42&x"
FORMS = (KEY, quote_plus(KEY), quote(KEY, safe=""), KEY.encode().hex())


def leaks(text: str) -> bool:
    """Whether ``text`` holds the key, raw or encoded."""
    return any(form in text for form in FORMS)


def strings_in(obj: object, seen: set[int] | None = None, depth: int = 0) -> Iterator[str]:
    """Every text reachable from ``obj``: str/repr, args, attributes, causes and contexts."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 12:
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        yield obj
        return
    if isinstance(obj, bytes | bytearray):
        yield bytes(obj).decode("utf-8", "replace")
        return
    if isinstance(obj, int | float | bool) or obj is None:
        return
    try:
        yield repr(obj)
        yield str(obj)
    except Exception:  # some objects refuse str() when half-built (e.g. httpx errors)
        pass
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from strings_in(key, seen, depth + 1)
            yield from strings_in(value, seen, depth + 1)
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from strings_in(item, seen, depth + 1)
        return
    if isinstance(obj, httpx.Request):
        yield str(obj.url)
        yield from strings_in(dict(obj.headers), seen, depth + 1)
        yield from strings_in(getattr(obj, "_content", b""), seen, depth + 1)
        return
    if isinstance(obj, BaseException):
        yield from strings_in(obj.args, seen, depth + 1)
        yield from strings_in(obj.__cause__, seen, depth + 1)
        yield from strings_in(obj.__context__, seen, depth + 1)
        for note in getattr(obj, "__notes__", ()):
            yield from strings_in(note, seen, depth + 1)
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict):
        yield from strings_in(attributes, seen, depth + 1)
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            yield from strings_in(getattr(obj, slot), seen, depth + 1)


def assert_no_key(obj: object) -> None:
    found = [text for text in strings_in(obj) if leaks(text)]
    assert not found, found[:3]


def test_the_walker_finds_a_key_hidden_in_a_cause() -> None:
    """Self-check: a key in a cause's request body is found."""
    request = httpx.Request("POST", URL, content=f"key={quote_plus(KEY)}".encode())
    error = SMMPanelError("boom")
    error.__cause__ = httpx.ReadError("reset", request=request)
    with pytest.raises(AssertionError):
        assert_no_key(error)


def test_repr_of_a_panel_never_shows_the_key() -> None:
    """repr and str of a Panel, and its public attributes, hold no key."""
    panel = Panel(URL, KEY)
    assert not leaks(repr(panel))
    assert not leaks(str(panel))
    assert not leaks(panel.url)
    anyio.run(panel.aclose)


# A panel that echoes the key back, in the answers the client reads as a whole.
ECHOES: list[tuple[str, int, bytes | str | dict[str, Any] | list[Any]]] = [
    ("error-text", 200, {"error": f"Invalid API key: {KEY}"}),
    ("error-text-401", 401, {"error": f"API key {KEY} is not active"}),
    ("status-message", 200, {"status": "error", "message": f"key {KEY} banned"}),
    ("error-object", 422, {"error": {"key": [f"The key {KEY} is invalid."]}}),
    ("html", 200, f"<html><body>Bad request for key={KEY}</body></html>"),
    ("html-502-form-encoded", 502, f"<html>upstream error; key={quote_plus(KEY)}</html>"),
    ("not-json", 200, f"Notice: undefined index {KEY} in api.php"),
    ("429", 429, {"error": f"Too many requests for {KEY}"}),
]
CALLS: list[tuple[str, Callable[[Panel], Awaitable[object]]]] = [
    ("balance", lambda p: p.balance()),
    ("services", lambda p: p.services()),
    ("add", lambda p: p.add(service=1, link="https://x.example/p/1", quantity=100)),
    ("status", lambda p: p.status(1)),
    ("statuses", lambda p: p.statuses([1, 2])),
    ("refill", lambda p: p.refill(1)),
    ("refills", lambda p: p.refills([1, 2])),
    ("refill_status", lambda p: p.refill_status(1)),
    ("refill_statuses", lambda p: p.refill_statuses([1, 2])),
    ("cancel", lambda p: p.cancel([1, 2])),
]


def answering(status: int, body: bytes | str | dict[str, Any] | list[Any], **options: Any) -> Panel:
    """A Panel whose panel answers every request with ``status`` and ``body``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict | list):
            return httpx.Response(status, json=body)
        return httpx.Response(status, content=body.encode() if isinstance(body, str) else body)

    options.setdefault("retries", 0)
    return Panel(URL, KEY, transport=httpx.MockTransport(handler), **options)


async def outcome(panel: Panel, call: Callable[[Panel], Awaitable[object]]) -> object:
    """The call's result, or the SMMPanelError it raised."""
    try:
        return await call(panel)
    except SMMPanelError as error:
        return error


def errors_of(result: object) -> list[SMMPanelError]:
    """The exceptions a call produced: the one it raised, or a Bulk's per-ID errors."""
    if isinstance(result, Bulk):
        return list(result.errors.values())
    return [result] if isinstance(result, SMMPanelError) else []


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize(("echo", "status", "body"), ECHOES, ids=[e[0] for e in ECHOES])
async def test_no_exception_holds_the_key_even_when_the_panel_echoes_it(
    name: str,
    call: Callable[[Panel], Awaitable[object]],
    echo: str,
    status: int,
    body: bytes | str | dict[str, Any] | list[Any],
) -> None:
    """Error envelopes, HTML and non-JSON bodies echoing the key: no exception (str, repr,
    args, attributes, causes, contexts) and no per-ID error in a Bulk holds it."""
    async with answering(status, body) as panel:
        errors = errors_of(await outcome(panel, call))
    assert errors
    assert_no_key(errors)


# Per-ID errors and shape errors are built by the pure parsers, which never see the key;
# the client removes an echoed key from the answer before parsing it.
PARSED_ECHOES: list[tuple[str, Callable[[Panel], Awaitable[object]], object]] = [
    ("status-keyed", lambda p: p.status(1), {"1": f"Order of {KEY} not found"}),
    ("statuses-keyed", lambda p: p.statuses([1, 2]), {"1": f"{KEY} unknown", "2": {"error": KEY}}),
    ("statuses-list", lambda p: p.statuses([1, 2]), [f"Incorrect order ID {KEY}", {"error": KEY}]),
    ("refill-object", lambda p: p.refill(1), {"refill": {"error": f"Refill for {KEY} disabled"}}),
    ("refills", lambda p: p.refills([1]), [{"order": 1, "refill": {"error": f"No {KEY}"}}]),
    (
        "refill-statuses",
        lambda p: p.refill_statuses([1]),
        [{"refill": 1, "status": {"error": f"{KEY} not found"}}],
    ),
    ("cancel", lambda p: p.cancel([1]), [{"order": 1, "cancel": {"error": f"{KEY} refused"}}]),
    ("balance-shape", lambda p: p.balance(), {"balance": [KEY]}),
]


@pytest.mark.parametrize(("name", "call", "body"), PARSED_ECHOES, ids=[e[0] for e in PARSED_ECHOES])
async def test_per_id_and_shape_errors_never_hold_an_echoed_key(
    name: str, call: Callable[[Panel], Awaitable[object]], body: object
) -> None:
    """A key echoed inside a per-ID error or an unreadable value is scrubbed too."""
    async with answering(200, body) as panel:
        errors = errors_of(await outcome(panel, call))
    assert errors
    assert_no_key(errors)


async def test_an_error_text_echoing_the_form_encoded_key_is_scrubbed() -> None:
    """A panel echoing its raw POST body (key=sk-live%2B...) in an error text leaks nothing."""
    async with answering(200, {"error": f"Bad request: key={quote_plus(KEY)}&action=balance"}) as p:
        error = await outcome(p, lambda panel: panel.balance())
    assert isinstance(error, SMMPanelError)
    assert_no_key(error)


def failing(kind: type[httpx.HTTPError]) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that fails with an httpx error carrying the request (whose body holds the key)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise kind(f"failed sending for {KEY}", request=request)

    return handler


@pytest.mark.parametrize(
    "kind",
    [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.PoolTimeout],
    ids=lambda k: k.__name__,
)
@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
async def test_transport_errors_never_hold_the_key_or_the_request(
    kind: type[httpx.HTTPError], name: str, call: Callable[[Panel], Awaitable[object]]
) -> None:
    """An httpx error whose message and .request hold the key is never passed on with them."""
    transport = httpx.MockTransport(failing(kind))
    async with Panel(URL, KEY, transport=transport, retries=0) as panel:
        errors = errors_of(await outcome(panel, call))
    assert errors
    assert all(isinstance(error, smmpanel.TransportError) for error in errors)
    assert_no_key(errors)


class Flaky:
    """A panel that fails in turn (502 HTML, a reset, a timeout, a 500 JSON echo), then answers."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        step = self.count % 5
        if step == 1:
            return httpx.Response(502, text=f"<html>Bad gateway {KEY}</html>")
        if step == 2:
            raise httpx.ReadError(f"reset while sending for {KEY}", request=request)
        if step == 3:
            raise httpx.ConnectError(f"refused {KEY}", request=request)
        if step == 4:
            return httpx.Response(500, json={"error": f"Internal error for key {KEY}"})
        return httpx.Response(200, json={"1": {"status": "Pending"}, "2": "Incorrect order ID"})


async def test_logs_never_hold_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG, no log record of smmpanel, httpx, httpcore or tenacity holds the key,
    across a run with retries, failures and panel errors."""
    caplog.set_level(logging.DEBUG)
    for name in ("smmpanel", "httpx", "httpcore", "tenacity"):
        caplog.set_level(logging.DEBUG, logger=name)
    transport = httpx.MockTransport(Flaky())
    async with Panel(URL, KEY, transport=transport, retries=4, backoff=0) as panel:
        for _, call in CALLS:
            assert_no_key(await outcome(panel, call))
    assert caplog.records, "expected the run to log something (retries at least)"
    for record in caplog.records:
        texts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
        if record.exc_info and record.exc_info[1] is not None:
            texts += strings_in(record.exc_info[1])
        assert not any(leaks(text) for text in texts), record.getMessage()
    assert not leaks(caplog.text)
