"""``Panel``: options, what goes over the wire for every action and order type, bulk fan-out,
the connection pool's lifecycle, and the streaming helpers ``iter_statuses`` and ``watch``."""

from __future__ import annotations

import datetime as dt
import gc
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.lowlevel
import httpx
import pytest

from smmpanel import (
    Bulk,
    InsecureURLWarning,
    NotFoundError,
    OrderStatus,
    Panel,
    ProtocolError,
    RefillStatus,
    Status,
)

pytestmark = pytest.mark.anyio

URL = "https://panel.example/api/v2"
KEY = "client-test-key+/=&?%"


def form(request: httpx.Request) -> dict[str, str]:
    """The decoded form fields of a request; a field sent twice fails the test."""
    pairs = parse_qsl(request.content.decode(), keep_blank_values=True, strict_parsing=True)
    fields = dict(pairs)
    assert len(fields) == len(pairs), pairs
    return fields


def answer(fields: dict[str, str]) -> httpx.Response:
    """What a well-behaved v2 panel answers to ``fields``."""
    action = fields["action"]
    ids = [int(i) for i in fields.get("orders", fields.get("refills", "")).split(",") if i]
    if action == "balance":
        return httpx.Response(200, json={"balance": "100.84292", "currency": "USD"})
    if action == "services":
        return httpx.Response(200, json=[])
    if action == "add":
        return httpx.Response(200, json={"order": 23501})
    if action == "status" and ids:
        return httpx.Response(
            200, json={str(i): {"status": "Completed", "charge": "1"} for i in ids}
        )
    if action == "status":
        return httpx.Response(200, json={"status": "In progress"})
    if action == "refill" and ids:
        return httpx.Response(200, json=[{"order": i, "refill": i + 1000} for i in ids])
    if action == "refill":
        return httpx.Response(200, json={"refill": "7"})
    if action == "refill_status" and ids:
        return httpx.Response(200, json=[{"refill": i, "status": "Completed"} for i in ids])
    if action == "refill_status":
        return httpx.Response(200, json={"status": "Pending"})
    if action == "cancel":
        return httpx.Response(200, json=[{"order": i, "cancel": 1} for i in ids])
    return httpx.Response(200, json={"error": "Incorrect request"})


class Recorder:
    """A mock panel that records every request and answers like a well-behaved v2 panel."""

    def __init__(self, answer: Callable[[dict[str, str]], httpx.Response] = answer) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(form(request))

    @property
    def forms(self) -> list[dict[str, str]]:
        return [form(request) for request in self.requests]

    def panel(self, **options: Any) -> Panel:
        options.setdefault("backoff", 0)
        return Panel(URL, KEY, transport=httpx.MockTransport(self), **options)


# ---------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 0},
        {"chunk_size": 101},
        {"chunk_size": -5},
        {"concurrency": 0},
        {"concurrency": -1},
        {"retries": -1},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_out_of_range_options_raise_at_construction(options: dict[str, int]) -> None:
    """chunk_size 0 or 101, concurrency 0 and negative retries raise ValueError at once."""
    with pytest.raises(ValueError):
        Panel(URL, KEY, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 1},
        {"chunk_size": 100},
        {"concurrency": 1},
        {"retries": 0},
        {"rate_limit": 2.0},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
async def test_options_at_their_limits_are_accepted(options: dict[str, Any]) -> None:
    """The edges of each range are valid."""
    async with Panel(URL, KEY, transport=httpx.MockTransport(Recorder()), **options) as panel:
        assert (await panel.balance()).currency == "USD"


# ---------------------------------------------------------------------------- arguments

