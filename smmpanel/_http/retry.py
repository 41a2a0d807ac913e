"""Which failed attempts go again, and when: the retry policy, read from typed ``Failure``\\ s.

Reads go again on network trouble, unreadable answers, 5xx and 429s. Writes go again only
when the request provably never left, so an order is never placed twice. The waits are
exponential with jitter, or the panel's ``Retry-After``; tenacity runs the schedule, one
``AsyncRetrying`` per failed call, so nothing here touches a process-wide hook.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import anyio
import httpx
import tenacity

from .._config import MAX_BACKOFF, MAX_RETRY_AFTER
from .._errors import Failure, RateLimitError

__all__ = ["Policy", "for_read", "for_write", "schedule", "unsent"]

Policy = Callable[[BaseException], bool | float]
"""False: do not retry; True: retry after the backoff; a float: retry after that many seconds."""

_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def for_read(failure: BaseException) -> bool | float:
    """The policy of reads: retry, and how long to wait when the panel said."""
    if not isinstance(failure, Failure):
        return False
    error = failure.error
    if isinstance(error, RateLimitError):
        if error.retry_after is None:
            return True
        return min(error.retry_after, MAX_RETRY_AFTER)  # a wait of 0.0 still retries
    return failure.transient or failure.unsent


def for_write(failure: BaseException) -> bool:
    """The policy of writes: only a request that never left goes again."""
    return isinstance(failure, Failure) and failure.unsent


def unsent(error: httpx.HTTPError) -> bool:
    """True when ``error`` proves the request never left, so even a write may be retried.

    httpx-aiohttp maps every ``aiohttp.ClientConnectionError`` (a dropped connection too)
    to ``httpx.ConnectTimeout``; its ``__cause__`` is the aiohttp error that tells the truth.
    """
    cause = error.__cause__
    if cause is not None and type(cause).__module__.startswith("aiohttp"):
        import aiohttp

        return isinstance(cause, aiohttp.ClientConnectorError)
    return isinstance(error, _UNSENT)


def schedule(
    policy: Policy,
    attempts: int,
    backoff: float,
    before_sleep: Callable[[BaseException, int, float], None],
) -> tenacity.AsyncRetrying:
    """The retry loop of one call: at most ``attempts`` in all, the last failure re-raised.

    The wait before attempt *n + 1* is ``backoff * 2 ** (n - 1)`` plus up to ``backoff`` of
    jitter, at most ``MAX_BACKOFF``, unless the policy names one (``Retry-After``).
    ``before_sleep(failure, attempt, wait)`` is told of each retry (for the log).
    """

    def wait(state: tenacity.RetryCallState) -> float:
        hint = policy(_failure(state))
        if not isinstance(hint, bool):
            return float(hint)
        exponential = backoff * 2.0 ** (state.attempt_number - 1)
        return min(MAX_BACKOFF, exponential + random.uniform(0, backoff))

    def tell(state: tenacity.RetryCallState) -> None:
        slept = state.next_action.sleep if state.next_action is not None else 0.0
        before_sleep(_failure(state), state.attempt_number, slept)

    return tenacity.AsyncRetrying(
        sleep=anyio.sleep,
        stop=tenacity.stop_after_attempt(attempts),
        wait=wait,
        retry=tenacity.retry_if_exception(lambda failure: policy(failure) is not False),
        before_sleep=tell,
        reraise=True,
    )


def _failure(state: tenacity.RetryCallState) -> BaseException:
    outcome = state.outcome
    failure = outcome.exception() if outcome is not None else None
    assert failure is not None  # tenacity waits and logs only after a failed attempt
    return failure
