"""What the fake records of each request, and the reply it hands to a transport."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["Outcome", "Received", "Reply"]


@attrs.define
class Received:
    """One request as the fake saw it. Never holds the API key.

    Appended when the request arrives; ``answered`` and ``error`` are filled in once it
    has been processed, so a test can see a slow request while it is in flight.
    """

    action: str
    """The ``action`` field ("" when missing)."""
    fields: dict[str, str]
    """The form fields besides ``key`` and ``action``."""
    ids: list[int]
    """Order or refill IDs the request names (``order``/``orders``/``refill``/``refills``)."""
    fault: str | None = None
    """The injected fault this request got, if any."""
    answered: bool = False
    """True when the fake sent a complete HTTP 200 JSON answer that is not an error (over a
    socket, a client that already gave up on a slow answer cannot be told apart)."""
    error: str | None = None
    """The error text the panel answered with, if it answered with one."""


Outcome = Literal["answer", "drop", "refuse", "timeout", "gone"]
"""``answer``: send the reply. ``drop``: send half of it, then close. ``refuse``: send
nothing, never processed. ``timeout``: the client's read timeout passed first. ``gone``: the
server is shutting down; nothing to send."""


@attrs.frozen
class Reply:
    """An HTTP answer, for the in-memory transport and the ASGI app alike."""

    status: int
    body: bytes
    content_type: str
    outcome: Outcome = "answer"
    retry_after: str | None = None

    def headers(self) -> list[tuple[str, str]]:
        """Response headers; ``Content-Length`` is always the full body's length."""
        headers = [("content-type", self.content_type), ("content-length", str(len(self.body)))]
        if self.retry_after is not None:
            headers.append(("retry-after", self.retry_after))
        return headers
