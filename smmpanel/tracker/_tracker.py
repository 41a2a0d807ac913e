"""``Tracker``: follow orders on many panels until they are final, keeping every change.

One loop per panel runs ``poll_panel`` whenever orders fall due, so a panel that fails is
backed off alone while the others go on, and a panel whose key is refused is paused (and
says so in the log and in ``report()``). Everything durable is in the ``Store``; a
restart, even after ``kill -9``, resumes from it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import anyio
import attrs

from .._client import Panel
from .._errors import SMMPanelError, UncertainOrderError
from .._models import Status
from ._cadence import DEFAULT_FIRST, DEFAULT_MOST, Cadence
from ._models import Event, PanelReport, TrackedOrder
from ._poll import PollReport, poll_panel
from ._store import DEFAULT_STORE, LeaseLost, Outcome, Store, new_owner

__all__ = ["Tracker", "status_budget"]

logger = logging.getLogger("smmpanel.tracker")

FIRST_BACKOFF = 5.0
"""Seconds a failing panel rests after its first failure; doubles while it keeps failing."""
MAX_BACKOFF = 300.0
IDLE_BEAT = 5.0
"""The longest an idle panel loop sleeps before renewing its lease and looking again."""


def status_budget(panel: Panel) -> float | None:
    """Status requests a second the panel's ``rate_limit`` allows (``None``: no limit).

    ``rate_limit`` is a number (every request) or a mapping per action with ``"*"`` on top.
    """
    limit: Any = getattr(panel, "rate_limit", None)
    if limit is None:
        return None
    if isinstance(limit, int | float):
        return float(limit)
    if isinstance(limit, Mapping):
        rates = [float(limit[k]) for k in ("status", "*") if limit.get(k) is not None]
        return min(rates) if rates else None
    return None


@attrs.define
class _Meter:
    """Requests sent in the last minute (for ``budget used``)."""

    times: deque[float] = attrs.field(factory=deque)

    def add(self, now: float) -> None:
        self.times.append(now)

    def last_minute(self, now: float) -> int:
        while self.times and self.times[0] <= now - 60.0:
            self.times.popleft()
        return len(self.times)


@attrs.define
class _PanelState:
    meter: _Meter = attrs.field(factory=_Meter)
    backoff: float = 0.0
    backoff_until: float = 0.0
    paused: str | None = None
    last_error: str | None = None
    wake: anyio.Event | None = None
    polled: int = 0
    changed: int = 0


@attrs.define
class _Pending:
    panel: str
    owner: str
    outcomes: list[Outcome]
    done: anyio.Event = attrs.field(factory=anyio.Event)
    changed: int = 0
    error: BaseException | None = None


class _Batcher:
    """One writer for every panel of a tracker: batches that are ready together are written
    in one transaction, so many panels cost one commit, not one each."""

    def __init__(self, tracker: Tracker) -> None:
        self._tracker = tracker
        self._pending: list[_Pending] = []
        self._wake = anyio.Event()

    async def write(self, panel: str, owner: str, outcomes: list[Outcome]) -> int:
        item = _Pending(panel, owner, outcomes)
        self._pending.append(item)
        self._wake.set()
        await item.done.wait()
        if item.error is not None:
            raise item.error
        return item.changed

    async def run(self) -> None:
        tracker = self._tracker
        store = tracker.store
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await store.call(
                        store.write_many,
                        [(item.panel, item.owner, item.outcomes) for item in batch],
                        tracker._clock(),
                        tracker.cadence,
                        tracker.lease,
                        tracker._rng.getrandbits(32),
                    )
                except Exception as error:
                    for item in batch:
                        item.error = error
                        item.done.set()
                    continue
                for item, changed in zip(batch, results, strict=True):
                    if changed is None:
                        item.error = LeaseLost(item.panel)
                    else:
                        item.changed = changed
                        tracker._polled += len(item.outcomes)
                    item.done.set()


class Tracker:
    """Tracks orders on ``panels`` (any mapping of names to ``Panel``s) in ``store``.

    ``store`` is a SQLAlchemy URL (``sqlite:///PATH``, ``postgresql+psycopg://...``) or a
    ``Store``. ``cadence`` is ``(first, most)`` in seconds (see ``Cadence``). ``lease`` is
    how long a panel stays this tracker's without a write or beat (another process may
    take it after that; at once if this one died on the same host). ``backoff`` is the
    first and longest rest of a failing panel, in seconds. The panels stay the caller's:
    the tracker never closes them.
    """

    def __init__(
        self,
        panels: Mapping[str, Panel],
        *,
        store: str | Store = DEFAULT_STORE,
        cadence: Cadence | tuple[float, float] | str = (DEFAULT_FIRST, DEFAULT_MOST),
        lease: float = 60.0,
        owner: str | None = None,
        backoff: tuple[float, float] = (FIRST_BACKOFF, MAX_BACKOFF),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(panels, Mapping):
            raise TypeError(f"panels must be a mapping of names to Panels, got {panels!r:.60}")
        self.panels = panels
        self.store = store if isinstance(store, Store) else Store(store)
        self._owns_store = not isinstance(store, Store)
        self.cadence = Cadence.of(cadence)
        if not (isinstance(lease, int | float) and math.isfinite(lease) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.lease = float(lease)
        self.owner = owner or new_owner()
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self._clock = clock
        self._state = {name: _PanelState() for name in panels}
        self._stopping = False
        self._stop_event: anyio.Event | None = None
        self._rng = random.Random()
        self._batcher: _Batcher | None = None
        self._polled = 0

    def __repr__(self) -> str:
        return f"<Tracker panels={list(self.panels)} store={self.store!r}>"

    async def __aenter__(self) -> Self:
        await self.store.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the store if the tracker made it (the panels are the caller's)."""
        if self._owns_store:
            await self.store.call(self.store.close)

    # ------------------------------------------------------------------ orders in

    def _panel(self, name: str) -> Panel:
        try:
            return self.panels[name]
        except KeyError:
            raise KeyError(f"no panel named {name!r}; known: {sorted(self.panels)}") from None

    async def track(
        self, panel: str, orders: Iterable[int | str], *, ref: str | None = None
    ) -> int:
        """Follow these orders of ``panel`` (idempotent); returns how many were new.

        Every ID is checked first (a positive integer): a bad one raises ``ValueError``
        and nothing is written.
        """
        self._panel(panel)
        if ref is not None and not isinstance(ref, str):
            raise TypeError(f"ref must be a string or None, got {type(ref).__name__}")
        ids = list(dict.fromkeys(_check_id(value) for value in _iterable(orders)))
        added = await self.store.call(self.store.track, panel, ids, ref, self._clock())
        self._wake(panel)
        return added

    async def place(self, panel: str, *, ref: str | None = None, **add_arguments: Any) -> int:
        """Place an order with ``panel.add`` and track it; returns the new order's ID.

        The intent is written first. An ``UncertainOrderError`` (the order may exist)
        leaves that row ``uncertain`` with the fields sent, for a person to reconcile
        (``uncertain()``, ``resolve()``), and is raised. An ``add`` that surely placed
        nothing (refused, never sent) leaves no row. Nothing is ever sent twice.
        """
        target = self._panel(panel)
        refused = {"key", "action"} & set(add_arguments)
        if refused:  # checked before the intent is written: a key never reaches the store
            raise ValueError(f"place() fields must not include {sorted(refused)}")
        fields = {name: _text(value) for name, value in add_arguments.items() if value is not None}
        row = await self.store.call(self.store.intent, panel, ref, fields, self._clock())
        try:
            order = await target.add(**add_arguments)
        except UncertainOrderError as error:
            with anyio.CancelScope(shield=True):
                await self.store.call(self.store.uncertain_fields, row, error.fields or fields)
            logger.warning(
                "panel %s: add had no readable answer; uncertain order kept as row %d",
                panel,
                row,
            )
            raise
        except (SMMPanelError, ValueError, TypeError):
            with anyio.CancelScope(shield=True):
                await self.store.call(self.store.unplaced, row)
            raise
        # Cancelled while add was in flight: the row stays uncertain (the order may exist).
        with anyio.CancelScope(shield=True):
            await self.store.call(self.store.placed, row, order, self._clock())
        self._wake(panel)
        return order

    async def resolve(self, row: int, order: int | None) -> None:
        """Settle an uncertain row (``TrackedOrder.id``): it is ``order``, or nothing exists."""
        await self.store.call(
            self.store.resolve, row, None if order is None else _check_id(order), self._clock()
        )

    # ------------------------------------------------------------------ reading

    async def get(self, panel: str, order: int | str) -> TrackedOrder | None:
        """The tracked order, or ``None`` when it is not tracked."""
        return await self.store.call(self.store.get, panel, _check_id(order))

    async def uncertain(self) -> list[TrackedOrder]:
        """Rows whose ``add`` may or may not have placed an order."""
        return await self.store.call(self.store.uncertain)

    async def events(
        self,
        *,
        after: int = 0,
        follow: bool = False,
        panel: str | None = None,
        every: float = 1.0,
        batch: int = 1000,
    ) -> AsyncIterator[Event]:
        """Events with ``id > after``, oldest first; ``follow=True`` waits for new ones.

        Keep the last ``id`` you handled with your own write and pass it as ``after``
        next time: every change is seen exactly once, across restarts.
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a non-negative event id, got {after!r}")
        while True:
            found = await self.store.call(self.store.events, after, batch, panel)
            for found_event in found:
                yield found_event
                after = found_event.id
            if len(found) == batch:
                continue
            if not follow:
                return
            await anyio.sleep(every)

    async def summary(self) -> dict[str, dict[Status, int]]:
        """Per panel, how many orders are in each status (orders with no answer yet aside)."""
        return {name: report.counts for name, report in (await self.report()).items()}

    async def report(self) -> dict[str, PanelReport]:
        """Per panel: counts, due, lag, budget and its use, lease owner, pause, backoff."""
        now = self._clock()
        reports = await self.store.call(self.store.report, now, list(self.panels))
        for name, state in self._state.items():
            live = reports.get(name)
            if live is None:
                continue
            budget = status_budget(self.panels[name])
            updates: dict[str, Any] = {}
            if live.owner in (None, self.owner):
                updates["used"] = float(state.meter.last_minute(now))
                updates["budget"] = None if budget is None else budget * 60.0
                if state.paused:
                    updates["paused"] = state.paused
            reports[name] = attrs.evolve(live, **updates)
        return reports

    @property
    def polled(self) -> int:
        """Orders answered (a status, or not found) and written by this tracker so far."""
        return self._polled

    # ------------------------------------------------------------------ running

    def stop(self) -> None:
        """Ask ``run()`` to return once the batches in hand are written."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        for state in self._state.values():
            if state.wake is not None:
                state.wake.set()

    async def run(self, *, until_idle: bool = False) -> None:
        """Poll due orders on every panel until cancelled or ``stop()``.

        ``until_idle=True`` returns once every tracked order is final or not found (a
        paused panel's orders aside).
        """
        self._stopping = False
        self._stop_event = anyio.Event()
        batcher = self._batcher = _Batcher(self)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(batcher.run)
                async with anyio.create_task_group() as loops:
                    for name in self.panels:
                        loops.start_soon(self._loop, name, until_idle)
                tg.cancel_scope.cancel()  # every loop has written its last batch
        finally:
            with anyio.CancelScope(shield=True):
                for name in self.panels:
                    await self.store.call(self.store.release, name, self.owner)

    def _wake(self, name: str) -> None:
        state = self._state.get(name)
        if state is not None and state.wake is not None:
            state.wake.set()

    async def _nap(self, state: _PanelState, seconds: float) -> None:
        if seconds <= 0 or self._stopping:
            return
        state.wake = anyio.Event()
        with anyio.move_on_after(seconds):
            await state.wake.wait()
        state.wake = None

    async def _loop(self, name: str, until_idle: bool) -> None:
        panel = self.panels[name]
        state = self._state[name]
        state.paused = None
        budget = status_budget(panel)
        published = 0.0
        while not self._stopping:
            now = self._clock()
            if now - published >= IDLE_BEAT:  # others read it: track status, report()
                await self._publish(name, state, budget)
                published = now
            if state.backoff_until > now:
                await self._nap(state, state.backoff_until - now)
                continue
            try:
                report = await poll_panel(
                    self.store,
                    name,
                    panel,
                    cadence=self.cadence,
                    owner=self.owner,
                    lease=self.lease,
                    should_stop=lambda: self._stopping,
                    clock=self._clock,
                    on_request=lambda _n: state.meter.add(self._clock()),
                    rng=self._rng,
                    write=None if self._batcher is None else self._batcher.write,
                )
            except Exception as error:  # the store failed: back off, keep the others going
                logger.warning("panel %s: store error %s: %s", name, type(error).__name__, error)
                report = PollReport(name, failure=SMMPanelError(f"store: {error}"))
            state.polled += report.polled
            state.changed += report.changed
            if report.auth is not None:
                state.paused = f"{type(report.auth).__name__}: {report.auth}"
                logger.error("panel %s paused: the panel refused the key (%s)", name, report.auth)
                await self._publish(name, state, budget)
                return
            if report.failure is not None:
                state.backoff = min(self.backoff[1], max(self.backoff[0], state.backoff * 2))
                state.backoff_until = self._clock() + state.backoff * (0.5 + self._rng.random())
                state.last_error = f"{type(report.failure).__name__}: {report.failure}"
                logger.warning(
                    "panel %s: backing off %.0f s after %s",
                    name,
                    state.backoff_until - self._clock(),
                    state.last_error,
                )
                await self._publish(name, state, budget)
                continue
            state.backoff = 0.0
            if report.skipped:  # another process polls this panel
                await self._nap(state, min(self.lease / 2, IDLE_BEAT))
                continue
            if report.polled or report.requests:
                continue
            await self._publish(name, state, budget)
            upcoming = await self.store.call(self.store.next_due, name)
            if upcoming is None:
                if until_idle:
                    return
                await self._nap(state, IDLE_BEAT)
            else:
                await self._nap(state, min(IDLE_BEAT, upcoming - self._clock()))

    async def _publish(self, name: str, state: _PanelState, budget: float | None) -> None:
        now = self._clock()
        fields = {
            "paused": state.paused,
            "backoff_until": state.backoff_until or None,
            "last_error": state.last_error,
            "budget": None if budget is None else budget * 60.0,
            "used": float(state.meter.last_minute(now)),
        }
        try:
            await self.store.call(self.store.beat, name, self.owner, now, self.lease, fields)
        except Exception as error:
            logger.warning("panel %s: cannot publish its state: %s", name, error)


def _iterable(orders: Iterable[int | str]) -> Iterable[int | str]:
    if isinstance(orders, str | bytes | int):
        raise TypeError("orders must be an iterable of IDs, not a single value")
    return orders


def _check_id(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"an order ID must be a positive integer, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    else:
        raise ValueError(f"an order ID must be a positive integer, got {value!r:.40}")
    if number <= 0:
        raise ValueError(f"an order ID must be a positive integer, got {value!r}")
    return number


def _text(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "\n".join(map(str, value))
    return str(value)
