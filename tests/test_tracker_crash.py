"""Crash test: a tracker over 20,000 orders on 3 panels, killed with ``kill -9`` again and again.

The panels run in their own process (``_crash_panel.py``) and keep, per order, the distinct
statuses they served; an order moves on only once the store holds its current status.
Trackers forked by ``_crash_tracker.py`` are killed at random moments at least ``KILLS``
times and restarted; in the end every order must be final and its events must be exactly
what its panel served, in order: none missing, none twice.

The moments are drawn over the run's progress (the store's event count), not over the clock:
a kill happens once the events pass a random mark, a random few milliseconds later, so the
test kills ``KILLS`` times on a fast machine as on a slow one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from _crash_panel import stages

pytest.importorskip("sqlalchemy")
pytest.importorskip("uvicorn")

from smmpanel.tracker import Store

HERE = Path(__file__).parent
TOTAL = 20_000
KILLS = 10


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    root = str(HERE.parent)
    path = os.environ.get("PYTHONPATH")
    return os.environ | {"PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


class Lines:
    """The zygote's output lines, read in a thread; ``expect`` takes them by first word."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        self._aside: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.strip())

    def expect(self, word: str, timeout: float = 60.0) -> str:
        """The next line starting with ``word`` (``queue.Empty`` after ``timeout`` s)."""
        for line in self._aside:
            if line.startswith(word):
                self._aside.remove(line)
                return line
        end = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.0, end - time.monotonic()))
            if line.startswith(word):
                return line
            self._aside.append(line)

    def exit_code(self, timeout: float) -> int | None:
        """The tracker's exit code if it ends within ``timeout`` s, else None."""
        try:
            return int(self.expect("exit", timeout=timeout).split()[2])
        except queue.Empty:
            return None


def _marks(rng: random.Random) -> list[int]:
    """``KILLS`` event counts, spread over the run, at which the trackers are killed."""
    total = sum(len(stages(order)) for order in range(1, TOTAL + 1))
    return sorted(rng.randrange(total // 50, total * 9 // 10) for _ in range(KILLS))


@contextlib.contextmanager
def _events_in(store_url: str) -> Iterator[Callable[[], int]]:
    """A reader of the store's event count (its own engine, disposed after)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(store_url, poolclass=sqlalchemy.pool.NullPool)
    query = sqlalchemy.text("SELECT count(*) FROM smmpanel_events")

    def count() -> int:
        try:
            with engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except sqlalchemy.exc.DBAPIError:  # no schema yet, or the file is locked: not yet
            return 0

    try:
        yield count
    finally:
        engine.dispose()


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the scripted panel did not start")


@pytest.mark.slow
def test_kill_9_loses_no_change_and_writes_none_twice(store_url: str) -> None:
    port = _free_port()
    panel = subprocess.Popen(
        [sys.executable, str(HERE / "_crash_panel.py"), str(port), store_url], env=_env()
    )
    rng = random.Random(1234)
    marks = _marks(rng)
    kills = 0
    try:
        _wait_for(port)
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, str(HERE / "_crash_tracker.py"), store_url, base, str(TOTAL)]
        deadline = time.monotonic() + 240
        with (
            _events_in(store_url) as events_now,
            subprocess.Popen(
                command, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            ) as zygote,
        ):
            assert zygote.stdout is not None
            assert zygote.stdin is not None
            lines = Lines(zygote.stdout)
            code = None
            while code is None and time.monotonic() < deadline:
                zygote.stdin.write("go\n")
                zygote.stdin.flush()
                pid = int(lines.expect("pid").split()[1])
                lines.expect("ready")  # its orders are tracked
                if kills < KILLS:
                    # The next mark (or the tracker's own end), then a random moment after it.
                    while (
                        code is None and events_now() < marks[kills] and time.monotonic() < deadline
                    ):
                        code = lines.exit_code(timeout=0.005)
                    if code is None:
                        code = lines.exit_code(timeout=rng.uniform(0, 0.05))
                    if code is None:
                        os.kill(pid, signal.SIGKILL)
                        assert lines.expect("exit").split()[2] == str(-signal.SIGKILL)
                        kills += 1
                else:
                    code = lines.exit_code(timeout=max(0.0, deadline - time.monotonic()))
            if code is None:  # out of time: stop the tracker, or the zygote waits for it
                os.kill(pid, signal.SIGKILL)
            zygote.stdin.close()
        assert code is not None, "the trackers did not finish all orders within 240 s"
        assert code == 0, "the tracker failed on its own"
        served = {
            name: httpx.post(
                f"{base}/{name}/api/v2", data={"key": "crash-key", "action": "served"}
            ).json()
            for name in ("p0", "p1", "p2")
        }
    finally:
        panel.send_signal(signal.SIGTERM)
        panel.wait(timeout=10)
    assert kills >= KILLS

    store = Store(store_url)
    try:
        events = store.events(0, 10 * TOTAL)
        report = store.report(time.time())
    finally:
        store.close()
    assert [event.id for event in events] == list(range(1, len(events) + 1))
    seen: dict[tuple[str, int], list[list[object]]] = {}
    for event in events:
        seen.setdefault((event.panel, event.order), []).append(
            [event.current.raw_status, event.current.remains]
        )
        assert event.current != event.previous
    assert len(seen) == TOTAL
    for name, logs in served.items():
        for order, log in logs.items():
            assert seen[(name, int(order))] == log, f"{name} order {order}"
    assert sum(sum(r.counts.values()) for r in report.values()) == TOTAL
    assert all(status.final for r in report.values() for status in r.counts)
