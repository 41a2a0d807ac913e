"""Keeping the API key out of everything smmpanel shows: messages, bodies, headers, logs, CLI lines.

The one place that knows the forms a key takes on its way back from a panel. Each character
of a secret may come in any of its spellings, mixed freely within one echo:

- as typed, or percent-encoded as a form body or a URL writes it (``quote_plus``,
  ``quote``; hex in either case; ``%25``-encoded once more, as in a ``Location`` holding a
  URL in its query; ``+`` for a space);
- JSON-escaped (``\\u00e9`` in either case and surrogate pairs, PHP's ``\\/``, ``\\"``);
- HTML-escaped (``&amp;``, ``&lt;``, ``&gt;``, ``&quot;``, ``&apos;``, ``&eacute;``...;
  numeric entities ``&#NN;`` and ``&#xNN;``, with leading zeros, with or without ``;``).

So one regular expression per secret finds every echo, in text (messages, headers) and in
bytes (a body, before anything reads it). A body is searched with it only when it could
hold an echo: letters, digits and ``-_.~`` are never escaped but by ``%``, ``\\u`` or
``&#``, so a body without those holds the key's longest run of them as typed (a typical
hex key: the whole key). That keeps a bulk answer's check at a few microseconds.
"""

from __future__ import annotations

import re
from html.entities import codepoint2name

__all__ = ["MASK", "Redactor", "excerpt"]

MASK = "***"

_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_JSON_SHORT = dict(zip('"\\/\b\f\n\r\t', '"\\/bfnrt', strict=True))  # JSON's two-character escapes


def _hex(number: int, width: int = 0) -> str:
    """A pattern for ``number`` in hex digits of either case, zero-padded to ``width``."""
    return "".join(
        f"[{digit.lower()}{digit.upper()}]" if digit.isalpha() else digit
        for digit in f"{number:0{width}x}"
    )


def _nocase(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


def _spellings(char: str) -> list[str]:
    """Every encoded spelling of one character, as ASCII patterns (the raw one excepted)."""
    code = ord(char)
    out = ["".join(f"%(?:25)?{_hex(byte, 2)}" for byte in char.encode())]
    if char == " ":
        out.append(r"\+")
    if code > 0xFFFF:  # a JSON escape of an astral character is a surrogate pair
        high, low = divmod(code - 0x10000, 0x400)
        out.append(rf"\\u{_hex(0xD800 + high, 4)}\\u{_hex(0xDC00 + low, 4)}")
    else:
        out.append(rf"\\u{_hex(code, 4)}")
    if char in _JSON_SHORT:
        out.append(re.escape("\\" + _JSON_SHORT[char]))
    out.append(rf"&\#0*{code};?")
    out.append(rf"&\#[xX]0*{_hex(code)};?")
    if char in _NAMED:
        out.append(f"&{_nocase(_NAMED[char])};")
    elif code in codepoint2name:  # PHP's htmlentities: &eacute;
        out.append(f"&{codepoint2name[code]};")
    return out


def _pattern(secret: str) -> tuple[str, bytes]:
    """The text and bytes patterns that match ``secret`` in any mix of its spellings."""
    text: list[str] = []
    data: list[bytes] = []
    for char in secret:
        others = _spellings(char)
        text.append("(?:" + "|".join([re.escape(char), *others]) + ")")
        raw = re.escape(char.encode())
        data.append(b"(?:" + b"|".join([raw, *(p.encode() for p in others)]) + b")")
    return "".join(text), b"".join(data)


_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")


def _anchor(secret: str) -> bytes:
    """What a body holds as typed when it holds ``secret`` with no ``%``, ``\\u`` or ``&#``."""
    runs = _PLAIN.findall(secret)
    return max(runs, key=len).encode() if runs else b""


class Redactor:
    """Replaces every registered secret, in each of its encoded forms, with ``***``."""

    __slots__ = ("_anchors", "_bytes", "_secrets", "_text")

    def __init__(self, *secrets: str | None) -> None:
        self._secrets: tuple[str, ...] = ()
        self._text: re.Pattern[str] | None = None
        self._bytes: re.Pattern[bytes] | None = None
        self._anchors: tuple[bytes, ...] = ()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Mask ``secret`` from now on; ``None`` and ``""`` are ignored."""
        if not secret or secret in self._secrets:
            return
        # Longest first, so a secret that begins another one never leaves a tail behind.
        self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))
        self._anchors = tuple(_anchor(one) for one in self._secrets)
        # Compiled on first use (tens of ms for a long key): most Panels never need it.
        self._text = self._bytes = None

    def text(self, text: str) -> str:
        """``text`` without any secret."""
        if not self._secrets:
            return text
        return self._patterns()[0].sub(MASK, text)

    def content(self, content: bytes) -> bytes:
        """A body without any secret, before anything reads it."""
        if not self._secrets or not self._may_hold(content):
            return content
        return self._patterns()[1].sub(MASK.encode(), content)

    def _patterns(self) -> tuple[re.Pattern[str], re.Pattern[bytes]]:
        if self._text is None or self._bytes is None:
            patterns = [_pattern(one) for one in self._secrets]
            self._text = re.compile("|".join(text for text, _ in patterns))
            self._bytes = re.compile(b"|".join(data for _, data in patterns))
        return self._text, self._bytes

    def _may_hold(self, content: bytes) -> bool:
        # One-byte searches first: they are memchr, so the common body costs ~one search.
        if b"%" in content or (b"\\" in content and b"\\u" in content):
            return True
        if b"&" in content and b"&#" in content:
            return True
        return any(anchor in content for anchor in self._anchors)


def excerpt(content: bytes, limit: int = 200) -> str:
    """A short, single-line excerpt of a (redacted) body, for ``ProtocolError.body``."""
    shown = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
