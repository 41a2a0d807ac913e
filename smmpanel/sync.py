"""Blocking twins of ``Panel`` and ``Panels``, for scripts, threads and notebooks.

::

    with smmpanel.sync.Panel("https://panel.example/api/v2", key) as panel:
        print(panel.balance())
        for status in panel.watch([23501, 23502], every=30):
            print(status.order, status.status.value)

Every sync object runs its calls on one event loop in a background thread (anyio's
blocking portal), shared by all of them and stopped when the last one closes; that loop
owns the connection pools. Calling from any thread works, and so does calling while
another loop runs in the calling thread (Jupyter), since the portal's loop is its own.
Each twin is a ``_Twin`` descriptor that calls the async method of the same name: no
method body is copied here, so the twins cannot drift from the async API.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal, start_blocking_portal

import smmpanel

__all__ = ["Iteration", "Panel", "Panels"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_END = object()


# ---------------------------------------------------------------------------- the loop


class _Loop:
    """The background event loop every sync object shares, alive while any is open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._portal: BlockingPortal | None = None
        self._stack: contextlib.ExitStack | None = None

    def acquire(self) -> BlockingPortal:
        with self._lock:
            if self._portal is None:
                stack = contextlib.ExitStack()
                self._portal = stack.enter_context(
                    start_blocking_portal("asyncio", name="smmpanel-sync")
                )
                self._stack = stack
            self._users += 1
            return self._portal

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._stack is None:
                return
            stack, portal = self._stack, self._portal
            self._stack = self._portal = None
        assert portal is not None
        with contextlib.suppress(RuntimeError):  # cancel what is left (an abandoned iterator)
            portal.call(portal.stop, True)
        stack.close()  # the loop has ended: this joins its thread

    @property
    def running(self) -> bool:
        """Whether the background loop is running (some sync object is open)."""
        return self._portal is not None


_LOOP = _Loop()


# ---------------------------------------------------------------------------- delegation


class _Twin(Generic[P, R]):
    """A blocking method: runs ``method`` (an async method of the wrapped object) on the loop.

    ``iterate=True`` is for methods that return an async iterator (``iter_statuses``,
    ``watch``): the twin returns a plain iterator over it.
    """

    def __init__(self, method: Callable[..., Any], *, iterate: bool = False) -> None:
        self.method = method
        self.iterate = iterate
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: _Blocking, owner: type) -> Callable[P, R]: ...
    def __get__(self, obj: _Blocking | None, owner: type) -> Self | Callable[P, R]:
        if obj is None:
            return self
        method = self.method
        iterate = self.iterate

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            portal = obj._running()
            target = functools.partial(method, obj._async, *args, **kwargs)
            if iterate:  # made on the loop, like everything anyio
                return portal.call(lambda: Iteration(portal, target()))
            return portal.call(target)

        return call


def _blocking(
    method: Callable[Concatenate[Any, P], Awaitable[R]],
) -> _Twin[P, R]:
    return _Twin(method)


def _iterating(
    method: Callable[Concatenate[Any, P], AsyncIterator[T]],
) -> _Twin[P, Iteration[T]]:
    return _Twin(method, iterate=True)


class Iteration(Iterator[T]):
    """A plain iterator over an async iterator that runs on the background loop.

    One task on the loop drives the async iterator from start to end (its task groups and
    cancel scopes stay in that task) and hands each item over as ``next()`` asks for it.
    ``close()`` (or leaving a ``with`` block, or dropping the iterator) stops it early.
    Other attributes are the async iterator's (``watch(...).not_found``).
    """

    def __init__(self, portal: BlockingPortal, source: AsyncIterator[T]) -> None:
        self._portal = portal
        self._source = source
        self._started = False
        self._closed = False
        self._stops = _Stops()
        self._send, self._receive = anyio.create_memory_object_stream[tuple[object, Any]]()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._source, name)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        if not self._started:
            self._started = True
            # The task gets the parts it needs, not ``self``: an iterator dropped unfinished
            # is then collected, and its ``__del__`` stops the task.
            self._portal.start_task_soon(_pump, self._source, self._send, self._stops)
        kind, value = self._portal.call(self._take)
        if kind is _END:
            self._closed = True
            if value is None:
                raise StopIteration
            raise value
        return value  # type: ignore[no-any-return]

    async def _take(self) -> tuple[object, Any]:
        try:
            kind, value = await self._receive.receive()
        except anyio.EndOfStream:
            kind, value = _END, None
        if kind is _END:
            self._receive.close()
        return kind, value

    def close(self) -> None:
        """Stop the async iterator (its ``finally`` blocks run) and wait until it has."""
        if self._closed:
            return
        self._closed = True
        if not self._started:
            self._send.close()
            self._receive.close()
            return
        try:
            self._portal.call(self._stop)
        except RuntimeError:  # the loop is gone, or this is its own thread
            self._stop()
            return
        self._stops.done.wait()

    def _stop(self) -> None:
        self._receive.close()
        self._stops.scope.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


