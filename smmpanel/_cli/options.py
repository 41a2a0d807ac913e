"""The options panel commands share, and what they turn into: ``Settings`` and order fields.

``panel_command`` adds --url, --key, --format and the client's tuning to a command and
hands it one ``Settings``, which builds the ``Panel``, runs the command's work on it and
picks the writer. ``id_options`` adds the ID arguments and --file; ``order_fields`` reads
``add``'s --field items.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import attrs
import click

from .._client import Panel
from .._config import DEFAULT_CONCURRENCY, DEFAULT_RETRIES, DEFAULT_TIMEOUT
from .._validate import FIELDS, LIST_FIELDS, Kind
from .errors import UsageError, hide, verbose_logging
from .ids import parse_id
from .output import FORMATS, Column, Writer, writer

__all__ = ["IDCommand", "Settings", "id_options", "order_fields", "panel_command"]

_OPTION_FIELDS = frozenset({"service", "link", "quantity"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NEGATIVE = re.compile(r"-\d[\d,]*")


class IDCommand(click.Command):
    """A command taking IDs: ``-1`` is a bad ID (exit 2), not "No such option".

    ``what`` names the IDs in messages ("an order ID", "a refill ID").
    """

    def __init__(self, *args: Any, what: str = "an order ID", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.what = what

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # click's parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption:
            for token in given:
                if token == "--":
                    break
                if _NEGATIVE.fullmatch(token):
                    parse_id(token, "", self.what)  # raises BadID naming the token
            raise


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

    def run(self, work: Callable[[Panel], Awaitable[int]]) -> int:
        """Run ``work`` on a ``Panel`` for these settings, closing it whatever happens."""

        async def session() -> int:
            async with self.panel() as panel:
                return await work(panel)

        return anyio.run(session)

    def writer(self, columns: Sequence[Column], title: str | None = None) -> Writer:
        """The writer for ``--format``."""
        return writer(self.fmt, columns, title)


def _remember_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    hide(value)
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
        default=DEFAULT_RETRIES,
        show_default=True,
        help="Extra attempts for reads (writes only when the request never left).",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=DEFAULT_CONCURRENCY,
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
            verbose_logging()
        if not url:
            raise UsageError("no panel URL: pass --url or set SMMPANEL_URL")
        if not key:
            raise UsageError("no API key: pass --key or set SMMPANEL_KEY")
        settings = Settings(url, key, fmt, timeout, retries, concurrency, rate_limit)
        return func(settings, **kwargs)

    for option in reversed(_PANEL_OPTIONS):
        command = option(command)
    return command


def id_options(func: Callable[..., int]) -> Callable[..., int]:
    """Add the ``ID...`` arguments and ``--file``: the command gets ``ids`` and ``files``."""
    func = click.option(
        "--file",
        "files",
        multiple=True,
        type=click.File("rb"),
        metavar="PATH",
        help="Read IDs from a file, one or more a line (- for stdin); may be repeated.",
    )(func)
    return click.argument("ids", nargs=-1, metavar="ID...")(func)


def order_fields(items: Sequence[str]) -> dict[str, Any]:
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
        if name in LIST_FIELDS:
            fields.setdefault(name, []).append(value.replace("\\n", "\n"))
            continue
        if name in fields:
            raise UsageError(f"--field {name} is given twice")
        if FIELDS.get(name) is Kind.DATE and _ISO_DATE.fullmatch(value.strip()):
            try:
                fields[name] = dt.date.fromisoformat(value.strip())
                continue
            except ValueError:
                raise UsageError(f"{name} {value!r} is not a date") from None
        fields[name] = value
    return fields
