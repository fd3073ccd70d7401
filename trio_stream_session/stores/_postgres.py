"""The PostgreSQL session store: sessions shared by processes on many machines.

psycopg (the ``trio_stream_session[postgres]`` extra) is imported when a store
is constructed, not when this module is: ``import trio_stream_session`` works
without it, and constructing a store without it raises an ``ImportError``
naming the extra.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import trio

from .._errors import ErrorCode, SessionError
from .._events import Event
from .._models import Run, RunStatus, Session, SessionStatus
from .._ports import EventAppender, EventTypeFilter
from ._appender import AppendEventAppender
from ._query import EventQuery
from ._sqlite_rows import validate_events

if TYPE_CHECKING:
    from ._group_commit import GroupCommit, Write
    from ._postgres_listen import Listener
    from ._postgres_pool import Conn, Pool
    from ._postgres_rows import Statements

__all__ = ["PostgresSessionStore", "describe_dsn"]

_T = TypeVar("_T")
_READ: Final = ErrorCode.STORAGE_READ_FAILED
_WRITE: Final = ErrorCode.STORAGE_WRITE_FAILED
_EXTRA_HINT: Final = (
    "PostgresSessionStore needs psycopg 3: pip install 'trio_stream_session[postgres]'"
)


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ImportError(_EXTRA_HINT, name="psycopg") from exc


def describe_dsn(dsn: str) -> str:
    """*dsn* as ``postgresql://user@host:port/dbname``: safe to print (no password,
    no other parameters). ``ValueError`` (never quoting *dsn*) if it is malformed;
    ``ImportError`` naming the extra without psycopg."""
    _require_psycopg()
    from ._postgres_pool import describe_dsn as describe

    return describe(dsn)


class _Append:
    """One caller's append in a group-commit batch (which runs all in one statement)."""

    __slots__ = ("events", "statements")

    def __init__(self, statements: Statements, events: Sequence[Event]) -> None:
        self.statements = statements
        self.events = events

    def __call__(self, conn: Conn) -> list[Event]:
        return self.statements.append(conn, self.events)


def _events_of(write: Write[Conn, Any]) -> Sequence[Event]:
    assert isinstance(write.apply, _Append)
    return write.apply.events


