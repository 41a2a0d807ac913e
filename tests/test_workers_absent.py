"""The embedded tracker needs no Procrastinate (issue 13): with it impossible to import,
``smmpanel track add|run|status`` work on a SQLite store, and ``track worker`` names the
extra to install. Each command runs in a fresh process where ``import procrastinate``
fails, as when the ``workers`` extra is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the tracker needs the track extra")
pytest.importorskip("uvicorn", reason="the fake panel is served with the cli extra")

from smmpanel.testing import FakePanel

ROOT = Path(__file__).resolve().parent.parent
KEY = "absent-sekrit-key-31"
# Importing a name whose sys.modules entry is None raises ImportError (ModuleNotFoundError).
WITHOUT = (
    "import sys; sys.modules['procrastinate'] = None; "
    "from smmpanel._cli import main; main(sys.argv[1:])"
)


def _smmpanel(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def served() -> Iterator[tuple[FakePanel, str]]:
    fake = FakePanel(key=KEY)
    with fake.serve() as url:
        yield fake, url


def test_the_embedded_tracker_runs_without_procrastinate(
    served: tuple[FakePanel, str], tmp_path: Path
) -> None:
    fake, url = served
    ids = [fake.place(1, 100) for _ in range(5)]
    config = tmp_path / "panels.toml"
    config.write_text(f'[panels.main]\nurl = "{url}"\nkey = "{KEY}"\n')
    common = ["--config", str(config), "--store", f"sqlite:///{tmp_path / 't.db'}"]

    added = _smmpanel("track", "add", "--panel", "main", *common, *map(str, ids))
    assert added.returncode == 0, added.stderr
    done = threading.Event()

    def clock() -> None:  # every order completes while track run polls
        while not done.wait(0.01):
            fake.advance(2)

    mover = threading.Thread(target=clock, daemon=True)
    mover.start()
    try:
        ran = _smmpanel("track", "run", "--until-idle", "--cadence", "0.02,0.1", *common)
    finally:
        done.set()
        mover.join()
    assert ran.returncode == 0, ran.stderr
    status = _smmpanel("track", "status", *common, "--format", "json")
    assert status.returncode == 0, status.stderr
    (row,) = [json.loads(line) for line in status.stdout.splitlines()]
    assert row["panel"] == "main"
    assert row["counts"] == {"completed": len(ids)}, row
    assert "rocrastinate" not in ran.stderr + status.stderr


def test_track_worker_names_the_extra_it_needs(tmp_path: Path) -> None:
    config = tmp_path / "panels.toml"
    config.write_text(f'[panels.main]\nurl = "https://x.example/api/v2"\nkey = "{KEY}"\n')
    store = "postgresql+psycopg://u@127.0.0.1:1/db"
    worker = _smmpanel("track", "worker", "--config", str(config), "--store", store)
    assert worker.returncode == 1
    assert "pip install 'smmpanel[workers]'" in worker.stderr
    assert "Traceback" not in worker.stderr
    assert KEY not in worker.stderr
