"""Defaults and limits, named once: the client, the http layer and the CLI read them here."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_BODY",
    "MAX_CHUNK",
    "MAX_RETRY_AFTER",
    "MAX_STREAM_BUFFER",
    "STREAM_BUFFER",
    "USER_AGENT",
    "VERSION",
]

try:
    VERSION = version("smmpanel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0.0.0"

USER_AGENT = f"smmpanel/{VERSION}"

# ------------------------------------------------------------------ a Panel's options
DEFAULT_TIMEOUT = 30.0
"""Seconds for each phase of one HTTP request (connect, write, read, pool), as httpx applies it."""
DEFAULT_CONCURRENCY = 8
"""Requests in flight at most, across all calls on one ``Panel``."""
DEFAULT_RETRIES = 3
"""Extra attempts for reads (writes only when the request never left)."""
DEFAULT_BACKOFF = 0.5
"""First retry wait and jitter, in seconds; later waits double up to ``MAX_BACKOFF``."""

# ------------------------------------------------------------------ limits
MAX_BACKOFF = 30.0
"""The longest backoff between two attempts."""
MAX_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` honoured: both the retry's wait and the ``Panel``'s 429 pause."""
MAX_CHUNK = 100
"""The API's limit on IDs in one multi-ID request."""
MAX_BODY = 50 * 1024 * 1024
"""An answer larger than this is a ``ProtocolError``, not an out-of-memory."""

# ------------------------------------------------------------------ tuning
STREAM_BUFFER = 2
"""Answered chunks ``iter_statuses`` holds per worker while its consumer is busy elsewhere."""
MAX_STREAM_BUFFER = 256
"""The most answered chunks held at once, whatever the concurrency: the memory bound."""