BAD_IDS: list[Any] = [0, -1, "0", "-1", "abc", "1.5", "", " ", "1e3", 1.0, 2.5, True, None, b"1"]
SINGLE_ID_CALLS: list[tuple[str, Callable[[Panel, Any], Awaitable[object]]]] = [
    ("status", lambda p, id: p.status(id)),
    ("refill", lambda p, id: p.refill(id)),
    ("refill_status", lambda p, id: p.refill_status(id)),
]
MULTI_ID_CALLS: list[tuple[str, Callable[[Panel, Any], Awaitable[Bulk[Any]]]]] = [
    ("statuses", lambda p, ids: p.statuses(ids)),
    ("refills", lambda p, ids: p.refills(ids)),
    ("refill_statuses", lambda p, ids: p.refill_statuses(ids)),
    ("cancel", lambda p, ids: p.cancel(ids)),
]


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize(("name", "call"), SINGLE_ID_CALLS, ids=[c[0] for c in SINGLE_ID_CALLS])
async def test_bad_single_id_raises_and_sends_nothing(
    bad: object, name: str, call: Callable[[Panel, Any], Awaitable[object]]
) -> None:
    """An ID that is not a positive integer raises ValueError before any request."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        with pytest.raises(ValueError):
            await call(panel, bad)
    assert recorder.requests == []


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
@pytest.mark.parametrize(("name", "call"), MULTI_ID_CALLS, ids=[c[0] for c in MULTI_ID_CALLS])
async def test_one_bad_id_in_a_list_raises_and_sends_nothing(
    bad: object, name: str, call: Callable[[Panel, Any], Awaitable[Bulk[Any]]]
) -> None:
    """Every ID is checked first: one bad ID anywhere raises ValueError and nothing is sent."""
    recorder = Recorder()
    async with recorder.panel(chunk_size=2) as panel:
        with pytest.raises(ValueError):
            await call(panel, [1, 2, 3, 4, 5, bad, 6])
    assert recorder.requests == []


@pytest.mark.parametrize(("name", "call"), SINGLE_ID_CALLS, ids=[c[0] for c in SINGLE_ID_CALLS])
@pytest.mark.parametrize("good", [42, "42"])
async def test_ids_as_ints_or_strings_of_digits(
    good: int | str, name: str, call: Callable[[Panel, Any], Awaitable[object]]
) -> None:
    """Single-ID calls accept an int or a string of digits and send its digits."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await call(panel, good)
    [fields] = recorder.forms
    assert fields[{"refill_status": "refill"}.get(name, "order")] == "42"


async def test_add_without_service_raises_type_error() -> None:
    """add needs a service: leaving it out or passing None raises TypeError, sending nothing."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        with pytest.raises(TypeError):
            await panel.add(link="https://x.example/p/1", quantity=100)  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await panel.add(service=None, link="https://x.example/p/1")  # type: ignore[arg-type]
    assert recorder.requests == []


# ---------------------------------------------------------------------------- the wire

LINK = "https://instagram.example/p/abc?x=1&y=2"
ORDER_TYPES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "default-with-drip-feed",
        {"service": 1, "link": LINK, "quantity": 1000, "runs": 5, "interval": 30},
        {"service": "1", "link": LINK, "quantity": "1000", "runs": "5", "interval": "30"},
    ),
    ("package", {"service": 2, "link": LINK}, {"service": "2", "link": LINK}),
    (
        "custom-comments",
        {"service": 3, "link": LINK, "comments": ["Nice!", "Love it \u2764"]},
        {"service": "3", "link": LINK, "comments": "Nice!\nLove it \u2764"},
    ),
    (
        "mentions-with-hashtags",
        {
            "service": 4,
            "link": LINK,
            "quantity": 100,
            "usernames": ["alice", "bob"],
            "hashtags": ["#cats", "#dogs"],
        },
        {
            "service": "4",
            "link": LINK,
            "quantity": "100",
            "usernames": "alice\nbob",
            "hashtags": "#cats\n#dogs",
        },
    ),
    (
        "mentions-custom-list",
        {"service": 5, "link": LINK, "usernames": ("carol", "dave")},
        {"service": "5", "link": LINK, "usernames": "carol\ndave"},
    ),
    (
        "mentions-hashtag",
        {"service": 6, "link": LINK, "quantity": 500, "hashtag": "sunset"},
        {"service": "6", "link": LINK, "quantity": "500", "hashtag": "sunset"},
    ),
    (
        "mentions-user-followers",
        {"service": 7, "link": LINK, "quantity": 500, "username": "https://ig.example/eve"},
        {"service": "7", "link": LINK, "quantity": "500", "username": "https://ig.example/eve"},
    ),
    (
        "mentions-media-likers",
        {"service": 8, "link": LINK, "quantity": 500, "media": "https://ig.example/p/xyz"},
        {"service": "8", "link": LINK, "quantity": "500", "media": "https://ig.example/p/xyz"},
    ),
    (
        "custom-comments-package",
        {"service": 9, "link": LINK, "comments": "First\nSecond"},
        {"service": "9", "link": LINK, "comments": "First\nSecond"},
    ),
    (
        "comment-likes",
        {"service": 10, "link": LINK, "quantity": 50, "username": "frank"},
        {"service": "10", "link": LINK, "quantity": "50", "username": "frank"},
    ),
    (
        "subscriptions",
        {
            "service": 11,
            "username": "grace",
            "min": 100,
            "max": 200,
            "posts": 10,
            "old_posts": 3,
            "delay": 30,
            "expiry": dt.date(2027, 1, 5),
        },
        {
            "service": "11",
            "username": "grace",
            "min": "100",
            "max": "200",
            "posts": "10",
            "old_posts": "3",
            "delay": "30",
            "expiry": "05/01/2027",
        },
    ),
    (
        "poll",
        {"service": 12, "link": LINK, "quantity": 100, "answer_number": 2},
        {"service": "12", "link": LINK, "quantity": "100", "answer_number": "2"},
    ),
    (
        "comment-replies",
        {"service": 13, "link": LINK, "username": "heidi", "comments": ["Thanks!", "Agreed"]},
        {"service": "13", "link": LINK, "username": "heidi", "comments": "Thanks!\nAgreed"},
    ),
    (
        "invites-from-groups",
        {"service": 14, "link": LINK, "quantity": 100, "groups": ["group_a", "group_b"]},
        {"service": "14", "link": LINK, "quantity": "100", "groups": "group_a\ngroup_b"},
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "fields"), ORDER_TYPES, ids=[t[0] for t in ORDER_TYPES])
async def test_add_sends_exactly_the_order_type_fields(
    name: str, kwargs: dict[str, Any], fields: dict[str, str]
) -> None:
    """Each of the seeds' 14 order types sends key, action=add and exactly its fields."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        assert await panel.add(**kwargs) == 23501
    assert recorder.forms == [{"key": KEY, "action": "add", **fields}]


