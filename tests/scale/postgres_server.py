"""A throwaway PostgreSQL server from Debian's binaries, for the scale-out tests.

``initdb`` and ``pg_ctl`` in a temporary folder, listening on 127.0.0.1 only (a free port) with
its socket in that folder, password authentication over TCP, no durability (fsync off): about a
second to start and stop. PostgreSQL refuses to run as root, so as root the server runs as
Debian's ``postgres`` user (``make test`` installs the package when it is missing:
``scripts/ensure_postgresql.sh``).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MSG_NO_POSTGRESQL = (
    "PostgreSQL's server binaries (initdb, pg_ctl) are missing: run scripts/ensure_postgresql.sh "
    "(make test does)"
)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str

    def dsn(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }

    def url(self, database: str | None = None, driver: str = "postgresql+psycopg2") -> str:
        name = database or self.database
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{name}"


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(MSG_NO_POSTGRESQL)
    return Path(initdb).resolve().parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(folder: Path) -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    shutil.chown(folder, "postgres", "postgres")
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


@contextmanager
def postgres_server(
    database: str = "rai", user: str = "rai", *, more_databases: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Start a server with ``database`` (and ``more_databases``) owned by ``user`` (a random
    password); stop it and remove its folder on exit."""
    binaries = _binaries()
    folder = Path(tempfile.mkdtemp(prefix="rai-pg-"))
    run_as = _as_server_user(folder)
    data, port, password = folder / "data", free_port(), secrets.token_hex(16)
    superuser = "postgres"

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, text=True, **run_as)

    try:
        run(
            str(binaries / "initdb"), "-D", str(data), "-U", superuser, "--auth-local=trust",
            "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run(
            str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip
        try:
            import psycopg2

            admin = psycopg2.connect(host=str(folder), port=port, user=superuser, dbname="postgres")
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE ROLE {user} LOGIN PASSWORD %s", (password,))
                for name in (database, *more_databases):
                    cursor.execute(f"CREATE DATABASE {name} OWNER {user}")
            admin.close()
            yield Server("127.0.0.1", port, user, password, database)
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
