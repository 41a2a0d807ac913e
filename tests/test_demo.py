"""``smmpanel demo`` runs end to end without a terminal, as CI runs it, and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("click", reason="the demo needs the cli extra")
pytest.importorskip("rich", reason="the demo needs the cli extra")


@pytest.mark.slow
def test_demo_runs_without_a_terminal() -> None:
    """The tour finishes quickly with every step shown, nothing on stderr, no traceback."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "smmpanel", "demo"],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 60
    assert result.stderr == ""
    out = result.stdout
    for step in ("Balance", "Services", "Orders of several types", "Time passes", "Refill"):
        assert step in out
    assert "3,003 IDs answered" in out  # the bulk poll, summarised for a non-terminal
    for error in (
        "InvalidRequestError",
        "NotFoundError",
        "InsufficientFundsError",
        "AuthenticationError",
    ):
        assert error in out
    assert "completed" in out
    assert "canceled" in out
    assert "Traceback" not in out
