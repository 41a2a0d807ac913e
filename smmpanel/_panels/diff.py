"""``diff(old, new)``: what changed between two catalogues of one panel.

Panels answer ``services`` with an error, an empty list or half a catalogue when they are
in trouble, and scripts that trusted such answers disabled their whole shop. So a new
catalogue that is an error, empty, or lost more than ``threshold`` of the old services
makes a *suspect* diff: it lists nothing to act on and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from .._models import Service

__all__ = ["FIELDS", "CatalogueDiff", "Change", "diff"]

FIELDS = ("rate", "min", "max", "refill", "cancel", "dripfeed", "name", "type", "category")
"""The fields ``diff`` compares, in the order its rows name them."""

DEFAULT_THRESHOLD = 0.5


class Change(NamedTuple):
    """One field of one service that differs: ``(service_id, field, old, new)``."""

    service_id: int
    field: str
    old: Any
    new: Any


@attrs.frozen
class CatalogueDiff:
    """What changed from one catalogue to the next.

    ``added`` and ``removed`` hold services (in the new and old catalogue's order),
    ``changed`` one ``Change`` per differing field. When ``suspect`` is true the new answer
    is not to be trusted (``reason`` says why) and the three lists are empty.
    """

    added: list[Service] = attrs.field(factory=list)
    removed: list[Service] = attrs.field(factory=list)
    changed: list[Change] = attrs.field(factory=list)
    suspect: bool = False
    reason: str | None = None

    def __bool__(self) -> bool:
        """True when there is something to act on (a suspect diff never is)."""
        return bool(self.added or self.removed or self.changed)


Catalogue = Sequence[Service] | BaseException | None


def diff(old: Catalogue, new: Catalogue, *, threshold: float = DEFAULT_THRESHOLD) -> CatalogueDiff:
    """Compare two catalogues of one panel; ``old``/``new`` may be an error or ``None``.

    A ``new`` catalogue that is an error, ``None``, empty while ``old`` was not, or that lost
    more than ``threshold`` (a fraction, default one half) of ``old``'s services is suspect.
    """
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise ValueError(f"threshold must be a fraction in 0..1, got {threshold!r}")
    for side, value in (("old", old), ("new", new)):
        if isinstance(value, BaseException):
            return _suspect(f"the {side} catalogue is an error: {type(value).__name__}: {value}")
        if value is None:
            return _suspect(f"there is no {side} catalogue")
    assert old is not None
    assert new is not None
    assert not isinstance(old, BaseException)
    assert not isinstance(new, BaseException)
    before = {service.id: service for service in old}
    after = {service.id: service for service in new}
    if before and not after:
        return _suspect(f"the new catalogue is empty (the old one had {len(before)} services)")
    removed = [service for id_, service in before.items() if id_ not in after]
    if before and len(removed) / len(before) > threshold:
        return _suspect(
            f"the new catalogue lost {len(removed)} of {len(before)} services "
            f"(more than {threshold:.0%})"
        )
    added = [service for id_, service in after.items() if id_ not in before]
    changed = [
        Change(id_, field, getattr(service, field), getattr(after[id_], field))
        for id_, service in before.items()
        if id_ in after
        for field in FIELDS
        if getattr(service, field) != getattr(after[id_], field)
    ]
    return CatalogueDiff(added, removed, changed)


def _suspect(reason: str) -> CatalogueDiff:
    return CatalogueDiff(suspect=True, reason=reason)