@pytest.mark.parametrize("field", ["comments", "usernames", "hashtags", "groups"])
@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("one", "one"),
        ("one\ntwo", "one\ntwo"),
        (["one", "two", "three"], "one\ntwo\nthree"),
        (("one", "two"), "one\ntwo"),
        (["only"], "only"),
    ],
)
async def test_list_fields_take_a_string_or_a_sequence(field: str, value: Any, sent: str) -> None:
    """comments, usernames, hashtags and groups: a string as is, a sequence joined with "\\n"."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await panel.add(service=1, link=LINK, **{field: value})
    assert recorder.forms[0][field] == sent


async def test_list_fields_take_any_iterable() -> None:
    """A generator of strings is joined like a list."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await panel.add(service=1, link=LINK, comments=(c for c in ["a", "b"]))
    assert recorder.forms[0]["comments"] == "a\nb"


async def test_expiry_as_a_string_is_sent_as_is() -> None:
    """expiry given as a string is sent unchanged."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await panel.add(service=11, username="u", min=1, max=2, delay=0, expiry="31/12/2026")
    fields = recorder.forms[0]
    assert (fields["expiry"], fields["delay"]) == ("31/12/2026", "0")


async def test_extra_fields_pass_through() -> None:
    """**extra sends panel-specific fields unchanged, next to the named ones."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await panel.add(service=1, link=LINK, quantity=100, country="US", speed="fast", drip="1")
    assert recorder.forms[0] == {
        "key": KEY,
        "action": "add",
        "service": "1",
        "link": LINK,
        "quantity": "100",
        "country": "US",
        "speed": "fast",
        "drip": "1",
    }


