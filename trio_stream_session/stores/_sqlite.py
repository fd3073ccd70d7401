"""The SQLite session store: durable, standard-library ``sqlite3``, off the event loop."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import trio

from .._errors import SessionError
from .._events import Event
from .._models import Run, RunStatus, Session, SessionStatus
from .._ports import EventTypeFilter
from ._longpoll import LongPoll
from ._query import EventQuery

__all__ = ["SCHEMA_VERSION", "SQLiteSessionStore"]

#: The schema this code writes; ``PRAGMA user_version`` of every file it opens.
SCHEMA_VERSION: Final = 1
#: How often a long-polling reader re-checks the file for other processes' appends.
POLL_INTERVAL: Final = 0.05

_T = TypeVar("_T")
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


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _ts_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _event_row(event: Event, seq: int) -> tuple[Any, ...]:
    stored = event.with_sequence(seq)
    return (
        stored,
        (
            stored.id,
            stored.session_id,
            seq,
            stored.run_id,
            stored.type.value,
            _ts_us(stored.timestamp),
            json.dumps(stored.to_dict(), separators=(",", ":"), ensure_ascii=False),
        ),
    )


class SQLiteSessionStore:
    """A :class:`~trio_stream_session.SessionStore` in one SQLite file.

    Every call runs in a worker thread (one at a time per store, through one
    connection), never on the event loop. The file is in WAL mode; sequence
    numbers are assigned inside a write transaction, so several processes can
    append to the same file without collisions. Each write is committed before
    the call returns: an acknowledged event survives a crash of the process.
    A call cancelled while its thread runs completes its write (atomic) and
    raises ``Cancelled`` afterwards. ``get_events(wait=...)`` wakes at once for
    appends through this store and polls every 50 ms for other processes'.

    The file is opened on ``async with`` (or the first call); a file written by
    an older schema raises ``SessionError("migration_required")``.

    Tests that use it should run on the real clock: a ``MockClock`` with
    autojump treats time spent in worker threads as idle and jumps ahead.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = os.fspath(path)
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._limiter = trio.CapacityLimiter(1)
        self._open_lock = trio.Lock()
        self._long_poll = LongPoll()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._conn else "unopened"
        return f"<SQLiteSessionStore {self.path!r} {state}>"

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
        conn, self._conn = self._conn, None
        if conn is not None:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(conn.close, limiter=self._limiter)
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
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # used from one worker thread at a time
            )
        except sqlite3.Error as exc:
            raise SessionError(
                "storage_connection_failed", f"cannot open {self.path}: {exc}"
            ) from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._check_schema(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        # One write transaction, so two processes creating the same new file agree.
        conn.execute("BEGIN IMMEDIATE")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ).fetchone()[0]
        if version == 0 and not has_tables:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            version = SCHEMA_VERSION
        conn.execute("COMMIT")
        if version < SCHEMA_VERSION:
            raise SessionError(
                "migration_required",
                f"{self.path} has schema version {version}; this version of "
                f"trio_stream_session needs {SCHEMA_VERSION}",
            )
        if version > SCHEMA_VERSION:
            raise SessionError(
                "storage_error",
                f"{self.path} has schema version {version}, newer than this "
                f"trio_stream_session understands ({SCHEMA_VERSION}); upgrade the library",
            )

    async def _run(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = await self._connection()

        def call() -> _T:
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise SessionError("storage_error", f"SQLite error: {exc}") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return await trio.to_thread.run_sync(call, limiter=self._limiter)

    def _wake(self, session_ids: set[str]) -> None:
        for session_id in session_ids:
            self._long_poll.wake(session_id)

    # -- sessions and runs ------------------------------------------------------------------

    async def save_session(self, session: Session) -> None:
        if not isinstance(session, Session):
            raise SessionError(
                "validation_error", f"expected a Session, got {type(session).__name__}"
            )
        await self._run(lambda conn: _put_session(conn, session))

    async def get_session(self, session_id: str) -> Session:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT record FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        )
        if row is None:
            raise SessionError("session_not_found", f"Session not found: {session_id}")
        return Session.from_dict(json.loads(row[0]))

    async def list_sessions(
        self,
        *,
        status: SessionStatus | str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        sql = "SELECT record FROM sessions WHERE 1 = 1"
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
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [Session.from_dict(json.loads(r[0])) for r in rows]

    async def delete_session(self, session_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            for table in ("sessions", "runs", "events"):
                column = "id" if table == "sessions" else "session_id"
                conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (session_id,))
            conn.execute("COMMIT")

        await self._run(delete)

    async def save_run(self, run: Run) -> None:
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")
        await self._run(lambda conn: _put_run(conn, run))

    async def get_run(self, run_id: str) -> Run:
        row = await self._run(
            lambda conn: conn.execute("SELECT record FROM runs WHERE id = ?", (run_id,)).fetchone()
        )
        if row is None:
            raise SessionError("run_not_found", f"Run not found: {run_id}")
        return Run.from_dict(json.loads(row[0]))

    async def list_runs(
        self, session_id: str, *, status: RunStatus | str | None = None, limit: int | None = None
    ) -> list[Run]:
        sql = "SELECT record FROM runs WHERE session_id = ?"
        params: list[Any] = [session_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(RunStatus(status).value)
        sql += " ORDER BY rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [Run.from_dict(json.loads(r[0])) for r in rows]

    async def get_active_run(self, session_id: str) -> Run | None:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT record FROM runs WHERE session_id = ? AND status = 'running'"
                " ORDER BY rowid LIMIT 1",
                (session_id,),
            ).fetchone()
        )
        return None if row is None else Run.from_dict(json.loads(row[0]))

    # -- events -----------------------------------------------------------------------------

    async def append_event(self, event: Event) -> Event:
        """Store *event* with the session's next sequence number, in one committed
        transaction; a duplicate id returns the originally stored event."""
        [stored] = await self.append_events([event])
        return stored

    async def append_events(self, events: Sequence[Event]) -> list[Event]:
        """Append *events* in order in one transaction, all or nothing."""
        _validate_events(events)

        def append(conn: sqlite3.Connection) -> list[Event]:
            conn.execute("BEGIN IMMEDIATE")
            stored = _append(conn, events)
            conn.execute("COMMIT")
            return stored

        stored = await self._run(append)
        self._wake({e.session_id for e in stored if e.session_id})
        return stored

    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        """Atomically append *events* and save *session* and *run* (one transaction)."""
        if not isinstance(session, Session) or not isinstance(run, Run):
            raise SessionError(
                "validation_error", "invalid flush payload: need a Session and a Run"
            )
        _validate_events(events)

        def flush(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            _append(conn, events)
            _put_session(conn, session)
            _put_run(conn, run)
            conn.execute("COMMIT")

        await self._run(flush)
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
            lambda: self._run(lambda conn: _select(conn, query)),
            query.wait,
            interval=POLL_INTERVAL,
        )

    async def get_latest_sequence(self, session_id: str) -> int:
        row = await self._run(
            lambda conn: conn.execute(
                "SELECT max(seq) FROM events WHERE session_id = ?", (session_id,)
            ).fetchone()
        )
        return int(row[0] or 0)


