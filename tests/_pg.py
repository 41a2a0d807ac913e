"""A throwaway PostgreSQL for the tracker's tests: ``with throwaway() as url``.

Uses ``SMMPANEL_TEST_PG_URL`` when set (a server you run; each test gets its own database
in it). Otherwise starts PostgreSQL 15 from ``/usr/lib/postgresql/15/bin`` (or
``SMMPANEL_PG_BIN``) on 127.0.0.1 and a free port, data in a temporary directory, as the
``postgres`` user when run as root (initdb refuses root), and removes it afterwards.
``python tests/_pg.py`` starts one and prints its URL until interrupted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PgUnavailable", "fresh_database", "throwaway"]

BIN = Path(os.environ.get("SMMPANEL_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PgUnavailable(Exception):
    """No PostgreSQL can be had on this machine; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PgUnavailable("running as root and no runuser to become the postgres user")
    return [runuser, "-u", "postgres", "--", *args]


@contextlib.contextmanager
def throwaway() -> Iterator[str]:
    """A server's base URL (``postgresql+psycopg://postgres@127.0.0.1:PORT``)."""
    given = os.environ.get("SMMPANEL_TEST_PG_URL")
    if given:
        yield given.rsplit("/", 1)[0] if given.count("/") > 2 else given
        return
    if not (BIN / "initdb").exists():
        raise PgUnavailable(f"no PostgreSQL binaries in {BIN} (set SMMPANEL_TEST_PG_URL)")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable("running as root and there is no postgres user") from None
    root = Path(tempfile.mkdtemp(prefix="smmpanel-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    try:
        try:
            subprocess.run(
                _as_postgres(
                    [
                        str(BIN / "initdb"),
                        "-D",
                        str(data),
                        "-A",
                        "trust",
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--no-sync",
                    ]
                ),
                **quiet,  # type: ignore[call-overload]
            )
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200"
            )
            subprocess.run(
                _as_postgres(
                    [
                        str(BIN / "pg_ctl"),
                        "-D",
                        str(data),
                        "-o",
                        options,
                        "-w",
                        "-l",
                        str(root / "log"),
                        "start",
                    ]
                ),
                **quiet,  # type: ignore[call-overload]
            )
        except subprocess.CalledProcessError as error:
            raise PgUnavailable(
                f"PostgreSQL did not start: {error.stderr.decode(errors='replace')[:300]}"
            ) from None
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(base: str) -> str:
    """A new empty database on the server at ``base``; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


if __name__ == "__main__":
    import time

    with throwaway() as url:
        print(fresh_database(url), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
