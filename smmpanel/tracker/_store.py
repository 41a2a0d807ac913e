"""The store: tracked orders, their events and the panels' leases, in SQLite or PostgreSQL.

SQLAlchemy 2 Core over a sync engine: its async layer is asyncio-only, so every method
here is a plain function that the tracker runs in a worker thread (``Store.call``), a batch
of rows per call, which works the same under asyncio and trio.

Exactly once: a status and the events of its changes are written in one transaction.
Event ids come from one counter row, updated (so row-locked) last in that transaction, so
two writers take ids one after the other and commit in that same order: a reader never
sees id ``n + 1`` before ``n`` (a sequence would hand out ids that may commit out of order).

Leases: one owner polls a panel at a time. Every write checks (and renews) the writer's
lease in its own transaction, so a writer whose lease passed to another never writes.
"""

from __future__ import annotations

import functools
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import msgspec
import sqlalchemy as sa
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection, Engine, make_url

from .._models import Status
from ._cadence import Cadence
from ._codec import Key, from_json, state_of, utc
from ._models import Event, PanelReport, TrackedOrder
from ._schema import SCHEMA_VERSION, counters, events, metadata, orders, panels, schema

__all__ = ["DEFAULT_STORE", "Due", "LeaseLost", "Outcome", "Store", "StoreError", "new_owner"]

T = TypeVar("T")

DEFAULT_STORE = "sqlite:///smmpanel.db"
_FINAL = frozenset(status.value for status in Status if status.final)
_BATCH = 5000  # rows per executemany when tracking many orders
_THREADS = 4  # store calls at once (and connections): SQLite writes one at a time anyway
_PG_LOCK = 0x736D6D70  # "smmp": the advisory lock that serialises schema creation


class StoreError(Exception):
    """The store cannot be used: a newer schema, a bad URL, an unreachable database."""


class LeaseLost(Exception):
    """Another owner holds this panel's lease now; the batch in hand is not written."""