async def test_fields_left_none_are_not_sent() -> None:
    """Fields left None (named or extra) are not in the body at all."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await panel.add(service=1, link=LINK, quantity=None, runs=None, comments=None, note=None)
    assert recorder.forms[0] == {"key": KEY, "action": "add", "service": "1", "link": LINK}


WIRE: list[tuple[str, Callable[[Panel], Awaitable[object]], dict[str, str]]] = [
    ("balance", lambda p: p.balance(), {"action": "balance"}),
    ("services", lambda p: p.services(), {"action": "services"}),
    ("add", lambda p: p.add(service=5, link=LINK, quantity=10), {"action": "add", "service": "5"}),
    ("status", lambda p: p.status(12), {"action": "status", "order": "12"}),
    ("statuses", lambda p: p.statuses([12, "2", 13]), {"action": "status", "orders": "12,2,13"}),
    ("refill", lambda p: p.refill(12), {"action": "refill", "order": "12"}),
    ("refills", lambda p: p.refills([12, 2]), {"action": "refill", "orders": "12,2"}),
    ("refill_status", lambda p: p.refill_status(7), {"action": "refill_status", "refill": "7"}),
    (
        "refill_statuses",
        lambda p: p.refill_statuses([7, 8]),
        {"action": "refill_status", "refills": "7,8"},
    ),
    ("cancel", lambda p: p.cancel([9, 2]), {"action": "cancel", "orders": "9,2"}),
]


@pytest.mark.parametrize(("name", "call", "expected"), WIRE, ids=[w[0] for w in WIRE])
async def test_every_call_is_one_form_post_with_the_key_only_in_the_body(
    name: str, call: Callable[[Panel], Awaitable[object]], expected: dict[str, str]
) -> None:
    """One urlencoded POST to the exact URL; key and action in the body, never in the URL."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        await call(panel)
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.url.query == b""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = form(request)
    assert fields["key"] == KEY
    assert fields.items() >= expected.items()
    assert KEY not in str(request.url)
    assert "key" not in request.url.params


async def test_the_url_is_used_exactly_as_given() -> None:
    """A v1 URL with a path and port is posted to unchanged."""
    url = "https://smm.example:8443/api/v1"
    recorder = Recorder()
    async with Panel(url, KEY, transport=httpx.MockTransport(recorder)) as panel:
        await panel.balance()
    assert str(recorder.requests[0].url) == url


async def test_add_answered_with_http_201_is_a_success() -> None:
    """A Laravel clone answering 201 Created to add returns the order ID."""

    def created(fields: dict[str, str]) -> httpx.Response:
        return httpx.Response(201, json={"status": "success", "order": "777"})

    async with Recorder(created).panel() as panel:
        assert await panel.add(service=1, link=LINK, quantity=100) == 777


async def test_results_of_a_well_behaved_panel() -> None:
    """Each action returns its documented type."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        assert str((await panel.balance()).amount) == "100.84292"
        assert await panel.services() == []
        assert await panel.add(service=1, link=LINK) == 23501
        assert (await panel.status(5)).status is Status.IN_PROGRESS
        assert (await panel.statuses([5])).ok[5].status is Status.COMPLETED
        assert await panel.refill(5) == 7
        assert (await panel.refills([5])).ok == {5: 1005}
        assert isinstance(await panel.refill_status(7), RefillStatus)
        assert list((await panel.refill_statuses([7, 8])).ok) == [7, 8]
        assert (await panel.cancel([5])).ok == {5: 1}


# ---------------------------------------------------------------------------- bulk


async def test_bulk_drops_repeats_and_keeps_input_order() -> None:
    """Repeated IDs (also as strings) are asked once; results follow the first-seen order."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        bulk = await panel.statuses([5, 3, "5", 9, 3, "009", 1])
    assert recorder.forms[0]["orders"] == "5,3,9,1"
    assert list(bulk.ok) == [5, 3, 9, 1]
    assert all(isinstance(s, OrderStatus) and s.order == id for id, s in bulk.ok.items())


