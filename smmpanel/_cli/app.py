"""The ``smmpanel`` command line: one command per API action, plus ``fake-panel`` and ``demo``.

This module is the click group and its commands, and the console entry point. What they
share lives beside it: ``options`` (options, ``Settings``), ``ids`` (reading IDs),
``bulk`` (bulk loops and the ``Tally``), ``errors`` (exit statuses, stderr), ``output``
(rows and writers), ``demo`` (the tour).

Exit status: 0 when the command ran (per-ID panel errors such as unknown orders included),
1 when the panel could not be used (bad key, unreachable, every request failing), 2 for bad
usage. Every error is one line on stderr, never a traceback, and the key is never printed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import IO, Literal, NoReturn

import anyio
import click

from .._client import Panel
from .._config import VERSION
from .._errors import answered
from .._models import OrderStatus
from .bulk import Tally, bulk_rows, run_bulk
from .errors import Interrupted, UsageError, guarded
from .ids import parse_id, read_ids
from .options import IDCommand, Settings, id_options, order_fields, panel_command
from .output import (
    ADD_COLUMNS,
    BALANCE_COLUMNS,
    CANCEL_COLUMNS,
    REFILL_COLUMNS,
    REFILL_STATUS_COLUMNS,
    SERVICE_COLUMNS,
    STATUS_COLUMNS,
    cancel_row,
    money,
    progress,
    refill_row,
    refill_status_row,
    service_row,
    status_row,
)
from .panels import register as _register_panels

__all__ = ["cli", "main", "run"]


# ---------------------------------------------------------------------------- commands


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(VERSION, "-V", "--version", prog_name="smmpanel")
def cli() -> None:
    """Talk to an SMM panel's API from the shell: balance, services, orders, statuses.

    Set SMMPANEL_URL and SMMPANEL_KEY (or pass --url and --key after the command name).
    Try it without a panel: `smmpanel demo`, or `smmpanel fake-panel` in another shell.
    """


@cli.command()
@panel_command
def balance(settings: Settings) -> int:
    """Show the account's balance."""

    async def work(panel: Panel) -> int:
        result = await panel.balance()
        out = settings.writer(BALANCE_COLUMNS)
        out.write([{"balance": money(result.amount), "currency": result.currency}])
        return 0

    return settings.run(work)


@cli.command()
@click.option(
    "--search", metavar="TEXT", help="Only services whose name, type or category has TEXT."
)
@panel_command
def services(settings: Settings, search: str | None) -> int:
    """List the panel's services and their rates (per 1000)."""

    async def work(panel: Panel) -> int:
        catalogue = await panel.services()
        if search:
            needle = search.casefold()
            catalogue = [
                service
                for service in catalogue
                if needle
                in f"{service.id}\n{service.name}\n{service.type}\n{service.category}".casefold()
            ]
        out = settings.writer(SERVICE_COLUMNS, f"{len(catalogue)} services")
        out.write([service_row(service) for service in catalogue])
        return 0

    return settings.run(work)


@cli.command()
@click.option("--service", required=True, metavar="ID", help="The service's ID (see services).")
@click.option("--link", metavar="URL", help="The page, post or profile the order is for.")
@click.option("--quantity", type=click.IntRange(min=1), metavar="N", help="How many.")
@click.option(
    "--field",
    "field_items",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any other order field: runs, interval, comments, username, min, max, posts, "
    "delay, expiry, answer_number... May be repeated; \\n starts a new line in a list.",
)
@panel_command
def add(
    settings: Settings,
    service: str,
    link: str | None,
    quantity: int | None,
    field_items: Sequence[str],
) -> int:
    """Place an order and print its ID. Never retried once it may have reached the panel."""
    service_id = parse_id(service.strip(), "--service: ", "a service ID")
    fields = order_fields(field_items)
    placing = False

    async def work(panel: Panel) -> int:
        nonlocal placing
        try:
            placing = True
            order = await panel.add(service=service_id, link=link, quantity=quantity, **fields)
            placing = False
        except (ValueError, TypeError) as error:  # refused before anything was sent
            raise UsageError(str(error)) from None
        settings.writer(ADD_COLUMNS).write([{"order": order}])
        return 0

    try:
        return settings.run(work)
    except KeyboardInterrupt:
        if not placing:
            raise
        message = (
            "interrupted while the order was sent: it may exist; look for it before adding again"
        )
        raise Interrupted(message) from None