class Due(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A due order as claimed: its row, its last state text and cadence interval.

    A msgspec struct: a claim decodes straight into these, in C.
    """

    row: int
    order: int
    ref: str | None
    key: str | None  # the state text of its last status (None: no answer yet)
    wait: float | None
    at: float  # its next_poll_at, the due queue's position


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """What one poll found for one due order."""

    due: Due
    key: Key | None = None  # the new status (None: not found, or a per-ID error)
    not_found: bool = False


_DUE_ROWS = msgspec.json.Decoder(list[Due], strict=False)  # strict=False: "%!.17g" texts


def new_owner() -> str:
    """An owner name for leases: ``host:pid:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _stale(owner: str | None) -> bool:
    """True for an owner on this host whose process is gone (a ``kill -9``)."""
    if owner is None:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _sqlite_engine(url: sa.URL) -> Engine:
    database = url.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in str(url)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 60}}
    if memory:
        options["poolclass"] = sa.StaticPool
    else:
        options |= {"pool_size": _THREADS, "max_overflow": 0}
    engine = sa.create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, _record: Any) -> None:
        dbapi.isolation_level = None  # transactions are begun below, not by the driver
        cursor = dbapi.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: survives a killed process
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-2048")  # 2 MiB a connection: RSS stays flat
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # A writer takes the write lock at once: no deadlock upgrading a read lock.
        write = conn.get_execution_options().get("smmpanel_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for a ``sqlite:///`` or ``postgresql+psycopg://`` URL."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(f"not a database URL: {error}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_size=_THREADS, max_overflow=4, pool_pre_ping=True)
    raise StoreError(f"the store must be sqlite:/// or postgresql+psycopg://, got {backend}://")


# The statements every poll writes, per row, run as driver-level executemany with plain
# tuples: SQLAlchemy's per-row parameter processing would cost more than SQLite. A row
# whose status changed gets its new state; one that did not only its times.
_CHANGED_SQL = (
    "UPDATE smmpanel_orders SET status=?, state=?, polled_at=?, next_poll_at=?, wait=? WHERE id=?"
)
_SAME_SQL = "UPDATE smmpanel_orders SET polled_at=?, next_poll_at=?, wait=? WHERE id=?"
_GONE_SQL = (
    "UPDATE smmpanel_orders SET polled_at=?, next_poll_at=NULL, wait=NULL, not_found=? WHERE id=?"
)
_CLAIM_SQL = (
    "SELECT id, order_id, ref, state, wait, next_poll_at FROM smmpanel_orders"
    " WHERE panel = ? AND next_poll_at <= ?{after} ORDER BY next_poll_at, id LIMIT ?"
)
_AFTER_SQL = " AND (next_poll_at > ? OR (next_poll_at = ? AND id > ?))"
# SQLite: a claim as one JSON row, because sqlite3 hands the GIL back and forth for every
# row it steps through, which a busy event loop thread turns into a wait per row. The due
# time goes as exact text (SQLite's JSON keeps 15 digits), for the claim's cursor.
_SQLITE_CLAIM = (
    "SELECT json_group_array(json_array(id, order_id, ref, state, wait,"
    " printf('%!.17g', next_poll_at))) FROM ({inner})"
)
_LEASE_SQL = "UPDATE smmpanel_panels SET lease_until=?, beat_at=? WHERE name=? AND owner=?"
_COUNTER_SQL = (
    "UPDATE smmpanel_counters SET value = value + ? WHERE name = 'events' RETURNING value"
)
_EVENT_SQL = (
    "INSERT INTO smmpanel_events (id, panel, order_id, ref, at, previous, current)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


_TRACKED = (
    orders.c.id,
    orders.c.panel,
    orders.c.order_id,
    orders.c.ref,
    orders.c.tracked_at,
    orders.c.polled_at,
    orders.c.next_poll_at,
    orders.c.not_found,
    orders.c.uncertain,
    orders.c.fields,
    orders.c.state,
)


def _tracked(row: Any) -> TrackedOrder:
    order = row[2]
    fields = msgspec.json.decode(row[9]) if row[9] else None
    return TrackedOrder(
        panel=row[1],
        order=order,
        ref=row[3],
        status=None if order is None else from_json(row[10]),
        tracked_at=utc(row[4]),  # type: ignore[arg-type]
        polled_at=utc(row[5]),
        next_poll_at=utc(row[6]),
        not_found=bool(row[7]),
        uncertain=bool(row[8]),
        fields=fields,
        id=row[0],
    )


class Store:
    """Where the tracker keeps everything; ``url`` is a SQLAlchemy URL.

    ``sqlite:///PATH`` (WAL mode) needs no server; ``postgresql+psycopg://...`` lets many
    processes share one set of orders. The schema is made on first use.
    """

    def __init__(self, url: str = DEFAULT_STORE) -> None:
        if not isinstance(url, str):
            raise TypeError(f"store must be a URL string or a Store, got {type(url).__name__}")
        self.url = url
        self._engine: Engine | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        # SQLite has one writer at a time; queue this process's writers here, not in
        # SQLite's busy handler (which sleeps in steps).
        self._write_lock = threading.Lock()
        self._sqlite = False

    def __repr__(self) -> str:
        try:
            shown = make_url(self.url).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            shown = "(bad URL)"
        return f"<Store {shown}>"

    # ------------------------------------------------------------------ plumbing

    @property
    def engine(self) -> Engine:
        """The engine (made and the schema checked on first use)."""
        if self._engine is None:
            self.open_sync()
        assert self._engine is not None
        return self._engine

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a sync store method in a worker thread (asyncio and trio alike)."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(_THREADS)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._limiter)

    def _write(self) -> Any:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return _WriteTransaction(self)

    def open_sync(self) -> None:
        """Connect and make or check the schema."""
        if self._engine is not None:
            return
        engine = make_engine(self.url)
        self._sqlite = engine.dialect.name == "sqlite"
        try:
            with engine.connect() as conn:
                conn.execution_options(smmpanel_write=True)
                with conn.begin():
                    if not self._sqlite:
                        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
                    metadata.create_all(conn, checkfirst=True)
                    version = conn.execute(select(schema.c.version)).scalar()
                    if version is None:
                        conn.execute(schema.insert().values(version=SCHEMA_VERSION))
                    elif version > SCHEMA_VERSION:
                        raise StoreError(
                            f"the store's schema is version {version}, newer than this "
                            f"smmpanel's {SCHEMA_VERSION}: upgrade smmpanel"
                        )
                    else:
                        for step in range(version + 1, SCHEMA_VERSION + 1):
                            _MIGRATIONS[step](conn)
                        if version < SCHEMA_VERSION:
                            conn.execute(schema.update().values(version=SCHEMA_VERSION))
                    have = conn.execute(
                        select(counters.c.value).where(counters.c.name == "events")
                    ).scalar()
                    if have is None:
                        conn.execute(counters.insert().values(name="events", value=0))
        except sa.exc.SQLAlchemyError as error:
            engine.dispose()
            raise StoreError(f"cannot use the store {self!r}: {_short(error)}") from None
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine

    async def open(self) -> None:
        """Connect and make or check the schema (in a worker thread)."""
        await self.call(self.open_sync)

    def close(self) -> None:
        """Close every connection."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # ------------------------------------------------------------------ orders in

    def track(self, panel: str, order_ids: Sequence[int], ref: str | None, now: float) -> int:
        """Track orders (due at once); those tracked already are left as they are.

        Returns how many were new.
        """
        if not order_ids:
            return 0
        insert = (
            self._insert(orders)
            .on_conflict_do_nothing(index_elements=["panel", "order_id"])
            .returning(orders.c.id)
        )
        added = 0
        for start in range(0, len(order_ids), _BATCH):
            rows = [
                {
                    "panel": panel,
                    "order_id": order_id,
                    "ref": ref,
                    "tracked_at": now,
                    "next_poll_at": now,
                    "not_found": False,
                    "uncertain": False,
                }
                for order_id in order_ids[start : start + _BATCH]
            ]
            with self._write() as conn:
                added += len(conn.execute(insert, rows).all())
        return added

    def _sql(self, text: str) -> str:
        """Driver SQL written with ``?`` in the driver's own placeholder style."""
        return text if self._sqlite else text.replace("?", "%s")

    def _insert(self, table: sa.Table) -> Any:
        if self._sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)

    def intent(self, panel: str, ref: str | None, fields: dict[str, str], now: float) -> int:
        """Write a ``place`` intent before ``add`` is sent: uncertain until its answer."""
        with self._write() as conn:
            result = conn.execute(
                orders.insert().values(
                    panel=panel,
                    order_id=None,
                    ref=ref,
                    tracked_at=now,
                    not_found=False,
                    uncertain=True,
                    fields=msgspec.json.encode(fields).decode(),
                )
            )
            return int(result.inserted_primary_key[0])

    def placed(self, row: int, order_id: int, now: float) -> None:
        """``add`` answered: the intent becomes a tracked order, due at once."""
        with self._write() as conn:
            panel = conn.execute(select(orders.c.panel).where(orders.c.id == row)).scalar()
            taken = conn.execute(
                select(orders.c.id).where(orders.c.panel == panel, orders.c.order_id == order_id)
            ).scalar()
            if taken is not None:  # tracked by hand meanwhile: keep that row
                conn.execute(orders.delete().where(orders.c.id == row))
                return
            conn.execute(
                orders.update()
                .where(orders.c.id == row)
                .values(order_id=order_id, uncertain=False, next_poll_at=now)
            )

    def unplaced(self, row: int) -> None:
        """``add`` was refused before or without placing anything: forget the intent."""
        with self._write() as conn:
            conn.execute(orders.delete().where(orders.c.id == row, orders.c.order_id.is_(None)))

    def uncertain_fields(self, row: int, fields: dict[str, str]) -> None:
        """Keep the form fields an uncertain ``add`` sent (never the key)."""
        with self._write() as conn:
            conn.execute(
                orders.update()
                .where(orders.c.id == row)
                .values(uncertain=True, fields=msgspec.json.encode(fields).decode())
            )

    def resolve(self, row: int, order_id: int | None, now: float) -> None:
        """A person reconciled an uncertain row: it is ``order_id``, or nothing was placed."""
        if order_id is None:
            with self._write() as conn:
                conn.execute(orders.delete().where(orders.c.id == row, orders.c.uncertain))
            return
        self.placed(row, order_id, now)

    # ------------------------------------------------------------------ leases

    def acquire(self, panel: str, owner: str, now: float, ttl: float) -> bool:
        """Take or renew the panel's lease; False when a live owner holds it."""
        with self._write() as conn:
            conn.execute(
                self._insert(panels)
                .values(name=panel)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            row = conn.execute(
                select(panels.c.owner, panels.c.lease_until).where(panels.c.name == panel)
            ).one()
            held, until = row
            if held not in (None, owner) and (until or 0) > now and not _stale(held):
                return False
            result = conn.execute(
                panels.update()
                .where(panels.c.name == panel, panels.c.owner.is_not_distinct_from(held))
                .values(owner=owner, lease_until=now + ttl, beat_at=now)
            )
            return bool(result.rowcount == 1)

    def release(self, panel: str, owner: str) -> None:
        """Give the lease back (a clean stop)."""
        with self._write() as conn:
            conn.execute(
                panels.update()
                .where(panels.c.name == panel, panels.c.owner == owner)
                .values(owner=None, lease_until=None)
            )

    def beat(self, panel: str, owner: str, now: float, ttl: float, state: dict[str, Any]) -> bool:
        """Renew the lease and publish the panel's state (paused, backoff, budget used)."""
        with self._write() as conn:
            result = conn.execute(
                panels.update()
                .where(panels.c.name == panel, panels.c.owner == owner)
                .values(lease_until=now + ttl, beat_at=now, **state)
            )
            return bool(result.rowcount == 1)

    # ------------------------------------------------------------------ the due queue

    def claim(
        self, panel: str, now: float, after: tuple[float, int] | None, limit: int
    ) -> list[Due]:
        """Up to ``limit`` orders due by ``now``, most overdue first, after the cursor."""
        sql = _CLAIM_SQL.format(after=_AFTER_SQL if after is not None else "")
        params: tuple[Any, ...] = (panel, now)
        if after is not None:
            params += (after[0], after[0], after[1])
        if self._sqlite:
            sql = _SQLITE_CLAIM.format(inner=sql.replace("SELECT id,", "SELECT id AS id,", 1))
            with self.engine.connect() as conn:
                text = conn.exec_driver_sql(sql, (*params, limit)).scalar()
            # Rows come in the subquery's order; the caller's cursor is the last one.
            return _DUE_ROWS.decode(text or "[]")
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(self._sql(sql), (*params, limit)).all()
        return [Due(*row) for row in rows]

    def next_due(self, panel: str) -> float | None:
        """When this panel's next order falls due (``None``: nothing left to poll)."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.min(orders.c.next_poll_at)).where(orders.c.panel == panel)
            ).scalar()

    def write(
        self,
        panel: str,
        owner: str,
        outcomes: Iterable[Outcome],
        now: float,
        cadence: Cadence,
        ttl: float,
        seed: int,
    ) -> int:
        """Write one batch of poll outcomes and their events; returns how many changed.

        Raises ``LeaseLost`` (writing nothing) when ``owner`` no longer holds the panel.
        """
        (changed,) = self.write_many([(panel, owner, outcomes)], now, cadence, ttl, seed)
        if changed is None:
            raise LeaseLost(panel)
        return changed

    def write_many(
        self,
        batches: Sequence[tuple[str, str, Iterable[Outcome]]],
        now: float,
        cadence: Cadence,
        ttl: float,
        seed: int,
    ) -> list[int | None]:
        """Write several panels' batches in one transaction (one commit for many panels).

        Returns, per batch, how many changed, or ``None`` when its owner no longer holds
        that panel's lease (that batch is not written; the others are).
        """
        rng = random.Random(seed)
        results: list[int | None] = []
        updates: _Updates = ([], [], [])
        changes: list[tuple[str, Due, Key]] = []
        with self._write() as conn:
            for panel, owner, outcomes in batches:
                held = conn.exec_driver_sql(self._sql(_LEASE_SQL), (now + ttl, now, panel, owner))
                if held.rowcount != 1:
                    results.append(None)
                    continue
                before = len(changes)
                self._plan(panel, outcomes, now, cadence, rng, updates, changes)
                results.append(len(changes) - before)
            for sql, rows in zip((_CHANGED_SQL, _SAME_SQL, _GONE_SQL), updates, strict=True):
                if rows:
                    conn.exec_driver_sql(self._sql(sql), rows)
            if changes:
                # Last, so the counter's row lock is held only for the insert and commit.
                top = conn.exec_driver_sql(self._sql(_COUNTER_SQL), (len(changes),)).scalar_one()
                base = top - len(changes)
                conn.exec_driver_sql(
                    self._sql(_EVENT_SQL),
                    [
                        (base + n, panel, due.order, due.ref, now, due.key, key[1])
                        for n, (panel, due, key) in enumerate(changes, 1)
                    ],
                )
        return results

    @staticmethod
    def _plan(
        panel: str,
        outcomes: Iterable[Outcome],
        now: float,
        cadence: Cadence,
        rng: random.Random,
        updates: _Updates,
        changes: list[tuple[str, Due, Key]],
    ) -> None:
        """The row updates and the events of one panel's outcomes.

        One jitter factor for the whole batch: its orders' new due times then sit side by
        side in the due index (per wait), so a batch touches a few index pages, not one
        page per order; batches still spread apart, so restarts do not synchronise.
        """
        first = cadence.first
        wait_after = cadence.wait
        factor = cadence.factor(rng)
        soon = now + first * factor
        final = _FINAL
        changed, same, gone = (rows.append for rows in updates)
        change = changes.append
        for outcome in outcomes:
            due = outcome.due
            key = outcome.key
            if key is not None:
                if key[1] != due.key:
                    change((panel, due, key))
                    at = None if key[0] in final else soon
                    changed((key[0], key[1], now, at, first, due.row))
                    continue
            elif outcome.not_found:
                gone((now, True, due.row))
                continue
            # Unchanged, or a per-ID error (polled, nothing learned): the wait grows.
            wait = wait_after(False, due.wait)
            at = None if key is not None and key[0] in final else now + wait * factor
            same((now, at, wait, due.row))

    # ------------------------------------------------------------------ reading

    def get(self, panel: str, order_id: int) -> TrackedOrder | None:
        """One tracked order."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_TRACKED).where(orders.c.panel == panel, orders.c.order_id == order_id)
            ).first()
        return None if row is None else _tracked(row)

    def uncertain(self) -> list[TrackedOrder]:
        """Orders whose ``add`` had no readable answer, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_TRACKED).where(orders.c.uncertain).order_by(orders.c.id)
            ).all()
        return [_tracked(row) for row in rows]

    def events(self, after: int, limit: int, panel: str | None = None) -> list[Event]:
        """Events with ``id > after``, oldest first."""
        query = select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
        if panel is not None:
            query = query.where(events.c.panel == panel)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Event(
                id=row.id,
                panel=row.panel,
                order=row.order_id,
                ref=row.ref,
                previous=from_json(row.previous),
                current=from_json(row.current),  # type: ignore[arg-type]
                at=utc(row.at),  # type: ignore[arg-type]
            )
            for row in rows
        ]

    def last_event(self) -> int:
        """The highest event id given so far (0 before any)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(counters.c.value).where(counters.c.name == "events")
            ).scalar()
        return int(value or 0)

    def report(self, now: float, names: Iterable[str] = ()) -> dict[str, PanelReport]:
        """Per panel: counts by status, new, not found, uncertain, due, lag, lease and budget."""
        found: dict[str, dict[str, Any]] = {
            name: {"counts": {}, "new": 0, "not_found": 0, "uncertain": 0} for name in names
        }
        with self.engine.connect() as conn:
            grouped = conn.execute(
                select(
                    orders.c.panel,
                    orders.c.status,
                    orders.c.not_found,
                    orders.c.uncertain,
                    func.count(),
                ).group_by(orders.c.panel, orders.c.status, orders.c.not_found, orders.c.uncertain)
            ).all()
            for panel, word, not_found, uncertain, n in grouped:
                entry = found.setdefault(
                    panel, {"counts": {}, "new": 0, "not_found": 0, "uncertain": 0}
                )
                if uncertain:
                    entry["uncertain"] += n
                elif not_found:
                    entry["not_found"] += n
                elif word is None:
                    entry["new"] += n
                else:
                    status = Status(word)
                    entry["counts"][status] = entry["counts"].get(status, 0) + n
            for name, entry in found.items():
                due, oldest = conn.execute(
                    select(func.count(), func.min(orders.c.next_poll_at)).where(
                        orders.c.panel == name, orders.c.next_poll_at <= now
                    )
                ).one()
                entry["due"] = int(due)
                entry["lag"] = max(0.0, now - oldest) if oldest is not None else 0.0
            for row in conn.execute(select(panels)).all():
                entry = found.setdefault(
                    row.name, {"counts": {}, "new": 0, "not_found": 0, "uncertain": 0}
                )
                live = row.lease_until is not None and row.lease_until > now
                entry |= {
                    "owner": row.owner if live else None,
                    "beat_at": utc(row.beat_at),
                    "paused": row.paused,
                    "backoff_until": utc(row.backoff_until)
                    if row.backoff_until and row.backoff_until > now
                    else None,
                    "last_error": row.last_error,
                    "budget": row.budget,
                    "used": row.used or 0.0,
                }
                if "due" not in entry:
                    entry |= {"due": 0, "lag": 0.0}
        return {name: PanelReport(panel=name, **entry) for name, entry in sorted(found.items())}


_Updates = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]
"""The rows for ``_CHANGED_SQL``, ``_SAME_SQL`` and ``_GONE_SQL``."""


