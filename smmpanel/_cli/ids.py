"""Where a command's IDs come from: arguments, files and stdin, read lazily in a thread.

Arguments are checked before anything is sent; files and stdin are read a piece at a time
by a daemon thread, so a million IDs are never all in memory, a slow producer never blocks
the requests in flight, and a read blocked on a terminal never keeps the process alive.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import IO, NoReturn, TypeVar

import anyio
import anyio.to_thread
import attrs

from .._validate import MAX_ID, positive_int
from .errors import BadID, ReadError, UsageError

__all__ = ["IDs", "Tokens", "parse_id", "read_ids"]

T = TypeVar("T")

# Read this much of a file or stdin at a time: big enough that a million IDs do not cost
# a million thread hops, small enough that memory stays flat.
_READ_SIZE = 64 * 1024
_SEPARATORS = frozenset(b" \t\r\n\v\f,")
_MAX_TOKEN = 64  # no ID is this long: a longer run of non-separators is not an ID
_SAFE_DIGITS = len(str(MAX_ID))  # fewer digits than this: never above MAX_ID


def parse_id(token: str | bytes, where: str, what: str) -> int:
    """``token`` as a positive integer, else ``BadID`` naming ``where`` and ``what`` it is."""
    number = positive_int(token)
    if number is None:
        _refuse(token, where, what)
    return number


def _refuse(token: str | bytes, where: str, what: str) -> NoReturn:
    # Only the start of a token is shown (160 bytes hold 40 characters of any UTF-8), and
    # only printable characters: binary junk from a file never reaches the terminal.
    text = token[:160].decode(errors="replace") if isinstance(token, bytes) else token[:40]
    shown = "".join(c if c.isprintable() else "?" for c in text[:40])
    raise BadID(f"{where}{shown!r} is not {what} (a positive integer up to 2**63-1)")


@attrs.frozen
class IDs:
    """Where a command's IDs come from: arguments (checked up front), then files or stdin.

    Files are read lazily, a piece at a time off the event loop, so a million IDs on stdin
    are never all in memory and a slow producer never blocks the requests in flight.
    """

    numbers: tuple[int, ...]
    streams: tuple[tuple[str, IO[bytes]], ...]
    what: str = "an order ID"

    @property
    def total(self) -> int | None:
        """How many IDs, when known before reading (arguments only)."""
        return None if self.streams else len(self.numbers)

    async def __aiter__(self) -> AsyncIterator[int]:
        """Each distinct ID once, in the order first given; ``UsageError`` if there is none.

        Remembering the IDs seen costs memory in their number (about 60 bytes each), the
        price of printing each ID once however often the input repeats it.
        """
        seen: set[int] = set()
        for number in self.numbers:
            if number not in seen:
                seen.add(number)
                yield number
        for name, stream in self.streams:
            tokens = Tokens(name, self.what)
            async for data in _reads(name, stream):
                fresh, bad = _new(tokens.feed(data), seen)
                for token in fresh:
                    yield token
                if bad is not None:
                    raise bad
            fresh, bad = _new(tokens.end(), seen)
            for token in fresh:
                yield token
            if bad is not None:
                raise bad
        if not seen:
            names = ", ".join(name for name, _ in self.streams)
            raise UsageError(f"no IDs in {names}: give them as arguments, in a file, or on stdin")

    async def batches(self, size: int) -> AsyncIterator[list[int]]:
        """The IDs in lists of at most ``size``."""
        batch: list[int] = []
        async for number in self:
            batch.append(number)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch


def read_ids(args: Sequence[str], files: Sequence[IO[bytes]], what: str) -> IDs:
    """Check the ID arguments; ``-`` among them (or ``--file -``) means stdin.

    An argument may hold a comma list (``1,2,3``), as a file's lines may.
    """
    numbers: list[int] = []
    streams: list[tuple[str, IO[bytes]]] = []
    for arg in args:
        if arg == "-":
            streams.append(("stdin", sys.stdin.buffer))
            continue
        parts = arg.replace(",", " ").split()
        if not parts:
            _refuse(arg, "", what)
        numbers.extend(parse_id(part, "", what) for part in parts)
    for file in files:
        name = getattr(file, "name", "file")
        streams.append(("stdin" if name == "<stdin>" else str(name), file))
    if not numbers and not streams:
        raise UsageError("no IDs: give them as arguments, with --file PATH, or - for stdin")
    return IDs(tuple(numbers), tuple(streams), what)


class Tokens:
    """IDs from bytes read in arbitrary pieces: an ID cut by a read waits for the next one.

    Separators are whitespace and commas; lines are counted for error messages. Memory is
    one read plus one unfinished token, however long the lines.
    """

    def __init__(self, name: str, what: str) -> None:
        self._name = name
        self._what = what
        self._line = 1
        self._rest = b""

    def feed(self, data: bytes) -> Iterable[int]:
        """The IDs complete in ``data`` (with what was left over before it)."""
        data = self._rest + data
        end = len(data)
        while end and data[end - 1] not in _SEPARATORS:
            end -= 1
        self._rest = data[end:]
        numbers = self._split(data[:end])
        if len(self._rest) > _MAX_TOKEN:
            return self._then_fail(numbers, self._rest)
        return numbers

    def _then_fail(self, numbers: Iterable[int], token: bytes) -> Iterator[int]:
        yield from numbers
        self._fail(token)

    def end(self) -> Iterable[int]:
        """The last ID, once the input has ended."""
        rest, self._rest = self._rest, b""
        return self._split(rest)

    def _split(self, data: bytes) -> Iterable[int]:
        tokens = data.replace(b",", b" ").split()
        # The common case in one go: every token plain digits, short enough to be an ID
        # whatever its value, none zero. Anything else is read token by token, which
        # names the bad one and its line.
        if tokens and b"".join(tokens).isdigit() and max(map(len, tokens)) < _SAFE_DIGITS:
            numbers = list(map(int, tokens))
            if 0 not in numbers:
                self._line += data.count(b"\n")
                return numbers  # a list: ``_new`` takes it in one go
        return self._each(data)

    def _each(self, data: bytes) -> Iterator[int]:
        for number, text in enumerate(data.split(b"\n")):
            if number:
                self._line += 1
            for token in text.replace(b",", b" ").split():
                value = positive_int(token)
                if value is None:
                    self._fail(token)
                yield value

    def _fail(self, token: bytes) -> NoReturn:
        _refuse(token, f"{self._name}, line {self._line}: ", self._what)


def _new(numbers: Iterable[int], seen: set[int]) -> tuple[list[int], BadID | None]:
    """The numbers not in ``seen``, each once, in order (``seen`` then holds them too), and
    the ``BadID`` that cut them short, if one did: the IDs before it still count."""
    fresh: list[int] = []
    try:
        if isinstance(numbers, list):
            fresh = [number for number in dict.fromkeys(numbers) if number not in seen]
        else:
            ordered: dict[int, None] = {}
            try:
                for number in numbers:
                    if number not in seen:
                        ordered[number] = None
            finally:
                fresh = list(ordered)
    except BadID as error:
        return _seen(fresh, seen), error
    return _seen(fresh, seen), None


def _seen(fresh: list[int], seen: set[int]) -> list[int]:
    seen.update(fresh)
    return fresh


async def _reads(name: str, stream: IO[bytes]) -> AsyncIterator[bytes]:
    """What ``stream`` holds, in pieces read ahead by a daemon thread, a few at most.

    A daemon thread reading the raw file descriptor, not an anyio worker reading the
    buffered file: a read blocked on a terminal or a slow pipe must neither keep the process
    alive after Ctrl-C or an early error, nor hold a buffer lock the interpreter's shutdown
    needs. The async side waits in short slices, so its own worker is soon free again.
    """
    pieces: queue.Queue[bytes | OSError] = queue.Queue(maxsize=4)
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file: read it as it is
        fd = None

    def read() -> None:
        try:
            while data := (os.read(fd, _READ_SIZE) if fd is not None else stream.read(_READ_SIZE)):
                pieces.put(data)
        except OSError as error:
            pieces.put(error)
        else:
            pieces.put(b"")

    threading.Thread(target=read, name=f"smmpanel: read {name}", daemon=True).start()
    while True:
        try:
            data = await anyio.to_thread.run_sync(_next, pieces, abandon_on_cancel=True)
        except queue.Empty:
            continue
        if isinstance(data, OSError):
            raise ReadError(f"cannot read {name}: {data.strerror or data}")
        if not data:
            return
        yield data


def _next(pieces: queue.Queue[T]) -> T:
    return pieces.get(timeout=0.25)
