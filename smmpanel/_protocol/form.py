"""Request bodies: the one place a call's form is encoded (``key``, ``action``, its fields)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote_plus

__all__ = ["Form"]


class Form:
    """Builds the urlencoded bodies of one key; the key travels only here, in the body."""

    __slots__ = ("_key", "_prefix")

    def __init__(self, key: str) -> None:
        self._key = quote_plus(key)
        self._prefix: dict[str, bytes] = {}

    def _start(self, action: str) -> bytes:
        prefix = self._prefix.get(action)
        if prefix is None:
            prefix = self._prefix[action] = f"key={self._key}&action={action}".encode()
        return prefix

    def body(self, action: str, fields: Mapping[str, str]) -> bytes:
        """``key``, ``action`` and the fields; names are encoded like values (``x&key`` too)."""
        prefix = self._start(action)
        if not fields:
            return prefix
        tail = "&".join(f"{quote_plus(name)}={quote_plus(value)}" for name, value in fields.items())
        return prefix + b"&" + tail.encode()

    def ids(self, action: str, field: str, ids: Iterable[int]) -> bytes:
        """A multi-ID body: ``orders=1,2,3``, the commas form-encoded."""
        return self._start(action) + f"&{field}=".encode() + "%2C".join(map(str, ids)).encode()
