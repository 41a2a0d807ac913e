"""Many fake panels over HTTP and ``smmpanel track worker`` processes, for tests and benchmarks.

The fakes run in the calling process (one local server each) and note when every
request arrives, so a test counts each panel's rate at the panel itself. Each worker
writes its log to a file; ``showing_logs`` prints their tails when a check fails, since a
worker that runs but does nothing says so only there.
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

from smmpanel.testing import FakePanel, Reply

ROOT = Path(__file__).resolve().parent.parent


class TimedFake(FakePanel):
    """A ``FakePanel`` that notes the arrival time (``time.time()``) of each status request.

    It wraps ``reply``, the public endpoint both the in-memory transport and the served
    app hand every request to (a private method would be renamed under it unnoticed).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.arrivals: list[float] = []
        self._arrivals_lock = threading.Lock()

    async def reply(self, method: str, body: bytes, **options: Any) -> Reply:
        if b"action=status" in body:
            with self._arrivals_lock:
                self.arrivals.append(time.time())
        return await super().reply(method, body, **options)


@attrs.define
class Fleet:
    """The fakes by panel name, each one's order IDs, and the config file naming them."""

    fakes: dict[str, TimedFake]
    ids: dict[str, list[int]]
    config: Path
    rate: float
    urls: dict[str, str] = attrs.field(factory=dict)

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
    urls: dict[str, str] = {}
    lines = []
    servers: list[contextlib.AbstractContextManager[str]] = []
    try:
        for n in range(panels):
            name = f"p{n:02d}"
            fake = TimedFake(
                realtime=True, latency=latency, balance="1000000", auto_orders=auto, seed=n
            )
            if auto:
                # Those the fake answers Pending or In progress, forever (id % 5 < 2).
                ids[name] = [1_000_000 + 5 * (i // 2) + i % 2 for i in range(orders)]
            else:
                low, high = quantity
                ids[name] = [
                    fake.place(1, low + (i * 37) % (high - low + 1)) for i in range(orders)
                ]
            server = fake.serve()
            url = server.__enter__()
            servers.append(server)
            fakes[name] = fake
            urls[name] = url
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
        yield Fleet(fakes, ids, config, rate, urls)
    finally:  # stop the servers all at once: one by one takes seconds
        stops = [
            threading.Thread(target=server.__exit__, args=(None, None, None)) for server in servers
        ]
        for thread in stops:
            thread.start()
        for thread in stops:
            thread.join()


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
    """A ``smmpanel track worker`` process, its output (stdout and stderr) in ``log``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smmpanel",  # the real entry: the lazy ``track`` command, then ``worker``
                "track",
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


def logs(directory: Path, pattern: str = "*.log", lines: int = 40) -> str:
    """The last ``lines`` lines of each worker log in ``directory``, each under its name."""
    parts = []
    for path in sorted(directory.glob(pattern)):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        parts.append("\n".join([f"---- {path.name} (last {len(tail)} lines)", *tail]))
    return "\n".join(parts) or f"(no worker logs in {directory})"


@contextlib.contextmanager
def showing_logs(directory: Path, pattern: str = "*.log") -> Iterator[None]:
    """On any failure inside, print the workers' log tails to stderr (kept in the report)."""
    try:
        yield
    except BaseException:
        sys.stderr.write(f"\nworker logs:\n{logs(directory, pattern)}\n")
        raise


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout: float = 60.0) -> list[int]:
    """SIGTERM to all, then wait for their batches in hand to finish; the exit statuses."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(timeout))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    return codes


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
    except sa.exc.ProgrammingError:  # no worker has made the table yet
        return {}
    finally:
        engine.dispose()
    return {pid: set(msgspec.json.decode(panels)) for pid, panels in rows}


def final_statuses(store_url: str) -> dict[tuple[str, int], str | None]:
    """Each tracked order's status word, or ``None`` while it is due again (not final)."""
    import sqlalchemy as sa

    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT panel, order_id, status, next_poll_at FROM smmpanel_orders")
            ).all()
    finally:
        engine.dispose()
    return {(p, o): None if due is not None else word for p, o, word, due in rows}


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
