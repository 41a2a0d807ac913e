"""The ``smmpanel`` command line, run as a subprocess against FakePanels served in this process.

Each test runs ``python -m smmpanel`` (so it works inside any venv) and checks what a user
or a script sees: stdout in each format, exactly one stderr line on errors, the exit status,
and that the key never shows. Subprocesses cost ~0.5 s each, so checks are grouped.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

pytest.importorskip("click", reason="the command line needs the cli extra")
pytest.importorskip("rich", reason="the command line needs the cli extra")
pytest.importorskip("uvicorn", reason="fake-panel needs the cli extra")

from _checks import assert_one_error

from smmpanel import Status
from smmpanel.testing import FakePanel

DIALECTS = ("v1", "v2")
STATUS_KEYS = ["order", "status", "charge", "start_count", "remains", "currency"]


@attrs.frozen
class Served:
    """A FakePanel on a local port, and the env that points the CLI at it."""

    fake: FakePanel
    url: str

    @property
    def env(self) -> dict[str, str]:
        return {"SMMPANEL_URL": self.url, "SMMPANEL_KEY": self.fake.key}

    @property
    def flags(self) -> list[str]:
        return ["--url", self.url, "--key", self.fake.key]


@pytest.fixture(scope="module")
def panels() -> Iterator[dict[str, Served]]:
    """One served FakePanel per dialect, shared by the module; its clock moves only on advance."""
    with contextlib.ExitStack() as stack:
        served = {}
        for dialect in DIALECTS:
            fake = FakePanel(dialect=dialect, balance=Decimal(100_000))  # type: ignore[arg-type]
            served[dialect] = Served(fake, stack.enter_context(fake.serve()))
        yield served


@pytest.fixture(params=DIALECTS)
def served(request: pytest.FixtureRequest, panels: dict[str, Served]) -> Served:
    """Each dialect in turn."""
    return panels[request.param]


@pytest.fixture
def v2(panels: dict[str, Served]) -> Served:
    """The v2 panel, for checks where the dialect does not matter."""
    return panels["v2"]


def smm(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m smmpanel ARGS`` with only the SMMPANEL_* variables given here."""
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


def lines(text: str) -> list[dict[str, Any]]:
    """JSON Lines, parsed."""
    return [json.loads(line) for line in text.splitlines()]


def rows(text: str) -> list[dict[str, str]]:
    """CSV with a header row, parsed."""
    return list(csv.DictReader(io.StringIO(text)))


def expected_status(fake: FakePanel, order: int) -> dict[str, Any]:
    """The JSON object the CLI should print for a known order now (charge as a Decimal)."""
    view = fake.orders[order].view()
    return {
        "order": order,
        "status": Status.parse(view.status).value,
        "charge": view.charge,
        "start_count": view.start_count,
        "remains": view.remains,
        "currency": "USD" if fake.dialect == "v2" else None,
    }


def exact(answer: dict[str, Any]) -> dict[str, Any]:
    """A JSON status object with its money (a string, as API.md wants) as a Decimal."""
    assert isinstance(answer.get("charge"), str | None)
    if answer.get("charge") is not None:
        return {**answer, "charge": Decimal(answer["charge"])}
    return answer


def place(fake: FakePanel, quantity: int = 100) -> int:
    """An order that will complete (the fake makes orders whose ID ends in 0 partial)."""
    order = fake.place(1, quantity)
    return order if order % 10 else fake.place(1, quantity)


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- balance, services


def test_balance_in_every_format(served: Served) -> None:
    """json, csv and table carry the exact balance; env vars or --url/--key both work."""
    fake = served.fake
    result = smm("balance", "--format", "json", env=served.env)
    assert result.returncode == 0, result.stderr
    [answer] = lines(result.stdout)
    assert answer == {"balance": answer["balance"], "currency": "USD"}
    assert Decimal(answer["balance"]) == fake.balance

    result = smm("balance", "--format", "csv", *served.flags)
    assert rows(result.stdout) == [{"balance": answer["balance"], "currency": "USD"}]

    result = smm("balance", env=served.env)
    assert result.returncode == 0
    assert "Balance" in result.stdout
    assert answer["balance"] in result.stdout
    assert result.stderr == ""


