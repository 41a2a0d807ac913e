"""``smmpanel track worker``: the tracker spread over Procrastinate workers on PostgreSQL.

Work is sharded by panel. A periodic task (deduplicated across workers by Procrastinate)
defers one ``poll_panel`` job per panel that has orders due, with ``queueing_lock`` and
``lock`` set to the panel's name: at most one job per panel waits and at most one runs,
on whichever worker took it, so a panel's ``rate_limit`` needs no distributed limiter.
A job polls its panel for one time slice (``poll_panel`` in a loop, renewing the
tracker's lease), then returns, so adding a worker spreads the panels at the next slice.

A worker that dies leaves its jobs ``doing`` with their locks held. Every worker beats
into Procrastinate (``update_heartbeat_interval``); a periodic task fails the jobs of a
worker whose beat is older than ``stalled_after``, which frees their locks, and the
tracker's lease (``lease`` seconds; at once for a dead process on the same host) lets the
next job take the panel. A job that takes a panel over waits for the panel's pace
(``_health``), so the rate limit also holds across that hand-over.

Control tasks run on their own queue, served by a second Procrastinate worker in the same
process, so they never wait behind the panels' long jobs. Procrastinate is imported only
here: the embedded tracker (SQLite, ``track run``) needs none of it.

The panels come from ``Panels.from_toml`` (the same file as ``track run``), sharing one
client whose transport notes when each request leaves, for the hand-over pace.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import attrs
import httpx
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from .._client import Panel
from .._config import USER_AGENT
from .._errors import SMMPanelError
from .._panels import Panels
from .._panels.pool import HostPools, Origin, origin
from . import _health
from ._cadence import Cadence
from ._poll import poll_panel
from ._schema import orders, panels
from ._store import Store, StoreError, new_owner
from ._tracker import FIRST_BACKOFF, MAX_BACKOFF, status_budget

__all__ = ["WorkerSettings", "conninfo", "run_worker"]

logger = logging.getLogger("smmpanel.tracker.workers")

POLL_QUEUE = "smmpanel_poll"
CONTROL_QUEUE = "smmpanel_control"
POLL_TASK = "smmpanel.poll_panel"
SCHEDULE_TASK = "smmpanel.schedule"
REAP_TASK = "smmpanel.reap_stalled"
FORGET_AFTER = 86400.0
SUMMARY_EVERY = 60.0
"""Seconds between a worker's progress lines in its log (also its first, at its first job)."""
"""Health rows of workers not heard of for this long (seconds) are dropped."""
_WAITING = (
    "SELECT queueing_lock FROM procrastinate_jobs WHERE status = 'todo' AND task_name = %(task)s"
)
_SCHEMA_LOCK = 0x736D6D71  # "smmq": serialises applying Procrastinate's schema


