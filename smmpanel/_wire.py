"""One API call on the wire: the form body, retries, the HTTP exchange, what the answer means.

``Wire`` owns what every request of a ``Panel`` shares: the httpx client, the limiter that
caps requests in flight, the gate that paces them, and the key. It turns every failure into
the library's own exceptions, and no exception it builds ever holds the key or an
``httpx.Request`` (whose body holds the key).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from contextlib import aclosing
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import httpx
import stamina

from . import _protocol as proto
from ._config import MAX_BODY, MAX_WAIT
from ._errors import (
    PanelError,
    ProtocolError,
    RateLimitError,
    SMMPanelError,
    TransportError,
    panel_error,
)
from ._fast import unsent
from ._gate import Gate

__all__ = ["Wire", "retry_after"]

logger = logging.getLogger("smmpanel")

_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json, text/html;q=0.5, */*;q=0.1",
}


class Wire:
    """Sends one action at a time, under the ``Panel``'s limiter and gate, with retries."""

    def __init__(
        self,
        url: str,
        key: str,
        client: httpx.AsyncClient,
        *,
        timeout: httpx.Timeout,
        concurrency: int,
        rate_limit: float | None,
        retries: int,
        backoff: float,
    ) -> None:
        self._url = url
        self._key = key
        # The key as typed and as a form or URL would encode it: none may reach an error.
        self._texts = tuple(dict.fromkeys((key, quote_plus(key), quote(key, safe=""))))
        self._secrets = tuple(t.encode() for t in self._texts)
        self._client = client
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._prefix: dict[str, bytes] = {}
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.gate = Gate(rate_limit)

    def body(self, action: str, fields: dict[str, str]) -> bytes:
        """The form body: ``key``, ``action`` and the fields, urlencoded."""
        prefix = self._prefix.get(action)
        if prefix is None:
            prefix = f"key={quote_plus(self._key)}&action={action}".encode()
            self._prefix[action] = prefix
        if not fields:
            return prefix
        tail = "&".join(f"{name}={quote_plus(value)}" for name, value in fields.items())
        return prefix + b"&" + tail.encode()

    async def call(self, action: str, body: bytes, *, read: bool) -> Any:
        """One API call with its retries; returns the answer's JSON, error envelopes raised."""
        retry = _retry_read if read else _retry_write
        try:
            return await self._attempt(action, body)
        except SMMPanelError as error:
            if not self._retries or retry(error) is False:  # a wait of 0.0 still retries
                raise
            first: SMMPanelError | None = error
        # Most calls succeed at once, so stamina (a few dozen µs to set up) only takes over
        # after a retriable failure. It is handed that failure first, so its backoff,
        # jitter and Retry-After hook decide the wait before the second attempt too.
        async for attempt in stamina.retry_context(
            on=retry,
            attempts=self._retries + 1,
            timeout=None,
            wait_initial=self._backoff,
            wait_max=MAX_WAIT,
            wait_jitter=self._backoff,
        ):
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await self._attempt(action, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, action: str, body: bytes) -> Any:
        """One HTTP exchange under the gate and the limiter."""
        await self.gate.wait()
        failure: TransportError | None = None
        async with self.limiter:
            try:
                request = self._client.build_request(
                    "POST", self._url, content=body, headers=_HEADERS, timeout=self._timeout
                )
                response = await self._client.send(request, stream=True)
                try:
                    content = await _read(response)  # a body read to its end closes itself
                except BaseException:
                    # Shielded, so a cancelled caller still hands the connection back.
                    with anyio.move_on_after(5, shield=True):
                        await response.aclose()
                    raise
            except httpx.HTTPError as error:
                failure = self._transport_error(action, error)
            except _TooLarge as error:
                raise ProtocolError(
                    f"{action}: the answer is too large ({error} bytes)", action=action
                ) from None
        if failure is not None:
            # Raised outside the except block, so the httpx error (whose .request holds
            # the key in its body) is not kept as __context__.
            raise failure
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> HTTP %d, %d bytes", action, self._url, response.status_code, len(content)
            )
        return self._answer(action, response.status_code, response.headers, content)

    def _answer(self, action: str, status: int, headers: httpx.Headers, content: bytes) -> Any:
        for secret in self._secrets:
            if secret in content:  # a panel echoing the key: remove it before anything reads it
                content = content.replace(secret, b"***")
        data = proto.decode(content)
        if status == 429:
            wait = retry_after(headers.get("Retry-After"))
            self.gate.pause(wait if wait is not None else max(self._backoff, 1.0))
            message = proto.find_error(data) if data is not proto.NOT_JSON else None
            raise RateLimitError(
                self.scrub(message or "Too many requests"),
                action=action,
                status_code=status,
                retry_after=wait,
            )
        if data is proto.NOT_JSON:
            raise self._protocol_error(action, status, content, transient=True)
        message = proto.find_error(data)
        if message is None and 400 <= status < 500:
            text = proto.error_text(data.get("message")) if isinstance(data, dict) else ""
            message = text or f"HTTP {status}"
        if message is not None:
            error = panel_error(self.scrub(message), action=action, status_code=status)
            if status >= 500 and type(error) is PanelError:
                error._transient = True  # type: ignore[attr-defined]
            raise error
        if status >= 500 or status == 408:
            raise self._protocol_error(action, status, content, transient=True)
        if 300 <= status < 400:
            where = headers.get("Location", "elsewhere")
            raise ProtocolError(
                f"{action}: the panel redirects to {where}; use that URL",
                action=action,
                status_code=status,
                body=proto.snippet(content, self._key),
            )
        return data

    def _protocol_error(
        self, action: str, status: int, content: bytes, *, transient: bool
    ) -> ProtocolError:
        stripped = content.strip()
        if not stripped:
            what = "an empty body"
        elif stripped[:1] == b"<" or b"<html" in stripped[:512].lower():
            what = "HTML, not JSON"
        else:
            what = "a body that is not JSON (truncated?)"
        error = ProtocolError(
            f"{action}: the panel answered HTTP {status} with {what}",
            action=action,
            status_code=status,
            body=proto.snippet(content, self._key),
        )
        error._transient = transient  # type: ignore[attr-defined]
        return error

    def _transport_error(self, action: str, error: httpx.HTTPError) -> TransportError:
        text = self.scrub(str(error)) or type(error).__name__
        if isinstance(error, httpx.TimeoutException):
            what = f"timed out ({type(error).__name__})"
        elif unsent(error):
            what = "could not connect to the panel"
        else:
            what = "the connection failed"
        result = TransportError(f"{action}: {what}: {text}", action=action)
        result._unsent = unsent(error)  # type: ignore[attr-defined]
        # A fresh copy without .request: the request's body holds the key.
        try:
            clean: BaseException = type(error)(text)
        except Exception:
            clean = httpx.TransportError(text)
        result.__cause__ = clean
        result.__suppress_context__ = True
        return result

    def scrub(self, text: str) -> str:
        """``text`` without the key."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, "***")
        return text


def _retry_read(error: Exception) -> bool | float:
    """Reads retry on network trouble, unreadable answers, 5xx and 429s."""
    if isinstance(error, RateLimitError):
        return min(error.retry_after, MAX_WAIT) if error.retry_after is not None else True
    if isinstance(error, TransportError):
        return True
    return bool(getattr(error, "_transient", False))


def _retry_write(error: Exception) -> bool:
    """Writes retry only when the request never left: an order is never placed twice."""
    return isinstance(error, TransportError) and bool(getattr(error, "_unsent", False))


class _TooLarge(Exception):
    """An answer over ``MAX_BODY``: read no further."""


async def _read(response: httpx.Response) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise _TooLarge(length)
    parts: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as stream:  # type: ignore[type-var]
        async for part in stream:
            size += len(part)
            if size > MAX_BODY:
                raise _TooLarge(f"over {MAX_BODY}")
            parts.append(part)
    return b"".join(parts)


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
