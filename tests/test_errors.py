"""The error tree, and how every panel answer turns into a result or an ``SMMPanelError``.

Each test talks to a ``Panel`` through ``httpx.MockTransport``; ``retries=0`` unless a test is
about retries, so one answer is one attempt.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from _panels import ERROR_TEXTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smmpanel import (
    AuthenticationError,
    Balance,
    Bulk,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    OrderStatus,
    Panel,
    PanelError,
    ProtocolError,
    RateLimitError,
    RefillStatus,
    Service,
    SMMPanelError,
    TransportError,
    UncertainOrderError,
)

pytestmark = pytest.mark.anyio

URL = "https://panel.example/api/v2"
KEY = "errors-test-key-7f3a9c"
Body = bytes | str | object


def encode(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def answering(
    status: int, body: Body, *, headers: dict[str, str] | None = None, **options: Any
) -> Panel:
    """A ``Panel`` whose panel answers every request with ``status`` and ``body``."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=encode(body), headers=headers)

    options.setdefault("retries", 0)
    options.setdefault("backoff", 0)
    return Panel(URL, KEY, transport=httpx.MockTransport(handler), **options)


def raising(error: Exception, **options: Any) -> Panel:
    """A ``Panel`` whose every request fails in httpx with ``error``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    options.setdefault("retries", 0)
    options.setdefault("backoff", 0)
    return Panel(URL, KEY, transport=httpx.MockTransport(handler), **options)


# ------------------------------------------------------------------------------ the tree

TREE = [
    (PanelError, SMMPanelError),
    (AuthenticationError, PanelError),
    (InsufficientFundsError, PanelError),
    (NotFoundError, PanelError),
    (InvalidRequestError, PanelError),
    (RateLimitError, PanelError),
    (TransportError, SMMPanelError),
    (UncertainOrderError, TransportError),
    (ProtocolError, SMMPanelError),
    (SMMPanelError, Exception),
]


@pytest.mark.parametrize(("cls", "parent"), TREE)
def test_error_tree(cls: type[Exception], parent: type[Exception]) -> None:
    """Each class derives from its parent in the API.md tree."""
    assert issubclass(cls, parent)


LEAVES = [
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    InvalidRequestError,
    RateLimitError,
    UncertainOrderError,
    ProtocolError,
]


@pytest.mark.parametrize("cls", LEAVES)
def test_error_branches_do_not_cross(cls: type[Exception]) -> None:
    """A class sits on exactly one branch: panel, transport or protocol."""
    branches = [PanelError, TransportError, ProtocolError]
    assert sum(issubclass(cls, branch) for branch in branches) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (AuthenticationError, InsufficientFundsError),
        (NotFoundError, InvalidRequestError),
        (RateLimitError, InvalidRequestError),
        (ProtocolError, TransportError),
        (ProtocolError, PanelError),
        (TransportError, PanelError),
    ],
)
def test_siblings_are_unrelated(a: type[Exception], b: type[Exception]) -> None:
    """Sibling classes never catch each other."""
    assert not issubclass(a, b)
    assert not issubclass(b, a)


def test_errors_carry_action_and_message() -> None:
    """Every error has .action and a message; str() is the message."""
    error = NotFoundError("Incorrect order ID", action="status")
    assert (error.action, error.message, str(error)) == (
        "status",
        "Incorrect order ID",
        "Incorrect order ID",
    )
    limited = RateLimitError("Too many requests", action="balance", retry_after=3.0)
    assert limited.retry_after == 3.0
    assert RateLimitError("Too many requests").retry_after is None
    protocol = ProtocolError("not JSON", action="services", status_code=502, body="<html>")
    assert (protocol.status_code, protocol.body) == (502, "<html>")


# -------------------------------------------------------------------- texts to classes

ENVELOPES: list[tuple[str, Callable[[str], object]]] = [
    ("error", lambda text: {"error": text}),
    ("error-beside-status", lambda text: {"error": text + "        ", "status": "104"}),
    ("status-error-message", lambda text: {"status": "error", "message": text}),
    ("error-list", lambda text: {"error": [text]}),
    ("error-object", lambda text: {"error": {"field": [text]}}),
]


@pytest.mark.parametrize("http_status", [200, 400, 401, 403, 422])
@pytest.mark.parametrize(("text", "cls"), ERROR_TEXTS)
async def test_panel_text_decides_the_class(
    http_status: int, text: str, cls: type[PanelError]
) -> None:
    """Each PANELS.md text maps to its class, on HTTP 200 and on the 4xx Laravel clones use."""
    async with answering(http_status, {"error": text}) as panel:
        with pytest.raises(PanelError) as caught:
            await panel.balance()
    assert type(caught.value) is cls
    assert caught.value.message == text
    assert caught.value.action == "balance"


@pytest.mark.parametrize(("name", "envelope"), ENVELOPES, ids=[e[0] for e in ENVELOPES])
async def test_every_envelope_raises_the_panel_text(
    name: str, envelope: Callable[[str], object]
) -> None:
    """{"error": str|list|obj}, error beside a status, and {"status": "error", "message"}."""
    async with answering(200, envelope("Not enough funds on balance")) as panel:
        with pytest.raises(InsufficientFundsError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert caught.value.message == "Not enough funds on balance"


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("Sipari\u015f bulunamad\u0131.", NotFoundError),
        ("neworder.error.min_quantity", InvalidRequestError),
        ("error.incorrect_service_id", InvalidRequestError),
        ("Invalid Interval in minutes", InvalidRequestError),
        ("The selected action is invalid.", InvalidRequestError),
    ],
)
async def test_localized_and_translation_key_texts(text: str, cls: type[PanelError]) -> None:
    """Localized messages and raw translation keys are classified and kept as sent."""
    async with answering(200, {"error": text, "status": "104"}) as panel:
        with pytest.raises(cls) as caught:
            await panel.status(5)
    assert caught.value.message == text


@pytest.mark.parametrize(
    ("text", "cls"),
    [
        ("Service not found", InvalidRequestError),
        ("Service ID not found", InvalidRequestError),
        ("Link not found", InvalidRequestError),
        ("Order ID not found", NotFoundError),
        ("You do not have enough funds", InsufficientFundsError),
        ("You don't have enough balance", InsufficientFundsError),
        ("Your balance is not enough", InsufficientFundsError),
        ("Too Many Attempts.", RateLimitError),
        ("Unauthenticated.", AuthenticationError),
        ("The given data was invalid.", InvalidRequestError),
    ],
)
async def test_texts_in_the_spirit_of_the_table(text: str, cls: type[PanelError]) -> None:
    """Variants PANELS.md does not list are classified in the same spirit (Laravel defaults,
    other word orders); a bad service "not found" is not an unknown order."""
    async with answering(200, {"error": text}) as panel:
        with pytest.raises(PanelError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert type(caught.value) is cls


@pytest.mark.parametrize(
    ("http_status", "cls"),
    [
        (200, PanelError),
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, PanelError),
    ],
)
async def test_status_code_decides_when_the_text_says_nothing(
    http_status: int, cls: type[PanelError]
) -> None:
    """A message with no known words is classified by the HTTP status (plain PanelError on 200)."""
    async with answering(http_status, {"error": "Something went wrong, code 17"}) as panel:
        with pytest.raises(PanelError) as caught:
            await panel.balance()
    assert type(caught.value) is cls
    assert caught.value.message == "Something went wrong, code 17"


@pytest.mark.parametrize(
    ("http_status", "text", "cls"),
    [
        (401, "Incorrect order ID", NotFoundError),
        (422, "Invalid API key", AuthenticationError),
        (400, "Not enough funds on balance", InsufficientFundsError),
        (403, "Too many requests", RateLimitError),
        (500, "Invalid API key", AuthenticationError),
        (503, "Not enough funds on balance", InsufficientFundsError),
    ],
)
async def test_text_beats_status_code(http_status: int, text: str, cls: type[PanelError]) -> None:
    """The panel's message beats the status code."""
    async with answering(http_status, {"error": text}) as panel:
        with pytest.raises(cls):
            await panel.status(9)


