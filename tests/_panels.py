"""The error texts of PANELS.md's table (and a few beyond it), each with its class.

Shared by the parsing tests and the tests that send each text through a ``Panel``.
"""

from __future__ import annotations

from smmpanel import (
    AuthenticationError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PanelError,
    RateLimitError,
)

ERROR_TEXTS: list[tuple[str, type[PanelError]]] = [
    ("Invalid API key", AuthenticationError),
    ("Invalid API Key", AuthenticationError),
    ("API is Disable for this user or User Not Found! Contact the Support", AuthenticationError),
    ("Your account has been suspended.", AuthenticationError),
    ("Your account is not active", AuthenticationError),
    ("Not enough funds on balance", InsufficientFundsError),
    ("Insufficient balance", InsufficientFundsError),
    ("neworder.error.not_enough_funds", InsufficientFundsError),
    ("Incorrect order ID", NotFoundError),
    ("Invalid Order Id", NotFoundError),
    ("Order Not found", NotFoundError),
    ("Refill not found", NotFoundError),
    ("Incorrect service ID", InvalidRequestError),
    ("Invalid Service Id", InvalidRequestError),
    ("Service ID does not exists", InvalidRequestError),
    ("Quantity less than minimal 100", InvalidRequestError),
    ("Minimum quantity is 100", InvalidRequestError),
    ("Quantity must to be greater than or equal to minimum amount 100", InvalidRequestError),
    ("Bad link", InvalidRequestError),
    ("neworder.error.link", InvalidRequestError),
    (
        "You have active order with this link. Please wait until order being completed.",
        InvalidRequestError,
    ),
    ("neworder.error.link_duplicate", InvalidRequestError),
    ("neworder.error.min_quantity", InvalidRequestError),
    ("error.incorrect_service_id", InvalidRequestError),
    ("Incorrect request", InvalidRequestError),
    ("This action is Invalid", InvalidRequestError),
    ("The selected action is invalid.", InvalidRequestError),
    ("Invalid Interval in minutes", InvalidRequestError),
    ("Refill is disabled for this service", InvalidRequestError),
    ("Too many requests", RateLimitError),
    ("Sipari\u015f bulunamad\u0131.", NotFoundError),
]
