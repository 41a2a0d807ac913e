"""Crash test: a tracker over 20,000 orders on 3 panels, killed with ``kill -9`` again and again.

The panels run in their own process (``_crash_panel.py``) and keep, per order, the distinct
statuses they served; an order moves on only once the store holds its current status. The tracker process (``_crash_tracker.py``) is killed at random
moments at least ``KILLS`` times and restarted; in the end every order must be final and
its events must be exactly what its panel served, in order: none missing, none twice.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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
    kills = 0
    try:
        _wait_for(port)
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, str(HERE / "_crash_tracker.py"), store_url, base, str(TOTAL)]
        deadline = time.monotonic() + 240
        finished = False
        while not finished and time.monotonic() < deadline:
            with subprocess.Popen(
                command, env=_env(), stdout=subprocess.PIPE, text=True
            ) as tracker:
                assert tracker.stdout is not None
                assert tracker.stdout.readline() == "ready\n"  # its orders are tracked
                try:
                    code = tracker.wait(timeout=rng.uniform(0.1, 0.7) if kills < KILLS else 120)
                except subprocess.TimeoutExpired:
                    tracker.send_signal(signal.SIGKILL)
                    tracker.wait()
                    kills += 1
                    continue
                assert code == 0, "the tracker failed on its own"
                finished = True
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
