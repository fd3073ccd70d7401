"""The SQLite store's file: opening it, its schema, and sqlite3 failures as ``SessionError``."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, final

from .._errors import ErrorCode, SessionError

__all__ = [
    "SCHEMA_VERSION",
    "WriteTransaction",
    "execute",
    "open_connection",
    "rollback",
    "storage_error",
]

#: The schema this code writes; ``PRAGMA user_version`` of every file it opens.
SCHEMA_VERSION: Final = 1

_SCHEMA: Final = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL
);
CREATE INDEX runs_by_session ON runs (session_id);
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    run_id TEXT,
    type TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (session_id, seq)
);
"""


def storage_error(code: ErrorCode, path: str, exc: sqlite3.Error) -> SessionError:
    """A ``SessionError`` for a failed SQLite call on *path*, chained by the caller.

    ``details["sqlite_error"]`` names SQLite's (extended) result code, e.g.
    ``SQLITE_FULL`` or ``SQLITE_CORRUPT``, where ``sqlite3`` reports one.
    """
    name = getattr(exc, "sqlite_errorname", None)
    action = {
        ErrorCode.STORAGE_CONNECTION_FAILED: "cannot open",
        ErrorCode.STORAGE_READ_FAILED: "cannot read",
        ErrorCode.STORAGE_WRITE_FAILED: "cannot write to",
    }.get(code, "SQLite error on")
    message = f"{action} {path}: {exc}"
    if code is ErrorCode.STORAGE_CONNECTION_FAILED and str(name).startswith("SQLITE_READONLY"):
        message += " (to read a database you cannot write, pass read_only=True)"
    return SessionError(code, message, details={"sqlite_error": name} if name else None)


def rollback(conn: sqlite3.Connection) -> None:
    """End *conn*'s open transaction, if any, after a failure.

    A failed rollback is ignored: SQLite has then already abandoned the
    transaction (it does so on ``SQLITE_FULL`` and I/O errors), and the
    original failure is the one worth reporting.
    """
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


@final
class WriteTransaction:
    """A write transaction on a store file, for ``write_batch`` (group commit).

    ``BEGIN IMMEDIATE`` takes the file's write lock up front, so the
    sequence numbers read inside are still the latest at ``COMMIT``, across
    processes; a failure is a chained ``storage_write_failed``.
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def commit(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: sqlite3.Connection) -> None:
        rollback(conn)

    def error(self, exc: Exception) -> BaseException:
        if not isinstance(exc, sqlite3.Error):
            return exc
        error = storage_error(ErrorCode.STORAGE_WRITE_FAILED, self.path, exc)
        error.__cause__ = exc
        return error


def execute(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """``conn.execute``, also for text that has no UTF-8 form (lone surrogates).

    SQLite stores text as UTF-8, so ``sqlite3`` cannot bind a ``str`` holding
    a lone surrogate (a JSON ``"\\ud83d"`` escape, an ``os.fsdecode`` file
    name). Records are ASCII JSON and never hit this; a key column (an id,
    an ``agent_id``) holding such text is bound instead as a BLOB of its
    ``surrogatepass`` UTF-8 bytes, the same way on write and on lookup. A
    BLOB never equals TEXT in SQLite, so such keys cannot collide with
    ordinary ones. Only the failing call pays for the retry.
    """
    try:
        return conn.execute(sql, params)
    except UnicodeEncodeError:
        return conn.execute(sql, [_bindable(value) for value in params])


def _bindable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return value


def open_connection(path: str, *, busy_timeout: float, read_only: bool) -> sqlite3.Connection:
    """A connection to the store file at *path*, its schema checked (created if new).

    Read-write: WAL mode, and the schema created in one write transaction if
    the file is new, so this needs write access to the file and its directory.
    Read-only: opened with ``mode=ro``, the database is never written. A WAL
    file in a directory we cannot write (no ``-shm`` can be made there) and
    with no ``-wal`` left over holds everything committed, and is opened
    ``immutable``: a snapshot, which assumes nobody writes it meanwhile (a
    writer would have to create its ``-wal`` there; what it wrote would not be
    seen, and a reader could see a torn page). Every failure is a ``SessionError``:
    ``storage_connection_failed``, ``migration_required`` or ``storage_error``.
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = _connect(path, busy_timeout, "ro" if read_only else None)
        if read_only:
            try:
                version = _schema_version(conn, path, create=False)
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorname != "SQLITE_READONLY_DIRECTORY" or os.path.exists(
                    path + "-wal"
                ):
                    raise
                conn.close()
                conn = _connect(path, busy_timeout, "ro&immutable=1")
                version = _schema_version(conn, path, create=False)
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            version = _schema_version(conn, path, create=True)
        _check_version(path, version)
    except BaseException as exc:
        if conn is not None:
            rollback(conn)
            conn.close()
        if isinstance(exc, sqlite3.Error):
            raise storage_error(ErrorCode.STORAGE_CONNECTION_FAILED, path, exc) from exc
        raise
    return conn


def _connect(path: str, busy_timeout: float, mode: str | None) -> sqlite3.Connection:
    return sqlite3.connect(
        path if mode is None else f"{Path(path).absolute().as_uri()}?mode={mode}",
        uri=mode is not None,
        timeout=busy_timeout,
        isolation_level=None,  # we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # used from one worker thread at a time
    )


def _schema_version(conn: sqlite3.Connection, path: str, *, create: bool) -> int:
    if create:
        # One write transaction, so two processes creating the same new file agree.
        conn.execute("BEGIN IMMEDIATE")
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    (has_tables,) = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    ).fetchone()
    if version == 0 and not has_tables:
        if not create:
            raise SessionError(
                "storage_connection_failed",
                f"{path} is not a trio_stream_session store (it has no tables)",
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        version = SCHEMA_VERSION
    if create:
        conn.execute("COMMIT")
    return version


def _check_version(path: str, version: int) -> None:
    if version < SCHEMA_VERSION:
        raise SessionError(
            "migration_required",
            f"{path} has schema version {version}; this version of "
            f"trio_stream_session needs {SCHEMA_VERSION}",
        )
    if version > SCHEMA_VERSION:
        raise SessionError(
            "storage_error",
            f"{path} has schema version {version}, newer than this "
            f"trio_stream_session understands ({SCHEMA_VERSION}); upgrade the library",
        )
