"""``iter_statuses``' pipeline (``smmpanel._client.bulk.stream``): continuous, bounded, clean.

Counted, never timed: a fake ``run`` holds each chunk until the test lets it go, so the
tests see how many chunks are in flight, how many IDs were read, what was cancelled, and
whether the pipeline's task is still there, at each step, on asyncio and on trio.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from typing import Any

import anyio
import httpx
import pytest
import sniffio

from smmpanel import OrderStatus, Panel, Status
from smmpanel._client.bulk import stream
from smmpanel._config import MAX_STREAM_BUFFER, STREAM_BUFFER
from smmpanel._models import Bulk, PerID

pytestmark = pytest.mark.anyio

TASK = "smmpanel stream"


def statuses(chunk: list[int]) -> PerID[OrderStatus]:
    return {id: OrderStatus(id, Status.PENDING) for id in chunk}


class Gate:
    """A fake ``run``: each chunk waits until the test releases it; counts what is in flight."""

    def __init__(self) -> None:
        self.waiting: dict[int, anyio.Event] = {}
        self.finished: list[int] = []
        self.cancelled = 0
        self.most = 0

    @property
    def in_flight(self) -> int:
        return len(self.waiting)

    async def __call__(self, chunk: list[int]) -> PerID[OrderStatus]:
        event = self.waiting[chunk[0]] = anyio.Event()
        self.most = max(self.most, self.in_flight)
        try:
            await event.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            del self.waiting[chunk[0]]
        self.finished.append(chunk[0])
        return statuses(chunk)

    def release(self, turn: int) -> None:
        """Let one chunk finish: the newest or the oldest in flight, turn about."""
        keys = list(self.waiting)
        self.waiting[keys[-1] if turn % 2 else keys[0]].set()


async def instant(chunk: list[int]) -> PerID[OrderStatus]:
    await anyio.lowlevel.checkpoint()
    return statuses(chunk)


class Counted:
    """IDs from ``ids``, counting how many were read."""

    def __init__(self, ids: Iterable[Any]) -> None:
        self._ids = iter(ids)
        self.read = 0

    def __iter__(self) -> Iterator[Any]:
        for id in self._ids:
            self.read += 1
            yield id


def stream_tasks() -> int:
    """How many pipeline tasks are alive on this event loop."""
    if sniffio.current_async_library() == "asyncio":
        return sum(task.get_name() == TASK for task in asyncio.all_tasks())
    import trio

    def walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
        yield task
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                yield from walk(child)

    root = trio.lowlevel.current_root_task()
    assert root is not None
    return sum(task.name == TASK for task in walk(root))


async def settle() -> None:
    """Until every other task waits (asyncio resolves some futures a turn late: twice)."""
    for _ in range(2):
        await anyio.wait_all_tasks_blocked()
        await anyio.lowlevel.checkpoint()


# ---------------------------------------------------------------------------- continuity


async def test_every_worker_stays_busy_to_the_end() -> None:
    """Whenever chunks remain, all workers are in flight: no pause between windows."""
    workers, size, chunks = 3, 2, 40
    gate = Gate()
    seen: list[list[int]] = []

    async def consume() -> None:
        async for bulk in stream(range(1, size * chunks + 1), size, gate, workers):
            seen.append(list(bulk.ok))

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        for turn in range(chunks):
            await settle()
            assert gate.in_flight == min(workers, chunks - len(gate.finished)), turn
            gate.release(turn)
    assert sorted(seen) == [[i, i + 1] for i in range(1, size * chunks + 1, size)]
    assert gate.most == workers
    assert stream_tasks() == 0


async def test_the_first_answer_comes_after_the_first_chunk() -> None:
    """The first chunk is sent and yielded while the source is still stuck on the second."""
    more = anyio.Event()

    async def ids() -> AsyncIterator[int]:
        for id in range(1, 5):
            yield id
        await more.wait()  # a slow producer
        for id in range(5, 9):
            yield id

    async with aclosing(stream(ids(), 4, instant, 8)) as chunks:
        first = await anext(chunks)
        assert list(first.ok) == [1, 2, 3, 4]
        more.set()
        rest = [list(bulk.ok) async for bulk in chunks]
    assert rest == [[5, 6, 7, 8]]


async def test_workers_keep_going_while_the_consumer_is_busy_up_to_a_bound() -> None:
    """A consumer busy with one answer leaves the workers running until the buffer is full,
    then reading stops: memory is bounded even for an endless stream of IDs."""
    workers, size = 3, 5
    buffer = min(workers * STREAM_BUFFER, MAX_STREAM_BUFFER)
    source = Counted(itertools.count(1))
    answered = 0

    async def run(chunk: list[int]) -> PerID[OrderStatus]:
        nonlocal answered
        await anyio.lowlevel.checkpoint()
        answered += 1
        return statuses(chunk)

    async with aclosing(stream(source, size, run, workers)) as chunks:
        await anext(chunks)
        await settle()  # the consumer is "busy": it does not ask for more
        # Every worker answered one more chunk and waits to hand it over, the buffer is
        # full, and the reader holds one chunk ready: nothing beyond that was read.
        assert answered == 1 + buffer + workers
        assert source.read == (1 + buffer + workers + 1) * size
        for _ in range(100):
            await anext(chunks)
        await settle()
        assert source.read == (101 + buffer + workers + 1) * size
    assert stream_tasks() == 0


# ---------------------------------------------------------------------------- stopping


async def test_breaking_out_cancels_what_is_in_flight_and_ends_the_task() -> None:
    """``break`` inside ``aclosing``: the chunks in flight are cancelled, nothing is left."""
    gate = Gate()
    source = Counted(range(1, 1001))

    async def consume() -> None:
        async with aclosing(stream(source, 10, gate, 4)) as chunks:
            async for _ in chunks:
                break

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await settle()
        assert gate.in_flight == 4
        gate.release(0)
    assert gate.in_flight == 0
    assert gate.cancelled >= 3
    assert gate.finished == [1]
    assert stream_tasks() == 0
    read = source.read
    await settle()
    assert source.read == read


# trio warns of any async generator collected unfinished (ResourceWarning, hidden by default).
@pytest.mark.filterwarnings("ignore:Async generator:ResourceWarning")
async def test_a_dropped_stream_is_finalized_without_leaks() -> None:
    """A plain ``break`` without ``aclosing``: the event loop's finalizer stops the task."""
    gate = Gate()

    async def first() -> Bulk[OrderStatus]:
        async for bulk in stream(range(1, 1001), 10, gate, 4):
            return bulk  # the generator is dropped suspended at its yield
        raise AssertionError("no chunk")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await settle()
        gate.release(0)
    gc.collect()
    await settle()
    assert gate.in_flight == 0
    assert stream_tasks() == 0


