"""The tracker running over fake panels: every change once, budgets, backoff, pause, place."""

from __future__ import annotations

import itertools
import logging
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

pytest.importorskip("sqlalchemy")

import smmpanel
from smmpanel import OrderStatus, Status
from smmpanel.testing import FakePanel
from smmpanel.tracker import Cadence, Event, Tracker, status_budget

pytestmark = pytest.mark.anyio

FAST = Cadence(0.02, 0.1, jitter=0.2)
SLOW = Cadence(60, 120)
KEY = "sekrit-KEY-31337"


class Stamped(httpx.AsyncBaseTransport):
    """Delegates to a fake's transport and notes when each request left."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(anyio.current_time())
        return await self.inner.handle_async_request(request)


async def _drive(fakes: Iterable[FakePanel], step: float = 2.0) -> None:
    """Move the fakes' clocks on, as time passes on a real panel."""
    while True:
        await anyio.sleep(0.01)
        for fake in fakes:
            fake.advance(step)


async def _events(tracker: Tracker) -> list[Event]:
    return [event async for event in tracker.events(after=0)]


def _check_chains(found: list[Event], orders: dict[str, list[int]]) -> None:
    """Per order: first from nothing, each from the last, no repeat, final at the end."""
    assert [event.id for event in found] == list(range(1, len(found) + 1))
    chains: dict[tuple[str, int], list[Event]] = {}
    for event in found:
        chains.setdefault((event.panel, event.order), []).append(event)
    for panel, ids in orders.items():
        for order in ids:
            chain = chains[(panel, order)]
            assert chain[0].previous is None
            for before, after in itertools.pairwise(chain):
                assert after.previous == before.current
                assert after.current != before.current
            assert chain[-1].current.final


