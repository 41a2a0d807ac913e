"""Bytes to JSON, whatever the Content-Type says: the first step of reading any answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["NOT_JSON", "decode"]

NOT_JSON = object()
"""What :func:`decode` returns for a body that is not JSON (HTML, empty, truncated)."""

_BOM = b"\xef\xbb\xbf"
# msgspec hands every JSON float's own text to Decimal: money keeps the panel's digits
# (``0.10`` stays ``Decimal("0.10")``), at the speed of a C parser.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def decode(content: bytes) -> Any:
    """Parse a body as JSON whatever its Content-Type; :data:`NOT_JSON` when it is not JSON."""
    try:
        return _DECODER.decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # msgspec raises UnicodeDecodeError for bytes that are not UTF-8 inside a string
    # The slow path: a BOM or blank lines before the JSON, or bytes that are not UTF-8.
    body = content.strip()
    if body.startswith(_BOM):
        body = body[3:].lstrip()
    if not body:
        return NOT_JSON
    try:
        return _DECODER.decode(body.decode("utf-8", "replace"))
    except (msgspec.DecodeError, RecursionError):
        return NOT_JSON
