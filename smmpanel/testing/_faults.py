"""Injected faults: what a flaky panel, its CDN or the network does to a request.

Each request draws once against the faults in the order they were injected; the first one
that fires applies, so one request carries at most one fault. Draws use the fake's own
``random.Random(seed)``: the same requests in the same order see the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Literal, cast, get_args

import attrs

__all__ = ["CLOUDFLARE_502", "Fault", "FaultKind", "Faults"]

FaultKind = Literal["html502", "empty500", "rate_limit", "truncated", "slow", "drop", "refuse"]
"""``html502``, ``empty500``, ``rate_limit``: an error answer, the request not processed.
``truncated``: processed, the JSON cut in half. ``slow``: processed after ``delay`` seconds.
``drop``: processed, then the connection drops mid-answer. ``refuse``: never connected."""

KINDS: frozenset[str] = frozenset(get_args(FaultKind))

CLOUDFLARE_502 = b"""<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html class="no-js" lang="en-US">
<head>
<title>fake-panel.invalid | 502: Bad gateway</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="cf-error-details-wrapper">
    <h1><span class="cf-error-type">Bad gateway</span>
      <span class="code-label">Error code 502</span></h1>
    <p>The web server reported a bad gateway error.</p>
  </div>
  <div class="cf-error-footer">
    <p>Cloudflare Ray ID: <strong>8c2f1e0a9b7d4e21</strong> &bull;
      Performance &amp; security by Cloudflare</p>
  </div>
</div>
</body>
</html>
"""


@attrs.define
class Fault:
    """One injected fault and how often it has fired."""

    kind: FaultKind
    rate: float
    times: int | None
    actions: frozenset[str] | None
    delay: float
    retry_after: float
    fired: int = 0

    def applies(self, action: str) -> bool:
        """Whether this fault may fire on a request for ``action``."""
        if self.times is not None and self.fired >= self.times:
            return False
        return self.actions is None or action in self.actions


class Faults:
    """The injected faults of one fake, and the random stream they draw from."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self.active: list[Fault] = []

    def add(
        self,
        kind: str,
        *,
        rate: float,
        times: int | None,
        actions: Iterable[str] | str | None,
        delay: float,
        retry_after: float,
    ) -> None:
        """Check and store one fault (see ``FakePanel.inject``)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError(f"rate must be a probability in 0..1, got {rate!r}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise ValueError(f"times must be an int or None, got {times!r}")
        if times is not None and times < 0:
            raise ValueError(f"times must not be negative, got {times!r}")
        for name, seconds in (("delay", delay), ("retry_after", retry_after)):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise ValueError(f"{name} must be a non-negative number, got {seconds!r}")
        if isinstance(actions, str):  # inject("slow", actions="add") means one action
            actions = (actions,)
        fault = Fault(
            cast(FaultKind, kind),
            float(rate),
            times,
            frozenset(actions) if actions is not None else None,
            float(delay),
            float(retry_after),
        )
        self.active.append(fault)

    def draw(self, action: str) -> Fault | None:
        """The fault this request gets, if any; counts it as fired."""
        for fault in self.active:
            if fault.applies(action) and (fault.rate >= 1.0 or self._random.random() < fault.rate):
                fault.fired += 1
                return fault
        return None
