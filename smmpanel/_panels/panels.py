"""``Panels``: named ``Panel``s used as one: balances, a cached catalogue, the cheapest service.

Every call that asks all panels asks them at once and reports each panel's answer or error
on its own, so one panel that is down, slow or answering nonsense never hides the others.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio
import httpx

from .._client import Panel
from .._config import VERSION
from .._errors import PanelError, SMMPanelError, TransportError, UncertainOrderError
from .._models import Balance, Service
from .catalogue import Cached, Catalogue, Entry
from .cheapest import Candidate, Query, Where, candidates
from .config import read_config
from .pool import HostPools, Origin, origin

__all__ = ["Panels"]

T = TypeVar("T")

DEFAULT_MAX_AGE = 900.0
"""Seconds a catalogue is answered from memory: panels often allow ~10 ``services`` an hour."""


class Panels(Mapping[str, Panel]):
    """Named ``Panel``s as one: ``panels["main"]``, ``await panels.balances()``...

    ``Panels(mapping)`` uses the caller's ``Panel``s and never closes them;
    ``Panels.from_toml(path)`` makes them (sharing one connection pool) and ``aclose`` /
    ``async with`` closes what it made. ``rates`` converts money for ``cheapest``: each
    currency's value in one common unit (the first panel's currency when it is not listed),
    e.g. ``{"EUR": Decimal("1.08")}`` beside USD panels. ``currencies`` states panels'
    account currencies (by name) instead of learning them from ``balance``.
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
        if not panels:
            raise ValueError("Panels needs at least one panel")
        for name, panel in panels.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"panel names must be non-empty strings, got {name!r}")
            if not isinstance(panel, Panel):
                raise TypeError(f"panel {name!r} is a {type(panel).__name__}, not a smmpanel.Panel")
        self._panels = dict(panels)
        self._rates = _check_rates(rates or {})
        self._currencies: dict[str, str | None] = {}
        for name, currency in (currencies or {}).items():
            if name not in self._panels:
                raise ValueError(f"currencies names an unknown panel {name!r}")
            if not isinstance(currency, str) or not currency.strip():
                raise ValueError(f"the currency of {name!r} must be a code such as 'USD'")
            self._currencies[name] = currency.strip()
        self._clock: Callable[[], float] = time.monotonic
        self._catalogues = {name: Cached(self._fetcher(name), self._now) for name in self._panels}
        self._owned: list[Panel] = []
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    @classmethod
    def from_toml(
        cls,
        path: str | os.PathLike[str],
        *,
        rates: Mapping[str, Decimal | int | str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> Self:
        """Panels from a TOML file: one ``[panels.NAME]`` table each (see the README).

        ``rates`` adds to (and overrides) the file's ``[rates]`` table. The panels share
        ``http_client`` if given (never closed here), else one client made for them whose
        transport keeps connections per panel host, as many as the ``concurrency`` of the
        panels on that host. A mistake in the file raises ``ValueError`` naming the file,
        the panel and the field, never the key.
        """
        config = read_config(path)
        where = os.fspath(path)
        own_client = http_client is None
        if http_client is None:
            sizes: dict[Origin, int] = {}
            for panel in config.panels:
                try:
                    key = origin(panel.url)
                except httpx.InvalidURL:
                    continue  # Panel() below says what is wrong with it
                sizes[key] = sizes.get(key, 0) + panel.options.get("concurrency", 8)
            http_client = httpx.AsyncClient(
                transport=HostPools(sizes),
                headers={"User-Agent": f"smmpanel/{VERSION}"},
            )
        made: dict[str, Panel] = {}
        for panel in config.panels:
            try:
                made[panel.name] = Panel(
                    panel.url, panel.key, http_client=http_client, **panel.options
                )
            except ValueError as error:
                message = str(error).replace(panel.key, "***")
                field = _field_of(message)
                raise ValueError(f"{where}: panel {panel.name!r}{field}: {message}") from None
        currencies = {panel.name: panel.currency for panel in config.panels if panel.currency}
        self = cls(made, rates={**config.rates, **(rates or {})}, currencies=currencies)
        self._owned = list(made.values())
        self._client = http_client if own_client else None
        return self

    # ------------------------------------------------------------------ the mapping

    def __getitem__(self, name: str) -> Panel:
        try:
            return self._panels[name]
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._panels)

    def __len__(self) -> int:
        return len(self._panels)

    def __contains__(self, name: object) -> bool:
        return name in self._panels

    @property
    def names(self) -> list[str]:
        """The panels' names, in the order given (the file's order for ``from_toml``)."""
        return list(self._panels)

    def __repr__(self) -> str:
        return f"<Panels {', '.join(self._panels)}>"

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("these Panels are closed; create new ones")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the panels (and the pool) ``from_toml`` made; the caller's are left open."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for panel in self._owned:
                await panel.aclose()
            if self._client is not None:
                await self._client.aclose()

    # ------------------------------------------------------------------ every panel at once

    async def balances(self, *, within: float | None = None) -> dict[str, Balance | SMMPanelError]:
        """Every panel's ``Balance``, or its error, asked all at once; in panel order.

        Each panel is bounded by its own ``timeout`` and retries; ``within`` (seconds) also
        bounds the whole call: a panel still working by then gets a ``TransportError``.
        """
        if within is not None and (
            isinstance(within, bool) or not isinstance(within, int | float) or within <= 0
        ):
            raise ValueError(f"within must be a positive number of seconds or None, got {within!r}")

        async def one(name: str) -> Balance:
            if within is None:
                balance = await self._panels[name].balance()
            else:
                with anyio.move_on_after(within):
                    balance = await self._panels[name].balance()
                    return self._learn(name, balance)
                raise TransportError(f"balance: no answer within {within:g} s", action="balance")
            return self._learn(name, balance)

        return await _each(self._panels, one)

    async def services(
        self, *, max_age: float = DEFAULT_MAX_AGE, refresh: bool = False
    ) -> Catalogue:
        """Every panel's catalogue, from a cache younger than ``max_age`` seconds.

        Panels whose cache is older (or all, with ``refresh=True``) are asked at once;
        callers that come while a panel is being asked share that one request. A panel
        that fails keeps its last good catalogue in the answer (if it has one) and its
        error in ``.errors``; it is never shown as an empty catalogue.
        """
        _check_age(max_age)
        entries = await self._entries(max_age, refresh)
        now = self._now()
        catalogue = Catalogue()
        for name, answer in entries.items():
            entry = self._good(name, answer)
            if isinstance(answer, SMMPanelError):
                catalogue.errors[name] = answer
            if entry is not None:
                catalogue[name] = list(entry.services)  # the caller's to change
                catalogue.age[name] = now - entry.fetched_at
        return catalogue

    async def cheapest(
        self,
        *,
        type: str | None = None,
        quantity: int | None = None,
        refill: bool | None = None,
        cancel: bool | None = None,
        dripfeed: bool | None = None,
        where: Where | None = None,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> tuple[str, Service]:
        """``(panel name, Service)`` with the lowest ``cost(quantity)`` that matches.

        A service matches when it allows ``quantity`` (``min <= quantity <= max``), has the
        flags asked for (``None``: any; a flag the panel does not state never matches one
        asked for), its ``type`` equals ``type`` (any case) and ``where(name, service)`` is
        true. Catalogues come from the cache (``max_age``). Panels in another currency than
        the first panel's are left out unless ``rates`` converts them. ``LookupError`` when
        nothing matches; its message says which panels were left out and why.
        """
        query = Query(type, quantity, refill, cancel, dripfeed, where)
        found, skipped = await self._candidates(query, max_age)
        if not found:
            raise LookupError(_nothing(query, skipped))
        return found[0].name, found[0].service

    async def add_cheapest(
        self,
        *,
        quantity: int,
        link: str | None = None,
        type: str | None = None,
        refill: bool | None = None,
        cancel: bool | None = None,
        dripfeed: bool | None = None,
        where: Where | None = None,
        max_age: float = DEFAULT_MAX_AGE,
        **fields: Any,
    ) -> tuple[str, Service, int]:
        """Order from the cheapest matching panel, failing over to the next cheapest.

        Returns ``(panel name, service, order ID)``. Each panel's cheapest match is tried
        in order of cost; the next one only when a panel *refused* the order for sure (it
        answered with an error: funds, service, quantity, key, rate limit; or the request
        provably never left). An ``UncertainOrderError`` (the order may exist) is raised at
        once: an order is never placed twice. When every panel refused, the last refusal
        is raised, with the others in its notes.
        """
        query = Query(type, quantity, refill, cancel, dripfeed, where)
        found, skipped = await self._candidates(query, max_age)
        if not found:
            raise LookupError(_nothing(query, skipped))
        refusals: list[str] = []
        last: SMMPanelError | None = None
        for candidate in found:
            panel = self._panels[candidate.name]
            try:
                order = await panel.add(
                    service=candidate.service.id, link=link, quantity=quantity, **fields
                )
            except UncertainOrderError:
                raise
            except (PanelError, TransportError) as error:  # refused, or never sent
                refusals.append(f"{candidate.name}: {type_name(error)}: {error}")
                last = error
                continue
            return candidate.name, candidate.service, order
        assert last is not None
        for note in refusals[:-1]:
            last.add_note(f"also refused by {note}")
        raise last

    # ------------------------------------------------------------------ machinery

    def _now(self) -> float:
        return self._clock()

    def _fetcher(self, name: str) -> Callable[[], Awaitable[list[Service]]]:
        def fetch() -> Awaitable[list[Service]]:
            return self._panels[name].services()

        return fetch

    def _good(self, name: str, answer: Entry | SMMPanelError) -> Entry | None:
        """The catalogue to use: this answer's, or after an error the last good one."""
        return self._catalogues[name].entry if isinstance(answer, SMMPanelError) else answer

    def _learn(self, name: str, balance: Balance) -> Balance:
        self._currencies.setdefault(name, balance.currency)
        return balance

    async def _entries(self, max_age: float, refresh: bool) -> dict[str, Entry | SMMPanelError]:
        if not refresh:
            cached = {name: c.fresh(max_age) for name, c in self._catalogues.items()}
            if all(entry is not None for entry in cached.values()):
                return {name: entry for name, entry in cached.items() if entry is not None}

        async def one(name: str) -> Entry:
            return await self._catalogues[name].get(max_age, refresh=refresh)

        return await _each(self._panels, one)

    async def _candidates(
        self, query: Query, max_age: float
    ) -> tuple[list[Candidate], dict[str, str]]:
        _check_age(max_age)
        entries = await self._entries(max_age, refresh=False)
        skipped: dict[str, str] = {}
        good: dict[str, Entry] = {}
        for name, answer in entries.items():
            entry = self._good(name, answer)
            if entry is None:
                error = self._catalogues[name].error
                skipped[name] = f"no catalogue ({type_name(error)}: {error})"
            else:
                good[name] = entry
        unknown = [name for name in good if name not in self._currencies]
        if unknown:
            balances = await _each(unknown, lambda name: self._panels[name].balance())
            for name, balance in balances.items():
                if isinstance(balance, Balance):
                    self._learn(name, balance)
        factors = self._factors(good, skipped)
        return candidates(good, factors, query), skipped

    def _factors(self, names: Iterable[str], skipped: dict[str, str]) -> dict[str, Decimal]:
        """Each panel's money in the reference currency: the first known panel's."""
        known = [name for name in names if name in self._currencies]
        for name in names:
            if name not in self._currencies:
                skipped[name] = "its currency is unknown (balance failed)"
        if not known:
            return {}
        reference = self._currencies[known[0]]
        factors = {}
        for name in known:
            currency = self._currencies[name]
            factor = self._factor(currency, reference)
            if factor is None:
                skipped[name] = (
                    f"its currency {currency or '(not stated)'} is not the first panel's "
                    f"({reference or 'not stated'}) and no rate converts it"
                )
            else:
                factors[name] = factor
        return factors

    def _factor(self, currency: str | None, reference: str | None) -> Decimal | None:
        if currency == reference:
            return Decimal(1)
        if currency is None or reference is None or currency not in self._rates:
            return None
        return self._rates[currency] / self._rates.get(reference, Decimal(1))


async def _each(
    names: Iterable[str], call: Callable[[str], Awaitable[T]]
) -> dict[str, T | SMMPanelError]:
    """``call(name)`` for every name at once; each result or ``SMMPanelError``, in order.

    Any other exception is a bug: it is raised as itself (the first one), not as a group.
    """
    order = list(names)
    results: dict[str, T | SMMPanelError] = {}
    bugs: list[Exception] = []

    async def one(name: str) -> None:
        try:
            results[name] = await call(name)
        except SMMPanelError as error:
            results[name] = error
        except Exception as error:  # re-raised below, ungrouped
            bugs.append(error)

    async with anyio.create_task_group() as group:
        for name in order:
            group.start_soon(one, name)
    if bugs:
        raise bugs[0]
    return {name: results[name] for name in order}


def _check_rates(rates: Mapping[str, Decimal | int | str]) -> dict[str, Decimal]:
    checked = {}
    for currency, rate in rates.items():
        if not isinstance(currency, str) or not currency.strip():
            raise ValueError(f"rates: currency codes must be non-empty strings, got {currency!r}")
        if isinstance(rate, bool) or not isinstance(rate, Decimal | int | str):
            raise ValueError(
                f"rates[{currency!r}] must be a Decimal, int or str (money is never a float), "
                f"got {type(rate).__name__}"
            )
        try:
            value = Decimal(rate)
        except ArithmeticError:
            raise ValueError(f"rates[{currency!r}] is not a number") from None
        if not value.is_finite() or value <= 0:
            raise ValueError(f"rates[{currency!r}] must be a positive number, got {value}")
        checked[currency.strip()] = value
    return checked


def _check_age(max_age: float) -> None:
    if isinstance(max_age, bool) or not isinstance(max_age, int | float) or max_age < 0:
        raise ValueError(f"max_age must be a non-negative number of seconds, got {max_age!r}")


def _field_of(message: str) -> str:
    """The field a ``Panel`` error is about, from its first word."""
    first = message.split(" ", 1)[0]
    if first in {
        "url",
        "key",
        "timeout",
        "concurrency",
        "chunk_size",
        "retries",
        "rate_limit",
        "backoff",
    }:
        return f", field {first!r}"
    if "URL" in message or "url" in message:
        return ", field 'url'"
    return ""


def type_name(error: BaseException | None) -> str:
    """An error's class name for messages."""
    return type(error).__name__


def _nothing(query: Query, skipped: Mapping[str, str]) -> str:
    asked = ", ".join(
        f"{name}={getattr(query, name)!r}"
        for name in ("type", "quantity", "refill", "cancel", "dripfeed")
        if getattr(query, name) is not None
    )
    message = f"no service matches ({asked or 'anything'}{', where' if query.where else ''})"
    if skipped:
        message += "; left out: " + "; ".join(f"{name}: {why}" for name, why in skipped.items())
    return message