@pytest.mark.parametrize(("count", "chunk_size"), [(250, 100), (7, 3), (10, 1), (100, 100)])
async def test_bulk_chunks_are_at_most_chunk_size(count: int, chunk_size: int) -> None:
    """IDs go out in chunks of at most chunk_size, each ID exactly once."""
    recorder = Recorder()
    async with recorder.panel(chunk_size=chunk_size) as panel:
        bulk = await panel.statuses(range(1, count + 1))
    sent = [[int(i) for i in f["orders"].split(",")] for f in recorder.forms]
    assert all(len(chunk) <= chunk_size for chunk in sent)
    assert sorted(id for chunk in sent for id in chunk) == list(range(1, count + 1))
    assert len(sent) == -(-count // chunk_size)
    assert list(bulk.ok) == list(range(1, count + 1))


async def test_bulk_of_no_ids_sends_nothing() -> None:
    """An empty list of IDs is an empty Bulk without a request."""
    recorder = Recorder()
    async with recorder.panel() as panel:
        bulk = await panel.statuses([])
    assert (bulk.ok, bulk.errors, recorder.requests) == ({}, {}, [])


async def test_every_id_lands_in_exactly_one_of_ok_and_errors() -> None:
    """Answered IDs are in ok, per-ID errors and left-out IDs in errors, all in input order."""

    def partial(fields: dict[str, str]) -> httpx.Response:
        ids = fields["orders"].split(",")
        body: dict[str, Any] = {}
        for id in ids:
            if int(id) % 3 == 0:
                body[id] = "Incorrect order ID"
            elif int(id) % 3 == 1:
                body[id] = {"status": "Pending"}
        return httpx.Response(200, json=body)

    recorder = Recorder(partial)
    async with recorder.panel(chunk_size=4) as panel:
        bulk = await panel.statuses(range(1, 13))
    assert list(bulk.ok) == [1, 4, 7, 10]
    assert list(bulk.errors) == [2, 3, 5, 6, 8, 9, 11, 12]
    assert all(isinstance(e, NotFoundError) for e in bulk.errors.values())
    assert len(bulk) == 12
    assert not set(bulk.ok) & set(bulk.errors)


async def test_a_failing_chunk_fails_only_its_ids() -> None:
    """A chunk that fails (HTTP 500 HTML, no retries) puts its error on each of its IDs only."""

    def flaky(fields: dict[str, str]) -> httpx.Response:
        if "7" in fields["orders"].split(","):
            return httpx.Response(500, text="<html><h1>500 Internal Server Error</h1></html>")
        return answer(fields)

    recorder = Recorder(flaky)
    async with recorder.panel(chunk_size=3, retries=0) as panel:
        bulk = await panel.statuses(range(1, 11))
    assert list(bulk.ok) == [1, 2, 3, 4, 5, 6, 10]
    assert list(bulk.errors) == [7, 8, 9]
    errors = list(bulk.errors.values())
    assert all(isinstance(e, ProtocolError) and e.status_code == 500 for e in errors)
    assert len(recorder.requests) == 4


class InFlight:
    """An async mock panel that counts requests in flight and remembers the peak."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.total = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)
        try:
            await anyio.sleep(0.005)
        finally:
            self.now -= 1
        return answer(form(request))


@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_bulk_never_exceeds_concurrency(concurrency: int) -> None:
    """Chunks are sent concurrently, never more than concurrency at once."""
    counter = InFlight()
    transport = httpx.MockTransport(counter)
    async with Panel(URL, KEY, transport=transport, concurrency=concurrency, chunk_size=2) as panel:
        bulk = await panel.statuses(range(1, 41))
    assert len(bulk.ok) == 40
    assert counter.total == 20
    assert counter.peak == concurrency


async def test_concurrency_is_shared_by_every_call_on_the_panel() -> None:
    """Single calls and several bulk calls at once share one budget of concurrency requests."""
    counter = InFlight()
    transport = httpx.MockTransport(counter)
    panel = Panel(URL, KEY, transport=transport, concurrency=3, chunk_size=1)
    async with panel, anyio.create_task_group() as tg:
        tg.start_soon(panel.statuses, range(1, 8))
        tg.start_soon(panel.refills, range(1, 8))
        tg.start_soon(panel.cancel, range(1, 8))
        for _ in range(5):
            tg.start_soon(panel.balance)
    assert counter.total == 26
    assert counter.peak == 3


# ---------------------------------------------------------------------------- lifecycle


async def test_a_borrowed_http_client_is_never_closed() -> None:
    """An http_client passed in stays open after the Panel is closed, and keeps working."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(Recorder()))
    async with Panel(URL, KEY, http_client=client) as panel:
        await panel.balance()
    await panel.aclose()
    assert not client.is_closed
    async with Panel(URL, KEY, http_client=client) as again:
        assert (await again.balance()).currency == "USD"
    assert not client.is_closed
    await client.aclose()


async def test_async_with_closes_its_own_client() -> None:
    """A Panel's own client is closed when the async with block ends."""
    async with Recorder().panel() as panel:
        client = panel._client
        assert not client.is_closed
    assert client.is_closed


async def test_aclose_closes_its_own_client_and_is_idempotent() -> None:
    """aclose() closes the Panel's own client, and a second aclose() is harmless."""
    panel = Recorder().panel()
    client = panel._client
    await panel.aclose()
    await panel.aclose()
    assert client.is_closed


async def test_aclose_after_a_failure_inside_async_with() -> None:
    """The client is closed even when the block raised."""
    panel = Recorder().panel()

    async def fail_inside() -> None:
        async with panel:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()
    assert panel._client.is_closed


def test_an_unclosed_panel_warns_when_collected() -> None:
    """A Panel dropped without aclose() says so (ResourceWarning), naming no key."""

    def drop() -> None:
        Panel(URL, "unclosed-secret-key-1234")
        gc.collect()

    with pytest.warns(ResourceWarning, match="never closed") as record:
        drop()
    assert "unclosed-secret-key-1234" not in str(record[0].message)


def test_repr_shows_the_url_and_never_the_key() -> None:
    """repr(panel) names the URL, not the key."""
    panel = Panel(URL, "repr-secret-key-1234")
    assert URL in repr(panel)
    assert "repr-secret-key-1234" not in repr(panel)
    assert "repr-secret-key-1234" not in str(panel)
    anyio.run(panel.aclose)


@pytest.mark.parametrize(
    "url",
    ["http://smmabi.com/api/v1", "http://panel.example:8080/api/v2", "http://10.0.0.5/api/v2"],
)
def test_plain_http_to_a_remote_host_warns(url: str) -> None:
    """http:// to a host other than loopback warns InsecureURLWarning, pointing at the caller."""
    with pytest.warns(InsecureURLWarning) as record:
        panel = Panel(url, KEY)
    assert record[0].filename == __file__
    anyio.run(panel.aclose)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api/v2",
        "http://127.8.9.10/api/v2",
        "http://localhost/api/v2",
        "http://LOCALHOST:8000/api/v1",
        "http://[::1]:8000/api/v2",
        "https://smmsofia.com/api/v2",
    ],
)
def test_loopback_and_https_do_not_warn(url: str) -> None:
    """Loopback hosts (127.0.0.0/8, localhost, ::1) and https never warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = Panel(url, KEY)
    anyio.run(panel.aclose)


# ---------------------------------------------------------------------------- iter_statuses


async def async_ids(ids: list[Any]) -> AsyncIterator[Any]:
    for id in ids:
        await anyio.lowlevel.checkpoint()
        yield id


@pytest.mark.parametrize("kind", ["list", "generator", "async"])
async def test_iter_statuses_yields_one_bulk_per_chunk(kind: str) -> None:
    """iter_statuses takes sync or async iterables and yields a Bulk per chunk."""
    ids = list(range(1, 12))
    source: Any = {"list": ids, "generator": iter(ids), "async": async_ids(ids)}[kind]
    recorder = Recorder()
    async with recorder.panel(chunk_size=4, concurrency=2) as panel:
        chunks = [list(bulk.ok) async for bulk in panel.iter_statuses(source)]
    assert sorted(chunks) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11]]
    assert len(recorder.requests) == 3


@pytest.mark.parametrize("kind", ["generator", "async"])
async def test_iter_statuses_bad_id_raises_after_earlier_chunks(kind: str) -> None:
    """A bad ID mid-stream raises ValueError there; chunks read before it were yielded."""
    ids: list[Any] = [1, 2, 3, 4, 5, 6, "seven", 8]
    source: Any = iter(ids) if kind == "generator" else async_ids(ids)
    seen: list[int] = []
    recorder = Recorder()

    async def consume(panel: Panel) -> None:
        async for bulk in panel.iter_statuses(source):
            seen.extend(bulk.ok)

    async with recorder.panel(chunk_size=2) as panel:
        with pytest.raises(ValueError):
            await consume(panel)
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]
    assert all("seven" not in f["orders"] for f in recorder.forms)


async def test_iter_statuses_reads_ids_only_as_chunks_can_be_sent() -> None:
    """When the first Bulk arrives, only a few chunks' worth of a long stream was read."""
    consumed = 0
    at_first_bulk: list[int] = []

    def ids() -> Iterator[int]:
        nonlocal consumed
        for id in range(1, 2001):
            consumed += 1
            yield id

    async with Recorder().panel(chunk_size=10, concurrency=2) as panel:
        async for bulk in panel.iter_statuses(ids()):
            at_first_bulk.append(consumed)
            assert len(bulk.ok) == 10
    assert consumed == 2000
    assert len(at_first_bulk) == 200
    assert at_first_bulk[0] <= 10 * 10


