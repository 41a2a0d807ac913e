"""Issue 9, items 16, 17 and 19: the command line, ``smmpanel fake-panel`` and the pytest plugin."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import pytest

pytest.importorskip("click", reason="the command line needs the cli extra")
pytest.importorskip("uvicorn", reason="fake-panel needs the cli extra")

from smmpanel.testing import FakePanel


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakePanel, dict[str, str]]]:
    fake = FakePanel(dialect="v2", balance=Decimal(100_000))
    with fake.serve() as url:
        yield fake, {"SMMPANEL_URL": url, "SMMPANEL_KEY": fake.key}


def smm(
    *args: str, env: dict[str, str] | None = None, input: str | bytes | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "smmpanel", *args],
        input=input,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def one_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


# ---------------------------------------------------------------- 16. the command line


def test_16_each_distinct_id_is_printed_once(served: tuple[FakePanel, dict[str, str]]) -> None:
    fake, env = served
    orders = [fake.place(1, 100) for _ in range(3)]
    ids = [str(o) for o in orders]
    many = [*ids, *(str(i) for i in range(10**6, 10**6 + 300)), ids[0], ids[1]]
    result = smm("status", "--format", "json", *many, env=env)
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line)["order"] for line in result.stdout.splitlines()]
    assert len(printed) == len(set(printed)) == 303


def test_16_comma_lists_as_arguments(served: tuple[FakePanel, dict[str, str]]) -> None:
    fake, env = served
    a, b, c = (fake.place(1, 100) for _ in range(3))
    result = smm("status", "--format", "json", f"{a},{b}", f"{c}", env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["order"] for line in result.stdout.splitlines()] == [a, b, c]


def test_16_a_negative_id_is_a_bad_id_not_an_option(
    served: tuple[FakePanel, dict[str, str]],
) -> None:
    _, env = served
    result = smm("status", "-1", env=env)
    one_error(result, 2, "'-1'")
    assert "No such option" not in result.stderr


def test_16_binary_junk_is_not_echoed(
    served: tuple[FakePanel, dict[str, str]], tmp_path: Path
) -> None:
    _, env = served
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"12\n\x00\x1b[31m\xff\xfe\x07evil" + bytes(range(32)) + b"\n")
    result = smm("status", "--file", str(junk), env=env)
    one_error(result, 2)
    assert "\x1b" not in result.stderr
    assert "\x00" not in result.stderr
    assert "\x07" not in result.stderr
    assert len(result.stderr) < 300


def test_16_an_empty_file_is_bad_usage(
    served: tuple[FakePanel, dict[str, str]], tmp_path: Path
) -> None:
    _, env = served
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    one_error(smm("status", "--file", str(empty), env=env), 2, "no IDs")


def test_16_a_timeout_reads_like_a_sentence() -> None:
    fake = FakePanel(latency=5.0)
    with fake.serve() as url:
        env = {"SMMPANEL_URL": url, "SMMPANEL_KEY": fake.key}
        result = smm("balance", "--timeout", "0.3", "--retries", "0", env=env)
    one_error(result, 1, "timed out")
    assert "ReadTimeout: ReadTimeout" not in result.stderr
    assert "(ReadTimeout): ReadTimeout" not in result.stderr


def test_16_ctrl_c_during_add_warns_the_order_may_exist() -> None:
    fake = FakePanel(latency=10.0)
    with fake.serve() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
        env.update(SMMPANEL_URL=url, SMMPANEL_KEY=fake.key)
        process = subprocess.Popen(
            [sys.executable, "-m", "smmpanel", "add", "--service", "1",
             "--link", "https://x.example/p/1", "--quantity", "100"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not fake.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=20)
        finally:
            process.kill()
    assert process.returncode != 0
    assert "may exist" in err
    assert "Traceback" not in err
    assert fake.key not in err


def test_13_watch_exits_1_when_the_panel_stays_down() -> None:
    fake = FakePanel()
    order = fake.place(1, 1000)
    with fake.serve() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
        env.update(SMMPANEL_URL=url, SMMPANEL_KEY=fake.key)
        process = subprocess.Popen(
            [sys.executable, "-m", "smmpanel", "watch", "--every", "0.05", "--retries", "0",
             "--format", "json", str(order)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert process.stdout is not None
        try:
            first = json.loads(process.stdout.readline())
            fake.inject("html502")
            out, err = process.communicate(timeout=30)
        finally:
            process.kill()
            process.communicate()
    assert first["status"] == "pending"
    assert out == ""
    assert process.returncode == 1, err
    assert err.count("\n") == 1
    assert err.startswith("error: ")


# ---------------------------------------------------------------- 17. fake-panel


@contextlib.contextmanager
def fake_panel(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "smmpanel", "fake-panel", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        url = process.stdout.readline().split()[-1]
        key = process.stdout.readline().split()[-1]
        yield process, url, key
    finally:
        process.kill()
        process.communicate()  # closes the pipes


def test_17_fake_panel_takes_key_balance_latency_and_auto_orders() -> None:
    with fake_panel("--key", "my-test-key", "--balance", "12.5", "--auto-orders",
                    "--latency", "0.2") as (_process, url, key):  # fmt: skip
        assert key == "my-test-key"
        started = time.monotonic()
        balance = httpx.post(url, data={"key": key, "action": "balance"}, timeout=10).json()
        assert time.monotonic() - started >= 0.2
        assert Decimal(str(balance["balance"])) == Decimal("12.5")
        status = httpx.post(
            url, data={"key": key, "action": "status", "order": "987654"}, timeout=10
        ).json()
        assert "status" in status
        assert "error" not in status


def test_17_fake_panel_answers_404_off_its_api_path() -> None:
    with fake_panel() as (_process, url, key):
        base = url.rsplit("/api/", 1)[0]
        answer = httpx.post(base + "/api/v3", data={"key": key, "action": "balance"}, timeout=10)
        assert answer.status_code == 404
        answer = httpx.post(url, data={"key": key, "action": "balance"}, timeout=10)
        assert answer.status_code == 200


def test_17_fake_panel_stops_quickly() -> None:
    with fake_panel() as (process, url, key):
        httpx.post(url, data={"key": key, "action": "balance"}, timeout=10)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
        assert time.monotonic() - started < 1.0
        assert process.returncode == 0


def test_17_a_fake_panel_keeps_a_bounded_record() -> None:
    fake = FakePanel(auto_orders=True, max_records=100)

    async def poll() -> None:
        async with fake.panel() as panel:
            for order in range(1, 301):
                await panel.status(order)

    anyio.run(poll)
    assert len(fake.requests) == 100
    assert fake.requests[-1].ids == (300,) or "300" in str(fake.requests[-1])


def test_17_the_in_memory_fake_answers_404_off_its_path() -> None:
    fake = FakePanel()

    async def post(url: str) -> int:
        async with httpx.AsyncClient(transport=fake.transport()) as client:
            answer = await client.post(url, data={"key": fake.key, "action": "balance"})
        return answer.status_code

    assert anyio.run(post, fake.url) == 200
    assert anyio.run(post, fake.url.replace("/api/v2", "/api/v3")) == 404
    assert len(fake.requests) == 1  # the panel never saw the mistyped one


# ---------------------------------------------------------------- 19. the pytest plugin


def test_19_the_pytest_plugin_gives_a_fake_panel_and_a_panel(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import smmpanel
        from smmpanel.testing import FakePanel

        @pytest.mark.anyio
        async def test_it(fake_panel, panel):
            assert isinstance(fake_panel, FakePanel)
            assert isinstance(panel, smmpanel.Panel)
            order = await panel.add(service=1, link="https://x.example/p/1", quantity=100)
            assert order in fake_panel.orders
        """
    )
    # The module by name, so the test needs no reinstall; "no:smmpanel" keeps an installed
    # entry point from registering the same module a second time.
    plugin = ("-p", "no:smmpanel", "-p", "smmpanel.testing._plugin")
    result = pytester.runpytest_subprocess("-p", "anyio", *plugin)
    result.assert_outcomes(passed=2)  # asyncio and trio (the test file's anyio_backend)


def test_19_pyproject_declares_the_plugin_entry_point() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    points = pyproject["project"]["entry-points"]["pytest11"]
    assert points == {"smmpanel": "smmpanel.testing._plugin"}


def test_19_the_plugin_needs_no_cli_extra() -> None:
    # click, rich and uvicorn made unimportable, as without the cli extra (httpx itself
    # imports click when it is there, so "not in sys.modules" would test httpx).
    code = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("click", "rich", "uvicorn"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Missing())
import smmpanel.testing._plugin as plugin
print(sorted(name for name in ("fake_panel", "panel") if hasattr(plugin, name)))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "['fake_panel', 'panel']"


# ---------------------------------------------------------------- 18. README and CI


def test_18_ci_runs_the_readme_commands_verbatim() -> None:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Try it", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    commands = block.strip().splitlines()
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert len(commands) == 2
    assert all(command in ci for command in commands)
    assert not any("python3 -m pip" in command for command in commands)
