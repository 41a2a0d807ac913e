"""``smmpanel track``: add, run, status, events over a fake panel served on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import anyio
import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("click")
pytest.importorskip("uvicorn")

from smmpanel import Status
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


# ---------------------------------------------------------------------------- the live line

_LIVE = re.compile(
    r"(\d+) due, (\d+) polled/min, (\d+) requests/min, final (\d+)/(\d+), "
    r"oldest overdue (\d+)s \| budget: main (\d+)%, spare no limit"
)


class _Terminal(io.StringIO):
    """A terminal as far as the renderer can tell: ``isatty()`` is true, 60 columns."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no real terminal")


class _Clock30:
    """The renderer's clock: still while the orders are polled, then 30 s on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(30):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)


async def _live_lines(stream: io.StringIO, tmp_path: Path) -> tuple[str, int]:
    """Track and poll 12 orders on ``main`` while ``_live`` writes to ``stream``; returns
    what it wrote 30 s (on its clock) after it started, once the polls were written, and
    how many orders were polled."""
    from smmpanel._cli.track import _live
    from smmpanel.tracker import Tracker

    fake = FakePanel()
    ids = [fake.place(1, 100) for _ in range(12)]
    clock = _Clock30()
    async with (
        fake.panel(rate_limit=0.1) as main,  # 6 requests a minute
        fake.panel() as spare,
        Tracker(
            {"main": main, "spare": spare},
            store=f"sqlite:///{tmp_path / 'live.db'}",
            cadence=(600, 1200),  # each order is polled once in this test
        ) as tracker,
    ):
        await tracker.track("main", ids)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_live, tracker, 0.01, stream, clock, 0.01)
            tg.start_soon(tracker.run)
            await _until(lambda: tracker.polled >= len(ids))
            clock.now = 30.0
            before = len(stream.getvalue())
            mark = "\r" if stream.isatty() else "track:"
            await _until(lambda: stream.getvalue()[before:].count(mark) >= 3)
            tracker.stop()
            tg.cancel_scope.cancel()
        # The first line after the clock moved may have been drawn before it did.
        later = stream.getvalue()[before:]
        return later[later.index(mark, 1) :], tracker.polled


@pytest.mark.anyio
async def test_the_live_line_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, ``track run`` redraws one line: due, polled a minute, requests a
    minute, final orders, oldest overdue and the budget used per panel."""
    terminal = _Terminal()
    text, polled = await _live_lines(terminal, tmp_path)
    assert "\n" not in text  # one line, redrawn in place
    redraws = text.split("\r\x1b[K")
    assert redraws[0] == ""
    first = _LIVE.fullmatch(redraws[1])
    assert first is not None, redraws[1]
    due, per_minute, requests, final, total, lag, budget = map(int, first.groups())
    assert (due, final, total, lag) == (0, 0, 12, 0)  # all polled, none final yet
    # 12 polls in the renderer's first 30 s: 24 a minute.
    assert per_minute == polled * 2 == 24
    assert requests == 1  # 12 IDs are one status request
    assert budget == 17  # 1 of the 6 requests a minute its rate_limit allows
    assert _LIVE.fullmatch(redraws[2]) is not None


@pytest.mark.anyio
async def test_the_summary_line_when_not_on_a_terminal(tmp_path: Path) -> None:
    """Elsewhere (a log, a pipe) it writes a plain ``track: ...`` line every ``--every`` s."""
    log = io.StringIO()
    text, polled = await _live_lines(log, tmp_path)
    assert "\r" not in text
    assert "\x1b" not in text
    lines = text.splitlines()
    assert len(lines) >= 2
    for line in lines:
        assert line.startswith("track: ")
        found = _LIVE.fullmatch(line.removeprefix("track: "))
        assert found is not None, line
        assert int(found.group(5)) == 12
    first = _LIVE.fullmatch(lines[0].removeprefix("track: "))
    assert first is not None
    assert int(first.group(2)) == polled * 2


class _Reports:
    """Stands in for a ``Tracker`` for the renderer: 40 panels' reports."""

    polled = 0

    async def report(self) -> dict[str, Any]:
        from smmpanel.tracker import PanelReport

        reports = {
            f"panel-{n}": PanelReport(
                f"panel-{n}", {}, due=n, lag=float(n), budget=60.0, used=6.0, new=n
            )
            for n in range(40)
        }
        reports["panel-0"] = PanelReport("panel-0", {}, paused="AuthenticationError: key")
        reports["panel-1"] = PanelReport("panel-1", {Status.COMPLETED: 3}, due=1, lag=1.0)
        return reports


@pytest.mark.anyio
async def test_the_live_line_sums_the_panels_and_fits_the_terminal() -> None:
    """Due orders are summed, the oldest overdue is the worst panel's, each panel shows its
    budget use (or paused, no limit); a long line is cut to the terminal's width."""
    from smmpanel._cli.track import _live

    terminal = _Terminal()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_live, cast(Any, _Reports()), 60.0, terminal, _Clock30(), 0.01)
        await _until(lambda: terminal.getvalue().count("\r") >= 1)
        tg.cancel_scope.cancel()
    line = terminal.getvalue().split("\r\x1b[K")[1]
    assert line.startswith(
        "780 due, 0 polled/min, 228 requests/min, final 3/782, oldest overdue 39s"
        " | budget: panel-0 paused, panel-1 no limit, pa"
    )
    assert len(line) == 119  # the width when it cannot be read (120), less one column
