"""Bulk commands: IDs in, a ``Bulk`` per batch, rows out in ID order, a progress bar meanwhile.

The ``Tally`` draws the line between per-ID errors (an unknown order: a row, exit 0) and a
panel that cannot be used (a bad key, every request failing: raised, exit 1). ``run_bulk``
is the whole of refill, refill-status and cancel; status and watch use the parts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from .._client import Panel
from .._config import MAX_CHUNK
from .._errors import AuthenticationError, answered
from .._models import Bulk
from .errors import scrub
from .ids import IDs
from .options import Settings
from .output import Column, Row, progress

__all__ = ["Tally", "bulk_rows", "run_bulk"]

T = TypeVar("T")


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
        count = len(bulk.ok)
        for error in bulk.errors.values():
            if isinstance(error, AuthenticationError):
                raise error
            count += answered(error)
        if count or not bulk.errors:
            self.answered += count
            self._streak = 0
            return
        self._streak += 1
        if not self.answered or self._streak >= self._patience:
            raise next(iter(bulk.errors.values()))


def bulk_rows(
    bulk: Bulk[T], ids: Iterable[int], key: str, row: Callable[[int, T], Row]
) -> Iterable[Row]:
    """One row per ID in ``ids`` order: its value's row, or its error."""
    if ids is bulk:  # the bulk's own order (answers, then errors): no lookups
        rows = [row(id, value) for id, value in bulk.ok.items()]
        rows += [{key: id, "error": scrub(error.message)} for id, error in bulk.errors.items()]
        return rows
    return _rows_in_order(bulk, ids, key, row)


def _rows_in_order(
    bulk: Bulk[T], ids: Iterable[int], key: str, row: Callable[[int, T], Row]
) -> Iterator[Row]:
    for id in ids:
        if id in bulk.ok:
            yield row(id, bulk.ok[id])
        elif id in bulk.errors:
            yield {key: id, "error": scrub(bulk.errors[id].message)}


def run_bulk(
    settings: Settings,
    source: IDs,
    call: Callable[[Panel, list[int]], Awaitable[Bulk[T]]],
    columns: Sequence[Column],
    row: Callable[[int, T], Row],
    *,
    label: str,
    once: bool,
) -> int:
    """Feed ``call`` batches of IDs as they are read, print each batch's rows in ID order.

    A batch fills every concurrent request. With ``once`` (writes: refill, cancel) an ID
    repeated anywhere in the input is sent only once, so nothing is refilled twice. The
    first column holds the ID, and an error row names it under that column's key.
    """
    key = columns[0].key

    async def work(panel: Panel) -> int:
        out = settings.writer(columns)
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
                bulk = await call(panel, ids)
                tally.check(bulk)
                out.write(bulk_rows(bulk, ids, key, row))
                bar.advance(len(batch))
        return 0

    return settings.run(work)