def test_services_json_csv_and_search(served: Served) -> None:
    """One object or row per service with the API's field names; --search filters."""
    fake = served.fake
    result = smm("services", "--format", "json", env=served.env)
    assert result.returncode == 0, result.stderr
    services = lines(result.stdout)
    assert [s["id"] for s in services] == [s.id for s in fake.services]
    first, want = services[0], fake.services[0]
    assert list(first) == [
        "id",
        "name",
        "type",
        "category",
        "rate",
        "min",
        "max",
        "refill",
        "cancel",
        "dripfeed",
        "description",
    ]
    assert (first["name"], first["type"], first["min"], first["max"]) == (
        want.name,
        want.type,
        want.min,
        want.max,
    )
    assert isinstance(first["rate"], str)
    assert Decimal(first["rate"]) == want.rate
    if fake.dialect == "v2":  # v1's catalogue has no refill/cancel flags
        assert (first["refill"], first["cancel"]) == (want.refill, want.cancel)

    result = smm("services", "--format", "csv", "--search", "COMMENTS", env=served.env)
    found = rows(result.stdout)
    assert found
    assert all("comments" in f"{r['name']} {r['type']} {r['category']}".lower() for r in found)
    assert len(found) < len(services)
    assert {r["id"] for r in found} == {
        str(s.id) for s in fake.services if "comments" in f"{s.name} {s.type} {s.category}".lower()
    }


# ---------------------------------------------------------------------------- add


def test_add_order_types(v2: Served) -> None:
    """add: default, comments with \\n, subscription with an ISO expiry; table and json."""
    fake = v2.fake
    result = smm(
        "add", "--service", "1", "--link", "https://x.example/u", "--quantity", "1000",
        "--format", "json", env=v2.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [answer] = lines(result.stdout)
    assert list(answer) == ["order"]
    assert fake.orders[answer["order"]].quantity == 1000

    comments = "\\n".join(f"comment {n}" for n in range(10))  # a literal backslash-n
    result = smm(
        "add", "--service", "3", "--link", "https://x.example/p", "--field",
        f"comments={comments}", "--format", "csv", env=v2.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [row] = rows(result.stdout)
    order = fake.orders[int(row["order"])]
    assert order.fields["comments"].splitlines() == [f"comment {n}" for n in range(10)]

    result = smm(
        "add", "--service", "11", "--field", "username=someone", "--field", "min=100",
        "--field", "max=200", "--field", "delay=30", "--field", "expiry=2099-01-05", *v2.flags,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    order_id = max(fake.orders)
    assert str(order_id) in result.stdout
    assert fake.orders[order_id].fields["expiry"] == "05/01/2099"


def test_add_refused(v2: Served) -> None:
    """A refused order exits 1 with the panel's words; a malformed --field is bad usage."""
    result = smm("add", "--service", "999", "--link", "https://x.example", "--quantity", "100",
                 env=v2.env)  # fmt: skip
    assert_one_error(result, 1, "Incorrect service ID")
    assert result.stdout == ""

    sent = len(v2.fake.requests)
    result = smm("add", "--service", "1", "--field", "runs", env=v2.env)
    assert_one_error(result, 2, "NAME=VALUE")
    result = smm("add", "--service", "1", "--field", "runs=many", env=v2.env)
    assert_one_error(result, 2, "runs")
    assert len(v2.fake.requests) == sent  # nothing was sent for bad usage


# ---------------------------------------------------------------------------- status


def test_status_in_every_format(served: Served) -> None:
    """Known orders, a repeated ID and an unknown one; JSON objects exactly as API.md shows."""
    fake = served.fake
    orders = [fake.place(1, 100 + n) for n in range(3)]
    ids = [str(n) for n in orders] + [str(orders[0]), "999999999"]

    result = smm("status", "--format", "json", *ids, env=served.env)
    assert result.returncode == 0, result.stderr
    got = {answer["order"]: answer for answer in lines(result.stdout)}
    assert len(lines(result.stdout)) == 4  # the repeat is asked for once
    for order in orders:
        assert exact(got[order]) == expected_status(fake, order)
        assert got[order]["status"] == "pending"
        assert list(got[order]) == STATUS_KEYS
    assert got[999999999] == {"order": 999999999, "error": "Incorrect order ID"}

    result = smm("status", "--format", "csv", *ids, *served.flags)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == ",".join([*STATUS_KEYS, "error"])
    table = {int(row["order"]): row for row in rows(result.stdout)}
    assert table[orders[1]]["status"] == "pending"
    assert Decimal(table[orders[1]]["charge"]) == fake.orders[orders[1]].charge
    assert table[999999999]["error"] == "Incorrect order ID"
    assert table[999999999]["status"] == ""

    result = smm("status", *ids, env=served.env)
    assert result.returncode == 0
    assert "pending" in result.stdout
    assert "Incorrect order ID" in result.stdout
    assert all(str(order) in result.stdout for order in orders)


def test_status_thousands_of_ids_on_stdin(v2: Served) -> None:
    """`status -` streams IDs from stdin: blank lines, commas and spaces are separators."""
    fake = v2.fake
    orders = [fake.place(1, 100) for _ in range(3000)]
    text = "\n".join(
        f"{a}, {b}" if n % 3 == 0 else f"  {a} {b}\n" for n, (a, b) in
        enumerate(zip(orders[::2], orders[1::2], strict=True))
    )  # fmt: skip
    requests = len(fake.requests)
    result = smm("status", "-", "--format", "json", input=text, env=v2.env)
    assert result.returncode == 0, result.stderr
    answers = lines(result.stdout)
    assert sorted(a["order"] for a in answers) == orders
    assert all(a["status"] == "pending" for a in answers)
    assert len(fake.requests) - requests == 30  # 100 IDs per request


def test_status_from_file_and_arguments(v2: Served, tmp_path: Path) -> None:
    """--file and arguments together; the table has a row per ID."""
    fake = v2.fake
    orders = [fake.place(1, 100) for _ in range(5)]
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(map(str, orders[1:])) + "\n\n")
    result = smm("status", "--format", "csv", str(orders[0]), "--file", str(path), env=v2.env)
    assert result.returncode == 0, result.stderr
    assert sorted(int(row["order"]) for row in rows(result.stdout)) == orders


def test_bad_ids_are_bad_usage(v2: Served, tmp_path: Path) -> None:
    """A non-ID anywhere exits 2 with one line; from arguments nothing is sent at all."""
    fake = v2.fake
    order = fake.place(1, 100)
    sent = len(fake.requests)
    for bad in ("abc", "0", "1.5"):
        result = smm("status", str(order), bad, env=v2.env)
        assert_one_error(result, 2, repr(bad))
        assert result.stdout == ""
    assert len(fake.requests) == sent

    text = "\n".join([str(order)] * 249 + ["12x"] + [str(order)] * 10)
    result = smm("status", "-", "--format", "json", input=text, env=v2.env)
    assert_one_error(result, 2, "stdin, line 250", "'12x'")

    result = smm("status", "--file", str(tmp_path / "missing.txt"), env=v2.env)
    assert_one_error(result, 2, "missing.txt")


def test_usage_errors(v2: Served) -> None:
    """Unknown options, a bad --format, and no URL or key: exit 2, one line."""
    assert_one_error(smm("status", "--bogus", "1", env=v2.env), 2, "--bogus")
    assert_one_error(smm("balance", "--format", "xml", env=v2.env), 2, "xml")
    assert_one_error(smm("balance", env={"SMMPANEL_KEY": "k"}), 2, "SMMPANEL_URL")
    assert_one_error(smm("balance", "--url", v2.url), 2, "SMMPANEL_KEY")
    assert_one_error(smm("status", env=v2.env), 2, "no IDs")


# ---------------------------------------------------------------------------- the panel fails


@pytest.mark.parametrize(
    ("args", "via_env"),
    [(["balance"], False), (["status", "1", "2"], True), (["cancel", "1"], False)],
)
def test_wrong_key(v2: Served, args: list[str], via_env: bool) -> None:
    """A bad key exits 1 with the panel's words; the key shows nowhere."""
    key = "wrong-key-Zq8v3"
    if via_env:
        result = smm(*args, env={"SMMPANEL_URL": v2.url, "SMMPANEL_KEY": key})
    else:
        result = smm(*args, "--url", v2.url, "--key", key)
    assert_one_error(result, 1, "Invalid API key")
    assert result.stdout == ""
    assert key not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["balance"], ["status", "1", "2", "3"]])
