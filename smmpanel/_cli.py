"""The ``smmpanel`` command line: one command per API action, plus ``fake-panel`` and ``demo``.

Exit status: 0 when the command ran (per-ID panel errors such as unknown orders included),
1 when the panel could not be used (bad key, unreachable, every request failing), 2 for bad
usage. Every error is one line on stderr, never a traceback, and the key is never printed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import queue
import re
import signal
import sys
import threading
import warnings
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from typing import IO, Any, Literal, NoReturn, TypeVar

try:
    import click
except ModuleNotFoundError:  # pragma: no cover - depends on how smmpanel was installed
    raise SystemExit(
        "error: the smmpanel command line needs its extra: pip install 'smmpanel[cli]'"
    ) from None

import anyio
import anyio.to_thread
import attrs

from ._client import Panel
from ._config import DEFAULT_TIMEOUT, MAX_CHUNK, VERSION
from ._errors import AuthenticationError, PanelError, RateLimitError, SMMPanelError
from ._models import Bulk, OrderStatus
from ._output import (
    ADD_COLUMNS,
    BALANCE_COLUMNS,
    CANCEL_COLUMNS,
    FORMATS,
    REFILL_COLUMNS,
    REFILL_STATUS_COLUMNS,
    SERVICE_COLUMNS,
    STATUS_COLUMNS,
    Column,
    Row,
    Writer,
    money,
    progress,
    refill_status_row,
    service_row,
    status_row,
    writer,
)

__all__ = ["cli", "main", "run"]

T = TypeVar("T")
logger = logging.getLogger("smmpanel.cli")

# Read this much of a file or stdin at a time: big enough that a million IDs do not cost
# a million thread hops, small enough that memory stays flat.
_READ_SIZE = 64 * 1024
_SEPARATORS = frozenset(b" \t\r\n\v\f,")
_MAX_TOKEN = 64  # no ID is this long: a longer run of non-separators is not an ID
_LIST_FIELDS = frozenset({"comments", "usernames", "hashtags", "groups"})
_OPTION_FIELDS = frozenset({"service", "link", "quantity"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Texts that must never reach the terminal: the key, from --key or SMMPANEL_KEY. Errors are
# printed after click's context is gone, hence a module-level set.
_SECRETS: set[str] = set()


class UsageError(Exception):
    """Bad usage found after parsing (exit 2): a missing URL, a refused field."""


class BadID(ValueError):
    """An ID that is not a positive integer (exit 2).

    A ``ValueError`` on purpose: raised while ``Panel.iter_statuses`` reads IDs, it stops the
    reading cleanly, the chunks read before it are still answered, then it surfaces here.
    """


class ReadError(ValueError):
    """A file or stdin could not be read mid-way (exit 1); a ``ValueError`` like ``BadID``."""


# ---------------------------------------------------------------------------- rows


def _bulk_rows(
    bulk: Bulk[T], ids: Iterable[int], key: str, row: Callable[[int, T], Row]
) -> Iterable[Row]:
    """One row per ID in ``ids`` order: its value's row, or its error."""
    for id in ids:
        if id in bulk.ok:
            yield row(id, bulk.ok[id])
        elif id in bulk.errors:
            yield {key: id, "error": _scrub(bulk.errors[id].message)}


# ---------------------------------------------------------------------------- IDs


def _parse_id(token: str | bytes, where: str, what: str) -> int:
    if token.isdigit() and token.isascii():
        number = int(token)
        if number > 0:
            return number
    shown = token.decode(errors="replace") if isinstance(token, bytes) else token
    raise BadID(f"{where}{shown[:40]!r} is not {what} (a positive integer)")


@attrs.frozen
class IDs:
    """Where a command's IDs come from: arguments (checked up front), then files or stdin.

    Files are read lazily, a piece at a time off the event loop, so a million IDs on stdin
    are never all in memory and a slow producer never blocks the requests in flight.
    """

    numbers: tuple[int, ...]
    streams: tuple[tuple[str, IO[bytes]], ...]
    what: str = "an order ID"

    @property
    def total(self) -> int | None:
        """How many IDs, when known before reading (arguments only)."""
        return None if self.streams else len(self.numbers)

    async def __aiter__(self) -> AsyncIterator[int]:
        for number in self.numbers:
            yield number
        for name, stream in self.streams:
            tokens = _Tokens(name, self.what)
            async for data in _reads(name, stream):
                for token in tokens.feed(data):
                    yield token
            for token in tokens.end():
                yield token

    async def batches(self, size: int) -> AsyncIterator[list[int]]:
        """The IDs in lists of at most ``size``."""
        batch: list[int] = []
        async for number in self:
            batch.append(number)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


