"""The opt-in fast HTTP stack: httpx's API over aiohttp (extra ``smmpanel[fast]``, asyncio only).

httpcore's pool spends most of a bulk poll's client CPU at high concurrency; aiohttp's
connector keeps every connection alive at a fraction of the cost. The httpx API stays, so
the rest of smmpanel does not know which stack is underneath.
"""

from __future__ import annotations

import httpx

__all__ = ["fast_transport"]


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
