"""What an HTTP answer means: its models, or the failure its status, headers and body amount to.

The whole protocol pipeline in one call: bytes -> JSON -> envelope -> error class or
models. Pure: the http layer hands over the status, the headers and the (redacted) body.
Every error leaves as a ``Failure``, which says whether another attempt may be answered
differently.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._errors import Failure, PanelError, ProtocolError, RateLimitError, SMMPanelError
from .._redact import excerpt
from .classify import error_class, panel_error, shape_error
from .convert import ShapeError
from .decode import NOT_JSON, decode
from .envelope import error_text, find_error
from .fast import Reader

__all__ = ["read_reply", "retry_after"]

T = TypeVar("T")


def read_reply(
    action: str,
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    scrub: Callable[[str], str],
    parse: Callable[[Any], T],
) -> T:
    """The answer as ``parse`` (one of ``answers.parse_*``) reads its JSON.

    Raises ``Failure`` for an error envelope, a 4xx/5xx, a bad body or JSON of a shape no
    dialect uses. ``scrub`` removes the key from the panel's words (a JSON escape may
    spell it anew). A ``Reader`` (``fast.bind``) first reads a 2xx answer of the common
    shape straight from its bytes; any other answer takes the steps below.
    """
    if 200 <= status < 300 and type(parse) is Reader:
        found: T | None = parse.fast(content)
        if found is not None:
            return found
    data = decode(content)
    if status == 429:
        message = find_error(data) if data is not NOT_JSON else None
        if message is None and _crash_page(data):  # Laravel: {"message": "Too Many Attempts."}
            message = error_text(data.get("message")) or None
        raise Failure(
            RateLimitError(
                scrub(message or "Too many requests"),
                action=action,
                status_code=status,
                retry_after=retry_after(headers.get("Retry-After")),
            ),
            transient=True,
        )
    if data is NOT_JSON:
        raise Failure(_not_json(action, status, content), transient=True)
    message = find_error(data)
    if message is None and status >= 500 and _crash_page(data):
        # ``{"message": "Server Error"}``: a framework's crash page, not the panel's words.
        raise Failure(_server_failure(action, status, data, content), transient=True)
    if message is None and status < 500 and _crash_page(data):
        # A framework's bare ``{"message": "Too Many Attempts."}``: the words, when they
        # clearly name a cause, are the answer; anything else reads on as a shape.
        words = error_text(data.get("message"))
        if words and error_class(words) is not PanelError:
            message = words
    if message is None and 400 <= status < 500:
        text = error_text(data.get("message")) if isinstance(data, dict) else ""
        message = text or f"HTTP {status}"
    if message is not None:
        error = panel_error(scrub(message), action=action, status_code=status)
        # A 5xx whose words name no cause may be answered differently next time.
        raise Failure(error, transient=status >= 500 and type(error) is PanelError)
    if status >= 500 or status == 408:
        raise Failure(_server_failure(action, status, data, content), transient=True)
    if 300 <= status < 400:
        where = headers.get("Location", "elsewhere")
        raise Failure(
            ProtocolError(
                f"{action}: the panel redirects to {where}; use that URL",
                action=action,
                status_code=status,
                body=excerpt(content),
            )
        )
    try:
        return parse(data)
    except ShapeError as error:
        raise Failure(shape_error(action, error)) from None
    except (ValueError, ArithmeticError) as error:  # a value no hook foresaw: still the panel's
        raise Failure(shape_error(action, ShapeError(f"unreadable value ({error})"))) from None
    except SMMPanelError as error:  # an error inside the answer (a keyed one-ID entry)
        raise Failure(error) from None


_CRASH_KEYS = frozenset({"message", "exception", "file", "line", "trace", "code", "status"})


def _crash_page(data: object) -> bool:
    """A JSON body holding only a framework's error fields (Laravel's ``message``, ``trace``)."""
    return isinstance(data, dict) and bool(data) and data.keys() <= _CRASH_KEYS


def _server_failure(action: str, status: int, data: object, content: bytes) -> ProtocolError:
    words = error_text(data.get("message")) if isinstance(data, dict) else ""
    said = f" ({words[:80]!r})" if words else ""
    return ProtocolError(
        f"{action}: the panel failed with HTTP {status}{said}, a server failure",
        action=action,
        status_code=status,
        body=excerpt(content),
    )


def _not_json(action: str, status: int, content: bytes) -> ProtocolError:
    stripped = content.strip()
    if not stripped:
        what = "an empty body"
    elif stripped[:1] == b"<" or b"<html" in stripped[:512].lower():
        what = "HTML, not JSON"
    else:
        what = "a body that is not JSON (truncated?)"
    return ProtocolError(
        f"{action}: the panel answered HTTP {status} with {what}",
        action=action,
        status_code=status,
        body=excerpt(content),
    )


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