class _Tokens:
    """IDs from bytes read in arbitrary pieces: an ID cut by a read waits for the next one.

    Separators are whitespace and commas; lines are counted for error messages. Memory is
    one read plus one unfinished token, however long the lines.
    """

    def __init__(self, name: str, what: str) -> None:
        self._name = name
        self._what = what
        self._line = 1
        self._rest = b""

    def feed(self, data: bytes) -> Iterator[int]:
        """The IDs complete in ``data`` (with what was left over before it)."""
        data = self._rest + data
        end = len(data)
        while end and data[end - 1] not in _SEPARATORS:
            end -= 1
        self._rest = data[end:]
        yield from self._split(data[:end])
        if len(self._rest) > _MAX_TOKEN:
            self._fail(self._rest)

    def end(self) -> Iterator[int]:
        """The last ID, once the input has ended."""
        rest, self._rest = self._rest, b""
        return self._split(rest)

    def _split(self, data: bytes) -> Iterator[int]:
        for number, text in enumerate(data.split(b"\n")):
            if number:
                self._line += 1
            for token in text.replace(b",", b" ").split():
                if token.isdigit() and token.isascii() and int(token) > 0:
                    yield int(token)
                else:
                    self._fail(token)

    def _fail(self, token: bytes) -> NoReturn:
        shown = token[:40].decode(errors="replace")
        where = f"{self._name}, line {self._line}: "
        raise BadID(f"{where}{shown!r} is not {self._what} (a positive integer)")


async def _reads(name: str, stream: IO[bytes]) -> AsyncIterator[bytes]:
    """What ``stream`` holds, in pieces read ahead by a daemon thread, a few at most.

    A daemon thread reading the raw file descriptor, not an anyio worker reading the
    buffered file: a read blocked on a terminal or a slow pipe must neither keep the process
    alive after Ctrl-C or an early error, nor hold a buffer lock the interpreter's shutdown
    needs. The async side waits in short slices, so its own worker is soon free again.
    """
    pieces: queue.Queue[bytes | OSError] = queue.Queue(maxsize=4)
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file: read it as it is
        fd = None

    def read() -> None:
        try:
            while data := (os.read(fd, _READ_SIZE) if fd is not None else stream.read(_READ_SIZE)):
                pieces.put(data)
        except OSError as error:
            pieces.put(error)
        else:
            pieces.put(b"")

    threading.Thread(target=read, name=f"smmpanel: read {name}", daemon=True).start()
    while True:
        try:
            data = await anyio.to_thread.run_sync(_next, pieces, abandon_on_cancel=True)
        except queue.Empty:
            continue
        if isinstance(data, OSError):
            raise ReadError(f"cannot read {name}: {data.strerror or data}")
        if not data:
            return
        yield data


def _next(pieces: queue.Queue[T]) -> T:
    return pieces.get(timeout=0.25)


def _ids(args: Sequence[str], files: Sequence[IO[bytes]], what: str) -> IDs:
    """Check the ID arguments; ``-`` among them (or ``--file -``) means stdin."""
    numbers: list[int] = []
    streams: list[tuple[str, IO[bytes]]] = []
    for arg in args:
        if arg == "-":
            streams.append(("stdin", sys.stdin.buffer))
        else:
            numbers.append(_parse_id(arg, "", what))
    for file in files:
        name = getattr(file, "name", "file")
        streams.append(("stdin" if name == "<stdin>" else str(name), file))
    if not numbers and not streams:
        raise UsageError("no IDs: give them as arguments, with --file PATH, or - for stdin")
    return IDs(tuple(numbers), tuple(streams), what)


# ---------------------------------------------------------------------------- failures


