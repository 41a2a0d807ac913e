"""The typed results: frozen attrs classes and the status enums panels' words map to."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Generic, NoReturn, TypeVar

import attrs

from ._errors import SMMPanelError

__all__ = [
    "Balance",
    "Bulk",
    "OrderStatus",
    "RefillState",
    "RefillStatus",
    "Service",
    "Status",
]

T = TypeVar("T")
PerID = dict[int, "T | SMMPanelError"]
"""What a multi-ID call found for each ID: its value or its error (inside the package)."""

_FOLD = str.maketrans("", "", " _-\t")


def _fold(word: str) -> str:
    """``" In_progress "`` -> ``"inprogress"``: how panels' words are compared."""
    return word.strip().lower().translate(_FOLD)


class Status(enum.Enum):
    """An order's state. Unknown words are ``UNKNOWN`` (never ``PENDING``), see ``raw_status``."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PROCESSING = "processing"
    COMPLETED = "completed"
    PARTIAL = "partial"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    ACTIVE = "active"
    AWAITING = "awaiting"
    PAUSED = "paused"
    EXPIRED = "expired"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, word: object) -> Status:
        """Map a panel's word (any case, spacing, ``_``/``-``) to a ``Status``; never raises."""
        if not isinstance(word, str):
            return cls.UNKNOWN
        found = _STATUS_CACHE.get(word)
        if found is None:
            found = _STATUS_WORDS.get(_fold(word), cls.UNKNOWN)
            if len(_STATUS_CACHE) < 1024:
                _STATUS_CACHE[word] = found
        return found

    @property
    def final(self) -> bool:
        """True when the order will not change any more."""
        return self in _FINAL


_STATUS_WORDS: dict[str, Status] = {
    "pending": Status.PENDING,
    "inprogress": Status.IN_PROGRESS,
    "processing": Status.PROCESSING,
    "completed": Status.COMPLETED,
    "complete": Status.COMPLETED,
    "partial": Status.PARTIAL,
    "canceled": Status.CANCELED,
    "cancelled": Status.CANCELED,
    "refunded": Status.REFUNDED,
    "active": Status.ACTIVE,
    "awaiting": Status.AWAITING,
    "paused": Status.PAUSED,
    "expired": Status.EXPIRED,
    "fail": Status.FAILED,
    "failed": Status.FAILED,
    "error": Status.FAILED,
}
_STATUS_CACHE: dict[str, Status] = {}
_FINAL = frozenset(
    {
        Status.COMPLETED,
        Status.PARTIAL,
        Status.CANCELED,
        Status.REFUNDED,
        Status.EXPIRED,
        Status.FAILED,
    }
)


class RefillState(enum.Enum):
    """A refill's state, matched like ``Status``."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, word: object) -> RefillState:
        """Map a panel's refill word to a ``RefillState``; never raises."""
        if not isinstance(word, str):
            return cls.UNKNOWN
        return _REFILL_WORDS.get(_fold(word), cls.UNKNOWN)


_REFILL_WORDS: dict[str, RefillState] = {
    "pending": RefillState.PENDING,
    "inprogress": RefillState.IN_PROGRESS,
    "processing": RefillState.IN_PROGRESS,
    "completed": RefillState.COMPLETED,
    "complete": RefillState.COMPLETED,
    "rejected": RefillState.REJECTED,
    "error": RefillState.FAILED,
    "fail": RefillState.FAILED,
    "failed": RefillState.FAILED,
}


@attrs.frozen
class Balance:
    """The account's balance. ``amount`` is exact: money is never a float."""

    amount: Decimal
    currency: str | None = None


@attrs.frozen
class Service:
    """One entry of the panel's catalogue; ``rate`` is the price per 1000."""

    id: int
    name: str
    type: str
    category: str
    rate: Decimal
    min: int
    max: int
    # ``None`` when the catalogue does not say (v1 catalogues never name refill or cancel):
    # unknown is not "no".
    refill: bool | None = None
    cancel: bool | None = None
    dripfeed: bool | None = None
    description: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, hash=False)

    def cost(self, quantity: int) -> Decimal:
        """What ``quantity`` costs at this service's rate."""
        return self.rate * quantity / 1000


@attrs.frozen
class OrderStatus:
    """An order's state as the panel reported it; ``raw_status`` keeps the panel's own word."""

    order: int
    status: Status
    charge: Decimal | None = None
    start_count: int | None = None
    remains: int | None = None
    currency: str | None = None
    raw_status: str = ""
    extra: dict[str, Any] = attrs.field(factory=dict, hash=False)
    """Fields the panel sent that have no name here (drip-feed ``runs``, child ``orders``,
    ``posts``); empty when none (parsed statuses then share one read-only empty dict)."""

    @property
    def final(self) -> bool:
        """Completed, partial, canceled, refunded, expired or failed: it will not change."""
        return self.status in _FINAL


class _ReadOnlyEmpty(dict[str, Any]):
    """The one empty ``extra`` that parsed statuses share: a dict that refuses to change.

    Most statuses carry no extra field; one shared empty dict instead of one each saves 64
    bytes and an allocation per status (64 MB over a million). Shared, it must never
    change, so every mutation raises ``TypeError``; copies (``dict(x)``, ``x.copy()``,
    ``x | y``) are plain dicts, and it pickles and copies as itself.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("an empty OrderStatus.extra is shared and read-only; copy it first")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _no_extra, ()

    def __copy__(self) -> _ReadOnlyEmpty:
        return self

    def __deepcopy__(self, memo: object) -> _ReadOnlyEmpty:
        return self


NO_EXTRA: dict[str, Any] = _ReadOnlyEmpty()
"""The ``extra`` of every parsed ``OrderStatus`` that has none (see ``_ReadOnlyEmpty``)."""


def _no_extra() -> dict[str, Any]:
    return NO_EXTRA


class StatusDraft(OrderStatus):
    """An ``OrderStatus`` being built by the parsers: same slots, plain attribute stores.

    The frozen class sets each field through ``object.__setattr__``, a call per field that
    was 8% of a polling client's CPU. A draft takes plain stores (no ``__setattr__`` of its
    own: the interpreter writes the slots directly), and once every field is set its
    ``__class__`` becomes ``OrderStatus``: from then on it is an ordinary, frozen
    ``OrderStatus`` (equality, hash, repr, immutability). ``OrderStatus`` has no validators,
    converters or post-init hook, so this is what its ``__init__`` does (tests check it).
    A draft never leaves the package.
    """

    __slots__ = ()
    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__


@attrs.frozen
class RefillStatus:
    """A refill's state; ``raw_status`` keeps the panel's own word."""

    refill: int
    status: RefillState
    raw_status: str = ""


@attrs.frozen
class Bulk(Generic[T]):
    """The answer to a multi-ID call: every ID asked for is in ``ok`` or in ``errors``.

    Both dicts keep the order in which the IDs were given.
    """

    ok: dict[int, T] = attrs.field(factory=dict)
    errors: dict[int, SMMPanelError] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return len(self.ok) + len(self.errors)

    def __contains__(self, id: object) -> bool:
        return id in self.ok or id in self.errors

    def __iter__(self) -> Iterator[int]:
        """The IDs, answered ones first, each in the order given."""
        yield from self.ok
        yield from self.errors

    def result(self, id: int) -> T:
        """The value for ``id``, or raise its error (``KeyError`` if it was not asked for)."""
        if id in self.ok:
            return self.ok[id]
        raise self.errors[id]
