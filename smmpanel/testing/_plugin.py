"""The pytest plugin (entry point ``smmpanel``): a FakePanel and a Panel on it, one line each.

::

    @pytest.mark.anyio
    async def test_order(fake_panel, panel):
        order = await panel.add(service=1, link="https://x.example/p/1", quantity=100)
        assert order in fake_panel.orders

Override ``fake_panel`` in a ``conftest.py`` to change the fake (dialect, balance, faults).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .._client import Panel
from ._panel import FakePanel

__all__ = ["fake_panel", "panel"]


@pytest.fixture
def fake_panel() -> FakePanel:
    """A fresh in-memory ``FakePanel`` (v2 dialect); its clock moves only by ``advance``."""
    return FakePanel()


@pytest.fixture
async def panel(fake_panel: FakePanel) -> AsyncIterator[Panel]:
    """A ``Panel`` on ``fake_panel``'s in-memory transport, closed after the test."""
    async with fake_panel.panel() as client:
        yield client
