"""The bulk layer: IDs in, chunks out, fanned out to workers, results back as ``Bulk``.

It knows nothing of HTTP: a ``run`` coroutine answers one chunk with a value or an
exception per ID and never raises for a panel, network or protocol failure, so one failing
chunk can never cancel the others (anyio task groups would otherwise cancel siblings).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import SMMPanelError
from ._fields import check_id
from ._models import Bulk

__all__ = ["Answers", "chunked", "gather", "split", "stream"]

T = TypeVar("T")
Answers = dict[int, "T | SMMPanelError"]
Run = Callable[[list[int]], Awaitable["Answers[T]"]]


def chunked(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    """Consecutive chunks of at most ``size`` IDs."""
    return (list(ids[start : start + size]) for start in range(0, len(ids), size))


def split(ids: Iterable[int], answers: Answers[T]) -> Bulk[T]:
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


async def gather(chunks: Iterable[list[int]], run: Run[T], workers: int) -> Answers[T]:
    """Answer every chunk with at most ``workers`` running at once; all answers in one dict."""
    answers: Answers[T] = {}
    pending = iter(chunks)

    async def worker() -> None:
        for chunk in pending:  # workers share one iterator: each chunk is taken once
            answers.update(await run(chunk))

    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
    return answers


async def _read_chunks(
    ids: Iterable[object] | AsyncIterable[object], size: int
) -> AsyncIterator[list[int]]:
    """Chunks read lazily from ``ids``, each ID checked as it is read, repeats dropped per chunk."""
    chunk: dict[int, None] = {}
    if isinstance(ids, AsyncIterable):
        async for value in ids:
            chunk[check_id(value)] = None
            if len(chunk) == size:
                yield list(chunk)
                chunk = {}
    else:
        if isinstance(ids, str | bytes):
            raise TypeError("expected an iterable of IDs, got a single string")
        for value in ids:
            chunk[check_id(value)] = None
            if len(chunk) == size:
                yield list(chunk)
                chunk = {}
    if chunk:
        yield list(chunk)


async def stream(
    ids: Iterable[object] | AsyncIterable[object], size: int, run: Run[T], workers: int
) -> AsyncIterator[Bulk[T]]:
    """One ``Bulk`` per chunk as each completes; IDs are read only as workers can take them.

    Memory stays bounded: a reader hands chunks to ``workers`` over an unbuffered stream,
    so at most ``workers`` chunks are in flight and one more is being read. A bad ID stops
    the reading; chunks read before it are still answered and yielded, then the
    ``ValueError`` is raised here.
    """
    send_chunk, receive_chunk = anyio.create_memory_object_stream[list[int]](0)
    send_bulk, receive_bulk = anyio.create_memory_object_stream[Bulk[T]](workers)
    failure: list[BaseException] = []

    async def reader() -> None:
        async with send_chunk:
            try:
                async for chunk in _read_chunks(ids, size):
                    await send_chunk.send(chunk)
            except (ValueError, TypeError) as error:
                failure.append(error)

    async def worker(
        receive: MemoryObjectReceiveStream[list[int]], send: MemoryObjectSendStream[Bulk[T]]
    ) -> None:
        async with receive, send:
            async for chunk in receive:
                await send.send(split(chunk, await run(chunk)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        async with send_bulk, receive_chunk:
            for _ in range(workers):
                tg.start_soon(worker, receive_chunk.clone(), send_bulk.clone())
        async with receive_bulk:
            async for bulk in receive_bulk:
                yield bulk
    if failure:
        raise failure[0]