@attrs.frozen
class WorkerSettings:
    """How a worker runs; the defaults give the hand-over bound the README states."""

    store: str
    config: str
    cadence: Cadence = attrs.field(factory=Cadence)
    concurrency: int = 16
    """Panels this worker polls at once (Procrastinate's job concurrency)."""
    slice: float = 30.0
    """Seconds one job keeps its panel before handing it back to the queue."""
    lease: float = 10.0
    """The tracker's lease on a panel; renewed every ``beat`` seconds while a job runs."""
    heartbeat: float = 1.0
    """Procrastinate's worker heartbeat interval."""
    stalled_after: float = 5.0
    """A worker silent this long is dead: its jobs are failed and their panels freed."""
    every: int = 2
    """Seconds between the periodic tasks (scheduling, reaping)."""
    beat: float = 1.0
    """Seconds between this worker's health rows and its jobs' beats."""
    fetch_every: float = 0.5
    """Procrastinate's polling fallback for new jobs (besides LISTEN/NOTIFY)."""

    def __attrs_post_init__(self) -> None:
        for name in ("slice", "lease", "heartbeat", "stalled_after", "beat", "fetch_every"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, got {self.concurrency!r}")
        if not isinstance(self.every, int) or not 1 <= self.every <= 59:
            raise ValueError(f"every must be whole seconds in 1..59, got {self.every!r}")
        if self.stalled_after <= self.heartbeat:
            raise ValueError("stalled_after must be longer than the heartbeat interval")

    @property
    def bound(self) -> float:
        """The longest a dead worker's panel waits for another worker (seconds)."""
        detect = self.stalled_after + self.heartbeat + self.every + self.fetch_every
        return max(detect, self.lease + self.beat) + self.every + 1.0


def conninfo(url: str) -> str:
    """A libpq connection string for a ``postgresql[+psycopg]://`` SQLAlchemy URL."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as error:
        raise StoreError(f"not a database URL: {error}") from None
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            "track worker needs a PostgreSQL store (postgresql+psycopg://...): the workers "
            "and their task queue share it; use track run for a SQLite store"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _apply_procrastinate_schema(dsn: str, schema_sql: str) -> bool:
    """Apply Procrastinate's schema unless it is there; True when it was applied."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is not None and found[0] is not None:
                return False
            with conn.transaction():
                conn.execute(schema_sql.encode())
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


class _Stamped(httpx.AsyncBaseTransport):
    """The panels' shared transport: notes when each request leaves, per panel URL (the
    pace for hand-overs), and sends it through a pool per host sized to its panels.

    ``route(panels)`` names the panels once ``Panels.from_toml`` has made them on this
    transport's client; two accounts on one URL share their stamps (a longer wait, never a
    shorter one).
    """

    def __init__(self, stamp: Callable[[str], None]) -> None:
        self._stamp = stamp
        self._names: dict[str, list[str]] = {}
        self._inner: httpx.AsyncBaseTransport = HostPools({})

    def route(self, panels: Mapping[str, Panel]) -> None:
        sizes: dict[Origin, int] = {}
        for name, panel in panels.items():
            self._names.setdefault(str(httpx.URL(panel.url)), []).append(name)
            where = origin(panel.url)
            sizes[where] = sizes.get(where, 0) + panel.concurrency
        self._inner = HostPools(sizes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for name in self._names.get(str(request.url), ()):
            self._stamp(name)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def open_panels(path: str, stamp: Callable[[str], None]) -> tuple[Panels, httpx.AsyncClient]:
    """The config's ``Panels`` on one client whose transport calls ``stamp(name)`` per request.

    A mistake in the file is ``ValueError`` naming the file, panel and field, never the key.
    """
    transport = _Stamped(stamp)
    client = httpx.AsyncClient(transport=transport, headers={"User-Agent": USER_AGENT})
    made = Panels.from_toml(path, http_client=client)
    transport.route(made)
    return made, client


@attrs.define
class _Meter:
    times: deque[float] = attrs.field(factory=deque)

    def last_minute(self, now: float) -> int:
        while self.times and self.times[0] <= now - 60.0:
            self.times.popleft()
        return len(self.times)


class _Runtime:
    """One worker process's state: its panels, its store, what it holds now."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self.sent: dict[str, float] = {}
        self.panels, self._client = open_panels(settings.config, self._stamp)
        self.store = Store(settings.store)
        self.owner = new_owner()
        self.host = socket.gethostname()
        self.started_at = time.time()
        self.stopping = False
        self.stopped = anyio.Event()
        self.held: dict[str, float] = {}  # panel -> lag at its last beat
        self.meters: dict[str, _Meter] = {}
        self.polled = 0
        self.requests = 0

    def _stamp(self, name: str) -> None:
        self.sent[name] = time.time()

    async def aclose(self) -> None:
        try:
            await self.panels.aclose()
            await self._client.aclose()
        finally:
            await self.store.call(self.store.close)

    # ------------------------------------------------------------------ one job

    async def poll(self, name: str) -> None:
        """The ``poll_panel`` job: poll ``name`` for one slice, then give it back."""
        if name not in self.panels:
            logger.warning("panel %s is not in this worker's config; job dropped", name)
            return
        if self.stopping:
            return
        panel = self.panels[name]  # made once per process: its pacing persists between jobs
        rate = status_budget(panel)
        interval = 0.0 if not rate else 1.0 / rate
        store = self.store
        now = time.time()
        last, clean = await store.call(_health.begin_job, store, name, self.owner, now)
        start_at = _health.handover_start(now, last, clean, interval)
        deadline = now + max(self.settings.slice, 10 * interval)
        self.held[name] = 0.0
        backoff: float | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._beat_job, name)
                await self._sleep_until(start_at)
                backoff = await self._slice(name, panel, deadline)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                self.held.pop(name, None)
                try:
                    await store.call(store.release, name, self.owner)
                    await store.call(
                        _health.end_job,
                        store,
                        name,
                        self.owner,
                        time.time(),
                        self.sent.get(name),
                        backoff,
                    )
                except Exception as error:
                    logger.warning("panel %s: cannot end its job cleanly: %s", name, error)

    async def _sleep_until(self, when: float) -> None:
        """Sleep until ``when`` (epoch seconds), or until the worker is asked to stop."""
        left = when - time.time()
        if left > 0 and not self.stopping:
            with anyio.move_on_after(left):
                await self.stopped.wait()

    async def _slice(self, name: str, panel: Panel, deadline: float) -> float | None:
        """Poll until the slice ends or nothing is due in it; the backoff, if it failed."""
        settings = self.settings
        store = self.store
        meter = self.meters.setdefault(name, _Meter())

        def stop() -> bool:
            return self.stopping or time.time() >= deadline

        def counted(_n: int) -> None:
            meter.times.append(time.time())

        while not stop():
            try:
                report = await poll_panel(
                    store,
                    name,
                    panel,
                    cadence=settings.cadence,
                    owner=self.owner,
                    lease=settings.lease,
                    should_stop=stop,
                    on_request=counted,
                )
            except Exception as error:  # the store failed: back off this panel alone
                logger.warning("panel %s: store error %s: %s", name, type(error).__name__, error)
                return await self._back_off(name, panel, SMMPanelError(f"store: {error}"))
            self.polled += report.polled
            self.requests += report.requests
            if report.auth is not None:
                text = f"{type(report.auth).__name__}: {report.auth}"
                logger.error("panel %s paused: the panel refused the key (%s)", name, text)
                await self._publish(name, panel, {"paused": text})
                return None
            if report.failure is not None:
                return await self._back_off(name, panel, report.failure)
            if report.lease_lost:
                return None
            if report.skipped:  # a live owner outside the queue (track run?) holds it
                await anyio.sleep(1.0)
                continue
            if report.polled or report.requests:
                continue
            await self._publish(name, panel, {"backoff_until": None, "last_error": None})
            upcoming = await store.call(store.next_due, name)
            if upcoming is None or upcoming >= deadline:
                return None
            await self._sleep_until(upcoming)
        return None

    async def _back_off(self, name: str, panel: Panel, failure: SMMPanelError) -> float:
        previous = await self.store.call(_health.last_backoff, self.store, name)
        backoff = min(MAX_BACKOFF, max(FIRST_BACKOFF, (previous or 0.0) * 2))
        error = f"{type(failure).__name__}: {failure}"
        logger.warning("panel %s: backing off %.0f s after %s", name, backoff, error)
        until = time.time() + backoff
        await self._publish(name, panel, {"backoff_until": until, "last_error": error})
        return backoff

    async def _publish(self, name: str, panel: Panel, fields: dict[str, Any]) -> None:
        now = time.time()
        rate = status_budget(panel)
        state = {
            "budget": None if rate is None else rate * 60.0,
            "used": float(self.meters.setdefault(name, _Meter()).last_minute(now)),
            **fields,
        }
        try:
            await self.store.call(
                self.store.beat, name, self.owner, now, self.settings.lease, state
            )
        except Exception as error:
            logger.warning("panel %s: cannot publish its state: %s", name, error)

    async def _beat_job(self, name: str) -> None:
        """While the job runs: renew the lease, and note its latest request time."""
        store = self.store
        while True:
            await anyio.sleep(self.settings.beat)
            now = time.time()
            try:
                await store.call(
                    _health.job_beat, store, name, self.owner, now, self.sent.get(name)
                )
                await store.call(store.beat, name, self.owner, now, self.settings.lease, {})
            except Exception as error:
                logger.warning("panel %s: beat failed: %s", name, error)

    # ------------------------------------------------------------------ the process

    async def beat_worker(self) -> None:
        """This worker's health row, every ``beat`` seconds; a progress line in its log."""
        said = (0.0, 0, 0)  # when, polled, requests at the last progress line
        while True:
            now = time.time()
            held = list(self.held)
            if (held and not said[0]) or (said[0] and now - said[0] >= SUMMARY_EVERY):
                logger.info(
                    "holding %d panels; %d orders polled with %d requests since the last line",
                    len(held),
                    self.polled - said[1],
                    self.requests - said[2],
                )
                said = (now, self.polled, self.requests)
            try:
                lags = await self.store.call(_lags, self.store, held, now)
                for name, lag in lags.items():
                    if name in self.held:
                        self.held[name] = lag
                await self.store.call(
                    _health.worker_beat,
                    self.store,
                    {
                        "id": self.owner,
                        "host": self.host,
                        "pid": os.getpid(),
                        "started_at": self.started_at,
                        "beat_at": now,
                        "panels": held,
                        "lag": max(lags.values(), default=0.0),
                        "polled": self.polled,
                        "requests": self.requests,
                    },
                )
            except Exception as error:
                logger.warning("worker beat failed: %s", error)
            await anyio.sleep(self.settings.beat)

    async def schedule(self) -> int:
        """Defer a poll job for each panel with orders due soon; returns how many."""
        assert self.app is not None
        now = time.time()
        soon = now + self.settings.every
        due = await self.store.call(_due_panels, self.store, list(self.panels), soon)
        rows = await self.app.connector.execute_query_all_async(_WAITING, task=POLL_TASK)
        waiting = {row["queueing_lock"] for row in rows}
        wanted = [name for name in due if name not in waiting]
        limit = anyio.CapacityLimiter(8)  # the connection pool's size, roughly
        deferred = 0

        async def one(name: str) -> None:
            nonlocal deferred
            async with limit:
                if await self.defer(name):
                    deferred += 1

        async with anyio.create_task_group() as tg:
            for name in wanted:
                tg.start_soon(one, name)
        return deferred

    async def defer(self, name: str) -> bool:
        """One poll job for ``name``, unless one waits already."""
        from procrastinate import exceptions

        assert self.app is not None
        try:
            await self.app.configure_task(
                POLL_TASK, lock=name, queueing_lock=name, queue=POLL_QUEUE
            ).defer_async(panel=name)
        except exceptions.AlreadyEnqueued:
            return False
        return True

    app: Any = None


def _due_panels(store: Store, names: list[str], soon: float) -> list[str]:
    """Of ``names``, those with an order due by ``soon`` that are not paused or backed off."""
    if not names:
        return []
    with store.engine.connect() as conn:
        due = {
            row[0]
            for row in conn.execute(
                select(orders.c.panel)
                .where(orders.c.panel.in_(names), orders.c.next_poll_at <= soon)
                .group_by(orders.c.panel)
            )
        }
        resting = {
            row[0]
            for row in conn.execute(
                select(panels.c.name).where(
                    panels.c.name.in_(names),
                    (panels.c.paused.is_not(None)) | (panels.c.backoff_until > soon),
                )
            )
        }
    return [name for name in names if name in due and name not in resting]


def _lags(store: Store, names: list[str], now: float) -> dict[str, float]:
    """Each panel's lag: the age of its oldest due order (0 when none is due)."""
    if not names:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(orders.c.panel, func.min(orders.c.next_poll_at))
            .where(orders.c.panel.in_(names))
            .group_by(orders.c.panel)
        ).all()
    found = dict.fromkeys(names, 0.0)
    for name, oldest in rows:
        if oldest is not None:
            found[name] = max(0.0, now - oldest)
    return found


def _unpause(store: Store, names: list[str]) -> None:
    """A starting worker lifts the pauses of its panels: their keys may be fixed now."""
    if names:
        with store.engine.begin() as conn:
            conn.execute(panels.update().where(panels.c.name.in_(names)).values(paused=None))


def build_app(runtime: _Runtime, dsn: str) -> Any:
    """The Procrastinate app: the poll task and the two periodic control tasks."""
    import procrastinate
    from procrastinate import jobs

    settings = runtime.settings
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn, min_size=1, max_size=max(4, min(settings.concurrency + 4, 20))
    )
    app = procrastinate.App(connector=connector)
    cron = f"* * * * * */{settings.every}"

    @app.task(name=POLL_TASK, queue=POLL_QUEUE)
    async def poll_panel_task(panel: str) -> None:
        await runtime.poll(panel)

    @app.periodic(cron=cron, periodic_id="schedule")
    @app.task(name=SCHEDULE_TASK, queue=CONTROL_QUEUE, queueing_lock=SCHEDULE_TASK)
    async def schedule(timestamp: int) -> None:
        await runtime.schedule()

    @app.periodic(cron=cron, periodic_id="reap")
    @app.task(name=REAP_TASK, queue=CONTROL_QUEUE, queueing_lock=REAP_TASK)
    async def reap_stalled(timestamp: int) -> None:
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=settings.stalled_after
        )
        for job in stalled:
            try:
                await app.job_manager.finish_job(job, jobs.Status.FAILED, delete_job=False)
            except Exception as error:  # another worker reaped it first
                logger.debug("stalled job %s: %s", job.id, error)
                continue
            logger.warning(
                "job %s (%s %s) of a dead worker failed; its lock is free",
                job.id,
                job.task_name,
                job.task_kwargs,
            )

    runtime.app = app
    return app


