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
# keys such as ``neworder.error.not_enough_funds`` read as words. Families, not exact texts,
# and their order matters: a service that is "inactive" is a bad field before "inactive"
# reads as an account; "API is Disable ... User Not Found!" is about the key, not an order;
# a refusal to act on an existing order ("cannot be cancelled") before "order" reads as
# unknown. HTTP reason phrases ("Internal Server Error") name no family: they stay generic.
_SERVER_WORDS = re.compile(
    r"^\W*(internal server error|server error|bad gateway|service unavailable"
    r"|gateway time ?out|whoops[^a-z]*something went wrong)\W*$"
)
_RULES: tuple[tuple[type[PanelError], re.Pattern[str]], ...] = (
    (
        RateLimitError,
        re.compile(r"\btoo many\b|\brate limit|\bthrottl|\bslow down\b|\btry again later\b"),
    ),
    (
        InvalidRequestError,
        re.compile(
            r"\b(service|link)s?( id)?\b.*\b(not found|does not exists?|doesn t exist"
            r"|inactive|not active|disabled?|unavailable|not available)\b"
            r"|\bno such (service|link)\b|\b(incorrect|invalid|unknown|wrong) (service|link)\b"
        ),
    ),
    (
        AuthenticationError,
        re.compile(
            r"\bapi\s*(key|token)\b|\bapi( access)? (is )?(disabled?|blocked|not enabled)\b"
            r"|\buser not found\b|\bsuspended\b|\bnot active\b|\binactive\b"
            r"|\bunauthori[sz]ed\b|\bunauthenticated\b|\bbanned\b|\bforbidden\b"
            r"|\b(incorrect|invalid|wrong|bad) (key|token)\b|\baccess (is )?denied\b"
            r"|\bpermission denied\b|\bip( address)?\b.*\b(not|whitelist|allow|block|denied)"
            r"|\bwhite ?list|\ballow ?list|\bschl[uü]ssel\b|\bkey (is )?(invalid|incorrect)\b"
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
    # Refusals to act on an order that exists: the order is known, the request is not taken.
    (
        InvalidRequestError,
        re.compile(
            r"\balready\b|\bopen (refill |cancel )?request\b"
            r"|\b(cannot|can not|can t|could not|couldn t) be\b"
            r"|\bnot (available|eligible|possible)\b"
            r"|\bunavailable\b|\bnot allowed\b|\bnot yet\b|\bnot refillable\b"
        ),
    ),
    (
        NotFoundError,
        re.compile(
            r"\b(incorrect|invalid|unknown|wrong) (order|refill)( id)?\b"
            r"|\b(order|refill)s?\b.*\b(not found|does not exists?|doesn t exist|not exists?)\b"
            r"|\bnot found\b|\bno such (order|refill)\b|\bbulunamad|\bkh[oô]ng t[iì]m th[aấ]y"
            r"|\bno encontrad|\bn[aã]o encontrad|\bnicht gefunden"
        ),
    ),
    (
        InvalidRequestError,
        re.compile(
            r"\bservice\b|\bquantity\b|\blink\b|\binvalid\b|\bincorrect\b|\bminimum\b"
            r"|\bmaximum\b|\bmin\b|\bmax\b|\bdisabled?\b|\brequired\b|\bmissing\b|\bduplicate\b"
            r"|\bnot supported\b|\bbad request\b|\bactive order\b|\bexceeds?\b"
            r"|\bmust\b|\binterval\b|\bruns\b|\bcomments?\b|\busernames?\b"
        ),
    ),
)
_FOLD = str.maketrans({"_": " ", ".": " ", "-": " ", "/": " ", "'": " "})
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
    if _SERVER_WORDS.search(folded):
        return _BY_STATUS.get(status_code, PanelError) if status_code is not None else PanelError
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
