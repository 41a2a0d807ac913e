"""``smmpanel track``: add, run, status, events over a fake panel served on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("click")
pytest.importorskip("uvicorn")

from smmpanel._cli.track import run_track
from smmpanel.testing import FakePanel

KEY = "cli-sekrit-key-77"


@pytest.fixture
def served() -> Iterator[tuple[FakePanel, str]]:
    fake = FakePanel(key=KEY)
    with fake.serve() as url:
        yield fake, url


@pytest.fixture
def config(tmp_path: Path, served: tuple[FakePanel, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    _, url = served
    path = tmp_path / "panels.toml"
    path.write_text(
        f'[panels.main]\nurl = "{url}"\nkey_env = "TRACK_TEST_KEY"\nrate_limit = 50\n'
        f'[panels.spare]\nurl = "{url}"\nkey = "{KEY}"\n'
    )
    monkeypatch.setenv("TRACK_TEST_KEY", KEY)
    return path


def _run(*args: str) -> int:
    return run_track(list(args))


class _Clock:
    """Moves a fake's clock on from a thread while a command runs in this one."""

    def __init__(self, fake: FakePanel) -> None:
        self.fake = fake
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(0.01):
            self.fake.advance(2)

    def __enter__(self) -> _Clock:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def test_add_run_status_events(
    served: tuple[FakePanel, str],
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, _ = served
    ids = [fake.place(1, 100) for _ in range(30)]
    store = f"sqlite:///{tmp_path / 't.db'}"
    common = ["--config", str(config), "--store", store]
    assert _run("add", "--panel", "main", *common, "--format", "json", *map(str, ids[:20])) == 0
    assert json.loads(capsys.readouterr().out) == {"panel": "main", "given": 20, "new": 20}
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(" ".join(map(str, ids)).encode()))
    )
    assert _run("add", "--panel", "main", "--ref", "inv-1", *common, "--format", "json", "-") == 0
    assert json.loads(capsys.readouterr().out) == {"panel": "main", "given": 30, "new": 10}

    with _Clock(fake):
        assert _run("run", "--until-idle", "--cadence", "0.02,0.1", *common) == 0
    err = capsys.readouterr().err
    assert "final 30/30" in err
    assert KEY not in err

    assert _run("status", *common, "--format", "json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    main = next(row for row in rows if row["panel"] == "main")
    assert sum(main["counts"].values()) == 30
    assert set(main["counts"]) <= {"completed", "partial"}
    assert main["budget"] == 50 * 60
    assert {"lag", "budget_used", "due"} <= set(main)

    assert _run("events", *common, "--format", "json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    first = events[0]
    assert set(first) == {"id", "panel", "order", "ref", "at", "previous", "current"}
    assert first["previous"] is None
    assert set(first["current"]) == {
        "order", "status", "charge", "start_count", "remains", "currency",
    }  # fmt: skip
    assert isinstance(first["current"]["charge"], str)
    last = events[-6]["id"]
    assert _run("events", *common, "--after", str(last), "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,panel,order")
    assert len(lines) == 1 + 5

    assert _run("status", *common) == 0
    table = capsys.readouterr().out
    assert "main" in table
    assert KEY not in table


def test_single_panel_from_url_and_key(
    served: tuple[FakePanel, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = served
    ids = [fake.place(1, 100) for _ in range(3)]
    store = f"sqlite:///{tmp_path / 's.db'}"
    args = ["--url", url, "--key", KEY, "--store", store]
    assert _run("add", "--panel", "main", *args, *map(str, ids)) == 0
    assert "main" in capsys.readouterr().out
    assert _run("status", *args, "--panel", "main", "--format", "json") == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["new"] == 3


def test_bad_usage_and_unusable_things(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'b.db'}"
    common = ["--config", str(config), "--store", store]
    assert _run("add", "--panel", "main", *common, "12", "x7") == 2
    assert "positive integer" in capsys.readouterr().err
    assert _run("add", "--panel", "nope", *common, "12") == 1
    assert "no panel named 'nope'" in capsys.readouterr().err
    assert _run("status", "--config", str(config), "--store", "mysql://u:pw@h/d") == 1
    assert "pw" not in capsys.readouterr().err
    assert _run("run", *common, "--cadence", "9") == 2
    assert _run("status", "--store", store) == 2
    assert "no panels" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[panels.x]\nurl = "https://panel.example/api/v2"\nkey_env = "NOT_SET_ANYWHERE"\n'
    )
    assert _run("status", "--config", str(bad), "--store", store) == 2
    assert "panel 'x'" in capsys.readouterr().err
    assert _run("status", *common) == 0  # nothing went into the store


def test_sigterm_finishes_the_batch_in_hand(tmp_path: Path) -> None:
    fake = FakePanel(key=KEY, latency=0.05, auto_orders=True)
    store = f"sqlite:///{tmp_path / 'sig.db'}"
    with fake.serve() as url:
        args = ["--url", url, "--key", KEY, "--store", store]
        assert _run("add", "--panel", "main", *args, *map(str, range(1, 4001))) == 0
        code = (
            "import sys; from smmpanel._cli.track import run_track;"
            " sys.exit(run_track(sys.argv[1:]))"
        )
        env = os.environ | {"PYTHONPATH": str(Path(__file__).parent.parent)}
        with subprocess.Popen(
            [sys.executable, "-c", code, "run", "--cadence", "60,120", *args],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            deadline = time.monotonic() + 30
            while not fake.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopping after the batch in hand" in err
        answered = sum(len(r.ids) for r in fake.requests if r.answered)
    from smmpanel.tracker import Store

    store_ = Store(store)
    try:
        report = store_.report(time.time())["main"]
        assert sum(report.counts.values()) + report.not_found == answered
        assert store_.last_event() == len(store_.events(0, 10_000))
    finally:
        store_.close()