def _answered(error: SMMPanelError) -> bool:
    """The panel read the request and answered about this ID (an unknown order, say)."""
    return isinstance(error, PanelError) and not isinstance(
        error, AuthenticationError | RateLimitError
    )


class Tally:
    """Tells per-ID errors (printed, exit 0) from a panel that cannot be used (exit 1).

    A bad key ends the command at once. So does a first batch where no ID got an answer,
    and, later on, ``patience`` such batches in a row: the panel is down, and waiting out
    every remaining chunk's retries would only delay the verdict.
    """

    def __init__(self, patience: int) -> None:
        self.answered = 0
        self._streak = 0
        self._patience = patience

    def check(self, bulk: Bulk[Any]) -> None:
        """Raise the batch's first error when it shows the panel cannot be used."""
        answered = len(bulk.ok)
        for error in bulk.errors.values():
            if isinstance(error, AuthenticationError):
                raise error
            answered += _answered(error)
        if answered or not bulk.errors:
            self.answered += answered
            self._streak = 0
            return
        self._streak += 1
        if not self.answered or self._streak >= self._patience:
            raise next(iter(bulk.errors.values()))


# ---------------------------------------------------------------------------- options


@attrs.frozen
class Settings:
    """What every panel command shares: where the panel is, how to talk to it, the format."""

    url: str
    key: str = attrs.field(repr=False)
    fmt: str
    timeout: float
    retries: int
    concurrency: int
    rate_limit: float | None

    def panel(self) -> Panel:
        """A ``Panel`` for these settings; a URL it refuses is bad usage."""
        try:
            return Panel(
                self.url,
                self.key,
                timeout=self.timeout,
                retries=self.retries,
                concurrency=self.concurrency,
                rate_limit=self.rate_limit,
            )
        except ValueError as error:
            raise UsageError(str(error)) from None

    def writer(self, columns: Sequence[Column], title: str | None = None) -> Writer:
        """The writer for ``--format``."""
        return writer(self.fmt, columns, title)


def _remember_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        _SECRETS.add(value)
    return value


_PANEL_OPTIONS = (
    click.option(
        "--url",
        envvar="SMMPANEL_URL",
        show_envvar=True,
        metavar="URL",
        help="The panel's API URL as its docs print it, e.g. https://panel.example/api/v2.",
    ),
    click.option(
        "--key",
        envvar="SMMPANEL_KEY",
        show_envvar=True,
        show_default=False,
        metavar="KEY",
        callback=_remember_key,
        help="Your API key; prefer the env var, as other users can see command lines.",
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table: for people; json: JSON Lines; csv: a header row, then one row each.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds for each phase of one HTTP request.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=3,
        show_default=True,
        help="Extra attempts for reads (writes only when the request never left).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Requests in flight at most.",
    ),
    click.option(
        "--rate-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="PER_SECOND",
        help="Requests per second at most, for panels that publish a limit.",
    ),
    click.option("-v", "--verbose", is_flag=True, help="Log requests and retries on stderr."),
)


def panel_command(func: Callable[..., int]) -> Callable[..., int]:
    """Add the options every panel command shares; the command gets them as ``Settings``."""

    @functools.wraps(func)
    def command(
        *,
        url: str | None,
        key: str | None,
        fmt: str,
        timeout: float,
        retries: int,
        concurrency: int,
        rate_limit: float | None,
        verbose: bool,
        **kwargs: Any,
    ) -> int:
        if verbose:
            _verbose_logging()
        if not url:
            raise UsageError("no panel URL: pass --url or set SMMPANEL_URL")
        if not key:
            raise UsageError("no API key: pass --key or set SMMPANEL_KEY")
        settings = Settings(url, key, fmt, timeout, retries, concurrency, rate_limit)
        return func(settings, **kwargs)

    for option in reversed(_PANEL_OPTIONS):
        command = option(command)
    return command


def _run(settings: Settings, work: Callable[[Panel], Awaitable[int]]) -> int:
    """Run ``work`` on a ``Panel`` for ``settings``, closing it whatever happens."""

    async def session() -> int:
        async with settings.panel() as panel:
            return await work(panel)

    return anyio.run(session)


