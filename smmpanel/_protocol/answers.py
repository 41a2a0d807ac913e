"""Each action's answer, from JSON to models: every shape the seeds and PANELS.md show.

Pure functions (no I/O), so every dialect is a plain function call in the tests. They
raise ``ShapeError`` for JSON of a shape no dialect uses; ``reply.read_reply`` turns that
into the action's ``ProtocolError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from .._errors import NotFoundError, SMMPanelError
from .._models import Balance, OrderStatus, PerID, RefillState, RefillStatus, Service
from .classify import panel_error, per_id_error, shape_error
from .convert import ShapeError, converter, integer, order_status, refill_status, service
from .envelope import error_text, find_error, unwrap

__all__ = [
    "parse_add",
    "parse_balance",
    "parse_cancels",
    "parse_refill",
    "parse_refill_status",
    "parse_refill_statuses",
    "parse_refills",
    "parse_services",
    "parse_status",
    "parse_statuses",
]

T = TypeVar("T")


def _shape(what: str) -> ShapeError:
    return ShapeError(f"unexpected {what} answer")


# ---------------------------------------------------------------------------- single answers


def parse_balance(data: object) -> Balance:
    """``{"balance": "100.84", "currency": "USD"}``, wrapped, without currency, or a number."""
    if isinstance(data, str | int | float | Decimal) and not isinstance(data, bool):
        return Balance(amount=converter.structure(data, Decimal))
    inner = unwrap(data)
    if isinstance(inner, Mapping) and "balance" in inner:
        return converter.structure(inner, Balance)
    raise _shape("balance")


def parse_services(data: object) -> list[Service]:
    """A list; ``{"services": [...]}``; ``{"status": "success", "data": "Empty Data"}``."""
    if isinstance(data, Mapping):
        if "services" in data:
            data = data["services"]
        elif isinstance(data.get("data"), str) or (data.get("data") is None and "status" in data):
            return []
        else:
            data = unwrap(data)
        if isinstance(data, Mapping):
            data = list(data.values())
    if not isinstance(data, list):
        raise _shape("services")
    result = []
    for index, entry in enumerate(data):
        try:
            result.append(service(entry))
        except ShapeError as error:
            raise ShapeError(f"$[{index}]: {error}") from None
    return result


def parse_add(data: object) -> int:
    """``{"order": 23501}``, ``{"status": "success", "order": 32}``, ``{"order": "32"}``."""
    inner = unwrap(data)
    value = inner.get("order", inner.get("id")) if isinstance(inner, Mapping) else None
    order = integer(value)
    if order is None or order <= 0:
        raise ShapeError("the panel's answer holds no order ID")
    return order


def _single(data: object, action: str) -> object:
    """A single-ID answer as the object it means: unwrapped, out of a one-element list
    (``[{"order": 5, "refill": 77}]``), out of ``status`` when an object sits there
    (``{"status": {"status": "Completed", ...}}``); an error found inside is raised."""
    inner = unwrap(data)
    if isinstance(inner, list) and len(inner) == 1 and isinstance(inner[0], Mapping):
        inner = inner[0]
    if isinstance(inner, Mapping) and isinstance(inner.get("status"), Mapping):
        nested = inner["status"]
        message = find_error(nested)
        if message:
            raise panel_error(message, action=action)
        if "status" in nested:
            inner = nested
    message = find_error(inner)
    if message:
        raise panel_error(message, action=action)
    return inner


def parse_status(data: object, order: int) -> OrderStatus:
    """A single status, or the same keyed by the order's ID."""
    inner = _single(data, "status")
    if isinstance(inner, Mapping) and "status" not in inner and str(order) in inner:
        inner = inner[str(order)]
        message = find_error(inner) if not isinstance(inner, str) else inner.strip()
        if message:
            raise panel_error(message, action="status")
    return order_status(inner, order)


def parse_refill(data: object) -> int:
    """``{"refill": "1"}`` or ``{"refill": 1}`` (also ``{"id": 1}``, or in a list of one)."""
    inner = _single(data, "refill")
    if isinstance(inner, Mapping):
        value = inner.get("refill", inner.get("id"))
        message = find_error(value)
        if message:
            raise panel_error(message, action="refill")
        refill = integer(value)
        if refill is not None and refill > 0:
            return refill
    raise _shape("refill")


def parse_refill_status(data: object, refill: int) -> RefillStatus:
    """``{"status": "Completed"}``, keyed by the refill's ID, or a bare word."""
    inner = _single(data, "refill_status")
    if isinstance(inner, Mapping) and "status" not in inner and str(refill) in inner:
        inner = inner[str(refill)]
    message = find_error(inner) if isinstance(inner, Mapping) else None
    if message is None and isinstance(inner, Mapping):
        message = find_error(inner.get("status"))
    if message:
        raise panel_error(message, action="refill_status")
    return refill_status(inner, refill)


# ------------------------------------------------------------------------- multi-ID answers


def _entry_error(value: object, action: str, *, numbers: bool = False) -> SMMPanelError | None:
    """The per-ID error an entry carries: a bare string, ``{"error": ...}`` or ``null``.

    With ``numbers`` (refill and cancel values), a string of digits such as ``"1"`` is a value.
    """
    if value is None:
        return NotFoundError("not found", action=action)
    if isinstance(value, str):
        if numbers and integer(value) is not None:
            return None
        return per_id_error(error_text(value), action)
    if isinstance(value, list):
        return per_id_error(error_text(value), action)
    message = find_error(value)
    return None if message is None else per_id_error(message, action)