class _Stops:
    """How ``Iteration`` stops its task, and learns that it has."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.done = threading.Event()


async def _pump(
    source: AsyncIterator[Any],
    send: anyio.abc.ObjectSendStream[tuple[object, Any]],
    stops: _Stops,
) -> None:
    """Drive ``source`` in one task, handing each item (then the end or an error) to ``send``."""
    try:
        with stops.scope:
            async with send:
                try:
                    async for item in source:
                        await send.send((None, item))
                except anyio.BrokenResourceError:
                    pass  # the iterator was closed early
                except Exception as error:  # handed over, and raised by next()
                    with contextlib.suppress(anyio.BrokenResourceError):
                        await send.send((_END, error))
                finally:
                    aclose = getattr(source, "aclose", None)
                    if aclose is not None:
                        with anyio.CancelScope(shield=True):
                            await aclose()
    finally:
        stops.done.set()


class _Blocking:
    """What the twins need: the async object, and the running loop it lives on."""

    _async: Any
    _portal: BlockingPortal | None

    def _running(self) -> BlockingPortal:
        if self._portal is None:
            raise RuntimeError(f"this {type(self).__name__} is closed; create a new one")
        return self._portal

    def __enter__(self) -> Self:
        self._running()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


def _same_arguments(
    source: Callable[P, Any],
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, P], None]]:
    """Type ``__init__`` with ``source``'s parameters, so the constructors cannot drift."""

    def decorate(init: Callable[..., None]) -> Callable[Concatenate[Any, P], None]:
        wrapped: Any = source
        if isinstance(source, type):
            wrapped = wrapped.__init__
        return functools.wraps(wrapped)(init)

    return decorate


# ---------------------------------------------------------------------------- the twins


