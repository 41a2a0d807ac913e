"""The opt-in fast wire: aiohttp's ``ClientSession``, driven directly (``smmpanel[fast]``).

aiohttp's C-accelerated parser and connector cost about a third of httpx's client CPU per
request; going through httpx's API on top of it (httpx-aiohttp) gave half of that back.
So this wire posts with aiohttp itself and maps its errors to the httpx classes the
exchange reads, telling a refused connection (never sent) from one that dropped. asyncio
only: the ``Panel`` refuses ``fast=True`` under trio.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

from .pool import KEEPALIVE, ssl_context
from .wire import HEADERS, Answer, TooLarge

if TYPE_CHECKING:
    import aiohttp
    import yarl

__all__ = ["AiohttpWire", "check_fast"]


def check_fast() -> None:
    """``ImportError`` naming the extra when aiohttp is not installed."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the extra
        raise ImportError("fast=True needs the fast extra: pip install 'smmpanel[fast]'") from None


class AiohttpWire:
    """Posts to one URL through an aiohttp session of ``size`` connections, made on first use.

    aiohttp binds a session to the running event loop, so the session waits for the
    first request; a ``Panel`` may be made before the loop runs.
    """

    def __init__(self, url: str, size: int, *, timeout: httpx.Timeout, user_agent: str) -> None:
        self._url = url
        self._size = size
        self._https = httpx.URL(url).scheme == "https"
        self._headers = {**HEADERS, "User-Agent": user_agent}
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._options: dict[str, Any] = {}
        self._target: yarl.URL | str = url
        self.closed = False

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp
        import yarl

        connector = aiohttp.TCPConnector(
            limit=self._size,
            keepalive_timeout=KEEPALIVE,
            ssl=ssl_context() if self._https else True,
        )
        timeout = self._timeout
        self._options = {"allow_redirects": False}  # the body holds the key: a 3xx is an answer
        self._target = yarl.URL(self._url)  # parsed once, not per request
        # Headers and timeouts set on the session cost less than on each request. aiohttp
        # has no write timeout: a stalled write shows as the read timing out.
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=timeout.pool,
                sock_connect=timeout.connect,
                sock_read=timeout.read,
            ),
        )
        return self._session

    async def post(self, body: bytes, limit: int) -> Answer:
        if self.closed:
            raise httpx.ConnectError("the connection pool is closed")
        session = self._session or self._open()
        try:
            response = await session.post(self._target, data=body, **self._options)
            try:
                content = await _read(response, limit)
            except BaseException:
                response.close()  # synchronous: a cancelled caller closes it too
                raise
            response.release()
        except Exception as error:
            mapped = _map(error)
            if mapped is None:
                raise
            raise mapped from None
        return Answer(response.status, response.headers, content)

    async def aclose(self) -> None:
        self.closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    length = response.content_length
    if length is not None and length > limit:
        raise TooLarge(str(length))
    parts: list[bytes] = []
    size = 0
    # Decoded as it arrives, so the limit counts the bytes a gzip bomb inflates to.
    async for part in response.content.iter_any():
        size += len(part)
        if size > limit:
            raise TooLarge(f"over {limit}")
        parts.append(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _map(error: Exception) -> httpx.HTTPError | None:
    """The httpx error that tells the exchange what ``error`` proves; ``None``: not aiohttp's."""
    import aiohttp

    text = str(error) or type(error).__name__
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text)
    if isinstance(error, aiohttp.SocketTimeoutError):
        return httpx.ReadTimeout(text)
    if isinstance(error, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.TimeoutException(text)
    if isinstance(error, aiohttp.ClientConnectorError):  # refused, DNS, TLS: never sent
        return httpx.ConnectError(text)
    if isinstance(error, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(text)
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(text)
    if isinstance(error, aiohttp.ClientError | OSError):  # dropped, reset: maybe sent
        return httpx.ReadError(text)
    return None
