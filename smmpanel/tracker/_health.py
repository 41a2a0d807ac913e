"""What the workers publish in the store: who runs, what each holds, and each panel's pace.

Two tables beside the tracker's own (made by the first worker, ``CREATE TABLE IF NOT
EXISTS``; the tracker's schema version is left alone):

- ``smmpanel_workers``: one row per worker process: host, pid, the panels it polls now,
  its last beat and lag (the age of the oldest due order among its panels).
- ``smmpanel_pace``: one row per panel: who polled it last, whether that job ended
  cleanly, and when it last sent a request. A job that takes a panel over from another
  worker waits until that request's time plus ``1 / rate`` (after an unclean end, until
  ``1 / rate`` from now, since the dead worker's last requests may not be written), so a
  panel's ``rate_limit`` holds across the hand-over too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import msgspec
import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, Text, func, select

from ._models import PanelReport
from ._store import Store

__all__ = [
    "LOST_AFTER",
    "PanelHealth",
    "WorkerHealth",
    "begin_job",
    "handover_start",
    "create_tables",
    "end_job",
    "health",
    "job_beat",
    "worker_beat",
    "worker_stopped",
]

LOST_AFTER = 10.0
"""A worker whose last beat is older than this (seconds) is shown as lost."""
_PG_LOCK = 0x736D6D77  # "smmw": serialises the creation of these tables

metadata = MetaData()

workers = Table(
    "smmpanel_workers",
    metadata,
    Column("id", String(200), primary_key=True),  # the lease owner, host:pid:token
    Column("host", Text, nullable=False),
    Column("pid", sa.Integer, nullable=False),
    Column("started_at", Float(53), nullable=False),
    Column("beat_at", Float(53), nullable=False),
    Column("stopped_at", Float(53)),
    Column("panels", Text, nullable=False, default="[]"),  # JSON list of names
    Column("lag", Float(53), nullable=False, default=0.0),
    Column("polled", sa.BigInteger, nullable=False, default=0),
    Column("requests", sa.BigInteger, nullable=False, default=0),
)

pace = Table(
    "smmpanel_pace",
    metadata,
    Column("panel", String(200), primary_key=True),
    Column("holder", String(200)),
    Column("started_at", Float(53)),
    Column("beat_at", Float(53)),
    Column("last_request_at", Float(53)),
    Column("clean", Boolean, nullable=False, default=True),
    Column("backoff", Float(53)),  # the last backoff's length, so it doubles across workers
)


@attrs.frozen
class WorkerHealth:
    """One worker process as it last reported itself."""

    id: str
    host: str
    pid: int
    panels: list[str]
    beat_age: float
    """Seconds since its last beat."""
    lag: float
    polled: int
    requests: int
    state: str
    """``running``, ``stopped`` (a clean exit) or ``lost`` (no beat for ``LOST_AFTER`` s)."""


@attrs.frozen
class PanelHealth:
    """Who polls a panel and whether anybody has lately."""

    panel: str
    holder: str | None
    """The worker whose job polls it now (``None``: between jobs, or nobody)."""
    beat_age: float | None
    """Seconds since a job last beat for it (``None``: never polled by a worker)."""
    lag: float
    due: int
    unpolled: bool
    """Orders are due and nobody has polled it for longer than the threshold."""


def _latest(last: float | None) -> Any:
    """The later of ``last`` and the recorded request time (NULLs ignored)."""
    return func.greatest(sa.literal(last, Float(53)), pace.c.last_request_at)


def create_tables(store: Store) -> None:
    """Make the two tables if they are missing (PostgreSQL)."""
    with store.engine.begin() as conn:
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK)))
        metadata.create_all(conn, checkfirst=True)


def begin_job(store: Store, panel: str, holder: str, now: float) -> tuple[float | None, bool]:
    """A job starts on ``panel``: ``(last request time, previous job ended cleanly)``."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(pace.c.last_request_at, pace.c.clean)
            .where(pace.c.panel == panel)
            .with_for_update()
        ).first()
        if row is None:
            conn.execute(
                pace.insert().values(
                    panel=panel, holder=holder, started_at=now, beat_at=now, clean=False
                )
            )
            return None, True
        conn.execute(
            pace.update()
            .where(pace.c.panel == panel)
            .values(holder=holder, started_at=now, beat_at=now, clean=False)
        )
        return row.last_request_at, bool(row.clean)


def handover_start(now: float, last: float | None, clean: bool, interval: float) -> float:
    """When a job that takes a panel over may send its first request.

    ``last`` is the latest request time on record and ``clean`` whether the previous job
    ended cleanly (its every request recorded). After an unclean end the dead worker's
    last requests may be missing, but none was sent after ``now``: wait ``interval`` from
    now. ``interval`` is ``1 / rate`` (0 without a limit).
    """
    start = now if last is None else max(now, last + interval)
    if not clean:
        start = max(start, now + interval)
    return start


def job_beat(store: Store, panel: str, holder: str, now: float, last: float | None) -> None:
    """A running job's beat: still alive, and its latest request time."""
    with store.engine.begin() as conn:
        conn.execute(
            pace.update()
            .where(pace.c.panel == panel, pace.c.holder == holder)
            .values(beat_at=now, last_request_at=_latest(last))
        )


