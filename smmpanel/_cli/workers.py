"""``smmpanel track worker`` and ``smmpanel track workers``: the distributed tracker's commands.

``track`` (the ``track`` click group) adds both and shows ``worker_lines`` under
``track status``. Procrastinate is imported only when a worker starts.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import click

from .._panels.config import read_config
from .errors import UsageError, hide, scrub

__all__ = ["worker", "worker_lines", "workers"]


class _Masked(logging.Formatter):
    """A worker's log lines, with every key of its config masked."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _cadence(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    if value is None:
        return None
    from ..tracker import Cadence

    try:
        return Cadence.of(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


_STORE = click.option(
    "--store",
    envvar="SMMPANEL_STORE",
    required=True,
    metavar="URL",
    help="The shared store: postgresql+psycopg://... (SMMPANEL_STORE).",
)


@click.command()
@click.option(
    "--config",
    envvar="SMMPANEL_CONFIG",
    required=True,
    type=click.Path(dir_okay=False),
    help="The Panels TOML file (SMMPANEL_CONFIG).",
)
@_STORE
@click.option(
    "--cadence",
    callback=_cadence,
    metavar="FIRST,MOST",
    help="Seconds to the next poll after a change, and the longest wait.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    default=16,
    show_default=True,
    help="Panels this worker polls at once.",
)
@click.option(
    "--slice",
    "slice_",
    type=click.FloatRange(0.5, 3600),
    default=30.0,
    show_default=True,
    help="Seconds a worker keeps a panel before handing it back to the queue.",
)
def worker(config: str, store: str, cadence: object, concurrency: int, slice_: float) -> int:
    """Run a tracker worker: any number of them, on any machines, share the panels.

    Needs a PostgreSQL store; the workers' task queue (Procrastinate) lives in it too.
    SIGINT/SIGTERM finish the batches in hand, then stop.
    """
    from ..tracker import Cadence, StoreError
    from ..tracker._workers import WorkerSettings, run_worker

    try:  # read here too, so that every key is masked in whatever this process writes
        panels = read_config(config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for panel in panels.panels:
        hide(panel.key)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Masked("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name, level in (("smmpanel", logging.INFO), ("procrastinate", logging.WARNING)):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(level)
    settings = WorkerSettings(
        store=store,
        config=config,
        cadence=cadence if isinstance(cadence, Cadence) else Cadence(),
        concurrency=concurrency,
        slice=slice_,
    )
    try:
        run_worker(settings)
    except (StoreError, ValueError, ImportError) as error:
        raise click.ClickException(str(error)) from None
    return 0


@click.command()
@_STORE
@click.option(
    "--unpolled-after",
    type=click.FloatRange(1, None),
    default=60.0,
    show_default=True,
    help="Flag a panel with due orders that no worker polled for this many seconds.",
)
@click.option("--format", "format_", type=click.Choice(["table", "json"]), default="table")
def workers(store: str, unpolled_after: float, format_: str) -> int:
    """Show the workers (panels held, last beat, lag) and the panels nobody polls."""
    import msgspec

    from ..tracker import Store
    from ..tracker._health import describe, health
    from ..tracker._store import StoreError

    shared = Store(store)
    try:
        shared.open_sync()
        now = time.time()
        found, panels = health(shared, now, shared.report(now), unpolled_after=unpolled_after)
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    finally:
        shared.close()
    if format_ == "json":
        for item in [*found, *panels]:
            kind = "worker" if hasattr(item, "pid") else "panel"
            record = {"kind": kind, **msgspec.to_builtins(item)}
            click.echo(msgspec.json.encode(record).decode())
    else:
        for line in describe(found, panels):
            click.echo(line)
    return 0


async def worker_lines(store: Any, reports: dict[str, Any]) -> list[str]:
    """The workers' lines for ``track status`` (none on a store no worker has used)."""
    from ..tracker._health import describe, health

    if store.engine.dialect.name != "postgresql":
        return []
    found, panels = await store.call(health, store, time.time(), reports)
    return describe(found, panels)
