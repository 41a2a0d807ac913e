"""Many fake panels over HTTP and ``smmpanel track worker`` processes, for tests and benchmarks.

The fakes run in the calling process (one local server each) and note when every
request arrives, so a test counts each panel's rate at the panel itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from smmpanel.testing import FakePanel

ROOT = Path(__file__).resolve().parent.parent


class TimedFake(FakePanel):
    """A ``FakePanel`` that notes the arrival time (``time.time()``) of every request."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: list[float] = []
        self._arrivals_lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            with self._arrivals_lock:
                self.arrivals.append(time.time())
        await super().__call__(scope, receive, send)


@attrs.define
class Fleet:
    """The fakes by panel name, each one's order IDs, and the config file naming them."""

    fakes: dict[str, TimedFake]
    ids: dict[str, list[int]]
    config: Path
    rate: float

    def advance(self, seconds: float) -> None:
        for fake in self.fakes.values():
            fake.advance(seconds)


@contextlib.contextmanager
def fleet(
    directory: Path,
    panels: int,
    orders: int,
    *,
    rate: float,
    concurrency: int = 2,
    latency: float = 0.0,
    quantity: tuple[int, int] = (1000, 2000),
    auto: bool = False,
) -> Iterator[Fleet]:
    """``panels`` served fakes with ``orders`` orders each; the config gives ``rate_limit``.

    ``auto=True`` tracks IDs the fake answers with never-changing synthetic statuses
    (orders that never end), instead of placing real orders.
    """
    fakes: dict[str, TimedFake] = {}
    ids: dict[str, list[int]] = {}
    lines = []
    with contextlib.ExitStack() as stack:
        for n in range(panels):
            name = f"p{n:02d}"
            fake = TimedFake(
                realtime=True, latency=latency, balance="1000000", auto_orders=auto, seed=n
            )
            if auto:
                ids[name] = list(range(1_000_001, 1_000_001 + orders))
            else:
                low, high = quantity
                ids[name] = [
                    fake.place(1, low + (i * 37) % (high - low + 1)) for i in range(orders)
                ]
            url = stack.enter_context(fake.serve())
            fakes[name] = fake
            lines += [
                f"[panels.{name}]",
                f'url = "{url}"',
                f'key = "{fake.key}"',
                f"rate_limit = {rate}",
                f"concurrency = {concurrency}",
                "retries = 1",
                "",
            ]
        config = directory / "panels.toml"
        config.write_text("\n".join(lines))
        yield Fleet(fakes, ids, config, rate)


def track_all(store_url: str, fleet: Fleet) -> None:
    """Track every fake order in the store (due at once)."""
    from smmpanel.tracker import Store

    store = Store(store_url)
    try:
        for name, order_ids in fleet.ids.items():
            store.track(name, order_ids, None, time.time())
    finally:
        store.close()


def start_worker(
    store_url: str,
    config: Path,
    log: Path,
    *,
    cadence: str = "1,2",
    concurrency: int = 16,
    slice_: float = 30.0,
) -> subprocess.Popen[bytes]:
    """A ``smmpanel track worker`` process, its output in ``log``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smmpanel._cli_workers",
                "worker",
                "--store",
                store_url,
                "--config",
                str(config),
                "--cadence",
                cadence,
                "--concurrency",
                str(concurrency),
                "--slice",
                str(slice_),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
        )


def stop_worker(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    """SIGTERM, then wait for the batches in hand to finish; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def holders(store_url: str) -> dict[int, set[str]]:
    """Running workers' pids and the panels each holds, from the workers' health rows."""
    import msgspec
    import sqlalchemy as sa

    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT pid, panels FROM smmpanel_workers WHERE stopped_at IS NULL")
            ).all()
    finally:
        engine.dispose()
    return {pid: set(msgspec.json.decode(panels)) for pid, panels in rows}


def pace_rows(store_url: str) -> dict[str, tuple[str | None, float | None]]:
    """Each panel's current job holder (``None`` between jobs) and its last beat."""
    import sqlalchemy as sa

    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT panel, holder, beat_at FROM smmpanel_pace")).all()
    finally:
        engine.dispose()
    return {panel: (holder, beat) for panel, holder, beat in rows}


def worst_window(times: list[float], window: float) -> int:
    """The most arrivals in any window of ``window`` seconds."""
    times = sorted(times)
    worst = 0
    start = 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        worst = max(worst, end - start + 1)
    return worst
