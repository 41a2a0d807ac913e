"""The exception tree; which class a panel's words mean is decided in ``_protocol.classify``.

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
    # inside the package only
    "Failure",
    "answered",
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


def answered(error: SMMPanelError) -> bool:
    """The panel read the request and answered about this ID (an unknown order, say).

    Not a bad key and not a rate limit: those say nothing about the ID itself.
    """
    return isinstance(error, PanelError) and not isinstance(
        error, AuthenticationError | RateLimitError
    )


class Failure(Exception):
    """One failed attempt as the layers below the client report it: the error, and its odds.

    ``unsent``: the request provably never left, so even a write may go again.
    ``transient``: another attempt may be answered differently (a 5xx, an unreadable body,
    a dropped connection), so a read may go again. The client raises ``error``; a
    ``Failure`` never leaves the package.
    """

    def __init__(
        self, error: SMMPanelError, *, unsent: bool = False, transient: bool = False
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.unsent = unsent
        self.transient = transient