async def test_cancelling_the_consumer_cancels_the_workers() -> None:
    """A cancelled consumer unwinds the stream: workers cancelled, the task gone, no error."""
    gate = Gate()
    seen: list[int] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def consume() -> None:
                async for bulk in stream(range(1, 1001), 10, gate, 3):
                    seen.extend(bulk.ok)

            tg.start_soon(consume)
            await settle()
            gate.release(0)
            await settle()
            assert gate.in_flight == 3
            scope.cancel()
    assert scope.cancelled_caught
    assert seen == list(range(1, 11))
    assert gate.in_flight == 0
    assert gate.cancelled == 3
    assert stream_tasks() == 0


DROPPED = """
import sys

import anyio, httpx, smmpanel


def handler(request):
    ids = dict(httpx.QueryParams(request.content.decode()))["orders"].split(",")
    return httpx.Response(200, json={i: {"status": "Pending"} for i in ids})


async def main():
    transport = httpx.MockTransport(handler)
    url = "https://panel.example/api/v2"
    async with smmpanel.Panel(url, "k", transport=transport, chunk_size=10) as panel:
        async for bulk in panel.iter_statuses(iter(range(1, 10001))):
            break
        try:
            async for bulk in panel.iter_statuses(iter(range(1, 10001))):
                raise KeyError("stop")
        except KeyError:
            pass
    print("clean")


anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_plain_break_or_an_error_in_the_loop_ends_cleanly(backend: str) -> None:
    """Without ``aclosing``, ``break`` or an exception in the loop body leaves no warning
    ("async generator ignored GeneratorExit"), no traceback, no task behind."""
    done = subprocess.run(
        [sys.executable, "-c", DROPPED, backend], capture_output=True, text=True, timeout=60
    )
    assert done.stderr == ""
    assert done.stdout.strip() == "clean"
    assert done.returncode == 0


# ---------------------------------------------------------------------------- failures


@pytest.mark.parametrize("bad", ["seven", -3, None, 2**64])
async def test_a_bad_id_mid_stream_comes_after_every_chunk_read_before_it(bad: object) -> None:
    """Chunks read before a bad ID are answered and yielded, then its ValueError itself."""
    gate = Gate()
    ids: list[object] = [*range(1, 11), bad, *range(12, 21)]
    seen: list[list[int]] = []
    raised: list[Exception] = []

    async def consume() -> None:
        try:
            async for bulk in stream(iter(ids), 2, gate, 3):
                seen.append(list(bulk.ok))
        except Exception as error:
            raised.append(error)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        for turn in range(5):
            await settle()
            gate.release(turn)
    [error] = raised
    assert type(error) is ValueError
    assert "positive integer" in str(error)
    assert sorted(seen) == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]
    assert stream_tasks() == 0


async def test_a_source_that_fails_mid_way_raises_its_own_error_after_the_chunks_read() -> None:
    """Any error from the source (a TypeError here) ends the reading, not the answering."""

    def ids() -> Iterator[int]:
        yield from range(1, 8)
        raise TypeError("not an ID source any more")

    seen: list[int] = []

    async def consume() -> None:
        async for bulk in stream(ids(), 3, instant, 2):
            seen.extend(bulk.ok)

    with pytest.raises(TypeError, match="not an ID source"):
        await consume()
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]


async def test_a_single_string_is_refused() -> None:
    with pytest.raises(TypeError, match="single string"):
        async for _ in stream("123", 3, instant, 2):
            pass


async def test_a_panel_closed_mid_stream_raises_its_error_not_a_group() -> None:
    """The closed Panel's RuntimeError comes out as itself, never as an ExceptionGroup."""

    def handler(request: httpx.Request) -> httpx.Response:
        ids = dict(httpx.QueryParams(request.content.decode()))["orders"].split(",")
        return httpx.Response(200, json={i: {"status": "Pending"} for i in ids})

    panel = Panel("https://panel.example/api/v2", "k", transport=httpx.MockTransport(handler))
    seen = 0

    async def consume() -> None:
        nonlocal seen
        async with aclosing(panel.iter_statuses(range(1, 100_001))) as chunks:
            async for bulk in chunks:
                seen += len(bulk.ok)
                await panel.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await consume()
    assert seen >= 100
    assert stream_tasks() == 0


async def test_everything_comes_back_once_through_a_panel() -> None:
    """Thousands of IDs through a mock panel: each answered once, in its own chunk."""
    asked: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = dict(httpx.QueryParams(request.content.decode()))["orders"].split(",")
        asked.append(ids)
        return httpx.Response(200, json={i: {"status": "Pending"} for i in ids})

    transport = httpx.MockTransport(handler)
    async with Panel("https://panel.example/api/v2", "k", transport=transport) as panel:
        got = [id async for bulk in panel.iter_statuses(range(1, 5001)) for id in bulk.ok]
    assert sorted(got) == list(range(1, 5001))
    assert len(asked) == 50
    assert stream_tasks() == 0
