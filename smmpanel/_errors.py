"""The exception tree, and the rules that pick a class from a panel's own words.

::

    SMMPanelError
    ├── PanelError                 the panel answered with an error; .message is its own text
    │   ├── AuthenticationError    invalid or inactive API key
    │   ├── InsufficientFundsError not enough balance
    │   ├── NotFoundError          incorrect order or refill ID
    │   ├── InvalidRequestError    bad service, link, quantity or other field
    │   └── RateLimitError         too many requests; .retry_after: float | None
    ├── TransportError             connection failure or timeout (the httpx error is the __cause__)
    │   └── UncertainOrderError    `add` failed after the request may have reached the panel
    └── ProtocolError              not JSON, or JSON of an unexpected shape

No exception here ever holds the API key or an ``httpx.Request`` (whose body holds the key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "InsecureURLWarning",
    "InsufficientFundsError",
    "InvalidRequestError",
    "NotFoundError",
    "PanelError",
    "ProtocolError",
    "RateLimitError",
    "SMMPanelError",
    "TransportError",
    "UncertainOrderError",
]


class SMMPanelError(Exception):
    """Base of every error smmpanel raises for a panel, network or protocol problem."""

    def __init__(self, message: str, *, action: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.action = action

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, action={self.action!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[SMMPanelError], message: str, state: dict[str, Any]) -> SMMPanelError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class PanelError(SMMPanelError):
    """The panel answered, and its answer is an error; ``message`` is the panel's own text."""

    def __init__(
        self, message: str, *, action: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, action=action)
        self.status_code = status_code


class AuthenticationError(PanelError):
    """The API key is wrong, disabled, or its account is suspended."""


class InsufficientFundsError(PanelError):
    """The balance does not cover the order."""


class NotFoundError(PanelError):
    """The panel does not know this order or refill ID."""


class InvalidRequestError(PanelError):
    """A field was refused: service, link, quantity, interval or another."""


class RateLimitError(PanelError):
    """Too many requests; ``retry_after`` is the panel's hint in seconds, if it gave one."""

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, action=action, status_code=status_code)
        self.retry_after = retry_after


class TransportError(SMMPanelError):
    """The request failed on the network: refused, reset, or timed out."""


class UncertainOrderError(TransportError):
    """``add`` failed after the request may have reached the panel: the order may exist.

    It is never retried automatically. ``fields`` holds the order's form fields (never
    the key) so the caller can look for the order before placing it again.
    """

    def __init__(
        self, message: str, *, action: str | None = "add", fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, action=action)
        self.fields: dict[str, str] = dict(fields or {})


class ProtocolError(SMMPanelError):
    """The answer is not JSON, or JSON of a shape no panel dialect uses."""

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        status_code: int | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message, action=action)
        self.status_code = status_code
        self.body = body


class InsecureURLWarning(UserWarning):
    """The panel URL is plain ``http://`` to a non-loopback host: the key travels in clear."""


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
