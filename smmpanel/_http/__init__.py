"""The http layer: one exchange under the throttle (limiter, paces, pauses), retried by the policy.

::

    exchange  Exchange: a form body in, the answer's JSON (or a Failure) out; size cap,
              redaction, no redirects, the retry and pause log lines
    throttle  Throttle: requests in flight, requests per second (per action too), 429 pauses
    retry     which failures go again (reads, writes) and when (tenacity); what proves a
              request unsent
    wire      Wire: post a body, get status, headers and bytes; ClientWire over httpx
    pool      PoolWire, the default wire: httpcore connections in a pool of our own
    fast      AiohttpWire, the wire of the ``fast`` extra
    own       which wire a Panel makes for itself (an environment proxy: httpx's client)
"""

from .exchange import Exchange
from .own import own_wire
from .wire import ClientWire, Wire

__all__ = ["ClientWire", "Exchange", "Wire", "own_wire"]
