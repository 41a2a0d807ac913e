"""The wire a ``Panel`` makes for itself when it is given no client or transport.

Its own pool of httpcore connections (aiohttp's session with ``fast=True``), skipping the
httpx client layer, except when the environment names a proxy (``HTTPS_PROXY``,
``ALL_PROXY``...): then an ``httpx.AsyncClient`` reads the variables, ``NO_PROXY`` too,
exactly as httpx does, and carries the requests.
"""

from __future__ import annotations

import urllib.request

import httpx

from .fast import AiohttpWire, check_fast
from .pool import KEEPALIVE, PoolWire, ssl_context
from .wire import ClientWire, Wire

__all__ = ["env_proxies", "own_wire"]


def env_proxies() -> bool:
    """True when the environment names an HTTP proxy httpx would read."""
    found = urllib.request.getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


def own_wire(
    url: str, concurrency: int, timeout: httpx.Timeout, *, fast: bool, user_agent: str
) -> Wire:
    """The wire for ``url``: ``concurrency`` connections, ``timeout`` for each phase."""
    if fast:
        check_fast()
    if env_proxies():
        limits = httpx.Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=KEEPALIVE,
        )
        client = httpx.AsyncClient(
            verify=ssl_context(),
            limits=limits,
            timeout=timeout,
            headers={"User-Agent": user_agent},
            trust_env=True,
        )
        return ClientWire(client, url, timeout)
    if fast:
        return AiohttpWire(url, concurrency, timeout=timeout, user_agent=user_agent)
    return PoolWire(url, concurrency, timeout=timeout, user_agent=user_agent)
