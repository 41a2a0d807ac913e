"""Defaults and limits, named once."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_TIMEOUT",
    "MAX_BODY",
    "MAX_CHUNK",
    "MAX_WAIT",
    "USER_AGENT",
    "VERSION",
]

try:
    VERSION = version("smmpanel")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0.0.0"

USER_AGENT = f"smmpanel/{VERSION}"
DEFAULT_TIMEOUT = 30.0
"""Seconds for each phase of one HTTP request (connect, write, read, pool), as httpx applies it."""
DEFAULT_BACKOFF = 0.5
"""First retry wait and jitter, in seconds; later waits double up to ``MAX_WAIT``."""
MAX_WAIT = 30.0
"""The longest wait between two attempts, ``Retry-After`` included."""
MAX_CHUNK = 100
"""The API's limit on IDs in one multi-ID request."""
MAX_BODY = 50 * 1024 * 1024
"""An answer larger than this is a ``ProtocolError``, not an out-of-memory."""
