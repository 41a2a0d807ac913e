"""The core without its extras: importing smmpanel needs none of click, rich or uvicorn."""

from __future__ import annotations

import subprocess
import sys

from _checks import assert_one_error


def test_core_needs_no_cli_dependencies() -> None:
    """`import smmpanel` works without click, rich and uvicorn; the CLI then says what to do."""
    block = "import sys; sys.modules.update(click=None, rich=None, uvicorn=None); "
    result = subprocess.run(
        [sys.executable, "-c", block + "import smmpanel; print(smmpanel.Panel)"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [sys.executable, "-c", block + "import runpy; runpy.run_module('smmpanel', "
         "run_name='__main__')", "balance"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert_one_error(result, 1, "smmpanel[cli]")