class PostgresSessionStore:
    """A :class:`~trio_stream_session.SessionStore` in a PostgreSQL database, shared
    by every process (on any machine) that opens the same *dsn* and *schema*.

    Each call runs its statements in a worker thread on one of at most
    *pool_size* connections (psycopg 3, the sync driver: no async driver runs
    under Trio). Each write is one transaction, committed before the call
    returns. Appends from many tasks are batched (group commit): those that
    arrive while a commit is in flight go together in the next one, each
    acknowledged once its transaction has committed. Sequence numbers are
    assigned in the database (a head row per session, locked by the appending
    transaction), so they are gap-free whatever the number of writers, and
    sequence N+1 is never visible before N. An event id already stored is not
    appended again: the stored event is returned.

    ``get_events(wait=...)`` wakes at once on this store's appends and, by
    LISTEN/NOTIFY, within milliseconds on any other process's (one NOTIFY per
    committed batch); readers also re-check every *poll_interval* seconds.

    Every statement is bounded (*statement_timeout*, *lock_timeout*; a
    connection attempt by *connect_timeout*; TCP keepalives notice a vanished
    server). A cancelled call waits for its statement, so it has written all
    or nothing, and no connection goes back to the pool mid-transaction. A
    connection found broken (the server restarted) is replaced and the call
    tried once more; every write is idempotent, so nothing is applied twice.
    Failures are :class:`~trio_stream_session.SessionError`: ``storage_connection_failed``
    (no server, wrong DSN, lost connection; the message names
    ``postgresql://user@host:port/dbname``, never the password),
    ``storage_read_failed`` / ``storage_write_failed`` (``details["sqlstate"]``),
    ``migration_required`` (the schema is newer than this library).

    The schema is created, or migrated, on ``async with`` (or the first call).
    Text reads back as it was given, lone surrogates and NUL included (see
    ``_postgres_text``); ``jsonb`` keeps no object key order. Tests need the
    real clock (worker threads confuse an autojump ``MockClock``).
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "trio_stream_session",
        pool_size: int = 4,
        connect_timeout: float = 5.0,
        statement_timeout: float = 30.0,
        lock_timeout: float = 10.0,
        poll_interval: float = 1.0,
    ) -> None:
        _require_psycopg()
        from ._group_commit import GroupCommit
        from ._postgres_listen import Listener
        from ._postgres_pool import ConnectSettings, Pool
        from ._postgres_rows import Statements
        from ._postgres_schema import check_schema_name

        self.schema = check_schema_name(schema)
        settings = ConnectSettings.build(
            dsn,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
            lock_timeout=lock_timeout,
        )
        channel = f"{schema}.events"
        self._display = settings.display
        self._pool: Pool = Pool(settings, pool_size)
        self._sql: Statements = Statements(schema, channel)
        self._listener: Listener = Listener(settings, channel, poll_interval)
        self._appends: GroupCommit[Conn] = GroupCommit(self._commit)
        self._unannounced: set[str] = set()
        self._announcing = False
        self._appending = 0  # append calls in progress
        self._open_lock = trio.Lock()
        self._opened = False
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._opened else "unopened"
        return f"<PostgresSessionStore {self._display} schema={self.schema!r} {state}>"

    async def __aenter__(self) -> Self:
        try:
            await self._open()
        except BaseException:
            await self.aclose()  # no __aexit__ follows a failed __aenter__
            raise
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
        """Close every connection; idempotent. Long-polling readers return ``[]``."""
        self._closed = True
        await self._listener.aclose()
        await self._pool.aclose()
        await trio.lowlevel.checkpoint()

    # -- plumbing -------------------------------------------------------------------------

    async def _open(self) -> None:
        if self._closed:
            raise SessionError("storage_connection_failed", "the session store is closed")
        if not self._opened:
            from ._postgres_schema import migrate

            async with self._open_lock:
                if not self._opened:
                    schema = self.schema
                    await self._pool.run(
                        ErrorCode.STORAGE_CONNECTION_FAILED, lambda conn: migrate(conn, schema)
                    )
                    self._opened = True

    async def _run(self, code: ErrorCode, fn: Callable[[Conn], _T]) -> _T:
        await self._open()
        return await self._pool.run(code, fn)

    async def _commit(self, writes: Sequence[Write[Conn, Any]]) -> None:
        """Commit a batch of the group commit: all its events in one statement; with
        no other append waiting, its NOTIFY in the same worker-thread hop."""
        names = {e.session_id for w in writes for e in _events_of(w) if e.session_id}
        alone = self._appending == len(writes) and not self._unannounced
        await self._run(_WRITE, lambda conn: self._append_batch(conn, writes, names, alone))
        self._listener.wake(names)
        if not alone:
            self._unannounced |= names

    def _append_batch(
        self, conn: Conn, writes: Sequence[Write[Conn, Any]], names: set[str], alone: bool
    ) -> None:
        stored = self._sql.append(conn, [e for w in writes for e in _events_of(w)])
        start = 0
        for write in writes:
            end = start + len(_events_of(write))
            write.succeed(stored[start:end])
            start = end
        if alone:
            self._notify(conn, names)

    def _notify(self, conn: Conn, names: set[str]) -> None:
        import psycopg

        with contextlib.suppress(psycopg.Error):  # readers' polls find the events anyway
            self._sql.notify(conn, names)

    async def _announce(self) -> None:
        """NOTIFY the sessions appended to since the last NOTIFY, after the appends
        were acknowledged. One task sends at a time, again while more accumulate:
        under load one NOTIFY covers many commits."""
        if self._announcing or not self._unannounced:
            return
        self._announcing = True
        try:
            with trio.CancelScope(shield=True):
                while self._unannounced and not self._closed:
                    names, self._unannounced = self._unannounced, set()
                    with contextlib.suppress(SessionError):
                        await self._pool.run(_WRITE, partial(self._notify, names=names))
        finally:
            self._announcing = False

    # -- sessions and runs ------------------------------------------------------------------

    async def save_session(self, session: Session) -> None:
        if not isinstance(session, Session):
            raise SessionError(
                "validation_error", f"expected a Session, got {type(session).__name__}"
            )
        await self._run(_WRITE, lambda conn: self._sql.put_session(conn, session))

    async def get_session(self, session_id: str) -> Session:
        found = await self._run(_READ, lambda conn: self._sql.session(conn, session_id))
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
        wanted = None if status is None else SessionStatus(status).value
        return await self._run(
            _READ, lambda conn: self._sql.sessions(conn, wanted, agent_id, limit)
        )

    async def delete_session(self, session_id: str) -> None:
        await self._run(_WRITE, lambda conn: self._sql.delete_session(conn, session_id))

    async def save_run(self, run: Run) -> None:
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")
        await self._run(_WRITE, lambda conn: self._sql.put_run(conn, run))

    async def get_run(self, run_id: str) -> Run:
        found = await self._run(_READ, lambda conn: self._sql.run(conn, run_id))
        if not found:
            raise SessionError("run_not_found", f"Run not found: {run_id}")
        return found[0]

    async def list_runs(
        self, session_id: str, *, status: RunStatus | str | None = None, limit: int | None = None
    ) -> list[Run]:
        wanted = None if status is None else RunStatus(status).value
        return await self._run(_READ, lambda conn: self._sql.runs(conn, session_id, wanted, limit))

    async def begin_run(self, session_id: str, run: Run) -> Session:
        """See :meth:`SessionStore.begin_run`: one transaction holding the session's
        row lock, so processes racing to continue a session start one run."""
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")
        return await self._run(_WRITE, lambda conn: self._sql.begin_run(conn, session_id, run))

    async def get_active_run(self, session_id: str) -> Run | None:
        running = await self.list_runs(session_id, status=RunStatus.RUNNING, limit=1)
        return running[0] if running else None

    # -- events -----------------------------------------------------------------------------

    def appender(
        self,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> EventAppender:
        """The :class:`~trio_stream_session.EventAppender` of a run: each event goes
        through :meth:`append_event`, so through the group commit."""
        return AppendEventAppender(
            self, session_id, run_id, provider=provider, correlation_id=correlation_id
        )

    async def append_event(self, event: Event) -> Event:
        """Store *event* with the session's next sequence number, once committed; a
        duplicate id returns the event as first stored."""
        [stored] = await self.append_events([event])
        return stored

    async def append_events(self, events: Sequence[Event]) -> list[Event]:
        """Append *events* in order, all in one transaction (all or nothing)."""
        validate_events(events)
        if not events:
            await trio.lowlevel.checkpoint()
            return []
        await self._open()
        self._appending += 1
        try:
            result: list[Event] = await self._appends.submit(_Append(self._sql, events))
        finally:
            self._appending -= 1
        await self._announce()
        return result

    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        """Atomically append *events* and save *session* and *run* (one statement)."""
        if not isinstance(session, Session) or not isinstance(run, Run):
            raise SessionError(
                "validation_error", "invalid flush payload: need a Session and a Run"
            )
        validate_events(events)

        names = {e.session_id for e in events if e.session_id}

        def flush(conn: Conn) -> None:
            self._sql.flush(conn, session, run, events)
            if names:
                self._notify(conn, names)

        await self._run(_WRITE, flush)
        self._listener.wake(names)

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
        matching append by any process. Cancelling a waiting call leaves no trace.
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

        async def fetch() -> list[Event]:
            return await self._run(_READ, lambda conn: self._sql.events(conn, query))

        if query.wait == 0:
            return await fetch()
        await self._open()
        return await self._listener.poll(session_id, fetch, query.wait)

    async def get_latest_sequence(self, session_id: str) -> int:
        return await self._run(_READ, lambda conn: self._sql.latest_sequence(conn, session_id))
