"""The many-panel command line: --config/--panel, balances, cheapest, services --all/--save/diff.

Most checks call the command line in this process (``smmpanel._cli.run``) against fakes
served over HTTP, for speed; one runs ``python -m smmpanel`` with ``SMMPANEL_CONFIG``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

pytest.importorskip("click", reason="the command line needs the cli extra")
pytest.importorskip("uvicorn", reason="fake-panel needs the cli extra")

from _fleet import fleet

from smmpanel._cli import run
from smmpanel.testing import FakePanel

SECRET = "SECRET-KEY-4242"


@attrs.frozen
class Fleet:
    fakes: dict[str, FakePanel]
    urls: dict[str, str]
    config: Path

    def write(self, **extra: str) -> None:
        tables = []
        for name, url in self.urls.items():
            tables.append(
                f'[panels.{name}]\nurl = "{url}"\nkey = "{self.fakes[name].key}"\nretries = 0\n'
                + extra.get(name, "")
            )
        self.config.write_text("\n".join(tables))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Fleet]:
    fakes = fleet()
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(fake.serve()) for name, fake in fakes.items()}
        served = Fleet(fakes, urls, tmp_path / "panels.toml")
        served.write()
        yield served


@attrs.frozen
class Ran:
    status: int
    out: str
    err: str

    def json(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines()]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> object:
    def call(*args: str | Path) -> Ran:
        status = run([str(arg) for arg in args])
        captured = capsys.readouterr()
        for fake_key in ("test-key", "cheap-key", "euro-key", SECRET):
            assert fake_key not in captured.out
            assert fake_key not in captured.err
        return Ran(status, captured.out, captured.err)

    return call


# ---------------------------------------------------------------------------- balances


def test_balances_shows_every_panel_and_errors_per_row(served: Fleet, cli: object) -> None:
    served.fakes["euro"].inject("refuse")
    ran = cli("balances", "--config", served.config, "--format", "json")  # type: ignore[operator]
    assert ran.status == 0
    rows = {row["panel"]: row for row in ran.json()}
    assert list(rows) == ["big", "cheap", "euro"]
    assert rows["big"] == {"panel": "big", "balance": "1000.00000", "currency": "USD"}
    assert str(rows["euro"]["error"]).startswith("ProtocolError")
    table = cli("balances", "--config", served.config)  # type: ignore[operator]
    assert table.status == 0
    assert "Panel" in table.out
    assert "ProtocolError" in table.out


def test_balances_fails_only_when_every_panel_fails(served: Fleet, cli: object) -> None:
    for fake in served.fakes.values():
        fake.inject("refuse")
    ran = cli("balances", "--config", served.config, "--format", "csv")  # type: ignore[operator]
    assert ran.status == 1
    assert ran.out.splitlines()[0] == "panel,balance,currency,error"


def test_panel_picks_panels_and_an_unknown_one_is_bad_usage(served: Fleet, cli: object) -> None:
    ran = cli(  # type: ignore[operator]
        "balances",
        "--config",
        served.config,
        "--panel",
        "cheap",
        "--panel",
        "big",
        "--format",
        "json",
    )
    assert [row["panel"] for row in ran.json()] == ["big", "cheap"]
    bad = cli("balances", "--config", served.config, "--panel", "nope")  # type: ignore[operator]
    assert bad.status == 2
    assert "no panel 'nope'" in bad.err
    missing = cli("balances")  # type: ignore[operator]
    assert missing.status == 2
    assert "--config" in missing.err


# ---------------------------------------------------------------------------- one-panel commands


def test_one_panel_commands_take_config_and_panel(
    served: Fleet, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMMPANEL_URL", raising=False)
    monkeypatch.delenv("SMMPANEL_KEY", raising=False)
    served.fakes["cheap"].balance = "7.5"
    ran = cli("balance", "--config", served.config, "--panel", "cheap", "--format", "json")  # type: ignore[operator]
    assert ran.json() == [{"balance": "7.50000", "currency": "USD"}]
    many = cli("balance", "--config", served.config)  # type: ignore[operator]
    assert many.status == 2
    assert "pick one with --panel (big, cheap, euro)" in many.err
    alone = cli("--help")  # type: ignore[operator]
    assert alone.status == 0
    no_config = cli("balance", "--panel", "cheap")  # type: ignore[operator]
    assert no_config.status == 2
    assert "--panel needs a config" in no_config.err
    both = cli("balance", "--config", served.config, "--panel", "big", "--url", served.urls["big"])  # type: ignore[operator]
    assert both.status == 2
    assert "not both" in both.err
    order = cli(  # type: ignore[operator]
        "add", "--config", served.config, "--panel", "big", "--service", "1",
        "--link", "https://x.example/p/1", "--quantity", "100", "--format", "json",
    )  # fmt: skip
    assert order.status == 0
    assert list(served.fakes["big"].orders) == [order.json()[0]["order"]]


def test_a_config_with_one_panel_needs_no_panel_option(
    served: Fleet, cli: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMMPANEL_URL", raising=False)
    one = tmp_path / "one.toml"
    one.write_text(f'[panels.only]\nurl = "{served.urls["euro"]}"\nkey = "euro-key"\n')
    ran = cli("balance", "--config", one, "--format", "json")  # type: ignore[operator]
    assert ran.json() == [{"balance": "1000.00000", "currency": "EUR"}]


def test_a_url_still_wins_over_a_config_without_panel(served: Fleet, cli: object) -> None:
    ran = cli(  # type: ignore[operator]
        "balance", "--config", served.config, "--url", served.urls["euro"], "--key", "euro-key",
        "--format", "json",
    )  # fmt: skip
    assert ran.json()[0]["currency"] == "EUR"


def test_a_bad_config_is_bad_usage_naming_the_field_never_the_key(
    served: Fleet, cli: object, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[panels.main]\nurl = "{served.urls["big"]}"\nkey = "{SECRET}"\nconcurrency = 0\n'
    )
    for args in (["balances"], ["balance", "--panel", "main"], ["cheapest"], ["services", "--all"]):
        ran = cli(*args, "--config", bad)  # type: ignore[operator]
        assert ran.status == 2, args
        assert "panel 'main', field 'concurrency'" in ran.err


# ---------------------------------------------------------------------------- cheapest


def test_cheapest_prints_the_winner(served: Fleet, cli: object) -> None:
    ran = cli(  # type: ignore[operator]
        "cheapest", "--config", served.config, "--type", "Default", "--quantity", "1000",
        "--refill", "--format", "json",
    )  # fmt: skip
    assert ran.status == 0
    (row,) = ran.json()
    assert (row["panel"], row["id"], row["rate"], row["cost"]) == ("cheap", 10, "0.70", "0.70")
    assert row["quantity"] == 1000
    plain = cli("cheapest", "--config", served.config, "--quantity", "2000", "--no-refill")  # type: ignore[operator]
    assert plain.status == 0
    assert "Service 11" in plain.out
    searched = cli(  # type: ignore[operator]
        "cheapest", "--config", served.config, "--search", "service 1", "--quantity", "60000",
        "--format", "json",
    )  # fmt: skip
    assert searched.json()[0]["id"] == 1


def test_cheapest_with_nothing_matching_says_why(served: Fleet, cli: object) -> None:
    ran = cli("cheapest", "--config", served.config, "--quantity", "100000000")  # type: ignore[operator]
    assert ran.status == 1
    assert "no service matches (quantity=100000000)" in ran.err
    assert "euro" in ran.err  # left out: another currency
    assert len(ran.err.splitlines()) == 1


# ---------------------------------------------------------------------------- services


def test_services_all_is_one_catalogue_with_a_panel_column(served: Fleet, cli: object) -> None:
    served.fakes["cheap"].inject("html502", actions="services")
    ran = cli("services", "--all", "--config", served.config, "--format", "json")  # type: ignore[operator]
    assert ran.status == 0
    rows = ran.json()
    assert [(row["panel"], row["id"]) for row in rows] == [
        ("big", 1),
        ("big", 2),
        ("big", 3),
        ("big", 4),
        ("euro", 20),
    ]
    assert "warning: panel cheap: ProtocolError" in ran.err
    one = cli("services", "--config", served.config, "--panel", "euro", "--format", "json")  # type: ignore[operator]
    assert [row["id"] for row in one.json()] == [20]
    assert "panel" not in one.json()[0]


def test_save_then_diff(served: Fleet, cli: object, tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    saved = cli("services", "--config", served.config, "--save", old)  # type: ignore[operator]
    assert saved.status == 0
    assert saved.out == ""
    assert "saved 7 services of 3 panels" in saved.err
    served.fakes["cheap"].update_service(10, rate="0.75", max=20_000)
    served.fakes["big"].remove_service(2)
    served.fakes["euro"].inject("html502", actions="services")
    assert cli("services", "--config", served.config, "--save", new).status == 0  # type: ignore[operator]
    document = json.loads(new.read_text())
    assert document["panels"]["euro"]["class"] == "ProtocolError"

    ran = cli("services", "diff", old, new, "--format", "json")  # type: ignore[operator]
    assert ran.status == 1  # euro's answer is suspect
    rows = ran.json()
    assert {"panel": "big", "change": "removed", "service": 2, "name": "Service 2"} in rows
    assert {
        "panel": "cheap",
        "change": "changed",
        "service": 10,
        "name": "Service 10",
        "field": "rate",
        "old": "0.70",
        "new": "0.75",
    } in rows
    assert any(row.get("field") == "max" and row.get("new") == 20_000 for row in rows)
    (euro,) = [row for row in rows if row["panel"] == "euro"]
    assert euro["change"] == "suspect"
    assert "ProtocolError" in str(euro["reason"])
    assert "suspect" in ran.err

    same = cli("services", "diff", old, old)  # type: ignore[operator]
    assert same.status == 0


def test_diff_flags_a_catalogue_that_emptied(served: Fleet, cli: object, tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    cli("services", "--config", served.config, "--panel", "big", "--save", old)  # type: ignore[operator]
    for service in served.fakes["big"].services:
        served.fakes["big"].remove_service(service.id)
    cli("services", "--config", served.config, "--panel", "big", "--save", new)  # type: ignore[operator]
    ran = cli("services", "diff", old, new, "--format", "json")  # type: ignore[operator]
    assert ran.status == 1
    assert ran.json() == [
        {
            "panel": "big",
            "change": "suspect",
            "reason": "the new catalogue is empty (the old one had 4 services)",
        }
    ]
    lenient = cli("services", "diff", old, new, "--threshold", "1")  # type: ignore[operator]
    assert lenient.status == 1  # empty is suspect whatever the threshold


def test_diff_refuses_files_it_did_not_write(cli: object, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    for path in (junk, tmp_path / "missing.json"):
        ran = cli("services", "diff", path, path)  # type: ignore[operator]
        assert ran.status == 2
        assert str(path) in ran.err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "smmpanel-catalogue/1", "panels": {"a": {"services": [{"id": 1}]}}}')
    ran = cli("services", "diff", bad, bad)  # type: ignore[operator]
    assert ran.status == 2
    assert "panel 'a' has a service that is not readable" in ran.err


def test_save_works_for_one_panel_without_a_config(
    served: Fleet, cli: object, tmp_path: Path
) -> None:
    path = tmp_path / "one.json"
    ran = cli(  # type: ignore[operator]
        "services", "--url", served.urls["euro"], "--key", "euro-key", "--save", path
    )
    assert ran.status == 0
    assert list(json.loads(path.read_text())["panels"]) == ["panel"]


def test_smmpanel_config_from_the_environment(served: Fleet) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMMPANEL_")}
    env |= {"SMMPANEL_CONFIG": str(served.config), "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-m", "smmpanel", "balances", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["panel"] for line in done.stdout.splitlines()] == [
        "big",
        "cheap",
        "euro",
    ]