def _id_options(func: Callable[..., int]) -> Callable[..., int]:
    func = click.option(
        "--file",
        "files",
        multiple=True,
        type=click.File("rb"),
        metavar="PATH",
        help="Read IDs from a file, one or more a line (- for stdin); may be repeated.",
    )(func)
    return click.argument("ids", nargs=-1, metavar="ID...")(func)


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

    return _run(settings, work)


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

    return _run(settings, work)


def _fields(items: Sequence[str]) -> dict[str, Any]:
    """``--field NAME=VALUE`` items as ``Panel.add`` keyword arguments.

    List fields (comments, usernames, hashtags, groups) may repeat, and ``\\n`` in their
    value starts a new line, since a real newline is awkward to type in a shell.
    An ``expiry`` in ISO form (2027-01-05) becomes a date, sent as the panels want it.
    """
    fields: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--field wants NAME=VALUE, got {item[:40]!r}")
        if name in _OPTION_FIELDS:
            raise UsageError(f"give {name} with --{name}, not --field")
        if name in _LIST_FIELDS:
            fields.setdefault(name, []).append(value.replace("\\n", "\n"))
            continue
        if name in fields:
            raise UsageError(f"--field {name} is given twice")
        if name == "expiry" and _ISO_DATE.fullmatch(value.strip()):
            try:
                fields[name] = dt.date.fromisoformat(value.strip())
                continue
            except ValueError:
                raise UsageError(f"expiry {value!r} is not a date") from None
        fields[name] = value
    return fields


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
    service_id = _parse_id(service.strip(), "--service: ", "a service ID")
    fields = _fields(field_items)

    async def work(panel: Panel) -> int:
        try:
            order = await panel.add(service=service_id, link=link, quantity=quantity, **fields)
        except (ValueError, TypeError) as error:  # refused before anything was sent
            raise UsageError(str(error)) from None
        settings.writer(ADD_COLUMNS).write([{"order": order}])
        return 0

    return _run(settings, work)


