"""One panel's cached catalogue: answered from memory while young, one request shared by all.

A fetch that fails is not cached: the last good catalogue stays (and keeps its age), and
the error is reported beside it, so a failed ``services`` call never looks like an empty
catalogue. Callers that arrive while a fetch is running wait for that fetch instead of
sending their own; if the task that sent it is cancelled, the next waiter asks again.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import anyio

from .._errors import SMMPanelError
from .._models import Service

__all__ = ["Cached", "Catalogue", "Entry", "fold_type"]


def fold_type(type_name: str) -> str:
    """Order types compare without case or extra spaces (``"default "`` is ``"Default"``)."""
    return " ".join(type_name.lower().split())


class Entry:
    """A catalogue as fetched, and the index ``cheapest`` reads: each type's services by rate."""

    __slots__ = ("_by_type", "fetched_at", "services")

    def __init__(self, services: list[Service], fetched_at: float) -> None:
        self.services = services
        self.fetched_at = fetched_at
        self._by_type: dict[str | None, list[Service]] | None = None

    def by_rate(self, type_name: str | None) -> list[Service]:
        """Services of ``type_name`` (``None``: all), cheapest first, ties in catalogue order."""
        if self._by_type is None:
            ordered = sorted(self.services, key=_rate)  # a stable sort keeps ties in order
            index: dict[str | None, list[Service]] = {None: ordered}
            folded: dict[str, str] = {}  # a catalogue has few distinct types
            for service in ordered:
                key = folded.get(service.type)
                if key is None:
                    key = folded[service.type] = fold_type(service.type)
                index.setdefault(key, []).append(service)
            self._by_type = index
        return self._by_type.get(None if type_name is None else fold_type(type_name), [])


def _rate(service: Service) -> Decimal:
    return service.rate


class _Flight:
    """One fetch in progress: waiters block on ``done`` and then read what it left."""

    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.entry: Entry | None = None
        self.error: SMMPanelError | None = None


class Cached:
    """The cache of one panel's ``services`` answer."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[Service]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._flight: _Flight | None = None
        self.entry: Entry | None = None
        """The last good catalogue, if any."""
        self.error: SMMPanelError | None = None
        """The error of the latest fetch, or ``None`` when it succeeded."""

    def fresh(self, max_age: float) -> Entry | None:
        """The cached catalogue if it is younger than ``max_age`` seconds."""
        entry = self.entry
        if entry is not None and self._clock() - entry.fetched_at < max_age:
            return entry
        return None

    async def get(self, max_age: float, *, refresh: bool) -> Entry:
        """A catalogue no older than ``max_age`` (a new one if ``refresh``); raises its error."""
        if not refresh:
            entry = self.fresh(max_age)
            if entry is not None:
                return entry
        while True:
            flight = self._flight
            if flight is None:
                return await self._lead()
            await flight.done.wait()
            if flight.entry is not None:
                return flight.entry
            if flight.error is not None:
                raise flight.error
            # The task that sent it was cancelled: ask again (perhaps as the new leader).

    async def _lead(self) -> Entry:
        flight = self._flight = _Flight()
        try:
            services = await self._fetch()
        except SMMPanelError as error:
            self.error = flight.error = error
            raise
        else:
            self.entry = flight.entry = Entry(services, self._clock())
            self.error = None
            return flight.entry
        finally:
            self._flight = None
            flight.done.set()


class Catalogue(dict[str, list[Service]]):
    """``Panels.services()``'s answer: each panel's services, and ``errors`` beside them.

    A panel whose latest ``services`` call failed is in ``errors``; it keeps its last good
    catalogue in the mapping when it has one (see ``age``), and is absent otherwise, so a
    failure never reads as an empty catalogue.
    """

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, SMMPanelError] = {}
        """Panels whose latest ``services`` call failed, with its error."""
        self.age: dict[str, float] = {}
        """Seconds since each listed catalogue was fetched."""
