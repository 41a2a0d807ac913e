"""What the command line prints: each answer's row shape, and the table/JSON Lines/CSV writers.

Bulk commands hand over one chunk of rows at a time, so every writer prints and flushes
per call and keeps nothing: memory stays flat however many IDs stream through. Writers
look up ``sys.stdout`` on every write, because a live progress bar swaps it for a proxy.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from .._models import Status

if TYPE_CHECKING:
    from rich.console import Console

    from .._models import OrderStatus, RefillStatus, Service

__all__ = [
    "ADD_COLUMNS",
    "BALANCE_COLUMNS",
    "CANCEL_COLUMNS",
    "FORMATS",
    "REFILL_COLUMNS",
    "REFILL_STATUS_COLUMNS",
    "SERVICE_COLUMNS",
    "STATUS_COLUMNS",
    "Column",
    "CsvWriter",
    "JsonWriter",
    "Progress",
    "Row",
    "StreamTableWriter",
    "TableWriter",
    "Writer",
    "cancel_row",
    "money",
    "progress",
    "refill_row",
    "refill_status_row",
    "service_row",
    "status_row",
    "writer",
]

FORMATS = ("table", "json", "csv")
Row = Mapping[str, Any]
"""One record: JSON-ready values (str, int, bool or None), keys in display order."""


def money(value: Decimal | None) -> str | None:
    """Money as the exact digits, never in exponent form (``1E+2`` prints as ``100``)."""
    return None if value is None else format(value, "f")


@attrs.frozen
class Column:
    """A CSV/table column: the row key, its table heading, and a fixed table width.

    When every column but the last has a width, rows print chunk by chunk and still line
    up as one table; the last (an error text) takes what it needs.
    """

    key: str
    title: str
    width: int | None = None
    right: bool = False


# ---------------------------------------------------------------------------- what is printed

STATUS_COLUMNS = (
    Column("order", "Order", 10, right=True),
    Column("status", "Status", 11),
    Column("charge", "Charge", 10, right=True),
    Column("start_count", "Start count", 11, right=True),
    Column("remains", "Remains", 9, right=True),
    Column("currency", "Currency", 8),
    Column("error", "Error"),
)
REFILL_COLUMNS = (
    Column("order", "Order", 10, right=True),
    Column("refill", "Refill", 10, right=True),
    Column("error", "Error"),
)
REFILL_STATUS_COLUMNS = (
    Column("refill", "Refill", 10, right=True),
    Column("status", "Status", 11),
    Column("error", "Error"),
)
CANCEL_COLUMNS = (
    Column("order", "Order", 10, right=True),
    Column("cancel", "Cancel", 10, right=True),
    Column("error", "Error"),
)
SERVICE_COLUMNS = (
    Column("id", "ID", right=True),
    Column("name", "Name"),
    Column("type", "Type"),
    Column("category", "Category"),
    Column("rate", "Rate", right=True),
    Column("min", "Min", right=True),
    Column("max", "Max", right=True),
    Column("refill", "Refill"),
    Column("cancel", "Cancel"),
    Column("dripfeed", "Drip-feed"),
    Column("description", "Description"),
)
BALANCE_COLUMNS = (Column("balance", "Balance", right=True), Column("currency", "Currency"))
ADD_COLUMNS = (Column("order", "Order", right=True),)


_WORDS = {status: status.value for status in Status}  # a dict lookup, not an enum property


def status_row(status: OrderStatus) -> Row:
    """``{"order", "status", "charge", "start_count", "remains", "currency"}``, money as text."""
    return {
        "order": status.order,
        "status": _WORDS[status.status],
        "charge": money(status.charge),
        "start_count": status.start_count,
        "remains": status.remains,
        "currency": status.currency,
    }


def service_row(service: Service) -> Row:
    """A catalogue entry with the API's own field names, the rate as text."""
    return {
        "id": service.id,
        "name": service.name,
        "type": service.type,
        "category": service.category,
        "rate": money(service.rate),
        "min": service.min,
        "max": service.max,
        "refill": service.refill,
        "cancel": service.cancel,
        "dripfeed": service.dripfeed,
        "description": service.description,
    }


def refill_row(order: int, refill: int) -> Row:
    """``{"order", "refill"}``: the refill ID the panel gave the order."""
    return {"order": order, "refill": refill}


def cancel_row(order: int, answer: int) -> Row:
    """``{"order", "cancel"}``: what the panel answered to cancelling the order."""
    return {"order": order, "cancel": answer}


def refill_status_row(refill: RefillStatus) -> Row:
    """``{"refill", "status"}``."""
    return {"refill": refill.refill, "status": refill.status.value}


class Writer(Protocol):
    """Prints rows in one format; ``write`` may be called once per chunk."""

    def write(self, rows: Iterable[Row]) -> None: ...


