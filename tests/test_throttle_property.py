"""The throttle's promises for any mix of requests, on trio's virtual clock (Hypothesis).

Each example runs a random set of requests (actions, hold times, start delays, callers
cancelled while waiting, 429 pauses) through one ``Throttle`` on ``trio.testing.MockClock``
with ``autojump_threshold=0``: virtual time jumps as soon as every task waits, so hours of
paces take microseconds, and a deadlock shows as a virtual timeout instead of a hang.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

trio = pytest.importorskip("trio")
from trio.testing import MockClock  # noqa: E402

from smmpanel._http.throttle import EVERY, Throttle  # noqa: E402

ACTIONS = ["status", "add", "services"]

rates = st.one_of(
    st.none(),
    st.floats(0.5, 50),
    st.dictionaries(st.sampled_from([*ACTIONS, EVERY]), st.floats(0.5, 50), max_size=4),
)
request = st.tuples(
    st.sampled_from(ACTIONS),
    st.floats(0, 2),  # delay before asking
    st.floats(0, 1),  # time the request holds its slot
    st.one_of(st.none(), st.floats(0, 3)),  # cancelled after this long, if at all
    st.one_of(st.none(), st.floats(0, 5)),  # a 429 pause of this long once it starts
)


def limits(rate: float | dict[str, float] | None, action: str) -> list[tuple[str, float]]:
    """The paces a request of ``action`` passes: (name, interval)."""
    if rate is None:
        return []
    mapping = rate if isinstance(rate, dict) else {EVERY: rate}
    return [(name, 1 / mapping[name]) for name in (action, EVERY) if name in mapping]


@given(rate=rates, concurrency=st.integers(1, 4), requests=st.lists(request, max_size=12))
def test_every_pace_and_the_limiter_hold_and_every_request_gets_its_turn(
    rate: float | dict[str, float] | None,
    concurrency: int,
    requests: list[tuple[str, float, float, float | None, float | None]],
) -> None:
    starts: dict[str, list[float]] = {}  # per pace
    everyone: list[float] = []
    pauses: list[tuple[float, float]] = []
    in_flight = 0
    most = 0
    finished = 0
    expected = 0

    async def one(
        gate: Throttle,
        action: str,
        delay: float,
        hold: float,
        cancel: float | None,
        pause: float | None,
    ) -> None:
        nonlocal in_flight, most, finished
        await trio.sleep(delay)
        with trio.move_on_after(math.inf if cancel is None else cancel) as scope:
            await gate.enter(action)
        if scope.cancelled_caught:
            return  # cancelled while waiting: it took no turn and holds nothing
        now = trio.current_time()
        everyone.append(now)
        for name, _ in limits(rate, action):
            starts.setdefault(name, []).append(now)
        in_flight += 1
        most = max(most, in_flight)
        if pause is not None:
            gate.pause(pause)
            pauses.append((now, now + pause))
        await trio.sleep(hold)
        in_flight -= 1
        gate.leave()
        finished += 1

    async def main() -> None:
        gate = Throttle(rate, concurrency)
        with trio.fail_after(100_000):  # virtual seconds: only a deadlock gets here
            async with trio.open_nursery() as nursery:
                for action, delay, hold, cancel, pause in requests:
                    nursery.start_soon(one, gate, action, delay, hold, cancel, pause)
        assert gate.in_flight == 0

    for _, _, _, cancel, _ in requests:
        expected += cancel is None
    trio.run(main, clock=MockClock(autojump_threshold=0))

    assert most <= concurrency
    assert finished >= expected  # every caller not cancelled got its turn
    intervals = {name: interval for action in ACTIONS for name, interval in limits(rate, action)}
    for name, times in starts.items():
        times.sort()
        for before, after in itertools.pairwise(times):
            assert after - before >= intervals[name] * (1 - 1e-9), (name, times)
    for begin, end in pauses:
        # No request starts strictly inside a pause set before it.
        assert not any(begin < t < end - 1e-9 for t in everyone), (begin, end, everyone)
