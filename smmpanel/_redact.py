"""Keeping the API key out of everything smmpanel shows: messages, bodies, CLI lines.

The one place that knows the forms a key takes on its way: as typed, as a form body
encodes it (``quote_plus``) and as a URL would (``quote``). A panel may echo any of them.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Redactor", "excerpt"]

MASK = "***"


class Redactor:
    """Replaces every registered secret, in each of its encoded forms, with ``***``."""

    __slots__ = ("_bytes", "_texts")

    def __init__(self, *secrets: str | None) -> None:
        self._texts: tuple[str, ...] = ()
        self._bytes: tuple[bytes, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Mask ``secret`` from now on; ``None`` and ``""`` are ignored."""
        if not secret:
            return
        forms = (secret, quote_plus(secret), quote(secret, safe=""))
        self._texts = tuple(dict.fromkeys((*self._texts, *forms)))
        self._bytes = tuple(text.encode() for text in self._texts)

    def text(self, text: str) -> str:
        """``text`` without any secret."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def content(self, content: bytes) -> bytes:
        """A body without any secret, before anything reads it."""
        for secret in self._bytes:
            if secret in content:
                content = content.replace(secret, MASK.encode())
        return content


def excerpt(content: bytes, limit: int = 200) -> str:
    """A short, single-line excerpt of a (redacted) body, for ``ProtocolError.body``."""
    shown = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
