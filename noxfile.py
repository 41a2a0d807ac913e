"""Sessions: ``nox`` runs tests, lint and typecheck; ``nox -s bench`` runs the benchmarks."""

from __future__ import annotations

import nox

PYPROJECT = nox.project.load_toml("pyproject.toml")


def group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


nox.options.sessions = ["tests", "tests_core", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


@nox.session
def tests(session: nox.Session) -> None:
    """Unit, integration (uvicorn on loopback) and CLI tests, on asyncio and trio."""
    # track: the tracker's tests (they start a throwaway PostgreSQL 15 when one is installed);
    # workers: track worker's tests (Procrastinate, on that PostgreSQL).
    session.install("-e", ".[cli,fast,track,workers]", *group("test"))
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def tests_core(session: nox.Session) -> None:
    """The tests with only the core dependencies: those needing an extra skip, saying which."""
    session.install("-e", ".", *group("test"))
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and on tests/typing (type-checked, never run)."""
    session.install("-e", ".[cli,fast,track,workers]", *group("typecheck"))
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: smmpanel beside hand-written floors and a naive peer, ratios from one run."""
    session.install("-e", ".[cli,fast,track,workers]", *group("bench"))
    quick = "--quick" in session.posargs
    session.run("python", "-m", "benchmarks", *session.posargs)
    stream = ["--small", "10000", "--large", "100000", "--repeat", "1"] if quick else []
    session.run("python", "-m", "benchmarks.stream", *stream)
    session.run("python", "-m", "benchmarks.structuring")
    memory = ["--sizes", "100000", "300000"] if quick else ["--repeat", "3"]
    session.run("python", "-m", "benchmarks.memory", *memory)
    session.run("python", "-m", "benchmarks.tracker", *(["--quick"] if quick else []))
    session.run("python", "-m", "benchmarks.panels", *(["--quick"] if quick else []))
