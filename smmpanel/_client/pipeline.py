"""A continuous reader-and-workers pipeline, run in a task of its own, for ``stream``.

An async generator must never yield from inside a task group or cancel scope: a consumer
that stops early, or is cancelled, would unwind the group from the wrong task. Yet workers
that are to stay busy while the consumer handles a result must outlive each ``yield``. So
the task group lives in a task of its own (the host), and the generator only receives
from a bounded channel. The host belongs to the generator: started by its first step,
cancelled and waited for in its ``finally``, whether it ends, breaks, is closed or is
cancelled. anyio has no way to start a task outside a task group, hence ``_spawn``.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from contextlib import aclosing
from typing import Any, Generic, Self, TypeVar

import anyio
import sniffio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Pipeline"]

C = TypeVar("C")
R = TypeVar("R")


class Pipeline(Generic[C, R]):
    """``work`` applied to each item of ``source`` by up to ``workers`` tasks, results as they come.

    Bounded whatever the length of ``source``: the reader holds one item ready, each worker
    one in hand, and at most ``buffer`` results wait for the consumer; when they do, the
    workers wait too. An exception from ``source`` ends the reading, not the work: items read
    before it are still worked and delivered, then it is raised. An exception from ``work``
    stops everything and is raised after the results already delivered.
    """

    def __init__(
        self,
        source: AsyncGenerator[C],
        work: Callable[[C], Awaitable[R]],
        workers: int,
        buffer: int,
    ) -> None:
        self._source = source
        self._work = work
        self._workers = workers
        self._send, self._results = anyio.create_memory_object_stream[R](buffer)
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._failure: BaseException | None = None
        self._task: Any = None  # the host, kept alive (asyncio holds tasks weakly)

    # ------------------------------------------------------------------ the consumer's side

    def start(self) -> None:
        """Start the host task; call once, from the consumer's task."""
        self._task = _spawn(self._host, self._done)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> R:
        """The next result as it is ready; at the end, the failure that ended the pipeline."""
        try:
            return await self._results.receive()
        except anyio.EndOfStream:
            pass
        with anyio.CancelScope(shield=True):
            await self._done.wait()  # the host has recorded how it ended
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        raise StopAsyncIteration

    async def stop(self) -> None:
        """Cancel whatever still runs and wait until the host has ended; safe to call twice."""
        self._scope.cancel()
        if self._task is not None:
            with anyio.CancelScope(shield=True):
                await self._done.wait()
        self._results.close()

    # ------------------------------------------------------------------ the host task

    async def _host(self) -> None:
        try:
            with self._scope:
                feed, take = anyio.create_memory_object_stream[C]()
                async with anyio.create_task_group() as tg, take, self._send:
                    # Every worker starts now, not as work arrives: by the time the consumer
                    # holds a result, no task is left spawned but unstarted, which an event
                    # loop shutting down would cancel without ever running it.
                    for _ in range(self._workers):
                        tg.start_soon(self._worker, take.clone(), self._send.clone())
                    tg.start_soon(self._read, feed)
        except BaseException as error:  # the host is nobody's child: hand everything over
            self._fail(_unwrap(error))
            if isinstance(error, anyio.get_cancelled_exc_class()):
                raise  # cancelled from outside (the loop is ending), not by ``stop``
        finally:
            self._send.close()
            self._done.set()

    async def _read(self, feed: MemoryObjectSendStream[C]) -> None:
        async with aclosing(self._source) as source, feed:
            while True:
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    return
                except Exception as error:  # a bad ID: what was read is still worked
                    self._fail(error)
                    return
                await feed.send(item)  # waits for a worker to be free

    async def _worker(
        self, take: MemoryObjectReceiveStream[C], send: MemoryObjectSendStream[R]
    ) -> None:
        async with take, send:
            async for item in take:
                try:
                    result = await self._work(item)
                except Exception as error:
                    self._fail(error)
                    self._scope.cancel()
                    return
                try:
                    await send.send(result)
                except anyio.BrokenResourceError:  # the consumer has gone
                    return

    def _fail(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error


def _unwrap(error: BaseException) -> BaseException:
    """The one exception inside (nested) groups of one, so no ``ExceptionGroup`` leaks out."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, anyio.get_cancelled_exc_class()):
        return RuntimeError("the stream's workers were cancelled from outside")
    return error


def _spawn(host: Callable[[], Coroutine[Any, Any, None]], done: anyio.Event) -> Any:
    """Run ``host`` in a task of its own on the running event loop (asyncio or trio)."""
    if sniffio.current_async_library() == "trio":
        import trio

        context = contextvars.copy_context()  # system tasks do not inherit the caller's
        return trio.lowlevel.spawn_system_task(host, name="smmpanel stream", context=context)
    import asyncio

    task = asyncio.get_running_loop().create_task(host(), name="smmpanel stream")
    # A task cancelled before its first step never runs ``host``'s ``finally``.
    task.add_done_callback(lambda _: done.set())
    return task
