"""Fixtures for the tracker's tests: a store URL on SQLite and on a throwaway PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pg import PgUnavailable, fresh_database, throwaway


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the session, or a skip saying why there is none."""
    try:
        with throwaway() as url:
            yield url
    except PgUnavailable as error:
        pytest.skip(f"no PostgreSQL: {error}")


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database."""
    return fresh_database(pg_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return str(request.getfixturevalue("pg_url"))