@pytest.mark.parametrize(
    ("http_status", "body", "cls"),
    [
        (401, {}, AuthenticationError),
        (422, {"status": "fail"}, InvalidRequestError),
        (401, [], AuthenticationError),
    ],
)
async def test_a_4xx_without_any_error_text_is_an_error(
    http_status: int, body: object, cls: type[PanelError]
) -> None:
    """A 4xx whose JSON carries no error text is still an error, of the status code's class."""
    async with answering(http_status, body) as panel:
        with pytest.raises(cls):
            await panel.services()


# ---------------------------------------------------------------------------- rate limits


def http_date(seconds_from_now: float) -> str:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


async def test_retry_after_in_seconds() -> None:
    """A 429's Retry-After in seconds is RateLimitError.retry_after."""
    headers = {"Retry-After": "7"}
    async with answering(429, {"error": "Too many requests"}, headers=headers) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.balance()
    assert caught.value.retry_after == 7.0
    assert caught.value.status_code == 429


async def test_retry_after_as_an_http_date() -> None:
    """A Retry-After HTTP date becomes the seconds until then."""
    headers = {"Retry-After": http_date(120)}
    async with answering(429, {"error": "Too many requests"}, headers=headers) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.balance()
    assert caught.value.retry_after is not None
    assert 60 < caught.value.retry_after <= 120


