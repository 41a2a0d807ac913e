"""The default wire: httpcore's HTTP/1.1 connections to the panel, in a pool of our own.

httpcore's own pool scans every connection it holds, twice per request (``has_expired``
asks the socket for its peer and polls it, each time), and httpx's client and transport
layers rebuild the request and its headers on top: measured at 0 ms, concurrency 16,
that was 65% of a bulk poll's client CPU. A ``Panel`` talks to one origin only, so this
pool keeps idle connections on a stack and asks only the one it takes whether the panel
closed it meanwhile. The HTTP itself (h11, TLS, the per-phase timeouts, the shielded
close of a connection left mid-answer) is httpcore's, on asyncio and trio alike.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections.abc import AsyncIterable

import anyio
import httpcore
import httpx

from .wire import HEADERS, Answer, Decoder, RawHeaders, TooLarge

__all__ = ["KEEPALIVE", "PoolWire", "ssl_context"]

KEEPALIVE = 5.0
"""Seconds an idle connection is kept, as httpx keeps them (``httpx.Limits``)."""


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: loading CA certificates takes 25-95 ms."""
    return httpx.create_ssl_context()


class PoolWire:
    """Posts to one URL over up to ``size`` kept-alive HTTP/1.1 connections.

    The throttle above never lets more than ``size`` requests in at once, so a request
    never waits for a connection: it takes an idle one or opens one. ``https=False`` (an
    ``http://`` panel) loads no CA certificates, since no redirect is ever followed.
    """

    def __init__(self, url: str, size: int, *, timeout: httpx.Timeout, user_agent: str) -> None:
        parsed = httpx.URL(url)
        # The request line and Host header as httpx writes them for this URL.
        self._url = httpcore.URL(
            scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
        )
        self._origin = self._url.origin
        self._ssl = ssl_context() if parsed.scheme == "https" else None
        self._headers = [
            (b"Host", parsed.netloc),
            (b"Accept", HEADERS["Accept"].encode()),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"Connection", b"keep-alive"),
            (b"User-Agent", user_agent.encode()),
            (b"Content-Type", HEADERS["Content-Type"].encode()),
        ]
        self._extensions = {"timeout": timeout.as_dict()}
        self._size = size
        self._idle: list[httpcore.AsyncHTTPConnection] = []
        self._open: set[httpcore.AsyncHTTPConnection] = set()
        self.closed = False

    @property
    def connections(self) -> int:
        """Connections open now, idle or carrying a request."""
        return len(self._open)

    @property
    def idle(self) -> int:
        """Connections open and waiting for a request."""
        return len(self._idle)

    async def post(self, body: bytes, limit: int) -> Answer:
        if self.closed:
            raise httpx.ConnectError("the connection pool is closed")
        request = httpcore.Request(
            b"POST",
            self._url,
            headers=[*self._headers, (b"Content-Length", b"%d" % len(body))],
            content=body,
            extensions=self._extensions,
        )
        connection = await self._take()
        try:
            response = await connection.handle_async_request(request)
            content = await _read(response, limit)
            await response.aclose()  # readies the connection for the next request
        except BaseException as error:
            # Failed, cancelled or too large: the connection may hold half an answer.
            self._open.discard(connection)
            await _close(connection)
            if isinstance(error, httpcore.ConnectionNotAvailable):  # nothing was sent
                raise httpx.ConnectError("no connection was available") from None
            mapped = _ERRORS.get(type(error))
            if mapped is not None:
                # A fresh httpx error of the same kind, as httpx itself raises them.
                raise mapped(str(error) or mapped.__name__) from None
            raise
        self._give(connection)
        return Answer(response.status, RawHeaders(response.headers), content)

    async def _take(self) -> httpcore.AsyncHTTPConnection:
        idle = self._idle
        while idle:
            connection = idle.pop()
            # Only this one is asked: has the panel closed it, or did it stay idle too long?
            if connection.is_idle() and not connection.has_expired():
                return connection
            self._open.discard(connection)
            await _close(connection)
        connection = httpcore.AsyncHTTPConnection(
            origin=self._origin, ssl_context=self._ssl, keepalive_expiry=KEEPALIVE
        )
        self._open.add(connection)
        return connection

    def _give(self, connection: httpcore.AsyncHTTPConnection) -> None:
        if connection.is_idle() and not self.closed and len(self._idle) < self._size:
            self._idle.append(connection)
        else:  # closed by the panel ("Connection: close"), or no room: httpcore closed it
            self._open.discard(connection)

    async def aclose(self) -> None:
        self.closed = True
        open_, self._open, self._idle = list(self._open), set(), []
        for connection in open_:
            await _close(connection)


async def _close(connection: httpcore.AsyncHTTPConnection) -> None:
    """Close a connection; shielded, so a cancelled caller still closes its socket."""
    # A socket the panel broke is closed all the same.
    with anyio.move_on_after(5, shield=True), contextlib.suppress(Exception):
        await connection.aclose()


async def _read(response: httpcore.Response, limit: int) -> bytes:
    """The whole body, decoded, or ``TooLarge`` as soon as it passes ``limit`` bytes."""
    length = encoding = b""
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == b"content-length":
            length = value
        elif lowered == b"content-encoding":
            encoding = value
    if length.isdigit() and int(length) > limit:
        raise TooLarge(length.decode())
    encoding = encoding.strip().lower()
    plain = encoding in (b"", b"identity")
    decoder = None if plain else Decoder(encoding.decode("latin-1"), limit)
    parts: list[bytes] = []
    size = 0
    stream = response.stream
    assert isinstance(stream, AsyncIterable)  # httpcore's async connections stream
    async for part in stream:
        if decoder is not None:
            part = decoder.feed(part)
        size += len(part)
        if size > limit:
            raise TooLarge(f"over {limit}")
        parts.append(part)
    if decoder is not None:
        parts.append(decoder.flush())
    return parts[0] if len(parts) == 1 else b"".join(parts)


_ERRORS: dict[type[BaseException], type[httpx.HTTPError]] = {
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadError: httpx.ReadError,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteError: httpx.WriteError,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.TimeoutException: httpx.TimeoutException,
}
