"""What the tracker hands back: a tracked order, one change of one order, a panel's state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from .._models import OrderStatus, Status

__all__ = ["Event", "PanelReport", "TrackedOrder"]


@attrs.frozen
class TrackedOrder:
    """One order the tracker follows, as the store holds it now.

    ``order`` is ``None`` only for an ``uncertain`` row whose ``add`` had no readable answer:
    the order may exist on the panel, and ``fields`` holds what was sent (never the key).
    """

    panel: str
    order: int | None
    ref: str | None
    status: OrderStatus | None
    tracked_at: dt.datetime
    polled_at: dt.datetime | None
    next_poll_at: dt.datetime | None
    not_found: bool = False
    uncertain: bool = False
    fields: dict[str, str] | None = None
    id: int = 0
    """The store's row number (the handle for reconciling an ``uncertain`` row)."""


@attrs.frozen
class Event:
    """A change of one order: ``previous`` (``None`` for the first status) to ``current``."""

    id: int
    panel: str
    order: int
    ref: str | None
    previous: OrderStatus | None
    current: OrderStatus
    at: dt.datetime


@attrs.frozen
class PanelReport:
    """One panel's state for ``Tracker.report()`` and ``smmpanel track status``.

    ``lag`` is the age in seconds of the oldest due order (0 when none is due); ``budget``
    the status requests a minute the panel's ``rate_limit`` allows (``None``: no limit);
    ``used`` the status requests sent in the last minute by whoever polls it.
    """

    panel: str
    counts: dict[Status, int]
    new: int = 0
    not_found: int = 0
    uncertain: int = 0
    due: int = 0
    lag: float = 0.0
    budget: float | None = None
    used: float = 0.0
    owner: str | None = None
    beat_at: dt.datetime | None = None
    paused: str | None = None
    backoff_until: dt.datetime | None = None
    last_error: str | None = None

    @property
    def budget_used(self) -> float | None:
        """``used / budget`` (``None`` without a limit)."""
        return None if not self.budget else self.used / self.budget

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: counts by status word, times as ISO 8601."""
        return {
            "panel": self.panel,
            "counts": {status.value: n for status, n in self.counts.items()},
            "new": self.new,
            "not_found": self.not_found,
            "uncertain": self.uncertain,
            "due": self.due,
            "lag": round(self.lag, 3),
            "budget": self.budget,
            "used": self.used,
            "budget_used": None if self.budget_used is None else round(self.budget_used, 4),
            "owner": self.owner,
            "beat_at": None if self.beat_at is None else self.beat_at.isoformat(),
            "paused": self.paused,
            "backoff_until": (
                None if self.backoff_until is None else self.backoff_until.isoformat()
            ),
            "last_error": self.last_error,
        }
