"""Which failed attempts go again, and when: the retry policy, read from typed ``Failure``\\ s.

Reads go again on network trouble, unreadable answers, 5xx and 429s. Writes go again only
when the request provably never left, so an order is never placed twice.
"""

from __future__ import annotations

import httpx

from .._config import MAX_RETRY_AFTER
from .._errors import Failure, RateLimitError

__all__ = ["for_read", "for_write", "unsent"]

_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def for_read(failure: Exception) -> bool | float:
    """stamina's ``on=`` hook for reads: retry, and how long to wait when the panel said."""
    if not isinstance(failure, Failure):
        return False
    error = failure.error
    if isinstance(error, RateLimitError):
        if error.retry_after is None:
            return True
        return min(error.retry_after, MAX_RETRY_AFTER)  # a wait of 0.0 still retries
    return failure.transient or failure.unsent


def for_write(failure: Exception) -> bool:
    """stamina's ``on=`` hook for writes: only a request that never left goes again."""
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
