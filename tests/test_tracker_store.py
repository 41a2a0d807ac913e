"""The tracker's store: statuses round-trip, events exactly once, ids in commit order, leases."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("sqlalchemy")

from smmpanel import OrderStatus, Status
from smmpanel.tracker import Cadence, Store, StoreError
from smmpanel.tracker._codec import from_json, from_key, key_of, to_json
from smmpanel.tracker._schema import SCHEMA_VERSION, schema
from smmpanel.tracker._store import Due, LeaseLost, Outcome

CADENCE = Cadence(10.0, 80.0, jitter=0.0)

statuses = st.builds(
    OrderStatus,
    order=st.integers(1, 2**62),
    status=st.sampled_from(list(Status)),
    charge=st.none() | st.decimals(allow_nan=False, allow_infinity=False, places=5),
    start_count=st.none() | st.integers(0, 2**62),
    remains=st.none() | st.integers(-(2**40), 2**62),
    currency=st.none() | st.sampled_from(["USD", "EUR", ""]),
    raw_status=st.text(max_size=20),
    extra=st.dictionaries(
        st.text(max_size=5),
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=5),
        max_size=3,
    ),
)


@given(statuses)
def test_a_status_round_trips_through_columns_and_json(status: OrderStatus) -> None:
    key = key_of(status)
    assert from_key(status.order, key) == status
    assert from_json(to_json(status.order, key)) == status
    assert key_of(from_key(status.order, key)) == key  # equal statuses, equal columns


def test_equal_statuses_give_equal_state_texts() -> None:
    """How a change is noticed: texts compared, so ``extra``'s key order must not matter."""
    one = OrderStatus(5, Status.PENDING, raw_status="Pending", extra={"runs": 1, "a": [1, 2]})
    two = OrderStatus(5, Status.PENDING, raw_status="Pending", extra={"a": [1, 2], "runs": 1})
    assert key_of(one) == key_of(two)
    assert key_of(one) != key_of(OrderStatus(5, Status.PENDING, raw_status="pending"))


def test_money_stays_decimal() -> None:
    status = OrderStatus(1, Status.COMPLETED, charge=Decimal("0.10000"), raw_status="Completed")
    back = from_json(to_json(1, key_of(status)))
    assert back is not None
    assert back.charge == Decimal("0.10000")
    assert str(back.charge) == "0.10000"


def _open(url: str) -> Store:
    store = Store(url)
    store.open_sync()
    return store


def _status(order: int, word: str, remains: int) -> OrderStatus:
    return OrderStatus(order, Status.parse(word), Decimal("1.5"), 10, remains, "USD", word)


def _poll(store: Store, panel: str, answers: dict[int, OrderStatus | None], now: float) -> int:
    """One poll of every due order of ``panel``: ``None`` answers mean not found."""
    assert store.acquire(panel, "me:1:x", now, 60.0)
    due = store.claim(panel, now, None, 10_000)
    outcomes = [
        Outcome(d, None, not_found=True)
        if answers[d.order] is None
        else Outcome(d, key_of(answers[d.order]))  # type: ignore[arg-type]
        for d in due
        if d.order in answers
    ]
    return store.write(panel, "me:1:x", outcomes, now, CADENCE, 60.0, 0)


def test_events_only_for_changes_and_in_order(store_url: str) -> None:
    store = _open(store_url)
    try:
        assert store.track("a", [1, 2, 3], "ref-1", 100.0) == 3
        assert store.track("a", [1, 2, 3, 4], None, 100.0) == 1  # idempotent
        first = {n: _status(n, "Pending", 100) for n in (1, 2, 3, 4)}
        assert _poll(store, "a", first, 100.0) == 4
        # Nothing due before its wait; at 110 all are due again, and nothing changed.
        assert store.claim("a", 105.0, None, 100) == []
        assert _poll(store, "a", first, 110.0) == 0
        changed = dict(first) | {2: _status(2, "In progress", 50), 3: None}
        assert _poll(store, "a", changed, 130.0) == 1
        events = store.events(0, 100)
        assert [e.id for e in events] == [1, 2, 3, 4, 5]
        assert [(e.order, e.current.status) for e in events[-1:]] == [(2, Status.IN_PROGRESS)]
        assert events[-1].previous == first[2]
        assert events[0].ref == "ref-1"
        assert events[3].ref is None
        assert [e.id for e in store.events(3, 100)] == [4, 5]
        gone = store.get("a", 3)
        assert gone is not None
        assert gone.not_found
        assert gone.next_poll_at is None
        row = store.get("a", 2)
        assert row is not None
        assert row.status == changed[2]
        assert store.get("a", 99) is None
        # A final status is never due again.
        final = {n: _status(n, "Completed", 0) for n in (1, 2, 4)}
        assert _poll(store, "a", final, 1000.0) == 3
        assert store.next_due("a") is None
        report = store.report(1000.0, ["a"])["a"]
        assert report.counts == {Status.COMPLETED: 3}
        assert report.not_found == 1
    finally:
        store.close()


