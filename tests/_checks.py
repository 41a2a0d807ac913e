"""Checks shared by the command-line tests, with the extras and without them."""

from __future__ import annotations

import subprocess


def assert_one_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """Exit ``code``, exactly one ``error:`` line on stderr holding ``words``, no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stdout + result.stderr
    for word in words:
        assert word in result.stderr
