"""One API call over HTTP: an exchange under the throttle, retried by the policy.

``Exchange`` owns what every request of a ``Panel`` shares: the wire (see ``wire``), the throttle
(the limiter that caps requests in flight, the paces, the 429 pause) and the key's
redactor. Every failure leaves it as a ``Failure`` holding the library's own exception,
and no exception it builds ever holds the key or an ``httpx.Request`` (whose body holds
the key). No redirect is ever followed: the key goes to the ``Panel``'s URL only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from .._config import MAX_BODY
from .._errors import Failure, ProtocolError, RateLimitError, SMMPanelError, TransportError
from .._protocol import read_reply
from .._redact import Redactor, excerpt
from .retry import for_read, for_write, schedule, unsent
from .throttle import Throttle
from .wire import TooLarge, Wire

__all__ = ["Exchange"]

T = TypeVar("T")

logger = logging.getLogger("smmpanel.http")


class Exchange:
    """Sends one form body at a time, under the ``Panel``'s throttle, with retries."""

    def __init__(
        self,
        url: str,
        key: str,
        wire: Wire,
        *,
        concurrency: int,
        rate_limit: float | Mapping[str, float] | None,
        retries: int,
        backoff: float,
    ) -> None:
        self._url = url
        self._redact = Redactor(key)
        self.wire = wire
        self._retries = retries
        self._backoff = backoff
        self.throttle = Throttle(rate_limit, concurrency)

    async def call(self, action: str, body: bytes, parse: Callable[[Any], T], *, read: bool) -> T:
        """One API call with its retries: the answer as ``parse`` reads it, or its last ``Failure``.

        ``read`` picks the retry policy: reads go again on any transient failure, writes
        only when the request never left.
        """
        policy = for_read if read else for_write
        try:
            return await self._attempt(action, body, parse)
        except Failure as failure:
            if not self._retries or policy(failure) is False:  # a wait of 0.0 still retries
                raise
            first: Failure | None = failure
        # Most calls succeed at once, so tenacity (some µs to set up) only takes over
        # after a retriable failure. It is handed that failure first, so its backoff,
        # jitter and Retry-After decide the wait before the second attempt too.

        def tell(failure: BaseException, attempt: int, wait: float) -> None:
            self._log_retry(action, failure, attempt, wait)

        async for attempt in schedule(policy, self._retries + 1, self._backoff, tell):
            with attempt:
                if first is not None:
                    failed, first = first, None
                    raise failed
                return await self._attempt(action, body, parse)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, action: str, body: bytes, parse: Callable[[Any], T]) -> T:
        """One HTTP exchange, after this request's turn of the throttle."""
        failure: Failure | None = None
        await self.throttle.enter(action)
        try:
            # Never follows a redirect; closes a connection left mid-answer, shielded.
            status, headers, content = await self.wire.post(body, MAX_BODY)
        except httpx.HTTPError as error:
            failure = self._transport_failure(action, error)
        except TooLarge as error:
            message = f"{action}: the answer is too large ({error} bytes)"
            raise Failure(ProtocolError(message, action=action)) from None
        finally:
            self.throttle.leave()
        if failure is not None:
            # Raised outside the except block, so the httpx error (whose .request holds
            # the key in its body) is not kept as __context__.
            raise failure
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> HTTP %d, %d bytes", action, self._url, status, len(content))
        # A panel echoing the key: removed before anything reads the body.
        content = self._redact.content(content)
        if 300 <= status < 400:
            raise Failure(self._redirected(action, status, headers, content))
        try:
            return read_reply(action, status, headers, content, self._redact.text, parse)
        except Failure as refused:
            limited = refused.error
            if status == 429 and isinstance(limited, RateLimitError):
                wait = limited.retry_after
                self._pause(action, wait if wait is not None else max(self._backoff, 1.0))
            raise

    def _redirected(
        self, action: str, status: int, headers: Mapping[str, str], content: bytes
    ) -> ProtocolError:
        """A 3xx: never followed, since the request's body holds the key.

        For ``add`` the client makes this an ``UncertainOrderError``: a panel may redirect
        after taking the order (a 302 to a page), and nothing proves a 307 did not.
        """
        where = self._redact.text(headers.get("Location", "")).strip()
        where = f"to {_short(where)}" if where else "with no Location"
        return ProtocolError(
            f"{action}: the panel answered HTTP {status}, a redirect {where}; smmpanel never "
            "follows a redirect with the key: if that is the panel's API, use its URL",
            action=action,
            status_code=status,
            body=excerpt(content),
        )

    def _pause(self, action: str, seconds: float) -> None:
        self.throttle.pause(seconds)
        logger.warning(
            "%s: HTTP 429, every request of the Panel waits %.2fs",
            action,
            seconds,
            extra={"action": action, "wait": seconds},
        )

    def _log_retry(self, action: str, failure: BaseException, attempt: int, wait: float) -> None:
        error = failure.error if isinstance(failure, Failure) else failure
        kind = type(error).__name__
        text = error.message if isinstance(error, SMMPanelError) else str(error)
        logger.warning(
            "%s: attempt %d of %d failed with %s (%s); retrying in %.2fs",
            action,
            attempt,
            self._retries + 1,
            kind,
            self._redact.text(text),
            wait,
            extra={"action": action, "attempt": attempt, "error": kind, "wait": wait},
        )

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


def _short(text: str, limit: int = 200) -> str:
    shown = " ".join(text.split())
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