class Panel(_Blocking):
    """``smmpanel.Panel``, blocking: same constructor, methods and results.

    ``with smmpanel.sync.Panel(url, key) as panel: panel.balance()``. ``iter_statuses``
    and ``watch`` return plain iterators; ``close()`` replaces ``aclose()``.
    """

    @_same_arguments(smmpanel.Panel)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        portal = _LOOP.acquire()
        try:
            self._async = portal.call(functools.partial(smmpanel.Panel, *args, **kwargs))
        except BaseException:
            _LOOP.release()
            raise
        self._portal = portal
        self._owner = True

    @classmethod
    def _borrow(cls, panel: smmpanel.Panel, portal: BlockingPortal) -> Panel:
        """A twin of a ``Panel`` that someone else (a sync ``Panels``) closes."""
        self = cls.__new__(cls)
        self._async = panel
        self._portal = portal
        self._owner = False
        return self

    balance = _blocking(smmpanel.Panel.balance)
    services = _blocking(smmpanel.Panel.services)
    add = _blocking(smmpanel.Panel.add)  # type: ignore[arg-type]  # mypy: self vs **extra
    status = _blocking(smmpanel.Panel.status)
    statuses = _blocking(smmpanel.Panel.statuses)
    iter_statuses = _iterating(smmpanel.Panel.iter_statuses)
    watch = _iterating(smmpanel.Panel.watch)
    refill = _blocking(smmpanel.Panel.refill)
    refills = _blocking(smmpanel.Panel.refills)
    refill_status = _blocking(smmpanel.Panel.refill_status)
    refill_statuses = _blocking(smmpanel.Panel.refill_statuses)
    cancel = _blocking(smmpanel.Panel.cancel)

    @property
    def url(self) -> str:
        """The panel's API URL."""
        return self._async.url  # type: ignore[no-any-return]

    @property
    def rate_limit(self) -> Any:
        """The ``rate_limit`` this ``Panel`` was made with."""
        return self._async.rate_limit

    @property
    def concurrency(self) -> int:
        """Requests in flight at most, across all calls on this ``Panel``."""
        return self._async.concurrency  # type: ignore[no-any-return]

    @property
    def closed(self) -> bool:
        """True after ``close()`` (or once the ``Panels`` that made it closed)."""
        return self._portal is None or bool(self._async.closed)

    def close(self) -> None:
        """Close the connection pool if this ``Panel`` made it; safe to call twice."""
        portal, self._portal = self._portal, None
        if portal is None or not self._owner:
            return
        try:
            portal.call(self._async.aclose)
        finally:
            _LOOP.release()

    def __repr__(self) -> str:
        return f"<sync {self._async!r}>"

    def __del__(self) -> None:
        if getattr(self, "_owner", False) and getattr(self, "_portal", None) is not None:
            warnings.warn(
                f"{self!r} was never closed; use 'with' or 'panel.close()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )


class Panels(_Blocking, Mapping[str, Panel]):
    """``smmpanel.Panels``, blocking: ``with smmpanel.sync.Panels.from_toml(path) as panels``.

    ``Panels(mapping)`` takes sync ``Panel``s (and never closes them); ``from_toml`` makes
    them, and ``close()`` closes what it made. Its members are sync ``Panel``s.
    """

    def __init__(
        self,
        panels: Mapping[str, Panel],
        *,
        rates: Mapping[str, Decimal | int | str] | None = None,
        currencies: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(panels, Mapping):
            raise TypeError(
                f"Panels takes a mapping of names to Panel, got {type(panels).__name__}"
            )
        for name, panel in panels.items():
            if not isinstance(panel, Panel):
                raise TypeError(f"panel {name!r} is not a smmpanel.sync.Panel")
        portal = _LOOP.acquire()
        members = {name: panel._async for name, panel in panels.items()}
        try:
            self._async = portal.call(
                functools.partial(smmpanel.Panels, members, rates=rates, currencies=currencies)
            )
        except BaseException:
            _LOOP.release()
            raise
        self._portal = portal
        self._members = dict(panels)

    @classmethod
    def from_toml(
        cls, path: str | os.PathLike[str], *, rates: Mapping[str, Decimal | int | str] | None = None
    ) -> Self:
        """Panels from a TOML file (see ``smmpanel.Panels.from_toml``)."""
        portal = _LOOP.acquire()
        try:
            made = portal.call(functools.partial(smmpanel.Panels.from_toml, path, rates=rates))
        except BaseException:
            _LOOP.release()
            raise
        self = cls.__new__(cls)
        self._async = made
        self._portal = portal
        self._members = {name: Panel._borrow(panel, portal) for name, panel in made.items()}
        return self

    balances = _blocking(smmpanel.Panels.balances)
    services = _blocking(smmpanel.Panels.services)
    cheapest = _blocking(smmpanel.Panels.cheapest)
    add_cheapest = _blocking(smmpanel.Panels.add_cheapest)  # type: ignore[arg-type]  # as add

    def __getitem__(self, name: str) -> Panel:
        return self._members[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    @property
    def names(self) -> list[str]:
        """The panels' names, in order."""
        return list(self._members)

    def close(self) -> None:
        """Close what ``from_toml`` made; the caller's ``Panel``s stay open."""
        portal, self._portal = self._portal, None
        if portal is None:
            return
        try:
            portal.call(self._async.aclose)
        finally:
            for member in self._members.values():
                if not member._owner:
                    member._portal = None
            _LOOP.release()

    def __repr__(self) -> str:
        return f"<sync {self._async!r}>"
