"""When an order is polled next: soon after a change, less often while nothing moves.

A new order is due at once; after a change the next poll comes ``first`` seconds later,
and each poll that finds nothing new doubles the wait, up to ``most``. Every wait is
stretched or shrunk by up to ``jitter`` (a fraction) so that orders tracked together, or
a restart, do not make the polls bunch up. The store draws one factor per batch it writes
(``factor``): the batch's orders then stay side by side in the due index, and batches
spread apart.
"""

from __future__ import annotations

import math
import random

import attrs

__all__ = ["DEFAULT_FIRST", "DEFAULT_MOST", "Cadence"]

DEFAULT_FIRST = 60.0
"""Seconds from a change to the next poll: real orders move in minutes."""
DEFAULT_MOST = 3600.0
"""The longest wait between two polls of an order that is not final."""


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"cadence {name} must be a number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"cadence {name} must be positive, got {value!r}")
    return float(value)


@attrs.frozen
class Cadence:
    """``(first, most)`` seconds, and the ``jitter`` fraction."""

    first: float = DEFAULT_FIRST
    most: float = DEFAULT_MOST
    jitter: float = 0.1

    def __attrs_post_init__(self) -> None:
        _positive("first", self.first)
        _positive("most", self.most)
        if self.most < self.first:
            raise ValueError(f"cadence most ({self.most:g}) must be >= first ({self.first:g})")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"cadence jitter must be in [0, 1), got {self.jitter!r}")

    @classmethod
    def of(cls, value: Cadence | tuple[float, float] | str) -> Cadence:
        """A ``Cadence`` from itself, ``(first, most)`` or the CLI's ``"FIRST,MOST"``."""
        if isinstance(value, Cadence):
            return value
        if isinstance(value, str):
            parts = value.split(",")
            if len(parts) != 2:
                raise ValueError(f"cadence must be FIRST,MOST (seconds), got {value!r}")
            try:
                first, most = float(parts[0]), float(parts[1])
            except ValueError:
                raise ValueError(f"cadence must be FIRST,MOST (seconds), got {value!r}") from None
            return cls(first, most)
        if not isinstance(value, tuple) or len(value) != 2:
            raise ValueError(f"cadence must be (first, most) in seconds, got {value!r}")
        return cls(value[0], value[1])

    def wait(self, changed: bool, previous: float | None) -> float:
        """The next interval: ``first`` after a change, else double the last, up to ``most``."""
        if changed or previous is None:
            return self.first
        return min(self.most, previous * 2)

    def factor(self, rng: random.Random) -> float:
        """A jitter factor in ``[1 - jitter, 1 + jitter]``, to multiply waits by."""
        if not self.jitter:
            return 1.0
        return 1.0 + self.jitter * (2.0 * rng.random() - 1.0)

    def due(self, now: float, wait: float, rng: random.Random) -> float:
        """``now + wait``, jittered."""
        return now + wait * self.factor(rng)
