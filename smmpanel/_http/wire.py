"""The wire: post one form body to the panel's URL; its status, headers and bytes come back.

One small interface, one implementation per HTTP stack, so the exchange above never knows
which stack carried a request:

- ``ClientWire``: an ``httpx.AsyncClient`` (a borrowed one, a caller's transport, or the
  environment's proxies), exactly as httpx sends it;
- ``pool.PoolWire``: the default, httpcore's HTTP/1.1 connections in a pool of our own;
- ``fast.AiohttpWire``: aiohttp's ``ClientSession`` (``fast=True``).

Every failure a wire raises is an ``httpx.HTTPError`` of the class httpx itself would
raise (``ConnectError``, ``ReadTimeout``...), holding no request, or ``TooLarge``. A wire
never follows a redirect: a 3xx comes back as an answer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import aclosing
from typing import NamedTuple, Protocol

import anyio
import httpx

__all__ = ["HEADERS", "Answer", "ClientWire", "Decoder", "RawHeaders", "TooLarge", "Wire"]

HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json, text/html;q=0.5, */*;q=0.1",
}
"""Every request's headers besides httpx's own (Host, Content-Length, User-Agent...)."""


class Answer(NamedTuple):
    """One HTTP answer, its body read to the end."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class TooLarge(Exception):
    """An answer over the size limit: read no further (its text is the size, or a bound)."""


class Wire(Protocol):
    """Posts form bodies to one URL; ``limit`` caps the answer's (decoded) size."""

    async def post(self, body: bytes, limit: int) -> Answer: ...

    async def aclose(self) -> None: ...


class ClientWire:
    """Through an ``httpx.AsyncClient``: its transport, mounts, hooks and proxies apply."""

    def __init__(self, client: httpx.AsyncClient, url: str, timeout: httpx.Timeout) -> None:
        self.client = client
        self._url = url
        self._timeout = timeout

    async def post(self, body: bytes, limit: int) -> Answer:
        request = self.client.build_request(
            "POST", self._url, content=body, headers=HEADERS, timeout=self._timeout
        )
        # Per request, so a borrowed client made with follow_redirects=True never
        # re-sends the body (the key) to wherever a 307 points.
        response = await self.client.send(request, stream=True, follow_redirects=False)
        try:
            content = await _read(response, limit)  # a body read to its end closes itself
        except BaseException:
            # Shielded, so a cancelled caller still hands the connection back.
            with anyio.move_on_after(5, shield=True):
                await response.aclose()
            raise
        return Answer(response.status_code, response.headers, content)

    async def aclose(self) -> None:
        await self.client.aclose()


async def _read(response: httpx.Response, limit: int) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise TooLarge(length)
    parts: list[bytes] = []
    size = 0
    async with aclosing(response.aiter_bytes()) as stream:  # type: ignore[type-var]
        async for part in stream:
            size += len(part)
            if size > limit:
                raise TooLarge(f"over {limit}")
            parts.append(part)
    return b"".join(parts)


class RawHeaders(Mapping[str, str]):
    """A response's header list as a case-insensitive mapping, looked up only when needed.

    The exchange reads ``Location`` and ``Retry-After`` only on a 3xx or a 429, so
    building a dict for every answer would be wasted work.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self._raw = raw

    def __getitem__(self, name: str) -> str:
        wanted = name.lower().encode("latin-1")
        for key, value in self._raw:
            if key.lower() == wanted:
                return value.decode("latin-1")
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.decode("latin-1").lower() for key, _ in self._raw))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Decoder:
    """Undoes a ``gzip`` or ``deflate`` Content-Encoding, never past ``limit`` bytes.

    A few kilobytes of gzip can inflate to gigabytes, so the limit counts decoded bytes.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        encoding = encoding.strip().lower()
        if encoding == "gzip":
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj()
        else:
            raise httpx.DecodingError(f"unsupported Content-Encoding {encoding!r}")
        self._deflate = encoding == "deflate"
        self._first = True
        self._limit = limit
        self._size = 0

    def feed(self, data: bytes) -> bytes:
        try:
            out = self._inflate.decompress(data, self._limit - self._size + 1)
        except zlib.error:
            if not (self._deflate and self._first):
                raise httpx.DecodingError("the answer's compressed body is corrupt") from None
            # Some servers send raw deflate without the zlib header, as httpx tolerates.
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self._first = False
            return self.feed(data)
        self._first = False
        self._size += len(out)
        if self._size > self._limit or self._inflate.unconsumed_tail:
            raise TooLarge(f"over {self._limit}")
        return out

    def flush(self) -> bytes:
        out = self._inflate.flush()
        self._size += len(out)
        if self._size > self._limit:
            raise TooLarge(f"over {self._limit}")
        return out
