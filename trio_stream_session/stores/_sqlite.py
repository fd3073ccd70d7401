"""The SQLite session store: durable, standard-library ``sqlite3``, off the event loop."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import trio

from .._errors import ErrorCode, SessionError
from .._events import Event
from .._models import Run, RunStatus, Session, SessionStatus, resumed
from .._ports import EventAppender, EventTypeFilter
from ._appender import AppendEventAppender
from ._group_commit import GroupCommit, Write, write_batch
from ._longpoll import LongPoll
from ._query import EventQuery
from ._sqlite_file import (
    SCHEMA_VERSION,
    WriteTransaction,
    execute,
    open_connection,
    rollback,
    storage_error,
)
from ._sqlite_rows import (
    latest_sequence,
    put_run,
    put_session,
    records,
    select_events,
    store_events,
    validate_events,
)

__all__ = ["SCHEMA_VERSION", "SQLiteSessionStore"]

#: How often a long-polling reader re-checks the file for other processes' appends.
POLL_INTERVAL: Final = 0.05

_T = TypeVar("_T")
_READ: Final = ErrorCode.STORAGE_READ_FAILED
_WRITE: Final = ErrorCode.STORAGE_WRITE_FAILED


class SQLiteSessionStore:
    """A :class:`~trio_stream_session.SessionStore` in one SQLite file.

    Every call runs in a worker thread (one at a time per store, through one
    connection), never on the event loop. The file is in WAL mode; sequence
    numbers are assigned inside a write transaction, so several processes can
    append to the same file without collisions. Each write is committed before
    the call returns: an acknowledged event survives a crash of the process,
    and a write that fails (disk full, I/O error) leaves every earlier one in
    place. ``get_events(wait=...)`` wakes at once for appends through this
    store and polls every 50 ms for other processes'.

    Writes are group-committed: the writes of concurrent tasks (appends of
    many runs and sessions, saves, flushes) made while a commit is in flight
    are committed together in the next transaction, one worker-thread hop
    for all of them. Each call still returns only once its own write is
    committed. A write cancelled while queued is withdrawn and raises
    ``Cancelled``; once its transaction runs it completes (atomic) and
    returns, and the cancellation takes effect at the next checkpoint. A
    write that fails inside a shared transaction (a constraint, a record
    that cannot be encoded) rolls it back and every write of it is retried
    alone, so only its own caller sees the failure; a transaction that
    cannot begin or commit (busy, disk full) fails every write in it.

    The file is opened on ``async with`` (or the first call). Every failure is
    a :class:`~trio_stream_session.SessionError` with a storage code, never a
    raw ``sqlite3`` error: ``storage_connection_failed`` when the file cannot
    be opened (missing directory, not a database, damaged header, not
    writable), ``storage_read_failed`` / ``storage_write_failed`` when a read
    or a write fails (a damaged page, a record that does not decode, a full
    disk; ``details["sqlite_error"]`` names SQLite's result code, such as
    ``SQLITE_FULL``), ``migration_required`` for a file of an older schema,
    ``storage_error`` for a newer one. Text reads back as it was given, lone
    surrogates included (an ``os.fsdecode`` file name, a JSON ``"\\ud83d"``).

    ``read_only=True`` opens an existing store for reading only (``mode=ro``):
    nothing is written to the file, so it works for a file or a directory you
    cannot write, and every write raises ``storage_write_failed``. A WAL file
    in a directory you cannot write is read through the ``-wal``/``-shm``
    files a writer left, or, with none left, as an immutable snapshot. The
    default mode needs write access: it sets WAL mode and creates the schema
    of a new file; without it, opening fails with a hint to ``read_only``.

    Tests that use it should run on the real clock: a ``MockClock`` with
    autojump treats time spent in worker threads as idle and jumps ahead.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        read_only: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.read_only = read_only
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._limiter = trio.CapacityLimiter(1)
        self._transaction = WriteTransaction(self.path)
        self._writes: GroupCommit[sqlite3.Connection] = GroupCommit(self._commit)
        self._open_lock = trio.Lock()
        self._long_poll = LongPoll()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._conn else "unopened"
        mode = " read-only" if self.read_only else ""
        return f"<SQLiteSessionStore {self.path!r}{mode} {state}>"

    async def __aenter__(self) -> Self:
        await self._connection()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        """Close the connection; idempotent. Long-polling readers return ``[]``."""
        self._closed = True
        self._long_poll.close()
        if self._conn is not None:
            # Calls already queued for the worker thread run first, on the open connection.
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._close, limiter=self._limiter)
        await trio.lowlevel.checkpoint()

    # -- plumbing -------------------------------------------------------------------------

    async def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise SessionError("storage_connection_failed", "the session store is closed")
        if self._conn is None:
            async with self._open_lock:
                if self._conn is None:
                    self._conn = await trio.to_thread.run_sync(self._open, limiter=self._limiter)
        return self._conn

    def _open(self) -> sqlite3.Connection:
        return open_connection(self.path, busy_timeout=self._busy_timeout, read_only=self.read_only)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except sqlite3.Error as exc:
            raise storage_error(ErrorCode.STORAGE_ERROR, self.path, exc) from exc

    def _current(self) -> sqlite3.Connection:
        """The open connection, in the worker thread: a call queued after
        ``aclose()``'s finds none and fails as a closed store's call does."""
        conn = self._conn
        if conn is None:
            raise SessionError("storage_connection_failed", "the session store is closed")
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """*fn* in the worker thread; a failure is ``storage_read_failed``."""
        await self._connection()

        def call() -> _T:
            conn = self._current()
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                rollback(conn)
                raise storage_error(_READ, self.path, exc) from exc

        return await trio.to_thread.run_sync(call, limiter=self._limiter)

    async def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """*fn* inside a write transaction, group-committed with the writes of
        other tasks (see the class); a failure is ``storage_write_failed``."""
        await self._connection()
        if self.read_only:
            raise SessionError(_WRITE, f"{self.path} is open read-only")
        return await self._writes.submit(fn)

    async def _commit(self, writes: Sequence[Write[sqlite3.Connection, Any]]) -> None:
        """One batch of writes: one transaction in one worker-thread hop."""
        await trio.to_thread.run_sync(self._commit_batch, writes, limiter=self._limiter)

    def _commit_batch(self, writes: Sequence[Write[sqlite3.Connection, Any]]) -> None:
        try:
            conn = self._current()
        except SessionError as exc:
            for write in writes:
                write.fail(SessionError(exc.code, str(exc)))
            return
        write_batch(conn, writes, self._transaction)

    def _wake(self, session_ids: set[str]) -> None:
        for session_id in session_ids:
            self._long_poll.wake(session_id)

    # -- sessions and runs ------------------------------------------------------------------

    async def save_session(self, session: Session) -> None:
        if not isinstance(session, Session):
            raise SessionError(
                "validation_error", f"expected a Session, got {type(session).__name__}"
            )
        await self._write(lambda conn: put_session(conn, session))

    async def get_session(self, session_id: str) -> Session:
        found = await self._read(
            lambda conn: records(conn, Session, "sessions WHERE id = ?", [session_id])
        )
        if not found:
            raise SessionError("session_not_found", f"Session not found: {session_id}")
        return found[0]

    async def list_sessions(
        self,
        *,
        status: SessionStatus | str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        sql = "sessions WHERE 1 = 1"
        params: list[Any] = []
        if status is not None:
            sql += " AND status = ?"
            params.append(SessionStatus(status).value)
        if agent_id is not None:
            sql += " AND agent_id = ?"
            params.append(agent_id)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return await self._read(lambda conn: records(conn, Session, sql, params))

    async def delete_session(self, session_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            for table in ("sessions", "runs", "events"):
                column = "id" if table == "sessions" else "session_id"
                execute(conn, f"DELETE FROM {table} WHERE {column} = ?", (session_id,))

        await self._write(delete)

    async def save_run(self, run: Run) -> None:
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")
        await self._write(lambda conn: put_run(conn, run))

    async def get_run(self, run_id: str) -> Run:
        found = await self._read(lambda conn: records(conn, Run, "runs WHERE id = ?", [run_id]))
        if not found:
            raise SessionError("run_not_found", f"Run not found: {run_id}")
        return found[0]

    async def list_runs(
        self, session_id: str, *, status: RunStatus | str | None = None, limit: int | None = None
    ) -> list[Run]:
        sql = "runs WHERE session_id = ?"
        params: list[Any] = [session_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(RunStatus(status).value)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return await self._read(lambda conn: records(conn, Run, sql, params))

    async def get_active_run(self, session_id: str) -> Run | None:
        found = await self._read(
            lambda conn: records(
                conn,
                Run,
                "runs WHERE session_id = ? AND status = 'running' ORDER BY rowid LIMIT 1",
                [session_id],
            ),
        )
        return found[0] if found else None

    async def begin_run(self, session_id: str, run: Run) -> Session:
        """See :meth:`SessionStore.begin_run`: one write transaction, so two
        processes racing to continue a session cannot both start a run."""
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")

        def begin(conn: sqlite3.Connection) -> Session:
            found = records(conn, Session, "sessions WHERE id = ?", [session_id])
            if not found:
                raise SessionError("session_not_found", f"Session not found: {session_id}")
            runs = records(
                conn,
                Run,
                "runs WHERE session_id = ? AND status IN ('pending', 'running')",
                [session_id],
            )
            session = resumed(found[0], runs, session_id)
            put_run(conn, run)
            put_session(conn, session)
            return session

        return await self._write(begin)

    # -- events -----------------------------------------------------------------------------

    def appender(
        self,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> EventAppender:
        """The :class:`~trio_stream_session.EventAppender` of a run: each event
        goes through :meth:`append_event` (acknowledged once committed)."""
        return AppendEventAppender(
            self, session_id, run_id, provider=provider, correlation_id=correlation_id
        )

    async def append_event(self, event: Event) -> Event:
        """Store *event* with the session's next sequence number, committed before
        this returns (with the writes of other tasks made meanwhile: group
        commit); a duplicate id returns the originally stored event."""
        [stored] = await self.append_events([event])
        return stored

    async def append_events(self, events: Sequence[Event]) -> list[Event]:
        """Append *events* in order in one transaction, all or nothing."""
        validate_events(events)
        stored = await self._write(lambda conn: store_events(conn, events))
        self._wake({e.session_id for e in stored if e.session_id})
        return stored

    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        """Atomically append *events* and save *session* and *run* (one transaction)."""
        if not isinstance(session, Session) or not isinstance(run, Run):
            raise SessionError(
                "validation_error", "invalid flush payload: need a Session and a Run"
            )
        validate_events(events)

        def flush(conn: sqlite3.Connection) -> None:
            store_events(conn, events)
            put_session(conn, session)
            put_run(conn, run)

        await self._write(flush)
        self._wake({e.session_id for e in events if e.session_id})

    async def get_events(
        self,
        session_id: str,
        *,
        run_id: str | None = None,
        type: EventTypeFilter | None = None,
        since: datetime | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        wait: float = 0.0,
    ) -> list[Event]:
        """The session's events in sequence order, filtered (see ``SessionStore``).

        With ``wait > 0`` and nothing matching, waits up to *wait* seconds for a
        matching append by this store (woken at once) or another process (seen
        within 50 ms). Cancelling a waiting call leaves no trace.
        """
        query = EventQuery.build(
            session_id,
            run_id=run_id,
            type=type,
            since=since,
            after=after,
            before=before,
            limit=limit,
            wait=wait,
        )
        return await self._long_poll.poll(
            session_id,
            lambda: self._read(lambda conn: select_events(conn, query)),
            query.wait,
            interval=POLL_INTERVAL,
        )

    async def get_latest_sequence(self, session_id: str) -> int:
        return await self._read(lambda conn: latest_sequence(conn, session_id))
