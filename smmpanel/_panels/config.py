"""Reading a ``Panels`` TOML file: one ``[panels.NAME]`` table per panel, checked field by field.

Every mistake is a ``ValueError`` that names the file, the panel and the field. String
values are never quoted back (one of them may be a key put in the wrong field); numbers are.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

__all__ = ["ACTIONS", "PanelConfig", "read_config"]

ACTIONS = frozenset(
    {"balance", "services", "add", "status", "refill", "refill_status", "cancel", "*"}
)
"""The names a ``rate_limit`` table may use: the API's actions, and ``*`` for every request."""

_INTEGERS = {"concurrency": 1, "chunk_size": 1, "retries": 0}
_MAX_CHUNK = 100
_FIELDS = frozenset(
    {"url", "key", "key_env", "timeout", "rate_limit", "backoff", "currency", *_INTEGERS}
)


@attrs.frozen
class PanelConfig:
    """One panel's table, checked: what ``Panel(url, key, **options)`` gets."""

    name: str
    url: str
    key: str = attrs.field(repr=False)
    options: dict[str, Any] = attrs.field(factory=dict)
    """``Panel`` keyword options, as given (``rate_limit`` may be a mapping)."""
    currency: str | None = None
    """The account's currency, when the file declares it (otherwise learned from ``balance``)."""


@attrs.frozen
class FileConfig:
    """A whole file: its panels in file order, and the ``[rates]`` table."""

    panels: list[PanelConfig]
    rates: dict[str, Decimal]


class _Bad(Exception):
    """A field's problem, before the file and panel are put in front of it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


def read_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> FileConfig:
    """Read and check ``path``; ``environ`` (default ``os.environ``) resolves ``key_env``."""
    where = os.fspath(path)
    env = os.environ if environ is None else environ
    try:
        with Path(where).open("rb") as file:
            data = tomllib.load(file, parse_float=Decimal)
    except OSError as error:
        raise ValueError(f"{where}: cannot read the file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{where}: not valid TOML: {error}") from None
    tables = data.get("panels")
    if not isinstance(tables, dict) or not tables:
        raise ValueError(f"{where}: no panels: add one [panels.NAME] table per panel")
    panels = []
    for name, table in tables.items():
        try:
            if not isinstance(table, dict):
                raise _Bad("", "must be a table ([panels.NAME] with url and key_env)")
            panels.append(_panel(name, table, env))
        except _Bad as bad:
            field = f", field {bad.field!r}" if bad.field else ""
            raise ValueError(f"{where}: panel {name!r}{field}: {bad.problem}") from None
    try:
        rates = _rates(data.get("rates", {}))
    except _Bad as bad:
        raise ValueError(f"{where}: [rates], field {bad.field!r}: {bad.problem}") from None
    return FileConfig(panels, rates)


def _panel(name: str, table: dict[str, Any], env: Mapping[str, str]) -> PanelConfig:
    unknown = sorted(set(table) - _FIELDS)
    if unknown:
        known = ", ".join(sorted(_FIELDS))
        raise _Bad(unknown[0], f"unknown field (known: {known})")
    url = table.get("url")
    if url is None:
        raise _Bad("url", "missing: the panel's API URL, e.g. https://panel.example/api/v2")
    if not isinstance(url, str) or not url.strip():
        raise _Bad("url", f"must be a non-empty string, got {_kind(url)}")
    key = _key(table, env)
    options: dict[str, Any] = {}
    for field, low in _INTEGERS.items():
        if field in table:
            options[field] = _integer(field, table[field], low)
    if options.get("chunk_size", 1) > _MAX_CHUNK:
        raise _Bad("chunk_size", f"must be 1..{_MAX_CHUNK}, got {options['chunk_size']}")
    if "timeout" in table:
        options["timeout"] = _number("timeout", table["timeout"], positive=True)
    if "backoff" in table:
        options["backoff"] = _number("backoff", table["backoff"], positive=False)
    if "rate_limit" in table:
        options["rate_limit"] = _rate_limit(table["rate_limit"])
    currency = table.get("currency")
    if currency is not None and (not isinstance(currency, str) or not currency.strip()):
        raise _Bad("currency", f'must be a currency code such as "USD", got {_kind(currency)}')
    return PanelConfig(name, url.strip(), key, options, currency.strip() if currency else None)


def _key(table: dict[str, Any], env: Mapping[str, str]) -> str:
    if "key" in table and "key_env" in table:
        raise _Bad("key", "give the key as key_env or key, not both")
    if "key_env" in table:
        variable = table["key_env"]
        if not isinstance(variable, str) or not variable.strip():
            raise _Bad("key_env", f"must name an environment variable, got {_kind(variable)}")
        value = env.get(variable.strip(), "")
        if not value.strip():
            raise _Bad("key_env", f"the environment variable {variable.strip()!r} is not set")
        return value.strip()
    if "key" in table:
        if not isinstance(table["key"], str) or not table["key"].strip():
            raise _Bad("key", "must be a non-empty string")
        return str(table["key"]).strip()
    raise _Bad("key_env", "missing: name the environment variable that holds the API key")


def _integer(field: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(field, f"must be an integer >= {low}, got {_kind(value)}")
    if value < low:
        raise _Bad(field, f"must be an integer >= {low}, got {value}")
    return value


def _number(field: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Bad(field, f"must be a number of seconds, got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise _Bad(field, f"must be a number {bound}, got {value}")
    return number


def _per_second(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Bad(field, f"must be requests per second (a number > 0), got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise _Bad(field, f"must be requests per second (a number > 0), got {value}")
    return number


def _rate_limit(value: object) -> float | dict[str, float]:
    if not isinstance(value, dict):
        return _per_second("rate_limit", value)
    if not value:
        raise _Bad("rate_limit", "an empty table limits nothing; leave rate_limit out")
    limits = {}
    for action, per_second in value.items():
        if action not in ACTIONS:
            known = ", ".join(sorted(ACTIONS))
            raise _Bad(f"rate_limit.{action}", f"not an action (known: {known})")
        limits[action] = _per_second(f"rate_limit.{action}", per_second)
    return limits


def _rates(value: object) -> dict[str, Decimal]:
    if not isinstance(value, dict):
        raise _Bad("rates", "must be a table of currency = value")
    rates = {}
    for currency, rate in value.items():
        if isinstance(rate, str):
            try:
                rate = Decimal(rate)
            except ArithmeticError:
                raise _Bad(currency, 'must be a number, such as "1.08"') from None
        if isinstance(rate, bool) or not isinstance(rate, int | Decimal):
            raise _Bad(currency, f"must be a number, got {_kind(rate)}")
        rate = Decimal(rate)
        if not rate.is_finite() or rate <= 0:
            raise _Bad(currency, f"must be a number > 0, got {rate}")
        rates[currency] = rate
    return rates


def _kind(value: object) -> str:
    """What a value is, without quoting it (it may be a key in the wrong field)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal):
        return str(value)
    names: dict[type, str] = {str: "a string", list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)
