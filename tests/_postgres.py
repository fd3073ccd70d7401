"""A real PostgreSQL server for the tests: the one ``TRIO_STREAM_SESSION_TEST_DSN`` names
(``.ci/run`` starts one and sets it), else a throwaway one started here from the
installed binaries (Debian's ``postgresql``), else the tests skip with a reason,
or fail when ``CI=true``: CI must test the store.

Each store a test makes gets a schema of its own (``t_<random>``), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DSN_VARIABLE = "TRIO_STREAM_SESSION_TEST_DSN"


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) a test that needs PostgreSQL."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


def postgres_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are (the newest Debian cluster version), if anywhere."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and the server refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PostgresServer:
    """A throwaway cluster in a temporary directory, on 127.0.0.1:*port*."""

    bindir: Path
    directory: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def create(cls, bindir: Path) -> PostgresServer:
        directory = Path(tempfile.mkdtemp(prefix="tss-postgres-"))
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres")
        server = cls(bindir, directory, free_port())
        server._run(
            "initdb", "-D", str(server.datadir), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--no-locale",
        )  # fmt: skip
        server.start()
        return server

    @property
    def datadir(self) -> Path:
        return self.directory / "data"

    def _run(self, tool: str, *args: str) -> None:
        command = _as_postgres([str(self.bindir / tool), *args])
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        log = str(self.directory / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.datadir), "-w", "-t", "60", "-l", log, "-o", options, "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "-m", "fast", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def throwaway_server() -> PostgresServer:
    """A new server, or a skip (a failure in CI) when the binaries are missing."""
    bindir = postgres_bindir()
    if bindir is None:
        unavailable(
            "no PostgreSQL binaries (install Debian's postgresql, or set " + DSN_VARIABLE + ")"
        )
        raise AssertionError("unreachable")
    return PostgresServer.create(bindir)


def _check_reachable(dsn: str) -> None:
    import psycopg

    try:
        psycopg.connect(dsn, connect_timeout=10).close()
    except psycopg.Error as exc:
        pytest.fail(f"cannot reach the PostgreSQL server of {DSN_VARIABLE}: {exc}")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of a running server for the whole test session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed: pip install -e '.[test]'")
    given = os.environ.get(DSN_VARIABLE)
    if given:
        _check_reachable(given)
        yield given
        return
    server = throwaway_server()
    try:
        yield server.dsn
    finally:
        server.destroy()


def drop_schemas(dsn: str, schemas: list[str]) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def new_postgres_store(postgres_dsn: str) -> Iterator[Callable[..., Any]]:
    """``new_postgres_store(**options)``: a new store in a schema of its own."""
    from trio_stream_session import PostgresSessionStore

    schemas: list[str] = []

    def make(**options: Any) -> PostgresSessionStore:
        schema = options.pop("schema", None) or f"t_{uuid.uuid4().hex[:16]}"
        schemas.append(schema)
        return PostgresSessionStore(options.pop("dsn", postgres_dsn), schema=schema, **options)

    yield make
    drop_schemas(postgres_dsn, schemas)
