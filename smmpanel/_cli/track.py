"""``smmpanel track add|run|status|events``: the order tracker on the command line.

The panels come from ``--config PATH`` (``SMMPANEL_CONFIG``, the ``Panels`` TOML) or, for
one panel named ``main``, from ``--url``/``--key`` as for the other commands; the store
from ``--store URL`` (``SMMPANEL_STORE``). Exit status as for the other commands: 2 for bad
usage (an ID that is not a positive integer), 1 for an unknown panel or an unusable store.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

import anyio
import click

from .._client import Panel
from .._panels import Panels
from ..tracker import DEFAULT_STORE, Cadence, Event, PanelReport, StoreError, Tracker
from .errors import UsageError, guarded, hide, scrub
from .ids import read_ids
from .output import Column, money, status_row, writer
from .workers import worker, worker_lines, workers

__all__ = ["run_track", "track"]

logger = logging.getLogger("smmpanel.tracker")


# ---------------------------------------------------------------------------- panels and store


@contextlib.asynccontextmanager
async def _panels(config: str | None, url: str | None, key: str | None) -> AsyncIterator[Any]:
    """The panels to track, closed afterwards."""
    if config:
        try:
            loaded = Panels.from_toml(config)
        except ValueError as error:
            raise UsageError(str(error)) from None
        async with loaded:
            yield loaded
        return
    if url and key:
        try:
            made = {"main": Panel(url, key)}
        except ValueError as error:
            raise UsageError(str(error)) from None
    else:
        raise UsageError(
            "no panels: give --config PATH (or SMMPANEL_CONFIG), or --url and --key for one"
        )
    try:
        yield made
    finally:
        for panel in made.values():
            await panel.aclose()


@contextlib.asynccontextmanager
async def _tracker(options: dict[str, Any], **kwargs: Any) -> AsyncIterator[Tracker]:
    async with _panels(options["config"], options["url"], options["key"]) as panels:
        tracker = Tracker(panels, store=options["store"], **kwargs)
        try:
            await tracker.store.open()
        except StoreError as error:
            raise click.ClickException(str(error)) from None
        try:
            yield tracker
        finally:
            await tracker.aclose()


def _common(func: Callable[..., int]) -> Callable[..., int]:
    """The options every ``track`` command takes, after its name."""
    for option in reversed(
        [
            click.option(
                "--config",
                envvar="SMMPANEL_CONFIG",
                type=click.Path(dir_okay=False),
                help="The panels' TOML file ([panels.NAME] tables).",
            ),
            click.option(
                "--store",
                envvar="SMMPANEL_STORE",
                default=DEFAULT_STORE,
                show_default=True,
                help="SQLAlchemy URL: sqlite:///PATH or postgresql+psycopg://...",
            ),
            click.option("--url", envvar="SMMPANEL_URL", help="One panel's API URL (as 'main')."),
            click.option(
                "--key", envvar="SMMPANEL_KEY", help="That panel's API key.", show_envvar=True
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["table", "json", "csv"]),
                default="table",
                show_default=True,
            ),
        ]
    ):
        func = option(func)
    return func


def _options(config: str | None, store: str, url: str | None, key: str | None) -> dict[str, Any]:
    hide(key)
    return {"config": config, "store": store, "url": url, "key": key}


def _known(tracker: Tracker, name: str) -> None:
    if name not in tracker.panels:
        raise click.ClickException(f"no panel named {name!r}; known: {', '.join(tracker.panels)}")


# ---------------------------------------------------------------------------- commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def track() -> None:
    """Follow orders on many panels until they are final, keeping every change."""


track.add_command(worker)  # the distributed tracker (extra ``workers``, issue 13)
track.add_command(workers)


@track.command("add")
@click.option("--panel", "panel_name", required=True, help="The panel the orders are on.")
@click.option("--ref", help="Your reference for these orders (an invoice, a user).")
@click.argument("ids", nargs=-1)
@_common
def add_command(
    panel_name: str,
    ref: str | None,
    ids: Sequence[str],
    config: str | None,
    store: str,
    url: str | None,
    key: str | None,
    fmt: str,
) -> int:
    """Track orders: IDs as arguments, or - to read them from stdin."""
    source = read_ids(ids, [], "an order ID")
    options = _options(config, store, url, key)

    async def work() -> int:
        async with _tracker(options) as tracker:
            _known(tracker, panel_name)
            given = new = 0
            async for batch in source.batches(10_000):
                given += len(batch)
                new += await tracker.track(panel_name, batch, ref=ref)
        row = {"panel": panel_name, "given": given, "new": new}
        columns = (Column("panel", "Panel"), Column("given", "Given"), Column("new", "New"))
        writer(fmt, columns).write([row])
        return 0

    return anyio.run(work)


@track.command("run")
@click.option("--until-idle", is_flag=True, help="Stop once every order is final or not found.")
@click.option(
    "--cadence",
    default=None,
    metavar="FIRST,MOST",
    help="Seconds from a change to the next poll, and the longest wait (default 60,3600).",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds between summary lines when stderr is not a terminal.",
)
@_common
def run_command(
    until_idle: bool,
    cadence: str | None,
    every: float,
    config: str | None,
    store: str,
    url: str | None,
    key: str | None,
    fmt: str,
) -> int:
    """Poll due orders until interrupted (SIGINT/SIGTERM finish the batch in hand)."""
    try:
        pace = Cadence.of(cadence) if cadence else Cadence()
    except ValueError as error:
        raise UsageError(str(error)) from None
    options = _options(config, store, url, key)
    _log_to_stderr()

    async def work() -> int:
        async with _tracker(options, cadence=pace) as tracker:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_signals, tracker, tg.cancel_scope)
                tg.start_soon(_live, tracker, every)
                await tracker.run(until_idle=until_idle)
                tg.cancel_scope.cancel()
            end = "\n" if sys.stderr.isatty() else ""
            sys.stderr.write(f"{end}track: {_line(await tracker.report(), None)}\n")
        return 0

    return anyio.run(work)


@track.command("status")
@click.option("--panel", "panel_name", default=None, help="Only this panel.")
@_common
def status_command(
    panel_name: str | None,
    config: str | None,
    store: str,
    url: str | None,
    key: str | None,
    fmt: str,
) -> int:
    """Per panel: orders by status, due, lag, budget used, pause and backoff."""
    options = _options(config, store, url, key)

    async def work() -> int:
        async with _tracker(options) as tracker:
            if panel_name is not None:
                _known(tracker, panel_name)
            reports = await tracker.report()
            health = await worker_lines(tracker.store, reports)  # the workers (issue 13)
        shown = [r for r in reports.values() if panel_name is None or r.panel == panel_name]
        if fmt == "json":
            writer("json", ()).write([r.as_dict() for r in shown])
            return 0
        words = sorted({status.value for r in shown for status in r.counts})
        columns = [Column("panel", "Panel")]
        columns += [Column(word, word.replace("_", " ").capitalize(), right=True) for word in words]
        columns += [
            Column("new", "New", right=True),
            Column("not_found", "Not found", right=True),
            Column("uncertain", "Uncertain", right=True),
            Column("due", "Due", right=True),
            Column("lag", "Lag (s)", right=True),
            Column("budget_used", "Budget used"),
            Column("state", "State"),
        ]
        writer(fmt, columns).write([_status_row(r, words) for r in shown])
        if fmt == "table" and health:  # the workers (issue 13)
            click.echo("\n".join(["", *health]))
        return 0

    return anyio.run(work)


@track.command("events")
@click.option("--after", type=click.IntRange(min=0), default=0, help="Only events after this id.")
@click.option("--follow", is_flag=True, help="Keep waiting for new events.")
@click.option("--panel", "panel_name", default=None, help="Only this panel's events.")
@_common
def events_command(
    after: int,
    follow: bool,
    panel_name: str | None,
    config: str | None,
    store: str,
    url: str | None,
    key: str | None,
    fmt: str,
) -> int:
    """Every change, oldest first: keep the last id you handled and pass it as --after."""
    options = _options(config, store, url, key)
    columns = (
        Column("id", "Id", 8, right=True),
        Column("panel", "Panel", 12),
        Column("order", "Order", 10, right=True),
        Column("ref", "Ref", 12),
        Column("at", "At", 27),
        Column("previous", "From", 11),
        Column("current", "To", 11),
        Column("charge", "Charge", 10, right=True),
        Column("remains", "Remains", 9, right=True),
        Column("raw_status", "Panel's word"),
    )
    out = writer(fmt, columns)

    async def work() -> int:
        async with _tracker(options) as tracker:
            if panel_name is not None:
                _known(tracker, panel_name)
            batch: list[dict[str, Any]] = []
            async for event in tracker.events(after=after, follow=follow, panel=panel_name):
                batch.append(_event_json(event) if fmt == "json" else _event_row(event))
                if len(batch) >= 500 or follow:
                    out.write(batch)
                    sys.stdout.flush()
                    batch = []
            out.write(batch)
        return 0

    with contextlib.suppress(KeyboardInterrupt):
        return anyio.run(work)
    return 130


# ---------------------------------------------------------------------------- rows and lines


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "panel": event.panel,
        "order": event.order,
        "ref": event.ref,
        "at": event.at.isoformat(),
        "previous": None if event.previous is None else status_row(event.previous),
        "current": status_row(event.current),
    }


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "panel": event.panel,
        "order": event.order,
        "ref": event.ref,
        "at": event.at.isoformat(timespec="milliseconds"),
        "previous": None if event.previous is None else event.previous.status.value,
        "current": event.current.status.value,
        "charge": money(event.current.charge),
        "remains": event.current.remains,
        "raw_status": event.current.raw_status,
    }


def _status_row(report: PanelReport, words: list[str]) -> dict[str, Any]:
    counts = {status.value: n for status, n in report.counts.items()}
    used = report.budget_used
    state = "paused: " + report.paused if report.paused else ""
    if not state and report.backoff_until is not None:
        state = f"backing off until {report.backoff_until:%H:%M:%S}"
    return {
        "panel": report.panel,
        **{word: counts.get(word, 0) for word in words},
        "new": report.new,
        "not_found": report.not_found,
        "uncertain": report.uncertain,
        "due": report.due,
        "lag": round(report.lag, 1),
        "budget_used": "no limit" if used is None else f"{used:.0%}",
        "state": state,
    }


def _line(reports: dict[str, PanelReport], polled: float | None) -> str:
    """One line: orders due, polled a minute, budget used per panel, oldest overdue."""
    due = sum(r.due for r in reports.values())
    used = sum(r.used for r in reports.values())
    lag = max((r.lag for r in reports.values()), default=0.0)
    budgets = []
    for r in reports.values():
        share = r.budget_used
        mark = "paused" if r.paused else "no limit" if share is None else f"{share:.0%}"
        budgets.append(f"{r.panel} {mark}")
    final = sum(n for r in reports.values() for s, n in r.counts.items() if s.final)
    total = sum(sum(r.counts.values()) + r.new for r in reports.values())
    rate = "" if polled is None else f"{polled:.0f} polled/min, "
    return (
        f"{due} due, {rate}{used:.0f} requests/min, final {final}/{total}, "
        f"oldest overdue {lag:.0f}s | budget: {', '.join(budgets)}"
    )


class _PerMinute:
    """Orders polled in the last minute, from samples of ``Tracker.polled``."""

    def __init__(self, tracker: Tracker, clock: Callable[[], float]) -> None:
        self._tracker = tracker
        self._clock = clock
        self._samples: deque[tuple[float, int]] = deque([(clock(), tracker.polled)])

    def __call__(self) -> float:
        now, polled = self._clock(), self._tracker.polled
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= now - 60.0:
            samples.popleft()
        start, before = samples[0]
        samples.append((now, polled))
        return (polled - before) * 60.0 / max(now - start, 1.0)


async def _live(
    tracker: Tracker,
    every: float,
    stream: IO[str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    refresh: float = 1.0,
) -> None:
    """A live line on a terminal (every ``refresh`` s); a summary line every ``every`` s
    otherwise (a log, a pipe: no carriage returns in it)."""
    out = stream or sys.stderr
    tty = out.isatty()
    per_minute = _PerMinute(tracker, clock)
    while True:
        await anyio.sleep(refresh if tty else every)
        line = _line(await tracker.report(), per_minute())
        if tty:
            out.write("\r\x1b[K" + line[: _width(out) - 1])
        else:
            out.write(f"track: {line}\n")
        out.flush()


def _width(out: IO[str]) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, io.UnsupportedOperation):
        return 120


async def _signals(tracker: Tracker, scope: anyio.CancelScope) -> None:
    """SIGINT/SIGTERM: finish the batch in hand and stop; a second one stops at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if tracker._stopping:
                scope.cancel()
                return
            sys.stderr.write("\ntrack: stopping after the batch in hand (again to stop now)\n")
            tracker.stop()


class _Scrubbed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _log_to_stderr(stream: IO[str] | None = None) -> None:
    """The tracker's warnings (backoff, pause) on stderr, one line each, keys masked."""
    if any(getattr(h, "_smmpanel_track", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Scrubbed("%(asctime)s track: %(message)s", "%H:%M:%S"))
    handler._smmpanel_track = True  # type: ignore[attr-defined]
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)


def run_track(argv: Sequence[str] | None = None) -> int:
    """Run ``smmpanel track`` on ``argv``; returns the exit status (for tests, until merged)."""
    return guarded(lambda: track.main(args=argv, prog_name="smmpanel track", standalone_mode=False))
