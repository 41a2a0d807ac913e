"""The http layer: one exchange under the throttle (limiter, paces, pauses), retried by the policy.

::

    exchange  Exchange: a form body in, the answer's JSON (or a Failure) out; size cap,
              redaction, no redirects, the retry and pause log lines
    throttle  Throttle: requests in flight, requests per second (per action too), 429 pauses
    retry     which failures go again (reads, writes) and when (tenacity); what proves a
              request unsent
    pool      the default transport: small httpcore pools side by side
    fast      the aiohttp transport of the ``fast`` extra
"""

from .exchange import Exchange
from .fast import fast_transport
from .pool import pooled_transport

__all__ = ["Exchange", "fast_transport", "pooled_transport"]