async def test_retry_after_in_the_past_is_zero() -> None:
    """A Retry-After date already past means no wait, never a negative one."""
    headers = {"Retry-After": http_date(-3600)}
    async with answering(429, b"", headers=headers) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.balance()
    assert caught.value.retry_after == 0.0


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>429 Too Many Requests</body></html>", b'{"message": "Slow down"}']
)
async def test_429_is_a_rate_limit_whatever_the_body(body: bytes) -> None:
    """HTTP 429 is a RateLimitError with any body; no Retry-After means retry_after None."""
    async with answering(429, body) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.services()
    assert caught.value.retry_after is None


async def test_rate_limit_text_on_http_200() -> None:
    """ "Too many requests" on HTTP 200 is a RateLimitError too."""
    async with answering(200, {"error": "Too many requests"}) as panel:
        with pytest.raises(RateLimitError) as caught:
            await panel.status(1)
    assert caught.value.retry_after is None


# ------------------------------------------------------------------- unreadable answers

HTML = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>" + b"x" * 20000
NOT_JSON_BODIES = [
    pytest.param(200, HTML, id="html-200"),
    pytest.param(403, b"<html><body>Attention Required! | Cloudflare</body></html>", id="cf-403"),
    pytest.param(502, b"<html><head><title>502 Bad Gateway</title></head></html>", id="html-502"),
    pytest.param(503, b"<html>Service Temporarily Unavailable</html>", id="html-503"),
    pytest.param(200, b"", id="empty-200"),
    pytest.param(500, b"", id="empty-500"),
    pytest.param(200, b'{"balance": "10.5", "curr', id="truncated"),
    pytest.param(
        200, b"Warning: mysqli_connect(): Connection refused in /var/www", id="php-warning"
    ),
]
READS: list[tuple[str, Callable[[Panel], Awaitable[object]]]] = [
    ("balance", lambda p: p.balance()),
    ("services", lambda p: p.services()),
    ("status", lambda p: p.status(1)),
    ("refill", lambda p: p.refill(1)),
    ("refill_status", lambda p: p.refill_status(1)),
]


@pytest.mark.parametrize(("http_status", "body"), NOT_JSON_BODIES)
@pytest.mark.parametrize(("action", "call"), READS, ids=[r[0] for r in READS])
async def test_unreadable_bodies_are_protocol_errors(
    http_status: int, body: bytes, action: str, call: Callable[[Panel], Awaitable[object]]
) -> None:
    """HTML, empty and non-JSON bodies are a ProtocolError with .status_code and a short .body."""
    async with answering(http_status, body, headers={"cf-mitigated": "challenge"}) as panel:
        with pytest.raises(ProtocolError) as caught:
            await call(panel)
    error = caught.value
    assert error.action == action
    assert error.status_code == http_status
    assert len(error.body) <= 500
    assert error.body.startswith(body[:20].decode())


@pytest.mark.parametrize(
    ("action", "call", "body"),
    [
        ("balance", lambda p: p.balance(), [1, 2]),
        ("balance", lambda p: p.balance(), {"amount": "1"}),
        ("services", lambda p: p.services(), {"status": "success", "data": 5}),
        ("services", lambda p: p.services(), [{"service": 1}]),
        ("status", lambda p: p.status(1), {"charge": "1"}),
        ("refill", lambda p: p.refill(1), {"refill": "soon"}),
        ("refill_status", lambda p: p.refill_status(1), {"refill": 1}),
    ],
)
async def test_json_of_an_unexpected_shape_is_a_protocol_error(
    action: str, call: Callable[[Panel], Awaitable[object]], body: object
) -> None:
    """JSON no dialect uses is a ProtocolError naming the action, not a KeyError or cattrs error."""
    async with answering(200, body) as panel:
        with pytest.raises(ProtocolError) as caught:
            await call(panel)
    assert caught.value.action == action