def test_unreachable_panel(args: list[str]) -> None:
    """A closed port exits 1 with one line, whether one call or every chunk fails."""
    key = "secret-key-Hx4"
    url = f"http://127.0.0.1:{free_port()}/api/v2"
    result = smm(*args, "--retries", "1", "--url", url, "--key", key)
    assert_one_error(result, 1, "connect")
    assert key not in result.stdout + result.stderr


def test_key_never_in_help_or_logs(v2: Served) -> None:
    """--help does not show SMMPANEL_KEY's value, nor does --verbose logging."""
    env = {"SMMPANEL_URL": v2.url, "SMMPANEL_KEY": v2.fake.key}
    result = smm("status", "--help", env=env)
    assert result.returncode == 0
    assert "SMMPANEL_KEY" in result.stdout
    assert v2.fake.key not in result.stdout + result.stderr

    result = smm("status", "--verbose", "--format", "json", "1", env=env)
    assert result.returncode == 0
    assert "status" in result.stderr  # the request was logged
    assert v2.fake.key not in result.stdout + result.stderr


# ---------------------------------------------------------------------------- refill, cancel


def test_refill_refill_status_and_cancel(served: Served) -> None:
    """JSON shapes of refill, refill-status and cancel, with per-ID errors and exit 0."""
    fake = served.fake
    done = place(fake)
    fake.advance(3600)
    fresh = fake.place(1, 100)

    result = smm("refill", "--format", "json", str(done), "999999999", str(done), env=served.env)
    assert result.returncode == 0, result.stderr
    refilled, missing = lines(result.stdout)
    assert refilled == {"order": done, "refill": refilled["refill"]}
    assert fake.refills[refilled["refill"]].order == done
    assert missing == {"order": 999999999, "error": "Incorrect order ID"}

    refill = str(refilled["refill"])
    result = smm("refill-status", "--format", "csv", refill, "424242", env=served.env)
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        {"refill": refill, "status": "pending", "error": ""},
        {"refill": "424242", "status": "", "error": "Refill not found"},
    ]

    result = smm("cancel", "--format", "json", str(fresh), str(done), *served.flags)
    assert result.returncode == 0, result.stderr
    canceled, refused = lines(result.stdout)
    assert canceled == {"order": fresh, "cancel": 1}
    assert refused["order"] == done
    assert "not allowed" in refused["error"]
    assert fake.orders[fresh].canceled_at is not None