def end_job(
    store: Store, panel: str, holder: str, now: float, last: float | None, backoff: float | None
) -> None:
    """The job returns cleanly: its last request time is known, the next may pace from it."""
    with store.engine.begin() as conn:
        conn.execute(
            pace.update()
            .where(pace.c.panel == panel, pace.c.holder == holder)
            .values(
                holder=None,
                beat_at=now,
                clean=True,
                backoff=backoff,
                last_request_at=_latest(last),
            )
        )


def last_backoff(store: Store, panel: str) -> float | None:
    """The length of the panel's last backoff (``None``: it is not failing)."""
    with store.engine.connect() as conn:
        value = conn.execute(select(pace.c.backoff).where(pace.c.panel == panel)).scalar()
    return None if value is None else float(value)


def worker_beat(store: Store, values: dict[str, Any]) -> None:
    """Insert or update this worker's row (``values`` has every column but ``stopped_at``)."""
    from sqlalchemy.dialects.postgresql import insert

    values = dict(values, panels=msgspec.json.encode(sorted(values["panels"])).decode())
    statement = insert(workers).values(**values)
    update = {k: statement.excluded[k] for k in values if k not in ("id", "started_at")}
    with store.engine.begin() as conn:
        conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=update))


def worker_stopped(store: Store, worker: str, now: float) -> None:
    """A clean exit: the worker holds nothing any more."""
    with store.engine.begin() as conn:
        conn.execute(
            workers.update()
            .where(workers.c.id == worker)
            .values(stopped_at=now, beat_at=now, panels="[]", lag=0.0)
        )


def forget_workers(store: Store, before: float) -> None:
    """Drop the rows of workers not heard of since ``before``."""
    with store.engine.begin() as conn:
        conn.execute(workers.delete().where(workers.c.beat_at < before))


def health(
    store: Store,
    now: float,
    reports: dict[str, PanelReport],
    *,
    unpolled_after: float = 60.0,
    names: Iterable[str] = (),
) -> tuple[list[WorkerHealth], list[PanelHealth]]:
    """The workers and, per panel, its holder and whether it went unpolled too long.

    ``reports`` is ``Store.report(now)``; a panel with due orders whose lag and last job
    beat are both older than ``unpolled_after`` seconds is ``unpolled``. On a store the
    workers never used (no tables), the workers' list is empty.
    """
    inspector = sa.inspect(store.engine)
    found: list[WorkerHealth] = []
    paces: dict[str, Any] = {}
    if inspector.has_table("smmpanel_workers"):
        with store.engine.connect() as conn:
            for row in conn.execute(select(workers).order_by(workers.c.host, workers.c.pid)):
                age = max(0.0, now - row.beat_at)
                if row.stopped_at is not None:
                    state = "stopped"
                elif age > LOST_AFTER:
                    state = "lost"
                else:
                    state = "running"
                found.append(
                    WorkerHealth(
                        id=row.id,
                        host=row.host,
                        pid=row.pid,
                        panels=[] if state != "running" else msgspec.json.decode(row.panels),
                        beat_age=age,
                        lag=row.lag,
                        polled=row.polled,
                        requests=row.requests,
                        state=state,
                    )
                )
            for row in conn.execute(select(pace)):
                paces[row.panel] = row
    alive = {w.id for w in found if w.state == "running"}
    panels: list[PanelHealth] = []
    for name in sorted(set(reports) | set(names) | set(paces)):
        report = reports.get(name)
        paced = paces.get(name)
        beat_at = None if paced is None else paced.beat_at
        beat_age = None if beat_at is None else max(0.0, now - beat_at)
        holder = paced.holder if paced is not None and paced.holder in alive else None
        lag = report.lag if report is not None else 0.0
        due = report.due if report is not None else 0
        # Quiet: no worker's job beat for it, and no write or beat by anyone (track run too).
        written = report.beat_at.timestamp() if report is not None and report.beat_at else None
        last = max((t for t in (beat_at, written) if t is not None), default=None)
        quiet = last is None or now - last > unpolled_after
        panels.append(
            PanelHealth(
                panel=name,
                holder=holder,
                beat_age=beat_age,
                lag=lag,
                due=due,
                unpolled=due > 0 and lag > unpolled_after and quiet,
            )
        )
    return found, panels


def describe(workers_found: list[WorkerHealth], panels: list[PanelHealth]) -> list[str]:
    """Plain lines for ``track status``: one per running or lost worker, then the panels
    nobody polls."""
    lines = []
    for w in workers_found:
        if w.state == "stopped":  # a clean exit holds nothing and needs no one's attention
            continue
        held = ", ".join(w.panels) if w.panels else "-"
        lines.append(
            f"worker {w.host}:{w.pid} {w.state}: beat {w.beat_age:.1f} s ago, lag "
            f"{w.lag:.1f} s, {w.polled} polled, {w.requests} requests; panels: {held}"
        )
    for p in panels:
        if p.unpolled:
            when = "never" if p.beat_age is None else f"{p.beat_age:.0f} s ago"
            lines.append(
                f"panel {p.panel}: NOT POLLED (last worker beat {when}; {p.due} due, "
                f"lag {p.lag:.0f} s)"
            )
    return lines