@pytest.mark.parametrize(
    "body", [HTML, b"", b'{"order": 235', b'{"status": "success"}', b'{"order": "pending"}']
)
async def test_add_with_an_unreadable_answer_is_uncertain(body: bytes) -> None:
    """add whose answer cannot be read raises UncertainOrderError: the order may exist."""
    async with answering(200, body) as panel:
        with pytest.raises(UncertainOrderError) as caught:
            await panel.add(service=1, link="https://x.example/p/1", quantity=100)
    assert caught.value.action == "add"
    assert caught.value.fields["service"] == "1"


# ------------------------------------------------------------------------ network failures

HTTPX_FAILURES = [
    httpx.ConnectError("connection refused"),
    httpx.ConnectTimeout("connect timed out"),
    httpx.ReadTimeout("read timed out"),
    httpx.WriteTimeout("write timed out"),
    httpx.PoolTimeout("no connection came free"),
    httpx.ReadError("connection reset by peer"),
    httpx.RemoteProtocolError("server disconnected without sending a response"),
]


@pytest.mark.parametrize("failure", HTTPX_FAILURES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(("action", "call"), READS, ids=[r[0] for r in READS])
async def test_httpx_failures_are_transport_errors(
    failure: httpx.HTTPError, action: str, call: Callable[[Panel], Awaitable[object]]
) -> None:
    """Every httpx failure is a TransportError with the httpx error as __cause__."""
    async with raising(failure) as panel:
        with pytest.raises(TransportError) as caught:
            await call(panel)
    error = caught.value
    assert error.action == action
    assert not isinstance(error, UncertainOrderError)
    assert isinstance(error.__cause__, type(failure))
    assert str(failure) in str(error.__cause__)


@pytest.mark.parametrize(
    "failure",
    [
        e
        for e in HTTPX_FAILURES
        if not isinstance(e, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    ],
    ids=lambda e: type(e).__name__,
)
async def test_add_failing_after_sending_is_uncertain(failure: httpx.HTTPError) -> None:
    """add failing once the request may have left raises UncertainOrderError, cause attached."""
    async with raising(failure) as panel:
        with pytest.raises(UncertainOrderError) as caught:
            await panel.add(service=3, link="https://x.example/p/1", quantity=100)
    assert isinstance(caught.value.__cause__, type(failure))
    assert caught.value.fields == {
        "service": "3",
        "link": "https://x.example/p/1",
        "quantity": "100",
    }


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ConnectTimeout("connect timed out")],
    ids=lambda e: type(e).__name__,
)
async def test_add_that_never_reached_the_panel_is_not_uncertain(failure: httpx.HTTPError) -> None:
    """add whose connection could not even be made is a plain TransportError: no order exists."""
    async with raising(failure) as panel:
        with pytest.raises(TransportError) as caught:
            await panel.add(service=3, link="https://x.example/p/1", quantity=100)
    assert not isinstance(caught.value, UncertainOrderError)
    assert isinstance(caught.value.__cause__, type(failure))


@pytest.mark.parametrize("failure", HTTPX_FAILURES, ids=lambda e: type(e).__name__)
async def test_multi_id_transport_failure_lands_on_each_id(failure: httpx.HTTPError) -> None:
    """A multi-ID call reports a network failure as each ID's TransportError, not by raising."""
    async with raising(failure) as panel:
        bulk = await panel.cancel([4, 5, 6])
    assert bulk.ok == {}
    assert list(bulk.errors) == [4, 5, 6]
    assert all(isinstance(error, TransportError) for error in bulk.errors.values())
    assert all(isinstance(error.__cause__, type(failure)) for error in bulk.errors.values())


# ---------------------------------------------------------------- single raises, multi reports

SINGLE_AND_MULTI: list[
    tuple[str, Callable[[Panel], Awaitable[object]], Callable[[Panel], Awaitable[Bulk[Any]]]]
] = [
    ("status", lambda p: p.status(5), lambda p: p.statuses([5, 6])),
    ("refill", lambda p: p.refill(5), lambda p: p.refills([5, 6])),
    ("refill_status", lambda p: p.refill_status(5), lambda p: p.refill_statuses([5, 6])),
]


