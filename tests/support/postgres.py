"""A throwaway PostgreSQL server for tests: initdb into a temporary folder, pg_ctl start on a free
port (and a unix socket in that folder), stopped and removed at the end.

Debian's `postgresql` package puts its programs in /usr/lib/postgresql/<version>/bin, off PATH;
they are looked for there as well. initdb refuses to run as root, so as root the server runs as
`nobody` (through runuser) in a folder it owns; as any other user it runs as that user.
Without PostgreSQL the tests skip on a developer machine and fail in CI (CI=true).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_USER = "nobody"


def find_bin(name: str) -> str | None:
    """`initdb`/`pg_ctl` on PATH, else the newest /usr/lib/postgresql/*/bin has it."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class PostgresServer:
    port: int
    directory: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh database on the server; its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is missing: CI must install Debian's postgresql package")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql) - tests skipped")
    directory = Path(tempfile.mkdtemp(prefix="tally-pg-"))  # under /tmp: reachable by nobody
    data = directory / "data"
    if os.geteuid() == 0:
        shutil.chown(directory, SERVER_USER)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        _as_server_user([initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                         "--no-sync"]),
        **run,
    )  # fmt: skip
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {directory} -c fsync=off"
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l",
                         str(directory / "server.log"), "-w", "start"]),
        **run,
    )  # fmt: skip
    try:
        yield PostgresServer(port, directory)
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(directory, ignore_errors=True)
