"""A fake SMM panel for tests, demos, fault drills and benchmarks.

::

    from smmpanel.testing import FakePanel

    fake = FakePanel(dialect="v2", balance="100")
    async with fake.panel() as panel:  # Panel(fake.url, fake.key, transport=fake.transport())
        order = await panel.add(service=1, link="https://example.com/p/1", quantity=1000)
        fake.advance(60)
        assert (await panel.status(order)).final

``with fake.serve() as url:`` runs the same fake over real HTTP on a local port.
"""

from ._catalogue import DEFAULT_SERVICES, ORDER_TYPES, FakeService
from ._faults import Fault, FaultKind
from ._orders import FakeOrder, FakeRefill
from ._panel import FakePanel
from ._records import Received, Reply
from ._transport import FakeTransport

__all__ = [
    "DEFAULT_SERVICES",
    "FakeOrder",
    "FakePanel",
    "FakeRefill",
    "FakeService",
    "FakeTransport",
    "Fault",
    "FaultKind",
    "ORDER_TYPES",
    "Received",
    "Reply",
]
