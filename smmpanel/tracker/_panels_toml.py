"""A stand-in reader of the ``Panels`` TOML file, for ``smmpanel track worker``.

STAND-IN: ``smmpanel.Panels.from_toml`` (being written in another branch) is the real
reader; at merge, ``_workers.open_panels`` should call it instead (with the worker's
``http_client``) and this module goes away. It reads the same format: one
``[panels.NAME]`` table each with ``url``, the key as ``key_env = "VAR"`` or ``key``, and
the ``Panel`` options ``concurrency``, ``rate_limit`` (a number, or a table per action:
the status calls' limit is ``min(status, "*")``), ``timeout``, ``retries``.
A mistake raises ``ValueError`` naming the file, the panel and the field, never the key.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

__all__ = ["PanelSpec", "read_panels"]

_OPTIONS = {"concurrency": int, "retries": int, "timeout": float, "rate_limit": float}


@attrs.frozen
class PanelSpec:
    """One panel of the file: what ``Panel(url, key, **options)`` gets."""

    name: str
    url: str
    key: str = attrs.field(repr=False)
    options: dict[str, Any] = attrs.field(factory=dict)


def read_panels(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> dict[str, PanelSpec]:
    """The panels of ``path`` by name, in file order."""
    where = os.fspath(path)
    env = os.environ if environ is None else environ
    try:
        with Path(where).open("rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise ValueError(f"{where}: cannot read the file: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{where}: not valid TOML: {error}") from None
    tables = data.get("panels")
    if not isinstance(tables, dict) or not tables:
        raise ValueError(f"{where}: no panels: add one [panels.NAME] table per panel")
    specs = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"{where}: panel {name!r}: must be a table")
        specs[name] = _spec(where, name, table, env)
    return specs


def _spec(where: str, name: str, table: dict[str, Any], env: Mapping[str, str]) -> PanelSpec:
    def bad(field: str, problem: str) -> ValueError:
        return ValueError(f"{where}: panel {name!r}, field {field!r}: {problem}")

    url = table.get("url")
    if not isinstance(url, str) or not url.strip():
        raise bad("url", "missing or not a string: the panel's API URL")
    if "key_env" in table:
        variable = table["key_env"]
        key = env.get(variable, "") if isinstance(variable, str) else ""
        if not key.strip():
            raise bad("key_env", "must name a set environment variable holding the key")
    elif isinstance(table.get("key"), str) and table["key"].strip():
        key = table["key"]
    else:
        raise bad("key_env", "missing: name the environment variable that holds the API key")
    options: dict[str, Any] = {}
    for field, kind in _OPTIONS.items():
        if field not in table:
            continue
        value = table[field]
        if field == "rate_limit" and isinstance(value, dict):
            rates = [value[k] for k in ("status", "*") if k in value]
            if not rates:
                continue
            value = min(rates)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(field, "must be a number")
        if kind is int and not isinstance(value, int):
            raise bad(field, "must be an integer")
        if not math.isfinite(value) or (value <= 0 and field != "retries"):
            raise bad(field, f"must be positive, got {value}")
        options[field] = kind(value)
    return PanelSpec(name, url.strip(), key.strip(), options)