@cli.command(cls=IDCommand)
@id_options
@panel_command
def status(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Show the statuses of any number of orders.

    IDs come from arguments, --file, or - (stdin). They stream through: each chunk's
    rows print as soon as the panel answers it.
    """
    source = read_ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(STATUS_COLUMNS)
        tally = Tally(2 * settings.concurrency)
        chunks = panel.iter_statuses(source)
        with progress("statuses", source.total) as bar:
            async with contextlib.aclosing(chunks):
                async for bulk in chunks:
                    tally.check(bulk)
                    out.write(bulk_rows(bulk, bulk, "order", lambda _, s: status_row(s)))
                    bar.advance(len(bulk))
        return 0

    return settings.run(work)


@cli.command(cls=IDCommand)
@id_options
@panel_command
def refill(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Ask for refills of orders; prints each order's refill ID."""
    return run_bulk(
        settings,
        read_ids(ids, files, "an order ID"),
        Panel.refills,
        REFILL_COLUMNS,
        refill_row,
        label="refills",
        once=True,
    )


@cli.command("refill-status", cls=IDCommand, what="a refill ID")
@id_options
@panel_command
def refill_status(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Show refills' statuses, by refill ID."""
    return run_bulk(
        settings,
        read_ids(ids, files, "a refill ID"),
        Panel.refill_statuses,
        REFILL_STATUS_COLUMNS,
        lambda _, refill: refill_status_row(refill),
        label="refill statuses",
        once=False,
    )


@cli.command(cls=IDCommand)
@id_options
@panel_command
def cancel(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Cancel orders; prints what the panel answered for each."""
    return run_bulk(
        settings,
        read_ids(ids, files, "an order ID"),
        Panel.cancel,
        CANCEL_COLUMNS,
        cancel_row,
        label="cancels",
        once=True,
    )


@cli.command(cls=IDCommand)
@id_options
@click.option(
    "--every",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls.",
)
@panel_command
def watch(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]], every: float) -> int:
    """Follow orders and print each status change, until all are final.

    Each order's status is printed first, then a row for every change. Unknown orders
    are reported once and dropped; Ctrl-C stops early.
    """
    source = read_ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(STATUS_COLUMNS)
        orders = list(dict.fromkeys([number async for number in source]))
        first = await panel.statuses(orders)
        Tally(1).check(first)
        out.write(bulk_rows(first, orders, "order", lambda _, s: status_row(s)))
        last: dict[int, OrderStatus] = dict(first.ok)
        active = [
            order
            for order in orders
            if (order in first.ok and not first.ok[order].final)
            or (order in first.errors and not answered(first.errors[order]))
        ]
        if not active:
            return 0
        await anyio.sleep(every)
        changes = panel.watch(active, every=every)
        async with contextlib.aclosing(changes):
            async for change in changes:
                if last.get(change.order) != change:
                    last[change.order] = change
                    out.write([status_row(change)])
        return 0

    return settings.run(work)


@cli.command("fake-panel")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on; 0 picks a free one.",
)
@click.option(
    "--dialect",
    type=click.Choice(["v1", "v2"]),
    default="v2",
    show_default=True,
    help="Which API flavour to speak.",
)
@click.option("--key", metavar="KEY", help="The API key it accepts (default: test-key).")
@click.option("--balance", default="1000", show_default=True, metavar="AMOUNT", help="The balance.")
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds every answer waits, as a remote panel's would.",
)
@click.option(
    "--auto-orders",
    is_flag=True,
    help="Answer any order ID with a made-up status (for load tests).",
)
def fake_panel(
    host: str,
    port: int,
    dialect: Literal["v1", "v2"],
    key: str | None,
    balance: str,
    latency: float,
    auto_orders: bool,
) -> int:
    """Serve an in-memory fake panel over HTTP, to try things or test against.

    Only its API path (/api/v2, or /api/v1 with --dialect v1) answers; any other is a 404.
    """
    import time
    from decimal import Decimal, InvalidOperation

    from ..testing import FakePanel

    try:
        amount = Decimal(balance)
    except InvalidOperation:
        raise UsageError(f"--balance {balance[:40]!r} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(f"--balance {balance[:40]!r} is not an amount")
    fake = FakePanel(
        dialect=dialect,
        key=key or "test-key",
        realtime=True,
        balance=amount,
        latency=latency,
        auto_orders=auto_orders,
    )
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(fake.serve(host, port))
        except OSError as error:
            message = f"cannot listen on {host}:{port}: {error.strerror or error}"
            raise click.ClickException(message) from None
        click.echo(f"Fake SMM panel ({dialect}) at {url}")
        click.echo(f"API key: {fake.key}")
        click.echo(f"Try: SMMPANEL_URL={url} SMMPANEL_KEY={fake.key} smmpanel balance")
        click.echo("Ctrl-C stops it.")
        sys.stdout.flush()
        # A service manager's SIGTERM stops it as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:  # the way to stop it
            pass
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command()
@click.option(
    "--orders",
    type=click.IntRange(1, 100_000),
    default=3000,
    show_default=True,
    help="How many orders the bulk status poll asks about.",
)
def demo(orders: int) -> int:
    """Tour the library against a fake panel started in this process."""
    from .demo import run_demo

    return run_demo(orders=orders)


_register_panels(cli)  # --config/--panel, balances, cheapest, services --all/--save/diff


@cli.command(
    "track",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def track_command(args: tuple[str, ...]) -> object:
    """Follow orders until final: track add|run|status|events|worker (extra smmpanel[track])."""
    # Imported on use: the tracker's store needs SQLAlchemy, which only the extra brings.
    try:
        from .track import track
    except ModuleNotFoundError as error:
        raise UsageError(
            f"smmpanel track needs its extra ({error.name} is missing): "
            "pip install 'smmpanel[track]'"
        ) from None
    return track.main(args=list(args), prog_name="smmpanel track", standalone_mode=False)


# ---------------------------------------------------------------------------- entry point


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    return guarded(lambda: cli.main(args=argv, prog_name="smmpanel", standalone_mode=False))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``smmpanel`` console script."""
    sys.exit(run(argv))
