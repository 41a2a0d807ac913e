"""The bulk layer: IDs in, chunks out, fanned out to workers, results back as ``Bulk``.

It knows nothing of HTTP: a ``run`` coroutine answers one chunk with a value or an
exception per ID and never raises for a panel, network or protocol failure, so one failing
chunk can never cancel the others (anyio task groups would otherwise cancel siblings).
"""

from __future__ import annotations

import functools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Sized,
)
from typing import Any, TypeVar

import anyio

from .._config import MAX_STREAM_BUFFER, STREAM_BUFFER
from .._errors import SMMPanelError
from .._models import Bulk, PerID
from .._validate import check_id
from .pipeline import Pipeline

__all__ = ["chunked", "collect", "gather", "split", "stream"]

T = TypeVar("T")
Run = Callable[[list[int]], Awaitable["PerID[T]"]]
Sink = Callable[[list[int], "PerID[T]"], object]


def chunked(ids: list[int], size: int) -> Iterable[list[int]]:
    """Consecutive chunks of at most ``size`` IDs (each slice is the chunk's only copy)."""
    return (ids[start : start + size] for start in range(0, len(ids), size))


def split(ids: Iterable[int], answers: PerID[T]) -> Bulk[T]:
    """Sort answers into ``ok`` and ``errors``, in the order of ``ids``."""
    ok: dict[int, T] = {}
    errors: dict[int, SMMPanelError] = {}
    for id in ids:
        value = answers[id]
        if isinstance(value, SMMPanelError):
            errors[id] = value
        else:
            ok[id] = value
    return Bulk(ok=ok, errors=errors)


async def _drain(chunks: Iterable[list[int]], run: Run[T], workers: int, sink: Sink[T]) -> None:
    """Answer every chunk with at most ``workers`` running at once, handing each to ``sink``."""
    pending = iter(chunks)

    async def worker() -> None:
        for chunk in pending:  # workers share one iterator: each chunk is taken once
            sink(chunk, await run(chunk))

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)


async def gather(chunks: Iterable[list[int]], run: Run[T], workers: int) -> PerID[T]:
    """Answer every chunk; all answers in one dict."""
    answers: PerID[T] = {}
    await _drain(chunks, run, workers, lambda _, found: answers.update(found))
    return answers


async def collect(
    ids: dict[int, None], chunks: Iterable[list[int]], run: Run[T], workers: int
) -> Bulk[T]:
    """Answer every chunk straight into one ``Bulk``, in the order of ``ids``.

    ``ids`` is the dict that checked them (``unique_ids``) and becomes ``ok`` itself: each
    chunk's answers are written into it as they come, so there is no second dict of every
    answer (40 MB per million IDs) and no pass to split one. Errors move to ``errors`` at
    the end, in the order of ``ids``.
    """
    ok: dict[int, Any] = ids
    failed: dict[int, SMMPanelError] = {}

    def sink(_: list[int], found: PerID[T]) -> None:
        ok.update(found)
        if any(issubclass(kind, SMMPanelError) for kind in set(map(type, found.values()))):
            failed.update((i, v) for i, v in found.items() if isinstance(v, SMMPanelError))

    await _drain(chunks, run, workers, sink)
    if not failed:
        return Bulk(ok=ok, errors={})
    errors = {id: failed[id] for id in ok if id in failed}
    for id in errors:
        del ok[id]
    return Bulk(ok=ok, errors=errors)


async def _read_chunks(
    ids: Iterable[object] | AsyncIterable[object], size: int
) -> AsyncGenerator[list[int]]:
    """Chunks read lazily from ``ids``, each ID checked as it is read, repeats dropped per chunk."""
    chunk: dict[int, None] = {}
    if isinstance(ids, AsyncIterable):
        async for value in ids:
            chunk[check_id(value)] = None
            if len(chunk) == size:
                yield list(chunk)
                chunk = {}
    else:
        for value in ids:
            chunk[check_id(value)] = None
            if len(chunk) == size:
                yield list(chunk)
                chunk = {}
    if chunk:
        yield list(chunk)


async def stream(
    ids: Iterable[object] | AsyncIterable[object], size: int, run: Run[T], workers: int
) -> AsyncGenerator[Bulk[T]]:
    """One ``Bulk`` per chunk, in the order they complete, from a pipeline that never pauses.

    IDs are read as workers free up and each chunk goes out as soon as it is read, so the
    first answer comes back after the first ``size`` IDs and every worker stays busy to
    the end. The workers run in a task of their own (see ``Pipeline``), never in a task
    group straddling a ``yield``; stopping early, closing or cancelling ends them. Memory
    is bounded whatever the number of IDs: a chunk in each worker's hands, one read ahead,
    and at most ``STREAM_BUFFER`` answered chunks per worker (``MAX_STREAM_BUFFER`` in
    all) waiting for the consumer. A bad ID stops the reading; chunks read before it are
    still answered and yielded, then its ``ValueError`` (or ``TypeError``) is raised.
    """
    if isinstance(ids, str | bytes):
        raise TypeError("expected an iterable of IDs, got a single string")
    if isinstance(ids, Sized):  # no more workers than chunks
        workers = max(1, min(workers, -(-len(ids) // size)))
    buffer = min(workers * STREAM_BUFFER, MAX_STREAM_BUFFER)
    answer: Callable[[list[int]], Awaitable[Bulk[T]]] = functools.partial(_answer, run)
    pipeline = Pipeline(_read_chunks(ids, size), answer, workers, buffer)
    try:
        pipeline.start()
        async for bulk in pipeline:
            yield bulk
    finally:
        await pipeline.stop()


async def _answer(run: Run[T], chunk: list[int]) -> Bulk[T]:
    return split(chunk, await run(chunk))
