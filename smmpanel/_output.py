"""The command line's writers: rich tables, JSON Lines and CSV, each fed rows as they come.

Bulk commands hand over one chunk of rows at a time, so every writer prints and flushes
per call and keeps nothing: memory stays flat however many IDs stream through. Writers
look up ``sys.stdout`` on every write, because a live progress bar swaps it for a proxy.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["FORMATS", "Column", "Progress", "Row", "Writer", "money", "progress", "writer"]

FORMATS = ("table", "json", "csv")
Row = Mapping[str, Any]
"""One record: JSON-ready values (str, int, bool or None), keys in display order."""


def money(value: Decimal | None) -> str | None:
    """Money as the exact digits, never in exponent form (``1E+2`` prints as ``100``)."""
    return None if value is None else format(value, "f")


@attrs.frozen
class Column:
    """A CSV/table column: the row key, its table heading, and a fixed table width.

    Fixed widths let tables printed chunk by chunk line up as one; ``None`` (the last
    column, e.g. an error text) takes what is left.
    """

    key: str
    title: str
    width: int | None = None
    right: bool = False


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


class JsonWriter:
    """JSON Lines: one object per row, keys as the row has them."""

    def write(self, rows: Iterable[Row]) -> None:
        out = sys.stdout
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()


class CsvWriter:
    """A header row once, then one line per row; missing keys are empty cells."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self._keys = [column.key for column in columns]
        self._csv = csv.writer(_Stdout(), lineterminator="\n")
        self._header = False

    def write(self, rows: Iterable[Row]) -> None:
        if not self._header:
            self._csv.writerow(self._keys)
            self._header = True
        self._csv.writerows([_cell(row.get(key)) for key in self._keys] for row in rows)
        sys.stdout.flush()


class TableWriter:
    """A rich table per call, heading only on the first, fixed widths so they line up."""

    def __init__(self, columns: Sequence[Column], title: str | None = None) -> None:
        self._columns = columns
        self._title = title
        self._console: Console | None = None

    def write(self, rows: Iterable[Row]) -> None:
        from rich.table import Table

        console = self._console or _console()
        first = self._console is None
        self._console = console
        table = Table(
            title=self._title if first else None,
            title_justify="left",
            show_header=first,
            header_style="bold",
            box=None,
            pad_edge=False,
        )
        for column in self._columns:
            table.add_column(
                column.title,
                justify="right" if column.right else "left",
                width=column.width,
                no_wrap=column.width is not None,
                overflow="ellipsis" if column.width is not None else "fold",
            )
        count = 0
        for row in rows:
            table.add_row(*(_text(row, column.key) for column in self._columns))
            count += 1
        if count or first:
            # Rendered first so trailing padding can go: files and pipes get clean lines.
            with console.capture() as captured:
                console.print(table)
            lines = captured.get().splitlines()
            sys.stdout.write("".join(line.rstrip() + "\n" for line in lines))
        sys.stdout.flush()


def writer(fmt: str, columns: Sequence[Column], title: str | None = None) -> Writer:
    """The writer for ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        return JsonWriter()
    if fmt == "csv":
        return CsvWriter(columns)
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


def _text(row: Row, key: str) -> str:
    from rich.markup import escape

    value = row.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = escape(str(value))
    if key == "error":
        return f"[red]{text}[/red]"
    return text


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