# ---------------------------------------------------------------------------- watch


def test_watch_prints_each_change(v2: Served) -> None:
    """watch: first statuses, then one line per change, and it ends when all are final."""
    fake = v2.fake
    order = place(fake, 1000)  # pending 5 s, then 10 s in progress
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "smmpanel", "watch", "--every", "0.1", "--format", "json",
         str(order), "999999999"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**environment, **v2.env},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        seen = [json.loads(process.stdout.readline()) for _ in range(2)]
        assert exact(seen[0]) == expected_status(fake, order)
        fake.advance(10)
        seen.append(json.loads(process.stdout.readline()))
        fake.advance(3600)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    seen += lines(out)
    assert process.returncode == 0, err
    assert seen[0]["status"] == "pending"
    assert seen[1] == {"order": 999999999, "error": "Incorrect order ID"}
    assert seen[2]["status"] == "in_progress"
    assert 0 < seen[2]["remains"] < 1000
    assert [exact(answer) for answer in seen[3:]] == [expected_status(fake, order)]
    assert seen[3]["status"] == "completed"


# ---------------------------------------------------------------------------- fake-panel, deps


def test_fake_panel_serves_until_ctrl_c() -> None:
    """fake-panel prints its URL (the real port for --port 0) and key, serves, stops on SIGINT."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smmpanel", "fake-panel", "--port", "0", "--dialect", "v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        url = process.stdout.readline().split()[-1]
        key = process.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/v1")
        assert not url.startswith("http://127.0.0.1:0/")
        answer = httpx.post(url, data={"key": key, "action": "balance"}, timeout=10).json()
        assert answer["status"] == "success"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_stdout_closed_early(v2: Served) -> None:
    """A reader that stops early (`| head`) ends the command quietly, without a traceback."""
    orders = [v2.fake.place(1, 100) for _ in range(500)]
    process = subprocess.Popen(
        [sys.executable, "-m", "smmpanel", "status", "-", "--format", "json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **v2.env}, text=True,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write("\n".join(map(str, orders * 20)))
    process.stdin.close()
    assert json.loads(process.stdout.readline())["status"] == "pending"
    process.stdout.close()
    assert process.wait(timeout=30) in (0, 1)
    assert process.stderr is not None
    with process.stderr:
        err = process.stderr.read()
    assert "Traceback" not in err


def test_ctrl_c_while_waiting_for_stdin(v2: Served) -> None:
    """Ctrl-C ends `status -` at once, even with a read blocked on an open, silent stdin."""
    process = subprocess.Popen(
        [sys.executable, "-m", "smmpanel", "status", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, **v2.env}, text=True,
    )  # fmt: skip
    try:
        assert process.stdin is not None
        process.stdin.write("1\n")
        process.stdin.flush()
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in err


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 7, 64])
def test_ids_split_anywhere_between_reads(cut: int) -> None:
    """IDs cut by read boundaries are joined again; separators are whitespace and commas."""
    from smmpanel._cli.ids import Tokens

    text = b"12 345,\n\n6789\t10,11\r\n  12"
    tokens = Tokens("stdin", "an order ID")
    found = [
        number
        for start in range(0, len(text), cut)
        for number in tokens.feed(text[start : start + cut])
    ]
    assert [*found, *tokens.end()] == [12, 345, 6789, 10, 11, 12]