class _Stdout:
    """A file-like object that writes to whatever ``sys.stdout`` is at the moment."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()

    def isatty(self) -> bool:
        return sys.stdout.isatty()


def _emit(data: bytes) -> None:
    """One chunk's lines in one write, then a flush: rows show as soon as they are answered.

    Bytes go straight to the binary buffer of a real text stream (its text layer flushed
    first, so nothing written through it is overtaken); anything else, such as a progress
    bar's proxy keeping rows above the bar, gets text.
    """
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        out.flush()
        out.buffer.write(data)
        out.buffer.flush()
    else:
        out.write(data.decode())
        out.flush()


class JsonWriter:
    """JSON Lines: one object per row, keys as the row has them, spaced as ``json.dumps``.

    Encoded by msgspec, a chunk of rows in one call, then spaced by ``msgspec.json.format``
    (``{"order": 1, "status": "pending"}``, non-ASCII as is): a fraction of the cost of
    ``json.dumps`` per row, and the same text.
    """

    def __init__(self) -> None:
        import msgspec

        self._lines = msgspec.json.Encoder().encode_lines
        self._format = msgspec.json.format

    def write(self, rows: Iterable[Row]) -> None:
        encoded = self._lines(list(rows))
        if not encoded:
            return
        spaced = self._format
        # Each line ends in a newline, and none holds one: a string's is escaped.
        lines = [spaced(line, indent=0) for line in encoded[:-1].split(b"\n")]
        lines.append(b"")
        _emit(b"\n".join(lines))


class CsvWriter:
    """A header row once, then one line per row; missing keys are empty cells."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._keys = [column.key for column in columns]
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")
        self._header = False

    def _cells(self, row: Row) -> list[object]:
        cells = list(map(row.get, self._keys))  # None is an empty cell to csv already
        return list(map(_cell, cells)) if bool in map(type, cells) else cells

    def write(self, rows: Iterable[Row]) -> None:
        if not self._header:
            self._csv.writerow(self._keys)
            self._header = True
        self._csv.writerows(map(self._cells, rows))
        text = self._text.getvalue()
        self._text.seek(0)
        self._text.truncate()
        if text:
            _emit(text.encode())


class TableWriter:
    """A rich table with widths fitted to its content: for answers printed in one go."""

    def __init__(self, columns: Sequence[Column], title: str | None = None) -> None:
        self._columns = columns
        self._title = title

    def write(self, rows: Iterable[Row]) -> None:
        from rich.table import Table

        table = Table(
            title=self._title, title_justify="left", header_style="bold", box=None, pad_edge=False
        )
        for column in self._columns:
            table.add_column(column.title, justify="right" if column.right else "left")
        for row in rows:
            table.add_row(*(_markup(row, column.key) for column in self._columns))
        console = _console()
        # Rendered first so trailing padding can go: files and pipes get clean lines.
        with console.capture() as captured:
            console.print(table)
        lines = captured.get().splitlines()
        sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))
        sys.stdout.flush()


class StreamTableWriter:
    """Rows in fixed-width columns, the heading once: chunk after chunk lines up as one table.

    Formatted by hand (one format string per line, one write per chunk) rather than by
    rich, which renders a few thousand rows a second: a million statuses must not take
    minutes. Colour (bold heading, red errors) only on a terminal, and never with
    ``NO_COLOR`` set.
    """

    def __init__(self, columns: Sequence[Column]) -> None:
        self._columns = columns
        self._keys = [column.key for column in columns]
        self._template = "  ".join(
            "{}" if c.width is None else f"{{:{'>' if c.right else '<'}{c.width}}}" for c in columns
        )
        self._started = False
        self._color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def write(self, rows: Iterable[Row]) -> None:
        lines = []
        if not self._started:
            self._started = True
            heading = self._line([column.title for column in self._columns])
            lines.append(f"\x1b[1m{heading}\x1b[0m" if self._color else heading)
        line, keys, color = self._template.format, self._keys, self._color
        blanks = [""] * len(keys)
        for row in rows:
            cells: list[object] = list(map(row.get, keys, blanks))  # a missing key: ""
            # str and int format as their text does; anything else is made text first.
            if not _FORMATS_AS_TEXT.issuperset(map(type, cells)):
                cells = list(map(_plain, cells))
            if color and row.get("error"):
                cells[-1] = f"\x1b[31m{cells[-1]}\x1b[0m"
            lines.append(line(*cells).rstrip())
        if lines:
            lines.append("")
            _emit("\n".join(lines).encode())

    def _line(self, cells: Sequence[str]) -> str:
        return self._template.format(*cells).rstrip()


def writer(fmt: str, columns: Sequence[Column], title: str | None = None) -> Writer:
    """The writer for ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return JsonWriter()
    if fmt == "csv":
        return CsvWriter(columns)
    if all(column.width is not None for column in columns[:-1]):
        return StreamTableWriter(columns)
    return TableWriter(columns, title)


def _console() -> Console:
    from rich.console import Console

    # A file or a pipe gets wide lines rather than errors folded at 80 columns.
    wide = None if sys.stdout.isatty() else 200
    return Console(file=_Stdout(), highlight=False, width=wide)  # type: ignore[arg-type]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


_FORMATS_AS_TEXT = frozenset({str, int})


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _markup(row: Row, key: str) -> str:
    from rich.markup import escape

    text = escape(_plain(row.get(key)))
    return f"[red]{text}[/red]" if key == "error" and text else text


class Progress:
    """Counts IDs done; draws a bar on stderr only when stderr is a terminal."""

    def __init__(self, advance: Any = None) -> None:
        self._advance = advance

    def advance(self, count: int) -> None:
        """Mark ``count`` more IDs as done."""
        if self._advance is not None:
            self._advance(count)


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Progress]:
    """A progress bar for ``total`` IDs (``None``: unknown, e.g. stdin) on a terminal's stderr."""
    if not sys.stderr.isatty():
        yield Progress()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        # Rows printed meanwhile go above the bar, but only if they go to the same terminal.
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield Progress(lambda count: bar.advance(task, count))
