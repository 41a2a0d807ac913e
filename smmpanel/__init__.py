"""smmpanel: an async client for SMM panel APIs, with bulk helpers.

::

    async with smmpanel.Panel("https://panel.example/api/v2", key) as panel:
        balance = await panel.balance()
        result = await panel.statuses(order_ids)
"""

import logging

from ._client import Panel, Watch
from ._config import VERSION as __version__
from ._errors import (
    AuthenticationError,
    InsecureURLWarning,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
    PanelError,
    ProtocolError,
    RateLimitError,
    SMMPanelError,
    TransportError,
    UncertainOrderError,
)
from ._models import Balance, Bulk, OrderStatus, RefillState, RefillStatus, Service, Status
from ._panels import Catalogue, CatalogueDiff, Panels, diff  # after Panel and the models

# A library's log records (retries, 429 pauses) are for programs that configure logging;
# without this, logging's last-resort handler would print warnings on stderr.
logging.getLogger("smmpanel").addHandler(logging.NullHandler())

__all__ = [
    "AuthenticationError",
    "Balance",
    "Bulk",
    "Catalogue",
    "CatalogueDiff",
    "InsecureURLWarning",
    "InsufficientFundsError",
    "InvalidRequestError",
    "NotFoundError",
    "OrderStatus",
    "Panel",
    "PanelError",
    "Panels",
    "ProtocolError",
    "RateLimitError",
    "RefillState",
    "RefillStatus",
    "SMMPanelError",
    "Service",
    "Status",
    "TransportError",
    "UncertainOrderError",
    "Watch",
    "__version__",
    "diff",
]
