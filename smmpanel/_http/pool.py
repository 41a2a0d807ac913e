"""The default wire: HTTP/1.1 by h11 over anyio's sockets, in a pool of kept-alive connections.

This is httpcore's HTTP/1.1 path with what a ``Panel`` never needs taken out. httpcore's
pool scans every connection it holds, twice per request (each ``has_expired`` asks the
socket for its peer and polls it), httpx's client rebuilds the request on top, and each
connection takes three locks, five trace hooks and two socket writes per request. At
0 ms, concurrency 16, that was 65% of a bulk poll's client CPU; httpcore's connection
objects in a pool of our own still cost ~1.7x what this loop does. A ``Panel`` talks to
one origin, one request per connection at a time, so a stack of idle connections needs no
locks, and only the connection taken is asked whether the panel closed it meanwhile.

The protocol stays library code: h11 (httpcore's own HTTP/1.1 machine) writes the request
and parses the answer; anyio connects (happy eyeballs), does TLS and runs on asyncio and
trio alike. What httpcore does besides is kept: a timeout per phase (connect, write, each
read), its error classes and messages (as httpx's), the keep-alive expiry, the limit on
a header block, and a shielded close of a connection left mid-answer.
"""

from __future__ import annotations

import contextlib
import functools
import math
import select
import socket
import ssl
import sys
import time
from collections.abc import Sequence

import anyio
import anyio.abc
import anyio.streams.tls
import h11
import httpx

from .wire import HEADERS, Answer, Decoder, RawHeaders, TooLarge

__all__ = ["KEEPALIVE", "PoolWire", "ssl_context"]

