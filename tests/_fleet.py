"""Several fake panels with their own catalogues, prices and currencies, for the Panels tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import httpx

from smmpanel import Panel
from smmpanel.testing import FakePanel, FakeService


def service(id: int, rate: str, **fields: Any) -> FakeService:
    """A Default service with a name made from its ID."""
    return FakeService(id, f"Service {id}", rate=Decimal(rate), **fields)


def fleet() -> dict[str, FakePanel]:
    """Three fakes, each its own price list: ``big`` and ``cheap`` in USD, ``euro`` in EUR."""
    return {
        "big": FakePanel(
            currency="USD",
            services=[
                service(1, "0.90", min=50, max=100_000, refill=True, cancel=True),
                service(2, "0.50", min=100, max=1_000),
                service(3, "0.30", min=5_000, max=50_000, refill=True),
                FakeService(4, "Likes package", "Package", rate=Decimal("2500"), min=1, max=1),
            ],
        ),
        "cheap": FakePanel(
            currency="USD",
            key="cheap-key",
            services=[
                service(10, "0.70", min=10, max=10_000, refill=True),
                service(11, "0.60", min=10, max=10_000, dripfeed=True),
            ],
        ),
        "euro": FakePanel(
            currency="EUR",
            key="euro-key",
            services=[service(20, "0.40", min=10, max=10_000, refill=True)],
        ),
    }


def panels_of(fakes: dict[str, FakePanel], **options: Any) -> dict[str, Panel]:
    """One in-memory Panel per fake (no retries unless asked: tests of failures stay quick)."""
    options.setdefault("retries", 0)
    return {name: fake.panel(**options) for name, fake in fakes.items()}


class ErrorOn(httpx.AsyncBaseTransport):
    """A transport that answers ``action`` with ``{"error": message}`` and passes the rest on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, action: str, message: str) -> None:
        self.inner = inner
        self.action = action
        self.message = message

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        if f"action={self.action}" in body.split("&"):
            return httpx.Response(200, json={"error": self.message})
        return await self.inner.handle_async_request(request)


class Held(httpx.AsyncBaseTransport):
    """A transport that holds every request until ``release()``; counts what arrived."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.arrived = 0
        self._open = anyio.Event()

    def release(self) -> None:
        self._open.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.arrived += 1
        await self._open.wait()
        return await self.inner.handle_async_request(request)