EARLY_STOP = """
import sys
from contextlib import aclosing

import anyio, httpx, smmpanel


def handler(request):
    ids = dict(httpx.QueryParams(request.content.decode()))["orders"].split(",")
    return httpx.Response(200, json={i: {"status": "Pending"} for i in ids})


async def main():
    transport = httpx.MockTransport(handler)
    url = "https://panel.example/api/v2"
    async with smmpanel.Panel(url, "k", transport=transport, chunk_size=10) as panel:
        async with aclosing(panel.iter_statuses(iter(range(1, 10001)))) as chunks:
            async for bulk in chunks:
                break
    print("clean")


anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_iter_statuses_can_be_stopped_early_with_aclosing(backend: str) -> None:
    """Breaking out of iter_statuses inside aclosing() ends cleanly (run in a subprocess,
    since the failure corrupts the event loop)."""
    done = subprocess.run(
        [sys.executable, "-c", EARLY_STOP, backend], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "clean"
    assert done.stderr == ""
    assert done.returncode == 0


async def test_iter_statuses_drops_repeats_within_a_chunk() -> None:
    """Repeats inside one chunk are asked once; every chunk's IDs are unique."""
    recorder = Recorder()
    async with recorder.panel(chunk_size=3) as panel:
        chunks = [list(b.ok) async for b in panel.iter_statuses([1, 1, 2, 2, 3, 1, 4, 4])]
    assert all(len(chunk) == len(set(chunk)) for chunk in chunks)
    assert {id for chunk in chunks for id in chunk} == {1, 2, 3, 4}
    assert all(len(f["orders"].split(",")) <= 3 for f in recorder.forms)