async def _run_until(tracker: Tracker, done: Callable[[], Any], *fakes: FakePanel) -> None:
    """Run the tracker until ``await done()`` is true, then stop it gracefully."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(_drive, fakes)
        tg.start_soon(tracker.run)
        with anyio.fail_after(60):
            while not await done():  # noqa: ASYNC110 - the store is polled, not signalled
                await anyio.sleep(0.02)
        tracker.stop()
        tg.cancel_scope.cancel()


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'orders.db'}"


async def test_every_change_once_until_idle(store_url: str) -> None:
    fakes = {"a": FakePanel(key=KEY), "b": FakePanel(dialect="v1", key=KEY)}
    orders = {
        name: [fake.place(1, 300 + 10 * n) for n in range(130)] for name, fake in fakes.items()
    }
    panels = {name: fake.panel() for name, fake in fakes.items()}
    try:
        async with Tracker(panels, store=store_url, cadence=FAST) as tracker:
            for name, ids in orders.items():
                assert await tracker.track(name, ids, ref="batch") == len(ids)
                assert await tracker.track(name, ids[:5]) == 0
            async with anyio.create_task_group() as tg:
                tg.start_soon(_drive, fakes.values())
                with anyio.fail_after(60):
                    await tracker.run(until_idle=True)
                tg.cancel_scope.cancel()
            found = await _events(tracker)
            _check_chains(found, orders)
            summary = await tracker.summary()
            assert sum(summary["a"].values()) == 130
            assert set(summary["b"]) <= {Status.COMPLETED, Status.PARTIAL}
            row = await tracker.get("a", orders["a"][0])
            assert row is not None
            assert row.status is not None
            assert row.status.final
            assert row.next_poll_at is None
            assert row.ref == "batch"
            # A consumer resuming after an id sees exactly the rest.
            middle = found[len(found) // 2].id
            rest = [event.id async for event in tracker.events(after=middle)]
            assert rest == [event.id for event in found if event.id > middle]
    finally:
        for panel in panels.values():
            await panel.aclose()


async def test_over_http(tmp_path: Path) -> None:
    fake = FakePanel(key=KEY)
    ids = [fake.place(1, 200) for _ in range(150)]
    with fake.serve() as url:
        async with (
            smmpanel.Panel(url, KEY) as panel,
            Tracker(
                {"main": panel}, store=f"sqlite:///{tmp_path / 'h.db'}", cadence=FAST
            ) as tracker,
        ):
            await tracker.track("main", ids)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_drive, [fake])
                with anyio.fail_after(60):
                    await tracker.run(until_idle=True)
                tg.cancel_scope.cancel()
            _check_chains(await _events(tracker), {"main": ids})
    assert all(len(r.ids) <= 100 for r in fake.requests)


async def test_unknown_orders_are_not_found_and_never_polled_again(store: str) -> None:
    fake = FakePanel(key=KEY)
    known = [fake.place(1, 100) for _ in range(3)]
    async with fake.panel() as panel, Tracker({"a": panel}, store=store, cadence=FAST) as tracker:
        await tracker.track("a", [*known, 999_999])
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drive, [fake])
            await tracker.run(until_idle=True)
            tg.cancel_scope.cancel()
        row = await tracker.get("a", 999_999)
        assert row is not None
        assert row.not_found
        assert row.status is None
        asked = sum(999_999 in r.ids for r in fake.requests)
        assert asked == 1
        assert (await tracker.report())["a"].not_found == 1


async def test_the_rate_limit_holds_and_requests_overlap(store: str) -> None:
    fake = FakePanel(key=KEY, latency=0.03, auto_orders=True)
    stamped = Stamped(fake.transport())
    rate = 40.0
    async with (
        smmpanel.Panel(fake.url, KEY, transport=stamped, rate_limit=rate, concurrency=4) as panel,
        Tracker({"a": panel}, store=store, cadence=Cadence(30, 60)) as tracker,
    ):
        await tracker.track("a", range(1, 2_001))
        with anyio.fail_after(60):
            await _run_until(tracker, lambda: _all_polled(tracker, "a", 2000))
        report = (await tracker.report())["a"]
    assert report.budget == rate * 60
    assert report.used == len(stamped.sent) == 20
    for n, start in enumerate(stamped.sent):
        in_window = [t for t in stamped.sent[n:] if t < start + 1.0]
        assert len(in_window) <= rate + 1
    assert fake.max_in_flight >= 2  # enough in flight to spend the budget


async def _all_polled(tracker: Tracker, panel: str, count: int) -> bool:
    report = (await tracker.report())[panel]
    return report.new == 0 and sum(report.counts.values()) + report.not_found == count


def test_the_status_budget_reads_every_rate_limit_form() -> None:
    def of(limit: object) -> float | None:
        return status_budget(types.SimpleNamespace(rate_limit=limit))  # type: ignore[arg-type]

    assert of(None) is None
    assert of(2.5) == 2.5
    assert of({"status": 2, "*": 5}) == 2
    assert of({"status": 8, "*": 5}) == 5
    assert of({"add": 1}) is None
    assert of({"add": 1, "*": 3}) == 3


async def test_a_down_panel_is_backed_off_alone(store: str) -> None:
    good, down = FakePanel(key=KEY), FakePanel(key=KEY)
    good_ids = [good.place(1, 100) for _ in range(120)]
    down_ids = [down.place(1, 100) for _ in range(120)]
    down.inject("html502", actions="status")
    async with (
        good.panel() as a,
        down.panel(retries=0) as b,
        Tracker({"good": a, "down": b}, store=store, cadence=FAST, backoff=(30, 60)) as tracker,
    ):
        await tracker.track("good", good_ids)
        await tracker.track("down", down_ids)

        async def good_done() -> bool:
            counts = (await tracker.summary())["good"]
            return counts.get(Status.COMPLETED, 0) + counts.get(Status.PARTIAL, 0) == 120

        await _run_until(tracker, good_done, good, down)
        report = (await tracker.report())["down"]
        assert report.backoff_until is not None
        assert report.last_error is not None
        assert "ProtocolError" in report.last_error
        assert report.new == 120
        assert len(down.requests) <= 2  # one chunk per worker at most, then it rests


async def test_a_recovered_panel_catches_up(store: str) -> None:
    fake = FakePanel(key=KEY)
    ids = [fake.place(1, 100) for _ in range(50)]
    fake.inject("html502", actions="status", times=1)
    async with (
        fake.panel(retries=0) as panel,
        Tracker({"a": panel}, store=store, cadence=FAST, backoff=(0.05, 0.1)) as tracker,
    ):
        await tracker.track("a", ids)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drive, [fake])
            with anyio.fail_after(60):
                await tracker.run(until_idle=True)
            tg.cancel_scope.cancel()
        _check_chains(await _events(tracker), {"a": ids})


async def test_a_refused_key_pauses_that_panel_and_says_so(
    store: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakePanel(key=KEY)
    ids = [fake.place(1, 100) for _ in range(20)]
    other = FakePanel(key=KEY)
    other_ids = [other.place(1, 100) for _ in range(20)]
    caplog.set_level(logging.WARNING, logger="smmpanel.tracker")
    async with (
        smmpanel.Panel(fake.url, "revoked-key", transport=fake.transport()) as bad,
        other.panel() as good,
        Tracker({"bad": bad, "good": good}, store=store, cadence=FAST) as tracker,
    ):
        await tracker.track("bad", ids)
        await tracker.track("good", other_ids)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_drive, [fake, other])
            with anyio.fail_after(60):
                await tracker.run(until_idle=True)  # returns: the paused panel waits for a person
            tg.cancel_scope.cancel()
        report = await tracker.report()
        assert report["bad"].paused is not None
        assert "AuthenticationError" in report["bad"].paused
        assert report["bad"].new == 20
        assert report["good"].new == 0
    assert any("paused" in record.getMessage() for record in caplog.records)
    assert len(fake.requests) == 1
    assert all("revoked-key" not in record.getMessage() for record in caplog.records)


async def test_place_tracks_the_new_order(store: str) -> None:
    fake = FakePanel(key=KEY)
    async with fake.panel() as panel, Tracker({"a": panel}, store=store, cadence=FAST) as tracker:
        order = await tracker.place("a", service=1, link="https://x.example/p/1", quantity=100)
        row = await tracker.get("a", order)
        assert row is not None
        assert not row.uncertain
        assert row.next_poll_at is not None
        assert row.fields == {"service": "1", "link": "https://x.example/p/1", "quantity": "100"}
        assert await tracker.uncertain() == []


async def test_a_refused_place_leaves_nothing(store: str) -> None:
    fake = FakePanel(key=KEY)
    async with fake.panel() as panel, Tracker({"a": panel}, store=store) as tracker:
        with pytest.raises(smmpanel.PanelError):
            await tracker.place("a", service=424242, link="https://x.example/p/1", quantity=100)
        assert (await tracker.report())["a"].new == 0
        assert await tracker.uncertain() == []


async def test_an_uncertain_place_is_kept_for_a_person_and_never_resent(tmp_path: Path) -> None:
    fake = FakePanel(key=KEY)
    fake.inject("drop", actions="add")
    path = tmp_path / "u.db"
    async with (
        fake.panel() as panel,
        Tracker({"a": panel}, store=f"sqlite:///{path}", cadence=FAST) as tracker,
    ):
        with pytest.raises(smmpanel.UncertainOrderError):
            await tracker.place(
                "a", ref="inv-9", service=1, link="https://x.example/p/2", quantity=300
            )
        assert sum(r.action == "add" for r in fake.requests) == 1
        (row,) = await tracker.uncertain()
        assert row.uncertain
        assert row.order is None
        assert row.ref == "inv-9"
        assert row.fields is not None
        assert row.fields["link"] == "https://x.example/p/2"
        assert "key" not in row.fields
        # A person finds the order on the panel and settles the row.
        (placed,) = fake.orders
        await tracker.resolve(row.id, placed)
        assert await tracker.uncertain() == []
        settled = await tracker.get("a", placed)
        assert settled is not None
        assert not settled.uncertain
        assert settled.ref == "inv-9"
    assert not _files_holding(tmp_path, KEY)


def _files_holding(folder: Path, text: str) -> list[Path]:
    return [file for file in folder.iterdir() if text.encode() in file.read_bytes()]


async def test_stop_finishes_the_batch_in_hand(store: str) -> None:
    fake = FakePanel(key=KEY, latency=0.02, auto_orders=True)
    async with (
        fake.panel(concurrency=2) as panel,
        Tracker({"a": panel}, store=store, cadence=Cadence(60, 120)) as tracker,
    ):
        await tracker.track("a", range(1, 5_001))
        async with anyio.create_task_group() as tg:
            tg.start_soon(tracker.run)
            while not fake.requests:  # noqa: ASYNC110 - the fake has no event to wait on
                await anyio.sleep(0.005)
            tracker.stop()
        answered = sum(len(r.ids) for r in fake.requests if r.answered)
        report = (await tracker.report())["a"]
        # Every answer that came back was written; nothing more was asked for.
        assert sum(report.counts.values()) == answered
        assert answered < 5_000
        assert [e.id async for e in tracker.events()] == list(range(1, answered + 1))


async def test_bad_input_is_refused_before_anything_is_written(store: str) -> None:
    fake = FakePanel(key=KEY)
    async with fake.panel() as panel, Tracker({"a": panel}, store=store) as tracker:
        with pytest.raises(ValueError, match="positive integer"):
            await tracker.track("a", [1, 2, -3])
        with pytest.raises(ValueError, match="positive integer"):
            await tracker.track("a", ["12x"])
        with pytest.raises(ValueError, match="key"):
            await tracker.place("a", service=1, link="https://x.example/p", key=KEY)
        assert await tracker.uncertain() == []
        with pytest.raises(KeyError, match="no panel named"):
            await tracker.track("nope", [1])
        with pytest.raises(TypeError):
            await tracker.track("a", 5)  # type: ignore[arg-type]
        assert (await tracker.report())["a"].new == 0
    with pytest.raises(ValueError, match="cadence"):
        Tracker({}, cadence=(10, 5))
    with pytest.raises(ValueError, match="FIRST,MOST"):
        Cadence.of("10")
    assert Cadence.of("5,50") == Cadence(5.0, 50.0)


def test_statuses_of_a_tracked_order_keep_the_panels_word() -> None:
    status = OrderStatus(1, Status.UNKNOWN, raw_status="Queued upstream")
    assert status.raw_status == "Queued upstream"


async def test_follow_waits_for_new_events(store: str) -> None:
    fake = FakePanel(key=KEY)
    ids = [fake.place(1, 100) for _ in range(5)]
    seen: list[Event] = []
    async with fake.panel() as panel, Tracker({"a": panel}, store=store, cadence=FAST) as tracker:

        async def follow() -> None:
            async for event in tracker.events(after=0, follow=True, every=0.01):
                seen.append(event)

        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await tracker.track("a", ids)
            tg.start_soon(_drive, [fake])
            with anyio.fail_after(60):
                await tracker.run(until_idle=True)
                total = len(await _events(tracker))
                while len(seen) < total:  # noqa: ASYNC110 - the follower polls the store
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    _check_chains(seen, {"a": ids})


async def test_poll_panel_once_with_a_limit(store: str) -> None:
    from smmpanel.tracker import Store, poll_panel

    fake = FakePanel(key=KEY, auto_orders=True)
    async with fake.panel() as panel, Tracker({"a": panel}, store=store) as tracker:
        await tracker.track("a", range(1, 1001))
        assert isinstance(tracker.store, Store)
        done = await poll_panel(tracker.store, "a", panel, cadence=SLOW, owner="w:1:x", limit=250)
        assert done.polled == 250
        assert done.requests == 3
        again = await poll_panel(tracker.store, "a", panel, cadence=SLOW, owner="w:2:y")
        assert again.skipped  # w:1:x holds the lease
        rest = await poll_panel(tracker.store, "a", panel, cadence=SLOW, owner="w:1:x")
        assert rest.polled == 750
