"""Error envelopes and wrappers: where in a panel's JSON its error words or its answer sit."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["error_text", "find_error", "unwrap"]

# Error values nest a level or two (``{"error": {"link": ["..."]}}``); a deeper one is
# flattened no further, so a hostile body cannot exhaust the stack.
_MAX_ERROR_DEPTH = 16
_ERROR_WORDS = frozenset({"error", "fail", "failed", "failure", "false"})
_EMPTY: tuple[object, ...] = (None, "", False, 0, [], {})


def error_text(value: object, _depth: int = 0) -> str:
    """Flatten an error value (string, list, object of lists) into the panel's words."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping | list | tuple):
        if _depth > _MAX_ERROR_DEPTH:  # deeper than any panel nests: no words worth reading
            return ""
        values = value.values() if isinstance(value, Mapping) else value
        return "; ".join(filter(None, (error_text(v, _depth + 1) for v in values)))
    if value is None or value is False:
        return ""
    return str(value).strip()


def find_error(data: object) -> str | None:
    """The error message of an error envelope, or ``None`` for an answer that is not one.

    Envelopes: ``{"error": "..."}`` (also beside a ``status``, or as an object or list),
    ``{"status": "error", "message": "..."}``, ``{"success": false, "message": "..."}``.
    """
    if not isinstance(data, Mapping):
        return None
    if "error" in data:
        value = data["error"]
        if value not in _EMPTY:
            return error_text(value) or "error"
    if data.get("errors"):
        return error_text(data["errors"]) or "error"
    # ``{"status": "Error"}`` alone is an order's state; the envelope has a message beside it.
    if "message" not in data and "msg" not in data:
        return None
    status = data.get("status")
    flagged = (isinstance(status, str) and status.strip().lower() in _ERROR_WORDS) or (
        data.get("success") is False
    )
    if flagged:
        message = data.get("message", data.get("msg"))
        return error_text(message) or (status if isinstance(status, str) else "error")
    return None


def unwrap(data: object) -> object:
    """``{"status": "success", "data": X}`` and similar wrappers to ``X``."""
    if isinstance(data, Mapping):
        for key in ("data", "result", "response"):
            if key in data and isinstance(data[key], Mapping | list):
                return data[key]
    return data
