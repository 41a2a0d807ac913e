"""The CLI's writers print exactly what the plain reference ways print, only faster.

JSON Lines as ``json.dumps(row, ensure_ascii=False)`` per row (the spacing API.md shows),
the streamed table as ``ljust``/``rjust`` per cell, CSV as ``csv.writer`` per row: for any
rows of the value kinds rows hold, written in one chunk or many.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("click", reason="the command line needs the cli extra")

from smmpanel import Bulk, NotFoundError, OrderStatus, Status
from smmpanel._cli.bulk import bulk_rows
from smmpanel._cli.output import STATUS_COLUMNS, Column, Row, status_row, writer

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.text(max_size=30),
    st.sampled_from(["pending", "0.27819", "USD", 'a "quoted" \\ word', "é ü 漢", "\x00\x1f\x7f"]),
)
KEYS = [column.key for column in STATUS_COLUMNS]
ROWS = st.lists(
    st.dictionaries(st.sampled_from(KEYS), VALUES).map(
        lambda row: {key: row[key] for key in KEYS if key in row}  # keys in column order
    ),
    max_size=20,
)


def printed(fmt: str, chunks: Sequence[Sequence[Row]], columns: Sequence[Column]) -> str:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    saved, sys.stdout = sys.stdout, out
    try:
        target = writer(fmt, columns)
        for chunk in chunks:
            target.write(chunk)
        out.flush()
        buffer = out.buffer
        assert isinstance(buffer, io.BytesIO)
        return buffer.getvalue().decode()
    finally:
        sys.stdout = saved


def halves(rows: list[Row]) -> list[list[Row]]:
    return [rows[: len(rows) // 2], rows[len(rows) // 2 :]]


@given(ROWS)
def test_json_lines_are_what_json_dumps_prints(rows: list[Row]) -> None:
    expected = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    assert printed("json", [rows], STATUS_COLUMNS) == expected
    assert printed("json", halves(rows), STATUS_COLUMNS) == expected


def reference_table(rows: list[Row], columns: Sequence[Column]) -> str:
    def plain(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    def line(cells: list[str]) -> str:
        parts = []
        for column, cell in zip(columns, cells, strict=True):
            if column.width is None:
                parts.append(cell)
            else:
                parts.append(cell.rjust(column.width) if column.right else cell.ljust(column.width))
        return "  ".join(parts).rstrip() + "\n"

    heading = line([column.title for column in columns])
    return heading + "".join(line([plain(row.get(c.key)) for c in columns]) for row in rows)


@given(ROWS)
def test_the_streamed_table_lines_up_as_ljust_and_rjust_do(rows: list[Row]) -> None:
    expected = reference_table(rows, STATUS_COLUMNS)  # the heading even before any row
    assert printed("table", [rows], STATUS_COLUMNS) == expected
    assert printed("table", halves(rows), STATUS_COLUMNS) == expected


@given(ROWS)
def test_csv_is_what_csv_writer_prints(rows: list[Row]) -> None:
    def cell(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return value

    text = io.StringIO()
    reference = csv.writer(text, lineterminator="\n")
    reference.writerow(KEYS)
    reference.writerows([cell(row.get(key)) for key in KEYS] for row in rows)
    assert printed("csv", [rows], STATUS_COLUMNS) == text.getvalue()
    assert printed("csv", halves(rows), STATUS_COLUMNS) == text.getvalue()


def test_status_rows_keep_the_keys_api_md_shows() -> None:
    """The exact JSON Lines of a status and of an unknown order, as API.md prints them."""
    status = OrderStatus(
        1,
        Status.COMPLETED,
        charge=Decimal("0.27819"),
        start_count=3572,
        remains=157,
        currency="USD",
    )
    bulk = Bulk(ok={1: status}, errors={2: NotFoundError("Incorrect order ID")})
    rows = list(bulk_rows(bulk, bulk, "order", lambda _, s: status_row(s)))
    assert printed("json", [rows], STATUS_COLUMNS) == (
        '{"order": 1, "status": "completed", "charge": "0.27819", "start_count": 3572, '
        '"remains": 157, "currency": "USD"}\n'
        '{"order": 2, "error": "Incorrect order ID"}\n'
    )


def test_rows_keep_the_order_asked_for() -> None:
    """Given IDs, rows come in their order; given the bulk itself, in the bulk's order."""
    bulk = Bulk(
        ok={3: OrderStatus(3, Status.PENDING), 1: OrderStatus(1, Status.PENDING)},
        errors={2: NotFoundError("Incorrect order ID")},
    )
    row = lambda _, s: status_row(s)  # noqa: E731
    assert [r["order"] for r in bulk_rows(bulk, [1, 2, 3], "order", row)] == [1, 2, 3]
    assert [r["order"] for r in bulk_rows(bulk, bulk, "order", row)] == [3, 1, 2]