def _state_column(conn: Connection) -> None:
    """Schema 1 to 2: the seven status columns become one ``state`` text."""
    conn.exec_driver_sql("ALTER TABLE smmpanel_orders ADD COLUMN state TEXT")
    old = (
        "SELECT id, order_id, status, raw_status, charge, start_count, remains, currency,"
        " extra FROM smmpanel_orders WHERE status IS NOT NULL AND id > {} ORDER BY id LIMIT 5000"
    )
    last = 0
    while True:
        rows = conn.exec_driver_sql(old.format(last)).all()
        if not rows:
            break
        conn.execute(
            orders.update().where(orders.c.id == sa.bindparam("row")),
            [{"row": row[0], "state": state_of(*row[1:])} for row in rows],
        )
        last = rows[-1][0]
    driver: Any = conn.dialect.dbapi
    if conn.dialect.name == "sqlite" and driver.sqlite_version_info < (3, 35):
        return  # no DROP COLUMN before SQLite 3.35: the old columns stay, unused
    for column in ("raw_status", "charge", "start_count", "remains", "currency", "extra"):
        conn.exec_driver_sql(f"ALTER TABLE smmpanel_orders DROP COLUMN {column}")


_MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _state_column}
"""``{version: step}`` taking a store from ``version - 1`` to ``version``, in the
transaction that bumps the version."""


class _WriteTransaction:
    """``with store._write() as conn``: one write transaction, serialised in-process."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._conn: Connection | None = None
        self._tx: Any = None
        self._locked = False

    def __enter__(self) -> Connection:
        engine = self._store.engine
        if self._store._sqlite:
            self._store._write_lock.acquire()
            self._locked = True
        try:
            conn = engine.connect()
            conn.execution_options(smmpanel_write=True)
            self._conn = conn
            self._tx = conn.begin()
        except BaseException:
            self._exit()
            raise
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self._tx is not None:
                if exc_type is None:
                    self._tx.commit()
                else:
                    self._tx.rollback()
        finally:
            self._exit()

    def _exit(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._locked:
            self._locked = False
            self._store._write_lock.release()


def _short(error: BaseException) -> str:
    """An SQLAlchemy error's first line, without the statement it quotes."""
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
