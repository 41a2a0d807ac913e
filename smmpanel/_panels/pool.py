"""The connection pool ``Panels.from_toml`` shares among its panels: one transport, per host.

One httpcore pool for 50 panels does work proportional to all its connections on every
request (measured: ~4 ms of client CPU per request at 50 panels, against ~1.5 ms with a
pool per panel). So the one transport keeps a small pool per origin (scheme, host, port),
sized to the ``concurrency`` of the panels there, made on first use. The SSL context
(25-80 ms to load; httpx loads one per transport, even for http://) is built once. To the
``httpx.AsyncClient`` above it this is one transport: closing it closes every connection.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from types import TracebackType

import httpx

__all__ = ["HostPools", "origin"]

Origin = tuple[str, str, int | None]


def origin(url: str | httpx.URL) -> Origin:
    """A URL's origin: ``(scheme, host, port)``, the port ``None`` when it is the default."""
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


class HostPools(httpx.AsyncBaseTransport):
    """One transport whose connections are pooled per origin, each pool ``sizes[origin]``."""

    def __init__(self, sizes: Mapping[Origin, int], default: int = 8) -> None:
        self._sizes = dict(sizes)
        self._default = default
        self._pools: dict[Origin, httpx.AsyncHTTPTransport] = {}
        self._ssl: ssl.SSLContext | None = None

    def _pool(self, key: Origin) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(key)
        if pool is None:
            size = self._sizes.get(key, self._default)
            if self._ssl is None:  # every transport builds one, even for http://: share it
                self._ssl = httpx.create_ssl_context()
            pool = self._pools[key] = httpx.AsyncHTTPTransport(
                verify=self._ssl,
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            )
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        return await self._pool((url.scheme, url.host, url.port)).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()