async def test_iter_statuses_reports_per_id_errors() -> None:
    """Each chunk's Bulk holds its own per-ID errors."""

    def some_unknown(fields: dict[str, str]) -> httpx.Response:
        return httpx.Response(200, json={"1": {"status": "Pending"}, "2": "Incorrect order ID"})

    async with Recorder(some_unknown).panel() as panel:
        [bulk] = [b async for b in panel.iter_statuses([1, 2])]
    assert list(bulk.ok) == [1]
    assert isinstance(bulk.errors[2], NotFoundError)


# ---------------------------------------------------------------------------- watch


class Timeline:
    """A panel whose orders move through scripted statuses, one step per poll."""

    def __init__(self, script: dict[int, list[Any]]) -> None:
        self.script = script
        self.polls: list[list[int]] = []

    def __call__(self, fields: dict[str, str]) -> httpx.Response:
        ids = [int(i) for i in fields["orders"].split(",")]
        step = len(self.polls)
        self.polls.append(ids)
        body = {}
        for id in ids:
            states = self.script[id]
            body[str(id)] = states[min(step, len(states) - 1)]
        return httpx.Response(200, json=body)


async def test_watch_yields_first_status_then_only_changes() -> None:
    """watch yields each order's first status, then only changed ones, until all are final."""
    timeline = Timeline(
        {
            1: [
                {"status": "Pending"},
                {"status": "Pending"},
                {"status": "In progress", "remains": "50"},
                {"status": "In progress", "remains": "10"},
                {"status": "Completed", "remains": "0"},
            ],
            2: [{"status": "Pending"}, {"status": "Partial", "remains": "5"}],
            3: ["Incorrect order ID"],
        }
    )
    seen: list[tuple[int, str, int | None]] = []
    async with Recorder(timeline).panel() as panel:
        async for status in panel.watch([1, 2, 3], every=0):
            seen.append((status.order, status.raw_status, status.remains))
    assert seen == [
        (1, "Pending", None),
        (2, "Pending", None),
        (2, "Partial", 5),
        (1, "In progress", 50),
        (1, "In progress", 10),
        (1, "Completed", 0),
    ]
    assert timeline.polls[0] == [1, 2, 3]
    assert timeline.polls[-1] == [1]
    assert len(timeline.polls) == 5


async def test_watch_ends_when_every_order_is_unknown() -> None:
    """Orders the panel does not know drop out; watch then ends without yielding them."""
    timeline = Timeline({1: ["Incorrect order ID"], 2: [{"error": "Incorrect order ID"}]})
    async with Recorder(timeline).panel() as panel:
        seen = [status async for status in panel.watch([1, 2], every=0)]
    assert seen == []
    assert len(timeline.polls) == 1


async def test_watch_of_final_orders_yields_each_once() -> None:
    """Orders already final are yielded once and not polled again."""
    timeline = Timeline({5: [{"status": "Canceled"}], 6: [{"status": "Refunded"}]})
    async with Recorder(timeline).panel() as panel:
        seen = [status.status async for status in panel.watch(["5", 6, 5], every=0)]
    assert seen == [Status.CANCELED, Status.REFUNDED]
    assert timeline.polls == [[5, 6]]
