"""The opt-in fast HTTP stack: httpx's API over aiohttp (extra ``smmpanel[fast]``, asyncio only).

httpcore's pool spends most of a bulk poll's client CPU at high concurrency; aiohttp's
connector keeps every connection alive at a fraction of the cost. The httpx API stays, so
the rest of smmpanel does not know which stack is underneath.
"""

from __future__ import annotations

import httpx

__all__ = ["fast_transport", "unsent"]


def fast_transport(concurrency: int) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed httpx transport sized for ``concurrency`` connections."""
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # pragma: no cover - depends on the extra
        raise ImportError("fast=True needs the fast extra: pip install 'smmpanel[fast]'") from None
    transport: httpx.AsyncBaseTransport = AiohttpTransport(
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    )
    return transport


_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


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