def test_the_wait_doubles_while_nothing_changes_up_to_most(tmp_path: Path) -> None:
    store = _open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        store.track("a", [7], None, 0.0)
        same = {7: _status(7, "In progress", 5)}
        now = 0.0
        seen = []
        for _ in range(6):
            _poll(store, "a", same, now)
            row = store.get("a", 7)
            assert row is not None
            assert row.next_poll_at is not None
            wait = row.next_poll_at.timestamp() - now
            seen.append(round(wait))
            now += wait
        assert seen == [10, 20, 40, 80, 80, 80]
    finally:
        store.close()


def test_the_due_queue_goes_most_overdue_first(tmp_path: Path) -> None:
    store = _open(f"sqlite:///{tmp_path / 'q.db'}")
    try:
        for at, ids in ((30.0, [1, 2]), (10.0, [3]), (20.0, [4, 5])):
            store.track("a", ids, None, at)
        due = store.claim("a", 100.0, None, 3)
        assert [d.order for d in due] == [3, 4, 5]
        rest = store.claim("a", 100.0, (due[-1].at, due[-1].row), 3)
        assert [d.order for d in rest] == [1, 2]
        assert store.claim("a", 15.0, None, 10) == [due[0]]  # only what is due by then
    finally:
        store.close()


def test_a_writer_without_the_lease_writes_nothing(store_url: str) -> None:
    store = _open(store_url)
    try:
        store.track("a", [1], None, 0.0)
        assert store.acquire("a", "host-a:1:x", 0.0, 30.0)
        assert not store.acquire("a", "host-b:2:y", 10.0, 30.0)  # a live owner holds it
        assert store.acquire("a", "host-b:2:y", 31.0, 30.0)  # its lease ran out
        due = store.claim("a", 31.0, None, 10)
        with pytest.raises(LeaseLost):
            store.write(
                "a", "host-a:1:x", [Outcome(due[0], key_of(_status(1, "Pending", 1)))],
                31.0, CADENCE, 30.0, 0,
            )  # fmt: skip
        assert store.events(0, 10) == []
    finally:
        store.close()


