"""Which error a panel's words mean: the one place that picks an error class.

Every error answer ends here, whether it came as an envelope, an HTTP status, or a per-ID
entry of a multi-ID answer; and JSON of a shape no dialect uses becomes its
``ProtocolError`` here too.
"""

from __future__ import annotations

import re

from .._errors import (
    AuthenticationError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PanelError,
    ProtocolError,
    RateLimitError,
)
from .convert import ShapeError

__all__ = ["error_class", "panel_error", "per_id_error", "shape_error"]


# Matched on a folded message: lower case, with ``_ . - /`` read as spaces, so translation
# keys such as ``neworder.error.not_enough_funds`` read as words. Order matters:
# "API is Disable for this user or User Not Found!" is about the key, not an order.
_RULES: tuple[tuple[type[PanelError], re.Pattern[str]], ...] = (
    (
        AuthenticationError,
        re.compile(
            r"\bapi\s*key\b|\bapi is disabled?\b|\buser not found\b|\bsuspended\b"
            r"|\bnot active\b|\binactive\b|\bunauthori[sz]ed\b|\bunauthenticated\b|\bbanned\b"
            r"|\bincorrect key\b|\binvalid key\b|\bwrong key\b"
        ),
    ),
    (
        InsufficientFundsError,
        re.compile(
            r"\bnot enough (funds|money|balance)\b|\binsufficient\b|\blow balance\b"
            r"|\bbalance is (too )?low\b|\bnot enough\b.*\bbalance\b"
            r"|\benough (funds|money|balance)\b|\bbalance\b.*\bnot enough\b"
        ),
    ),
    (RateLimitError, re.compile(r"\btoo many( requests)?\b|\brate limit|\bthrottl")),
    # "Service not found" is a bad field, not an unknown order: before NotFoundError's
    # catch-all "not found".
    (
        InvalidRequestError,
        re.compile(r"\b(service|link)s?( id)? (was |is )?not found\b|\bno such (service|link)\b"),
    ),
    (
        NotFoundError,
        re.compile(
            r"\b(incorrect|invalid|unknown|wrong) (order|refill)( id)?\b"
            r"|\b(order|refill)s? (id )?(was )?not found\b|\bnot found\b"
            r"|\bno such (order|refill)\b|\bbulunamad|\bkh[oô]ng t[iì]m th[aấ]y"
            r"|\bno encontrad|\bn[aã]o encontrad|\bnicht gefunden"
        ),
    ),
    (
        InvalidRequestError,
        re.compile(
            r"\bservice\b|\bquantity\b|\blink\b|\binvalid\b|\bincorrect\b|\bminimum\b"
            r"|\bmaximum\b|\bmin\b|\bmax\b|\bdisabled?\b|\brequired\b|\bmissing\b|\bduplicate\b"
            r"|\bnot allowed\b|\bnot supported\b|\bbad request\b|\bactive order\b"
            r"|\bmust\b|\binterval\b|\bruns\b|\bcomments?\b|\busernames?\b"
        ),
    ),
)
_FOLD = str.maketrans({"_": " ", ".": " ", "-": " ", "/": " "})
_BY_STATUS: dict[int, type[PanelError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: AuthenticationError,
    404: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_class(message: str, status_code: int | None = None) -> type[PanelError]:
    """The class a panel's message names; the HTTP status decides only when the words don't."""
    folded = message.lower().translate(_FOLD)
    for cls, pattern in _RULES:
        if pattern.search(folded):
            return cls
    if status_code is not None:
        return _BY_STATUS.get(status_code, PanelError)
    return PanelError


def panel_error(
    message: str,
    *,
    action: str | None,
    status_code: int | None = None,
    retry_after: float | None = None,
) -> PanelError:
    """Build the exception for a panel's error ``message``."""
    cls = error_class(message, status_code)
    if status_code == 429 or cls is RateLimitError:
        return RateLimitError(
            message, action=action, status_code=status_code, retry_after=retry_after
        )
    return cls(message, action=action, status_code=status_code)


def per_id_error(message: str, action: str) -> PanelError:
    """The error of one ID's entry: what its words say, else ``NotFoundError``.

    A per-ID error the words don't classify is still about that ID.
    """
    error = panel_error(message or "error", action=action)
    return NotFoundError(error.message, action=action) if type(error) is PanelError else error


def shape_error(action: str, error: ShapeError, id: int | None = None) -> ProtocolError:
    """The ``ProtocolError`` for an answer (or one ID's entry) of a shape no dialect uses."""
    where = action if id is None else f"{action} for {id}"
    return ProtocolError(f"{where}: {error}", action=action)