@pytest.mark.parametrize(
    ("action", "single", "multi"), SINGLE_AND_MULTI, ids=[s[0] for s in SINGLE_AND_MULTI]
)
@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"error": "Incorrect order ID"}, NotFoundError),
        ({"error": "Invalid API key"}, AuthenticationError),
        ({"status": "error", "message": "Too many requests"}, RateLimitError),
    ],
)
async def test_single_id_call_raises_and_multi_id_call_reports(
    action: str,
    single: Callable[[Panel], Awaitable[object]],
    multi: Callable[[Panel], Awaitable[Bulk[Any]]],
    body: object,
    cls: type[PanelError],
) -> None:
    """An error answer raises from a single-ID call and becomes every ID's error in a multi one."""
    async with answering(200, body) as panel:
        with pytest.raises(cls):
            await single(panel)
        bulk = await multi(panel)
    assert bulk.ok == {}
    assert list(bulk.errors) == [5, 6]
    assert all(type(error) is cls for error in bulk.errors.values())
    assert all(error.action == action for error in bulk.errors.values())


async def test_cancel_reports_a_whole_answer_error_per_id() -> None:
    """cancel (multi-ID only) puts a whole-answer error on each ID."""
    async with answering(401, {"error": "Invalid API key"}) as panel:
        bulk = await panel.cancel([1, 2, 3])
    assert [type(e) for e in bulk.errors.values()] == [AuthenticationError] * 3


async def test_multi_id_protocol_failure_lands_on_each_id() -> None:
    """An HTML answer to a multi-ID request is a ProtocolError for each of its IDs."""
    async with answering(502, HTML) as panel:
        bulk = await panel.statuses([1, 2])
    assert list(bulk.errors) == [1, 2]
    assert all(isinstance(e, ProtocolError) and e.status_code == 502 for e in bulk.errors.values())


async def test_turkish_error_beside_a_status_code_raises() -> None:
    """{"error": "Siparis bulunamadi.", "status": "104"} is an error, not a status "104"."""
    body = {"error": "Sipari\u015f bulunamad\u0131.", "status": "104"}
    async with answering(200, body) as panel:
        with pytest.raises(NotFoundError):
            await panel.status(104)
        bulk = await panel.statuses([104, 105])
    assert set(bulk.errors) == {104, 105}


# ------------------------------------------------------------------- nothing else escapes

KEYS = [
    "error", "errors", "message", "status", "success", "data", "services", "order", "orders",
    "charge", "start_count", "start_counter", "remains", "currency", "balance", "service", "name",
    "type", "category", "rate", "min", "max", "refill", "cancel", "dripfeed", "desc", "id",
    "1", "2", "3",
]  # fmt: skip
WORDS = [
    "Completed", "In progress", "Pending", "Incorrect order ID", "Invalid API key", "success",
    "error", "1", "0", "-3", "0.27819", "", "Unknown", "Empty Data", "1e999", "NaN", "  ",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(WORDS)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=16,
)