@cli.command()
@_id_options
@panel_command
def status(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Show the statuses of any number of orders.

    IDs come from arguments, --file, or - (stdin). They stream through: each chunk's
    rows print as soon as the panel answers it.
    """
    source = _ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(STATUS_COLUMNS)
        tally = Tally(2 * settings.concurrency)
        chunks = panel.iter_statuses(source)
        with progress("statuses", source.total) as bar:
            async with contextlib.aclosing(chunks):
                async for bulk in chunks:
                    tally.check(bulk)
                    out.write(_bulk_rows(bulk, bulk, "order", lambda _, s: status_row(s)))
                    bar.advance(len(bulk))
        return 0

    return _run(settings, work)


async def _stream_bulk(
    settings: Settings,
    source: IDs,
    call: Callable[[list[int]], Awaitable[Bulk[T]]],
    out: Writer,
    key: str,
    row: Callable[[int, T], Row],
    *,
    label: str,
    once: bool,
) -> int:
    """Feed ``call`` batches of IDs as they are read, print each batch's rows in ID order.

    A batch fills every concurrent request. With ``once`` (writes: refill, cancel) an ID
    repeated anywhere in the input is sent only once, so nothing is refilled twice.
    """
    tally = Tally(2)
    seen: set[int] = set()
    with progress(label, source.total) as bar:
        async for batch in source.batches(MAX_CHUNK * settings.concurrency):
            ids = list(dict.fromkeys(batch))
            if once:
                ids = [id for id in ids if id not in seen]
                seen.update(ids)
            if not ids:
                continue
            bulk = await call(ids)
            tally.check(bulk)
            out.write(_bulk_rows(bulk, ids, key, row))
            bar.advance(len(batch))
    return 0


@cli.command()
@_id_options
@panel_command
def refill(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Ask for refills of orders; prints each order's refill ID."""
    source = _ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(REFILL_COLUMNS)
        return await _stream_bulk(
            settings,
            source,
            panel.refills,
            out,
            "order",
            lambda order, refill: {"order": order, "refill": refill},
            label="refills",
            once=True,
        )

    return _run(settings, work)


@cli.command("refill-status")
@_id_options
@panel_command
def refill_status(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Show refills' statuses, by refill ID."""
    source = _ids(ids, files, "a refill ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(REFILL_STATUS_COLUMNS)
        return await _stream_bulk(
            settings,
            source,
            panel.refill_statuses,
            out,
            "refill",
            lambda _, refill: refill_status_row(refill),
            label="refill statuses",
            once=False,
        )

    return _run(settings, work)


@cli.command()
@_id_options
@panel_command
def cancel(settings: Settings, ids: Sequence[str], files: Sequence[IO[bytes]]) -> int:
    """Cancel orders; prints what the panel answered for each."""
    source = _ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(CANCEL_COLUMNS)
        return await _stream_bulk(
            settings,
            source,
            panel.cancel,
            out,
            "order",
            lambda order, answer: {"order": order, "cancel": answer},
            label="cancels",
            once=True,
        )

    return _run(settings, work)


@cli.command()
@_id_options
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
    source = _ids(ids, files, "an order ID")

    async def work(panel: Panel) -> int:
        out = settings.writer(STATUS_COLUMNS)
        orders = list(dict.fromkeys([number async for number in source]))
        first = await panel.statuses(orders)
        Tally(1).check(first)
        out.write(_bulk_rows(first, orders, "order", lambda _, s: status_row(s)))
        last: dict[int, OrderStatus] = dict(first.ok)
        active = [
            order
            for order in orders
            if (order in first.ok and not first.ok[order].final)
            or (order in first.errors and not _answered(first.errors[order]))
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

    return _run(settings, work)


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
def fake_panel(host: str, port: int, dialect: Literal["v1", "v2"]) -> int:
    """Serve an in-memory fake panel over HTTP, to try things or test against."""
    import time

    from .testing import FakePanel

    fake = FakePanel(dialect=dialect, realtime=True)
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
    from ._demo import run_demo

    return run_demo(orders=orders)


# ---------------------------------------------------------------------------- entry point


def _scrub(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


def _say(kind: str, message: object) -> None:
    """One line on stderr: newlines folded, the key masked."""
    text = _scrub(" ".join(str(message).split()))
    sys.stderr.write(f"{kind}: {text}\n")
    sys.stderr.flush()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: IO[str] | None = None,
    line: str | None = None,
) -> None:
    _say("warning", message)


def _quiet_logging() -> None:
    """Keep library and stamina log records off stderr unless ``--verbose`` asks for them."""
    from stamina.instrumentation import set_on_retry_hooks

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())  # else logging's last resort prints warnings
    set_on_retry_hooks([])
    warnings.showwarning = _show_warning


def _verbose_logging() -> None:
    """Requests (DEBUG) and retries on stderr, one line each."""
    from stamina.instrumentation import RetryDetails, set_on_retry_hooks

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    package = logging.getLogger("smmpanel")
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)

    def log_retry(details: RetryDetails) -> None:
        logger.warning(
            "retry %d in %.1fs after %s",
            details.retry_num,
            details.wait_for,
            _scrub(str(details.caused_by)),
        )

    set_on_retry_hooks([log_retry])


def _leaf(error: BaseException) -> BaseException:
    """The one exception inside (nested) single-member exception groups."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    _quiet_logging()
    env_key = os.environ.get("SMMPANEL_KEY")
    if env_key:
        _SECRETS.add(env_key)
    try:
        try:
            result = cli.main(args=argv, prog_name="smmpanel", standalone_mode=False)
        except BaseExceptionGroup as group:
            raise _leaf(group) from None
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help(), err=True)
        return 2
    except click.UsageError as error:
        _say("error", error.format_message())
        return 2
    except click.ClickException as error:
        _say("error", error.format_message())
        return error.exit_code
    except (UsageError, BadID) as error:
        _say("error", error)
        return 2
    except (SMMPanelError, ReadError) as error:
        _say("error", error)
        return 1
    except (click.Abort, KeyboardInterrupt):
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and point stdout at /dev/null so
        # Python's own flush at exit does not complain about the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as error:  # a bug: still one line, still no key
        _say("error", f"unexpected {type(error).__name__}: {error}")
        return 1
    return result if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``smmpanel`` console script."""
    sys.exit(run(argv))
