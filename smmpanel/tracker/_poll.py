"""Poll one panel's due orders once: the unit of work of ``Tracker.run`` and of workers.

``poll_panel`` takes (or renews) the panel's lease, reads the due queue most overdue
first, asks for the orders in 100-ID chunks with ``panel.concurrency`` requests in flight
(the ``Panel`` paces them to its ``rate_limit``, so the budget is spent fully and never
exceeded), and writes each answered chunk's statuses and events as they come back, in
batches. It returns when nothing is due any more, when asked to stop (the batch in hand
is finished and written), when the panel fails (so the caller backs it off alone), or
when another owner took the lease. Any process holding a store can call it, which is what
a task of a distributed worker does.
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs

from .._client import Panel
from .._errors import (
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    SMMPanelError,
    TransportError,
)
from .._models import Bulk, OrderStatus
from ._cadence import Cadence
from ._codec import key_of
from ._store import Due, LeaseLost, Outcome, Store

__all__ = ["CHUNK", "PollReport", "Write", "poll_panel"]

logger = logging.getLogger("smmpanel.tracker")

CHUNK = 100
"""IDs per status request: the API's limit."""
FLUSH_ROWS = 4000
"""The most outcomes written in one transaction."""
FLUSH_DELAY = 0.5
"""Seconds an answer may wait for others to share its transaction."""


@attrs.define
class PollReport:
    """What one ``poll_panel`` call did."""

    panel: str
    polled: int = 0
    """Orders answered (a status, or not found) and written."""
    changed: int = 0
    """Events written."""
    requests: int = 0
    """Status requests sent."""
    failure: SMMPanelError | None = None
    """Why the panel should be backed off (it failed after its own retries)."""
    auth: AuthenticationError | None = None
    """Set when the panel refused the key: pause it."""
    skipped: bool = False
    """Another live owner holds the panel's lease: nothing was done."""
    lease_lost: bool = False
    """The lease passed to another owner mid-way; the batch in hand was not written."""


Write = Callable[[str, str, list[Outcome]], Awaitable[int]]
"""Writes one panel's batch of outcomes; returns how many changed; raises ``LeaseLost``."""

_FAILED = (AuthenticationError, TransportError, ProtocolError, RateLimitError)


def _outcomes(chunk: list[Due], bulk: Bulk[OrderStatus]) -> tuple[list[Outcome], Any]:
    """Each order's outcome, and the error that says the panel itself failed (if any)."""
    done: list[Outcome] = []
    add = done.append
    failure: SMMPanelError | None = None
    answered = bulk.ok.get
    errors = bulk.errors
    for due in chunk:
        status = answered(due.order)
        if status is not None:
            add(Outcome(due, key_of(status)))
            continue
        error = errors.get(due.order)
        if isinstance(error, NotFoundError):
            done.append(Outcome(due, None, not_found=True))
        elif error is None or isinstance(error, _FAILED):
            failure = failure or error
        else:  # another per-ID refusal: polled, nothing learned; the wait grows
            done.append(Outcome(due, None))
    return done, failure


async def poll_panel(
    store: Store,
    name: str,
    panel: Panel,
    *,
    cadence: Cadence,
    owner: str,
    lease: float = 60.0,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.time,
    on_request: Callable[[int], object] | None = None,
    rng: random.Random | None = None,
    limit: int | None = None,
    write: Write | None = None,
) -> PollReport:
    """Poll every order of ``name`` that is due now, once; see the module's docstring.

    ``limit`` caps the orders claimed in this call (the most overdue first), for a worker
    that polls in bounded slices. ``write(name, owner, outcomes)`` writes a batch and
    returns how many changed (raising ``LeaseLost``); the default is ``store.write`` in a
    worker thread. ``Tracker`` passes one that merges all its panels' batches.
    """
    report = PollReport(name)
    if not await store.call(store.acquire, name, owner, clock(), lease):
        report.skipped = True
        return report
    rng = rng or random.Random()
    workers = max(1, panel.concurrency)
    claim_rows = max(CHUNK * workers * 4, 1000)
    left = limit if limit is not None else -1
    chunks: deque[list[Due]] = deque()
    cursor: tuple[float, int] | None = None
    exhausted = False
    halt = False
    claim_lock = anyio.Lock()
    send, receive = anyio.create_memory_object_stream[list[Outcome]](workers * 4)
    started = clock()  # orders falling due after this wait for the next call

    async def refill() -> None:
        nonlocal cursor, exhausted, left
        async with claim_lock:
            if chunks or exhausted:
                return
            want = claim_rows if left < 0 else min(claim_rows, left)
            claimed = await store.call(store.claim, name, started, cursor, want) if want else []
            if len(claimed) < want or not want:
                exhausted = True
            if left >= 0:
                left -= len(claimed)
            if claimed:
                cursor = (claimed[-1].at, claimed[-1].row)
                for start in range(0, len(claimed), CHUNK):
                    chunks.append(claimed[start : start + CHUNK])

    def stopping() -> bool:
        return halt or should_stop()

    async def worker() -> None:
        nonlocal halt
        async with send.clone() as out:
            while not stopping():
                if not chunks:
                    await refill()
                    if not chunks:
                        return
                    if stopping():
                        return
                chunk = chunks.popleft()
                report.requests += 1
                if on_request is not None:
                    on_request(1)
                bulk = await panel.statuses([due.order for due in chunk])
                done, failure = _outcomes(chunk, bulk)
                if isinstance(failure, AuthenticationError):
                    report.auth = failure
                    halt = True
                elif failure is not None:
                    report.failure = failure
                    halt = True
                if done:
                    await out.send(done)

    async def writer() -> None:
        nonlocal halt
        async with receive:
            batch: list[Outcome] = []
            async for done in receive:
                batch.extend(done)
                # Take what else comes within FLUSH_DELAY, then write it all in one
                # transaction: a paced panel's answers trickle in, and a commit per
                # answer costs more than the rows it writes.
                with anyio.move_on_after(FLUSH_DELAY):
                    while len(batch) < FLUSH_ROWS:
                        try:
                            batch.extend(await receive.receive())
                        except anyio.EndOfStream:
                            break
                if report.lease_lost:
                    batch = []
                    continue
                try:
                    if write is not None:
                        changed = await write(name, owner, batch)
                    else:
                        changed = await store.call(
                            store.write,
                            name,
                            owner,
                            batch,
                            clock(),
                            cadence,
                            lease,
                            rng.getrandbits(32),
                        )
                except LeaseLost:
                    logger.warning("panel %s: another process took over its lease", name)
                    report.lease_lost = True
                    halt = True
                else:
                    report.polled += len(batch)
                    report.changed += changed
                batch = []

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            async with send, anyio.create_task_group() as pollers:
                for _ in range(workers):
                    pollers.start_soon(worker)
    except ExceptionGroup as group:  # a store error: raise it, not a group
        raise _first(group) from None
    return report


def _first(group: ExceptionGroup[Exception]) -> Exception:
    error: Exception = group
    while isinstance(error, ExceptionGroup):
        error = error.exceptions[0]
    return error
