"""The default transport: one httpx transport made of several small httpcore pools.

httpcore's pool does work proportional to its connections on every request; measured on a
2-core machine at 50 ms latency, one pool of 64 connections cost ~100 µs of client CPU per
order, while 8 pools of 8 connections cost ~12 µs and finished 6x sooner. So a ``Panel``
with ``concurrency`` above ``SHARD`` spreads its connections over pools of at most
``SHARD``, each request going to the least busy one. To the ``httpx.AsyncClient`` above it
this is one transport, one pool: limits, timeouts and closing behave as usual.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator

import httpx

from .._config import SHARD

__all__ = ["pooled_transport"]


def pooled_transport(concurrency: int, *, https: bool = True) -> httpx.AsyncBaseTransport:
    """A transport for ``concurrency`` connections: one pool, or shards of at most ``SHARD``.

    ``https=False`` (an ``http://`` panel) skips loading CA certificates: the transport only
    ever talks to the panel's own URL, since no redirect is followed.
    """
    context = ssl_context() if https else _plain_context()
    shards = -(-concurrency // SHARD)
    if shards == 1:
        return _pool(concurrency, context)
    size = -(-concurrency // shards)
    return _Sharded([_pool(size, context) for _ in range(shards)])


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: loading CA certificates takes 25-95 ms."""
    return httpx.create_ssl_context()


@functools.cache
def _plain_context() -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=False)


def _pool(size: int, context: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(
        verify=context,
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
    )


class _Sharded(httpx.AsyncBaseTransport):
    """Sends each request through the pool with the fewest requests in flight."""

    def __init__(self, shards: list[httpx.AsyncHTTPTransport]) -> None:
        self._shards = shards
        self._busy = [0] * len(shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        # The connection stays busy until its body is read and closed, not just its headers.
        response.stream = _Release(response.stream, self._busy, index)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Release(httpx.AsyncByteStream):
    """A response body that frees its shard's slot when closed."""

    def __init__(
        self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, busy: list[int], index: int
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._busy = busy
        self._index = index
        self._open = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._index] -= 1
        await self._stream.aclose()
