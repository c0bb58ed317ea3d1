"""A throwaway PostgreSQL server for the gradebook tests: a fresh cluster (initdb) in a
temporary folder, listening on a Unix socket only (no TCP port), stopped and removed when
the test module ends. As root it runs as the ``postgres`` system user, which PostgreSQL
requires (it refuses to run as root).

A test module uses it by importing the fixture::

    from postgres_server import postgres  # noqa: F401 - the fixture

    def test_something(postgres):
        url = postgres.create_database("gradebook")  # an SQLAlchemy URL (psycopg 3)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def postgres_bin() -> Path:
    """The server's programs (Debian keeps them out of PATH), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    assert found or on_path, ("PostgreSQL's server is not installed: "
                              "`apt-get install -y postgresql` (tools/prerequisites.sh test does it)")
    return Path(found[0] if found else on_path).parent


class PostgresServer:
    """A running cluster; superuser ``course`` (trust authentication on the socket)."""

    USER = "course"

    def __init__(self):
        self.bindir = postgres_bin()
        self.home = Path(tempfile.mkdtemp(prefix="cnncourse-pg-"))
        self.data, self.socket = self.home / "data", self.home / "socket"
        self.socket.mkdir()
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self.home.chmod(0o755)
            for path in (self.home, self.socket):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        """One of the server's programs (initdb, pg_ctl, createdb, psql...), as its user."""
        return subprocess.run(self._prefix + [str(self.bindir / program), *args], cwd=self.home,
                              capture_output=True, text=True, timeout=120, check=True)

    def start(self) -> "PostgresServer":
        self.run("initdb", "-D", str(self.data), "-U", self.USER, "--auth=trust", "-E", "UTF8")
        self.run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.home / "server.log"), "-o",
                 f"-c listen_addresses='' -k {self.socket}", "start")
        return self

    def stop(self) -> None:
        subprocess.run(self._prefix + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                                       "immediate", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(self.home, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL (``CNNCOURSE_DB_URL``)."""
        self.run("createdb", "-h", str(self.socket), "-U", self.USER, name)
        return f"postgresql+psycopg://{self.USER}@/{name}?host={self.socket}"

    def psql(self, database: str, sql: str) -> str:
        """The unaligned, tuples-only output of one SQL command."""
        return self.run("psql", "-h", str(self.socket), "-U", self.USER, "-d", database, "-At",
                        "-c", sql).stdout


@pytest.fixture(scope="module")
def postgres():
    """A fresh PostgreSQL server for the test module (:class:`PostgresServer`)."""
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()
