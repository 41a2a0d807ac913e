"""The http layer: one exchange under the limiter and the throttle, retried by the policy.

::

    exchange  Exchange: a form body in, the answer's JSON (or a Failure) out; size cap, redaction
    throttle  Gate: requests per second, and the pause after a 429
    retry     which failures go again (reads, writes) and when; what proves a request unsent
    pool      the default transport: small httpcore pools side by side
    fast      the aiohttp transport of the ``fast`` extra
"""

from .exchange import Exchange
from .fast import fast_transport
from .pool import pooled_transport

__all__ = ["Exchange", "fast_transport", "pooled_transport"]