async def _serve(runtime: _Runtime) -> None:
    try:
        await _work(runtime)
    finally:
        await runtime.aclose()


async def _work(runtime: _Runtime) -> None:
    settings = runtime.settings
    dsn = conninfo(settings.store)
    await runtime.store.open()
    await runtime.store.call(_health.create_tables, runtime.store)
    await runtime.store.call(_unpause, runtime.store, list(runtime.panels))
    await runtime.store.call(_health.forget_workers, runtime.store, time.time() - FORGET_AFTER)
    app = build_app(runtime, dsn)
    applied = await anyio.to_thread.run_sync(
        _apply_procrastinate_schema, dsn, app.schema_manager.get_schema()
    )
    if applied:
        logger.info("applied Procrastinate's schema")
    common: dict[str, Any] = {
        "install_signal_handlers": False,
        "update_heartbeat_interval": settings.heartbeat,
        "stalled_worker_timeout": max(settings.stalled_after * 6, 60.0),
        "fetch_job_polling_interval": settings.fetch_every,
        "delete_jobs": "successful",
        "shutdown_graceful_timeout": 30.0,
    }
    loop = asyncio.get_running_loop()
    async with app.open_async():
        tasks = [
            asyncio.create_task(
                app.run_worker_async(
                    queues=[POLL_QUEUE], concurrency=settings.concurrency, name="poll", **common
                )
            ),
            asyncio.create_task(
                app.run_worker_async(
                    queues=[CONTROL_QUEUE], concurrency=2, name="control", **common
                )
            ),
        ]
        beats = asyncio.create_task(runtime.beat_worker())

        def stop() -> None:
            if runtime.stopping:
                return
            logger.info("stopping: finishing the batches in hand")
            runtime.stopping = True
            runtime.stopped.set()
            for task in tasks:
                task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop)
        logger.info(
            "worker %s: %d panels, %d at once, hand-over within %.0f s",
            runtime.owner,
            len(runtime.panels),
            settings.concurrency,
            settings.bound,
        )
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if not runtime.stopping:  # Procrastinate stopped by itself: its database failed
                stop()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise StoreError(
                    "the task queue's worker stopped (is the database reachable?); restart it"
                )
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            beats.cancel()
            await asyncio.gather(beats, return_exceptions=True)
            await runtime.store.call(
                _health.worker_stopped, runtime.store, runtime.owner, time.time()
            )


def run_worker(settings: WorkerSettings) -> None:
    """Run one worker until SIGINT/SIGTERM (the batches in hand are finished and written)."""
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        raise ImportError(
            "track worker needs Procrastinate: pip install 'smmpanel[workers]'"
        ) from None
    conninfo(settings.store)  # refuse a SQLite store before anything starts
    runtime = _Runtime(settings)  # a mistake in the config is refused here too
    asyncio.run(_serve(runtime))
