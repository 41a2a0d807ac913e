"""One API call over HTTP: an exchange under the limiter and the gate, retried by the policy.

``Exchange`` owns what every request of a ``Panel`` shares: the httpx client, the limiter
that caps requests in flight, the gate that paces them, and the key's redactor. Every
failure leaves it as a ``Failure`` holding the library's own exception, and no exception it
builds ever holds the key or an ``httpx.Request`` (whose body holds the key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import aclosing
from typing import Any, TypeVar

import anyio
import httpx
import stamina

from .._config import MAX_BACKOFF, MAX_BODY
from .._errors import Failure, ProtocolError, RateLimitError, TransportError
from .._protocol import read_reply
from .._redact import Redactor
from .retry import for_read, for_write, unsent
from .throttle import Gate

__all__ = ["Exchange"]

T = TypeVar("T")

logger = logging.getLogger("smmpanel")

_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json, text/html;q=0.5, */*;q=0.1",
}


class Exchange:
    """Sends one form body at a time, under the ``Panel``'s limiter and gate, with retries."""

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
        self._redact = Redactor(key)
        self._client = client
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self.limiter = anyio.CapacityLimiter(concurrency)
        self.gate = Gate(rate_limit)

    async def call(self, action: str, body: bytes, parse: Callable[[Any], T], *, read: bool) -> T:
        """One API call with its retries: the answer as ``parse`` reads it, or its last ``Failure``.

        ``read`` picks the retry policy: reads go again on any transient failure, writes
        only when the request never left.
        """
        retry = for_read if read else for_write
        try:
            return await self._attempt(action, body, parse)
        except Failure as failure:
            if not self._retries or retry(failure) is False:  # a wait of 0.0 still retries
                raise
            first: Failure | None = failure
        # Most calls succeed at once, so stamina (a few dozen µs to set up) only takes over
        # after a retriable failure. It is handed that failure first, so its backoff,
        # jitter and Retry-After hook decide the wait before the second attempt too.
        async for attempt in stamina.retry_context(
            on=retry,
            attempts=self._retries + 1,
            timeout=None,
            wait_initial=self._backoff,
            wait_max=MAX_BACKOFF,
            wait_jitter=self._backoff,
        ):
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await self._attempt(action, body, parse)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, action: str, body: bytes, parse: Callable[[Any], T]) -> T:
        """One HTTP exchange under the gate and the limiter."""
        await self.gate.wait()
        failure: Failure | None = None
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
                failure = self._transport_failure(action, error)
            except _TooLarge as error:
                message = f"{action}: the answer is too large ({error} bytes)"
                raise Failure(ProtocolError(message, action=action)) from None
        if failure is not None:
            # Raised outside the except block, so the httpx error (whose .request holds
            # the key in its body) is not kept as __context__.
            raise failure
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> HTTP %d, %d bytes", action, self._url, response.status_code, len(content)
            )
        # A panel echoing the key: removed before anything reads the body.
        content = self._redact.content(content)
        try:
            return read_reply(
                action, response.status_code, response.headers, content, self._redact.text, parse
            )
        except Failure as refused:
            limited = refused.error
            if response.status_code == 429 and isinstance(limited, RateLimitError):
                wait = limited.retry_after
                self.gate.pause(wait if wait is not None else max(self._backoff, 1.0))
            raise

    def _transport_failure(self, action: str, error: httpx.HTTPError) -> Failure:
        text = self._redact.text(str(error)) or type(error).__name__
        never_left = unsent(error)
        if isinstance(error, httpx.TimeoutException):
            what = f"timed out {_PHASES.get(type(error), 'waiting for the panel')}"
        elif never_left:
            what = "could not connect to the panel"
        else:
            what = "the connection failed"
        # httpx's own text adds nothing when it is only the class name or "timed out".
        plain = text in (type(error).__name__, "timed out", "")
        result = TransportError(f"{action}: {what}" + ("" if plain else f": {text}"), action=action)
        # A fresh copy without .request: the request's body holds the key.
        try:
            clean: BaseException = type(error)(text)
        except Exception:
            clean = httpx.TransportError(text)
        result.__cause__ = clean
        result.__suppress_context__ = True
        return Failure(result, unsent=never_left, transient=not never_left)


_PHASES: dict[type[httpx.HTTPError], str] = {
    httpx.ConnectTimeout: "connecting to the panel",
    httpx.WriteTimeout: "sending the request",
    httpx.ReadTimeout: "waiting for the panel's answer",
    httpx.PoolTimeout: "waiting for a free connection",
}


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