def test_a_dead_processes_lease_is_taken_at_once(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    store = _open(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        assert store.acquire("a", f"{socket.gethostname()}:{dead.stdout.strip()}:z", 0.0, 600)
        assert store.acquire("a", f"{socket.gethostname()}:{os.getpid()}:me", 1.0, 600)
    finally:
        store.close()


def test_the_schema_is_versioned(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    _open(url).close()
    store = _open(url)  # a second open finds the schema and keeps it
    with store.engine.begin() as conn:
        conn.execute(schema.update().values(version=999))
    store.close()
    with pytest.raises(StoreError, match="newer"):
        _open(url)


_V1 = """
CREATE TABLE smmpanel_schema (version INTEGER NOT NULL);
INSERT INTO smmpanel_schema VALUES (1);
CREATE TABLE smmpanel_orders (id INTEGER NOT NULL PRIMARY KEY, panel VARCHAR(200) NOT NULL,
  order_id BIGINT, ref TEXT, status VARCHAR(32), raw_status TEXT, charge TEXT,
  start_count BIGINT, remains BIGINT, currency VARCHAR(16), extra TEXT, tracked_at FLOAT NOT NULL,
  polled_at FLOAT, next_poll_at FLOAT, wait FLOAT, not_found BOOLEAN NOT NULL,
  uncertain BOOLEAN NOT NULL, fields TEXT,
  CONSTRAINT smmpanel_orders_panel_order UNIQUE (panel, order_id));
CREATE INDEX smmpanel_orders_due ON smmpanel_orders (panel, next_poll_at, id);
CREATE INDEX smmpanel_orders_uncertain ON smmpanel_orders (uncertain);
CREATE TABLE smmpanel_events (id BIGINT NOT NULL PRIMARY KEY, panel VARCHAR(200) NOT NULL,
  order_id BIGINT NOT NULL, ref TEXT, at FLOAT NOT NULL, previous TEXT, current TEXT NOT NULL);
CREATE TABLE smmpanel_counters (name VARCHAR(64) NOT NULL PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO smmpanel_counters VALUES ('events', 1);
INSERT INTO smmpanel_orders VALUES (1, 'a', 7, 'r', 'in_progress', 'In progress', '1.50', 10,
  40, 'USD', '{"runs":2}', 0, 5, 10, 20, 0, 0, NULL);
INSERT INTO smmpanel_orders VALUES (2, 'a', 8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  0, NULL, 0, NULL, 0, 0, NULL);
INSERT INTO smmpanel_events VALUES (1, 'a', 7, 'r', 5, NULL, '{"order":7,"status":"in_progress",
  "raw_status":"In progress","charge":"1.50","start_count":10,"remains":40,"currency":"USD",
  "extra":{"runs":2}}');
"""


def test_a_version_1_store_is_brought_up_to_date(tmp_path: Path) -> None:
    """Schema 1 kept a status in seven columns: opening it makes them one state text, equal
    to what a poll now writes, so the next poll of an unchanged order writes no event."""
    import sqlite3

    from sqlalchemy import select

    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
    store = _open(f"sqlite:///{path}")
    try:
        seen = OrderStatus(
            7, Status.IN_PROGRESS, Decimal("1.50"), 10, 40, "USD", "In progress", {"runs": 2}
        )
        row = store.get("a", 7)
        assert row is not None
        assert row.status == seen
        got = store.get("a", 8)
        assert got is not None
        assert got.status is None
        (old,) = store.events(0, 10)
        assert (old.id, old.previous, old.current) == (1, None, seen)
        assert _poll(store, "a", {7: seen, 8: _status(8, "Pending", 5)}, 30.0) == 1
        assert [(e.id, e.order) for e in store.events(1, 10)] == [(2, 8)]
        with store.engine.connect() as conn:
            assert conn.execute(select(schema.c.version)).scalar() == SCHEMA_VERSION
    finally:
        store.close()


def test_a_bad_store_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="sqlite"):
        _open("mysql://u:secret@h/db")
    assert "secret" not in repr(Store("postgresql+psycopg://u:secret@h/db"))


def _writer(url: str, panel: str, rounds: int, errors: list[BaseException]) -> None:
    store = Store(url)
    try:
        store.open_sync()
        owner = f"w:{panel}:x"
        ids = list(range(1, 21))
        store.track(panel, ids, None, 0.0)
        store.acquire(panel, owner, 0.0, 600.0)
        for n in range(rounds):
            due = [Due(row, order, None, None, None, 0.0) for row, order in _rows(store, panel)]
            outcomes = [Outcome(d, key_of(_status(d.order, "In progress", n))) for d in due]
            # Every row changes every round: fresh Due objects carry no previous status.
            store.write(panel, owner, outcomes, float(n), CADENCE, 600.0, n)
    except BaseException as error:  # pragma: no cover - reported by the test
        errors.append(error)
    finally:
        store.close()


def _rows(store: Store, panel: str) -> list[tuple[int, int]]:
    from sqlalchemy import select

    from smmpanel.tracker._schema import orders

    with store.engine.connect() as conn:
        found = conn.execute(
            select(orders.c.id, orders.c.order_id).where(orders.c.panel == panel)
        ).all()
    return [(row[0], row[1]) for row in found]


def test_a_follower_never_skips_an_event_that_commits_late(store_url: str) -> None:
    """Writers on four panels at once; a follower must see ids with no gap, ever."""
    _open(store_url).close()
    errors: list[BaseException] = []
    writers = [
        threading.Thread(target=_writer, args=(store_url, f"p{n}", 25, errors)) for n in range(4)
    ]
    for thread in writers:
        thread.start()
    reader = _open(store_url)
    last = 0
    try:
        while True:
            done = not any(thread.is_alive() for thread in writers)  # before the read
            found = reader.events(last, 500)
            for event in found:
                assert event.id == last + 1, f"saw {event.id} right after {last}"
                last = event.id
            if done and not found:
                break
    finally:
        for thread in writers:
            thread.join()
        reader.close()
    assert not errors
    assert last == 4 * 25 * 20


def test_jitter_is_drawn_per_batch_and_claims_come_most_overdue_first(store_url: str) -> None:
    """A batch's orders share one jitter factor (side by side in the due index), batches
    draw their own within ``[1 - jitter, 1 + jitter]``, and a claim lists the due orders
    by due time, then row: the claim's cursor is its last row."""
    store = _open(store_url)
    try:
        store.track("a", list(range(1, 61)), None, 0.0)
        assert store.acquire("a", "me:1:x", 0.0, 600.0)
        cadence = Cadence(100.0, 800.0, jitter=0.2)
        due = store.claim("a", 0.0, None, 100)
        for n, start in enumerate(range(0, 60, 20)):  # three batches, three seeds
            batch = [Outcome(d, key_of(_status(d.order, "Pending", 5))) for d in due[start:][:20]]
            store.write("a", "me:1:x", batch, 0.0, cadence, 600.0, n)
        claimed = store.claim("a", 1000.0, None, 100)
        assert [(d.at, d.row) for d in claimed] == sorted((d.at, d.row) for d in claimed)
        by_batch = [
            {d.at for d in claimed if start < d.order <= start + 20} for start in (0, 20, 40)
        ]
        assert all(len(times) == 1 for times in by_batch)
        factors = {times.pop() / 100.0 for times in by_batch}
        assert len(factors) == 3
        assert all(0.8 <= factor <= 1.2 for factor in factors)
        later = store.claim("a", 1000.0, (claimed[29].at, claimed[29].row), 100)
        assert later == claimed[30:]
    finally:
        store.close()