KEEPALIVE = 5.0
"""Seconds an idle connection is kept, as httpx keeps them (``httpx.Limits``)."""
_READ = 64 * 1024
_MAX_HEAD = 100 * 1024
"""The most an answer's status line and headers may take, as httpcore allows."""


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying SSL context per process: loading CA certificates takes 25-95 ms."""
    context = httpx.create_ssl_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Connection:
    """One socket and its h11 state; ``until`` is when it stops being worth reusing."""

    __slots__ = ("h11", "sock", "stream", "until")

    def __init__(self, stream: anyio.abc.ByteStream, sock: socket.socket | None) -> None:
        self.stream = stream
        self.sock = sock
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self.until = 0.0


class PoolWire:
    """Posts to one URL over up to ``size`` kept-alive HTTP/1.1 connections.

    The throttle above never lets more than ``size`` requests in at once, so a request
    never waits for a connection: it takes an idle one or opens one. An ``http://`` panel
    loads no CA certificates, since no redirect is ever followed.
    """

    def __init__(self, url: str, size: int, *, timeout: httpx.Timeout, user_agent: str) -> None:
        parsed = httpx.URL(url)
        https = parsed.scheme == "https"
        self._host = parsed.host
        self._port = parsed.port or (443 if https else 80)
        # The request target and Host header as httpx writes them for this URL.
        self._target = parsed.raw_path
        self._ssl = ssl_context() if https else None
        self._headers = [
            (b"Host", parsed.netloc),
            (b"Accept", HEADERS["Accept"].encode()),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"Connection", b"keep-alive"),
            (b"User-Agent", user_agent.encode()),
            (b"Content-Type", HEADERS["Content-Type"].encode()),
        ]
        self._connect = timeout.connect
        self._write = timeout.write
        self._read = timeout.read
        self._size = size
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
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
        connection = await self._take()
        try:
            status, headers, content = await self._exchange(connection, body, limit)
        except BaseException as error:
            # Failed, cancelled or too large: the connection may hold half an answer.
            self._open.discard(connection)
            await _close(connection)
            if isinstance(error, h11.RemoteProtocolError):
                raise httpx.RemoteProtocolError(str(error)) from None
            if isinstance(error, h11.LocalProtocolError):
                raise httpx.LocalProtocolError(str(error)) from None
            raise
        state = connection.h11
        if state.our_state is h11.DONE and state.their_state is h11.DONE and not self.closed:
            state.start_next_cycle()
            connection.until = time.monotonic() + KEEPALIVE
            if len(self._idle) < self._size:
                self._idle.append(connection)
                return Answer(status, RawHeaders(headers), content)
        # The panel said "Connection: close" (or there is no room): not reused.
        self._open.discard(connection)
        await _close(connection)
        return Answer(status, RawHeaders(headers), content)

    async def _take(self) -> _Connection:
        idle = self._idle
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            # Only this one is asked: did it stay idle too long, or has the panel closed
            # it (an idle socket with something to read holds only its end of stream)?
            if now < connection.until and not _readable(connection.sock):
                return connection
            self._open.discard(connection)
            await _close(connection)
        connection = await self._dial()
        self._open.add(connection)
        return connection

    async def _dial(self) -> _Connection:
        """A new connection: TCP, then TLS for ``https``, each within the connect timeout."""
        try:
            with anyio.fail_after(self._connect):
                tcp = await anyio.connect_tcp(self._host, self._port)
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out") from None
        except (OSError, anyio.BrokenResourceError) as error:
            raise httpx.ConnectError(str(error) or type(error).__name__) from None
        stream: anyio.abc.ByteStream = tcp
        try:
            if self._ssl is not None:
                with anyio.fail_after(self._connect):
                    stream = await anyio.streams.tls.TLSStream.wrap(
                        tcp,
                        hostname=self._host,
                        ssl_context=self._ssl,
                        standard_compatible=False,  # panels often close without TLS close_notify
                    )
        except BaseException as error:
            with anyio.CancelScope(shield=True):
                await tcp.aclose()
            if isinstance(error, TimeoutError):
                raise httpx.ConnectTimeout("timed out") from None
            if isinstance(error, ssl.SSLError | OSError | anyio.BrokenResourceError):
                raise httpx.ConnectError(str(error) or type(error).__name__) from None
            if isinstance(error, anyio.EndOfStream):
                raise httpx.ConnectError("the panel closed the connection during TLS") from None
            raise
        return _Connection(stream, tcp.extra(anyio.abc.SocketAttribute.raw_socket, None))

    async def _exchange(
        self, connection: _Connection, body: bytes, limit: int
    ) -> tuple[int, Sequence[tuple[bytes, bytes]], bytes]:
        """One request and its whole answer on ``connection``."""
        state = connection.h11
        stream = connection.stream
        head = h11.Request(
            method=b"POST",
            target=self._target,
            headers=[*self._headers, (b"Content-Length", b"%d" % len(body))],
        )
        # One write for the request line, headers and body: one system call, one packet.
        data = state.send(head) or b""
        data += (state.send(h11.Data(data=body)) or b"") + (state.send(h11.EndOfMessage()) or b"")
        # One cancel scope for the whole exchange, its deadline moved at each step: the
        # write timeout for the write, the read timeout for each read (as httpcore times
        # them), without a scope per socket operation.
        status = 0
        headers: Sequence[tuple[bytes, bytes]] = ()
        decoder: Decoder | None = None
        parts: list[bytes] = []
        size = 0
        writing = True
        with anyio.CancelScope(deadline=_deadline(self._write)) as scope:
            try:
                await stream.send(data)
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as error:
                raise httpx.WriteError(str(error) or type(error).__name__) from None
            writing = False
            reading = self._read
            while True:
                event = state.next_event()
                if event is h11.NEED_DATA:
                    scope.deadline = _deadline(reading)
                    state.receive_data(await _receive(connection))
                elif type(event) is h11.Data:
                    part = bytes(event.data)
                    if decoder is not None:
                        part = decoder.feed(part)
                    size += len(part)
                    if size > limit:
                        raise TooLarge(f"over {limit}")
                    parts.append(part)
                elif type(event) is h11.Response:
                    status = event.status_code
                    headers = event.headers
                    decoder = _decoder(headers, limit)
                elif type(event) is h11.EndOfMessage:
                    break
                # h11.InformationalResponse (a 100 Continue nobody asked for): read on.
        if scope.cancelled_caught:  # the deadline passed, not a cancellation from outside
            raise httpx.WriteTimeout("timed out") if writing else httpx.ReadTimeout("timed out")
        if decoder is not None:
            parts.append(decoder.flush())
        return status, headers, parts[0] if len(parts) == 1 else b"".join(parts)

    async def aclose(self) -> None:
        self.closed = True
        open_, self._open, self._idle = list(self._open), set(), []
        for connection in open_:
            await _close(connection)


async def _receive(connection: _Connection) -> bytes:
    try:
        return await connection.stream.receive(_READ)
    except anyio.EndOfStream:
        if connection.h11.their_state is h11.SEND_RESPONSE:
            message = "Server disconnected without sending a response."
            raise httpx.RemoteProtocolError(message) from None
        return b""  # h11 says what an end of stream mid-answer means
    except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as error:
        raise httpx.ReadError(str(error) or type(error).__name__) from None


def _deadline(timeout: float | None) -> float:
    return math.inf if timeout is None else anyio.current_time() + timeout


def _decoder(headers: Sequence[tuple[bytes, bytes]], limit: int) -> Decoder | None:
    """A decoder for the answer's Content-Encoding (``None``: as sent), or ``TooLarge``."""
    encoding = b""
    for name, value in headers:  # h11 gives the names in lower case
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise TooLarge(value.decode())
        if name == b"content-encoding":
            encoding = value.strip().lower()
    if encoding in (b"", b"identity"):
        return None
    return Decoder(encoding.decode("latin-1"), limit)


async def _close(connection: _Connection) -> None:
    """Close a connection; shielded, so a cancelled caller still closes its socket."""
    # A socket the panel broke is closed all the same.
    with anyio.move_on_after(5, shield=True), contextlib.suppress(Exception):
        await connection.stream.aclose()


def _readable(sock: socket.socket | None) -> bool:
    """True when ``sock`` has something to read (for an idle connection: its end)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    if sys.platform == "win32" or not hasattr(select, "poll"):  # pragma: no cover
        return bool(select.select([fd], [], [], 0)[0])
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))