SEED_ANSWERS: list[Any] = [
    {"status": "success", "order": 32},
    {"order": 23501},
    {"order": "32", "status": "pending", "charge": "0.0360", "start_count": "0", "remains": "0"},
    {
        "charge": "0.27819",
        "start_count": "3572",
        "status": "Partial",
        "remains": "157",
        "currency": "USD",
    },
    {
        "12": {
            "order": "12",
            "status": "processing",
            "charge": "1.2600",
            "start_count": "0",
            "remains": "0",
        },
        "2": "Incorrect order ID",
        "1": {"error": "Incorrect order ID"},
    },
    [
        {
            "service": "5",
            "name": "Followers ",
            "category": "c",
            "rate": "1.02",
            "min": "500",
            "max": "10000",
            "type": "default",
            "desc": "usernames",
            "dripfeed": 1,
        }
    ],
    [
        {
            "service": 1,
            "name": "Followers",
            "type": "Default",
            "category": "First",
            "rate": "0.90",
            "min": "50",
            "max": "10000",
            "refill": True,
            "cancel": True,
        }
    ],
    {"status": "success", "balance": "0.03", "currency": "USD"},
    {"balance": "100.84292", "currency": "USD"},
    {"refill": "1"},
    [{"order": 1, "refill": 1}, {"order": 2, "refill": {"error": "Incorrect order ID"}}],
    {"status": "Completed"},
    [{"refill": 1, "status": "Completed"}, {"refill": 2, "status": {"error": "Refill not found"}}],
    [{"order": 2, "cancel": {"error": "Incorrect order ID"}}, {"order": 1, "cancel": 1}],
    {"error": "Sipari\u015f bulunamad\u0131.", "status": "104"},
    {"status": "error", "message": "Invalid Interval in minutes"},
    {"error": {"action": ["The selected action is invalid."]}},
    {"status": "success", "data": "Empty Data"},
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated_seed(draw: st.DrawFn) -> bytes:
    """A seed answer with one value replaced by arbitrary JSON, or its bytes cut or spliced."""
    seed = draw(st.sampled_from(SEED_ANSWERS))
    how = draw(st.sampled_from(["replace", "replace", "truncate", "splice"]))
    if how == "replace":
        path = draw(st.sampled_from(_paths(seed)))
        return json.dumps(_replace(seed, path, draw(json_values))).encode()
    raw = json.dumps(seed).encode()
    cut = draw(st.integers(0, len(raw)))
    if how == "truncate":
        return raw[:cut]
    return raw[:cut] + draw(st.binary(max_size=8)) + raw[cut:]


bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    mutated_seed(),
)
http_statuses = st.sampled_from(
    [200, 201, 302, 400, 401, 403, 404, 422, 429, 500, 502, 503]
) | st.integers(200, 599)
retry_afters = st.none() | st.sampled_from(
    ["7", "-1", "nan", "1e400", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"]
)

ACTIONS: dict[str, tuple[Callable[[Panel], Awaitable[object]], Callable[[object], bool]]] = {
    "balance": (lambda p: p.balance(), lambda r: isinstance(r, Balance)),
    "services": (
        lambda p: p.services(),
        lambda r: isinstance(r, list) and all(isinstance(s, Service) for s in r),
    ),
    "add": (
        lambda p: p.add(service=1, link="https://x.example/p/1", quantity=100),
        lambda r: type(r) is int and r > 0,
    ),
    "status": (lambda p: p.status(1), lambda r: isinstance(r, OrderStatus) and r.order == 1),
    "statuses": (lambda p: p.statuses([1, 2, 3]), lambda r: _complete(r, [1, 2, 3], OrderStatus)),
    "refill": (lambda p: p.refill(1), lambda r: type(r) is int),
    "refills": (lambda p: p.refills([1, 2]), lambda r: _complete(r, [1, 2], int)),
    "refill_status": (
        lambda p: p.refill_status(1),
        lambda r: isinstance(r, RefillStatus) and r.refill == 1,
    ),
    "refill_statuses": (
        lambda p: p.refill_statuses([1, 2]),
        lambda r: _complete(r, [1, 2], RefillStatus),
    ),
    "cancel": (lambda p: p.cancel([1, 2]), lambda r: _complete(r, [1, 2], int)),
}


API_ACTION = {"statuses": "status", "refills": "refill", "refill_statuses": "refill_status"}


def _complete(result: object, ids: list[int], kind: type) -> bool:
    """A Bulk holding every ID once, in order, with values of ``kind`` or SMMPanelErrors."""
    if not isinstance(result, Bulk) or set(result.ok) & set(result.errors):
        return False
    if sorted([*result.ok, *result.errors]) != ids:
        return False
    return all(isinstance(v, kind) for v in result.ok.values()) and all(
        isinstance(e, SMMPanelError) for e in result.errors.values()
    )


@pytest.mark.parametrize("action", list(ACTIONS))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(status=http_statuses, body=bodies, retry_after=retry_afters)
async def test_any_answer_gives_a_result_or_an_smmpanel_error(
    action: str, status: int, body: bytes, retry_after: str | None
) -> None:
    """Whatever a panel answers, every action returns its result or raises an SMMPanelError."""
    call, valid = ACTIONS[action]
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    async with answering(status, body, headers=headers) as panel:
        try:
            result: object = await call(panel)
        except SMMPanelError as error:
            result = error
        except Exception as error:  # KeyError, TypeError, AttributeError, cattrs errors, ...
            pytest.fail(f"{action} leaked {type(error).__name__}: {error}")
    if isinstance(result, SMMPanelError):
        assert isinstance(result.message, str)
        assert result.action == API_ACTION.get(action, action)
    else:
        assert valid(result), result