def _validate_events(events: Sequence[Event]) -> None:
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise SessionError("validation_error", "events must be a sequence of Event objects")
    for event in events:
        if not isinstance(event, Event) or not event.session_id:
            raise SessionError("validation_error", "events must be Event objects with a session_id")


def _append(conn: sqlite3.Connection, events: Sequence[Event]) -> list[Event]:
    stored: list[Event] = []
    for event in events:
        row = conn.execute("SELECT record FROM events WHERE id = ?", (event.id,)).fetchone()
        if row is not None:
            stored.append(Event.from_dict(json.loads(row[0])))
            continue
        latest = conn.execute(
            "SELECT coalesce(max(seq), 0) FROM events WHERE session_id = ?", (event.session_id,)
        ).fetchone()[0]
        new, values = _event_row(event, latest + 1)
        conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        stored.append(new)
    return stored


def _put_session(conn: sqlite3.Connection, session: Session) -> None:
    conn.execute(
        "INSERT INTO sessions (id, agent_id, status, record) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id,"
        " status = excluded.status, record = excluded.record",
        (session.id, session.agent_id, session.status.value, json.dumps(session.to_dict())),
    )


def _put_run(conn: sqlite3.Connection, run: Run) -> None:
    conn.execute(
        "INSERT INTO runs (id, session_id, status, record) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id,"
        " status = excluded.status, record = excluded.record",
        (run.id, run.session_id, run.status.value, json.dumps(run.to_dict())),
    )


def _select(conn: sqlite3.Connection, query: EventQuery) -> list[Event]:
    sql = "SELECT record FROM events WHERE session_id = ?"
    params: list[Any] = [query.session_id]
    if query.run_id is not None:
        sql += " AND run_id = ?"
        params.append(query.run_id)
    if query.types is not None:
        sql += f" AND type IN ({', '.join('?' * len(query.types))})"
        params.extend(t.value for t in query.types)
    if query.since is not None:
        sql += " AND ts_us >= ?"
        params.append(_ts_us(query.since))
    if query.after is not None:
        sql += " AND seq > ?"
        params.append(query.after)
    if query.before is not None:
        sql += " AND seq < ?"
        params.append(query.before)
    sql += " ORDER BY seq"
    if query.limit is not None:
        sql += " LIMIT ?"
        params.append(query.limit)
    return [Event.from_dict(json.loads(r[0])) for r in conn.execute(sql, params)]
