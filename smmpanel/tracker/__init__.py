"""Track orders on many panels until they are final, keeping every change exactly once.

::

    from smmpanel.tracker import Tracker

    async with Tracker(panels, store="sqlite:///orders.db") as tracker:
        await tracker.track("main", [23501, 23502], ref="invoice-77")
        await tracker.run(until_idle=True)
        async for event in tracker.events(after=0):
            ...

Needs the ``track`` extra (SQLAlchemy 2; psycopg 3 for PostgreSQL).
"""

from ._cadence import DEFAULT_FIRST, DEFAULT_MOST, Cadence
from ._models import Event, PanelReport, TrackedOrder
from ._poll import PollReport, poll_panel
from ._store import DEFAULT_STORE, Store, StoreError
from ._tracker import Tracker, status_budget

__all__ = [
    "DEFAULT_FIRST",
    "DEFAULT_MOST",
    "DEFAULT_STORE",
    "Cadence",
    "Event",
    "PanelReport",
    "PollReport",
    "Store",
    "StoreError",
    "TrackedOrder",
    "Tracker",
    "poll_panel",
    "status_budget",
]