def _keyed(data: object) -> tuple[Mapping[str, Any] | None, list[Any]]:
    """Split a multi-ID answer into an object keyed by ID, or a list of entries."""
    inner = unwrap(data)
    if isinstance(inner, Mapping):
        return inner, []
    if isinstance(inner, list):
        return None, inner
    raise ShapeError("unexpected multi-ID answer")


def _by_id(
    data: object,
    ids: Sequence[int],
    action: str,
    id_keys: Sequence[str],
    value_of: Callable[[Any, int], T],
    *,
    entry_field: str | None = None,
) -> PerID[T]:
    """Pair a multi-ID answer with the IDs asked for.

    An object keyed by ID, a list of entries that name their ID (``{"order": N, ...}``), or a
    list without IDs in request order. IDs the answer leaves out are ``NotFoundError``.
    """
    mapping, entries = _keyed(data)
    if mapping is None:
        named: dict[str, Any] = {}
        positional = True
        for entry in entries:
            if isinstance(entry, Mapping):
                for key in id_keys:
                    if key in entry and integer(entry[key]) is not None:
                        named[str(integer(entry[key]))] = entry
                        positional = False
                        break
        if positional:
            if len(entries) != len(ids):
                raise ShapeError(f"{len(entries)} entries for {len(ids)} IDs")
            named = {str(i): entry for i, entry in zip(ids, entries, strict=True)}
        mapping = named
    result: PerID[T] = {}
    for id in ids:
        key = str(id)
        if key not in mapping:
            result[id] = NotFoundError(f"{id} is missing from the answer", action=action)
            continue
        entry = mapping[key]
        value = entry.get(entry_field) if entry_field and isinstance(entry, Mapping) else entry
        if entry_field and isinstance(entry, Mapping) and entry_field not in entry:
            value = entry
        error = _entry_error(value, action, numbers=entry_field is not None)
        if error is not None:
            result[id] = error
            continue
        try:
            result[id] = value_of(value, id)
        except (ValueError, ArithmeticError) as shape:  # ShapeError, or a number no hook caught
            result[id] = shape_error(action, ShapeError(str(shape)), id)
    return result


def _one_as_keyed(data: object, ids: Sequence[int], field: str = "status") -> object:
    """A one-ID request answered in the single-ID form (``{"status": ...}``), keyed by its ID."""
    if isinstance(data, Mapping) and len(ids) == 1 and field in data and str(ids[0]) not in data:
        return {str(ids[0]): data}
    return data


def parse_statuses(data: object, ids: Sequence[int]) -> PerID[OrderStatus]:
    """Multi-status: keyed by ID (objects or bare-string errors), or a list in request order."""
    data = _one_as_keyed(data, ids)
    if type(data) is dict and "data" not in data:
        # Fast path for the common keyed answer: entries that are plain status objects are
        # structured directly; anything else (errors, odd shapes) takes the general path.
        result: PerID[OrderStatus] = {}
        odd: list[int] = []
        for id in ids:
            entry = data.get(str(id))
            if type(entry) is dict and "error" not in entry and "message" not in entry:
                try:
                    result[id] = order_status(entry, id)
                    continue
                except (ValueError, ArithmeticError):
                    pass
            odd.append(id)
        if odd:
            result.update(
                _by_id(
                    {str(i): data.get(str(i)) for i in odd if str(i) in data},
                    odd,
                    "status",
                    ("order", "id"),
                    order_status,
                )
            )
            return {id: result[id] for id in ids}
        return result
    return _by_id(data, ids, "status", ("order", "id"), order_status)


def _returned_int(value: object, _: int) -> int:
    if isinstance(value, bool):
        return int(value)
    number = integer(value)
    if number is None:
        if isinstance(value, str) and value.strip().lower() in {"ok", "success", "true", "yes"}:
            return 1
        raise ShapeError(f"unreadable value {value!r:.40}")
    return number


def parse_refills(data: object, ids: Sequence[int]) -> PerID[int]:
    """Multi refill: ``[{"order": 1, "refill": 1}, {"order": 3, "refill": {"error": ...}}]``."""
    data = _one_as_keyed(data, ids, "refill")
    return _by_id(data, ids, "refill", ("order", "id"), _returned_int, entry_field="refill")


def parse_cancels(data: object, ids: Sequence[int]) -> PerID[int]:
    """Multi cancel: ``[{"order": 9, "cancel": {"error": ...}}, {"order": 2, "cancel": 1}]``."""
    data = _one_as_keyed(data, ids, "cancel")
    return _by_id(data, ids, "cancel", ("order", "id"), _returned_int, entry_field="cancel")


def parse_refill_statuses(data: object, ids: Sequence[int]) -> PerID[RefillStatus]:
    """Multi refill_status: a list of ``{"refill": N, "status": ...}`` or keyed by refill ID."""
    data = _one_as_keyed(data, ids)
    inner = unwrap(data)
    if isinstance(inner, Mapping):
        # Keyed form: a bare string is a status word when it names a state, else an error.
        fixed: dict[str, Any] = {}
        for key, value in inner.items():
            if isinstance(value, str) and RefillState.parse(value) is not RefillState.UNKNOWN:
                value = {"status": value}
            fixed[key] = value
        inner = fixed
    elif isinstance(inner, list):
        inner = [_lift_status_error(entry) for entry in inner]
    return _by_id(inner, ids, "refill_status", ("refill", "id"), refill_status)


def _lift_status_error(entry: object) -> object:
    """``{"refill": 3, "status": {"error": "Refill not found"}}`` -> the error object."""
    if isinstance(entry, Mapping) and isinstance(entry.get("status"), Mapping | list):
        return {"refill": entry.get("refill"), "error": entry["status"]}
    return entry
