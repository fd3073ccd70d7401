"""The PostgreSQL store's statements: records encoded in, decoded out (blocking, one
connection, each call one round trip and one transaction unless it says otherwise)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from psycopg import sql

from .._errors import ErrorCode, SessionError
from .._events import Event
from .._models import Run, Session, resumed
from ._postgres_pool import Conn
from ._postgres_text import dumps, key, loads
from ._query import EventQuery

__all__ = ["Statements"]

_R = TypeVar("_R", Event, Run, Session)

#: A NOTIFY payload longer than this names no session: listeners wake every reader.
_MAX_PAYLOAD: Final = 7000


_PUT_SESSION: Final = (
    "INSERT INTO {s}.sessions (id, agent_id, status, record) VALUES (%s, %s, %s, %s::jsonb)"
    " ON CONFLICT (id) DO UPDATE SET"
    " agent_id = excluded.agent_id, status = excluded.status, record = excluded.record"
)
_PUT_RUN: Final = (
    "INSERT INTO {s}.runs (id, session_id, status, record) VALUES (%s, %s, %s, %s::jsonb)"
    " ON CONFLICT (id) DO UPDATE SET"
    " session_id = excluded.session_id, status = excluded.status, record = excluded.record"
)
_APPEND: Final = "SELECT o_seq, o_stored FROM {s}.append_events(%s::jsonb) ORDER BY o_ord"


def _load(kind: type[_R], text: str) -> _R:
    """A stored record; one that does not decode is a read failure."""
    try:
        return kind.from_dict(loads(text))
    except (ValueError, KeyError, TypeError, SessionError) as exc:
        raise SessionError(
            ErrorCode.STORAGE_READ_FAILED, f"a stored {kind.__name__} record is corrupt: {exc}"
        ) from exc


def _ordered(limit: int | None, params: list[Any]) -> str:
    """``ORDER BY pos`` (insertion order), with ``LIMIT`` when *limit* is set."""
    if limit is None:
        return " ORDER BY pos"
    params.append(int(limit))
    return " ORDER BY pos LIMIT %s"


def notify_payload(session_ids: set[str]) -> str:
    """What a NOTIFY says: the sessions appended to, as a JSON array (ASCII), or
    ``""`` (every session) when that would be too long."""
    payload = json.dumps(sorted(session_ids))
    return payload if len(payload) <= _MAX_PAYLOAD else ""


class Statements:
    """The SQL of one store's schema, composed once."""

    def __init__(self, schema: str, channel: str) -> None:
        s = sql.Identifier(schema)
        self.channel = channel

        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(s=s)

        self._put_session = q(_PUT_SESSION)
        self._put_run = q(_PUT_RUN)
        self._append = q(_APPEND)
        self._flush = q(f"WITH session AS ({_PUT_SESSION}), run AS ({_PUT_RUN}) {_APPEND}")
        self._delete = q(
            "WITH h AS (DELETE FROM {s}.heads WHERE session_id = %(id)s),"
            " e AS (DELETE FROM {s}.events WHERE session_id = %(id)s),"
            " r AS (DELETE FROM {s}.runs WHERE session_id = %(id)s)"
            " DELETE FROM {s}.sessions WHERE id = %(id)s"
        )
        self._latest = q("SELECT seq FROM {s}.heads WHERE session_id = %s")
        self._events = q("SELECT seq, record::text FROM {s}.events WHERE session_id = %s")
        self._schema = s

    # -- sessions and runs -------------------------------------------------------------

    @staticmethod
    def _session_row(session: Session) -> tuple[Any, ...]:
        return (
            key(session.id),
            key(session.agent_id),
            session.status.value,
            dumps(session.to_dict()),
        )

    @staticmethod
    def _run_row(run: Run) -> tuple[Any, ...]:
        return (key(run.id), key(run.session_id), run.status.value, dumps(run.to_dict()))

    def put_session(self, conn: Conn, session: Session) -> None:
        conn.execute(self._put_session, self._session_row(session))

    def put_run(self, conn: Conn, run: Run) -> None:
        conn.execute(self._put_run, self._run_row(run))

    def _records(
        self, conn: Conn, kind: type[_R], table: str, where: str, params: Sequence[Any]
    ) -> list[_R]:
        """The decoded records of ``SELECT record FROM <table> WHERE <where>``."""
        query = sql.SQL("SELECT record::text FROM {}.{} WHERE ").format(
            self._schema, sql.Identifier(table)
        ) + sql.SQL(where)
        return [_load(kind, row[0]) for row in conn.execute(query, params)]

    def sessions(
        self, conn: Conn, status: str | None, agent_id: str | None, limit: int | None
    ) -> list[Session]:
        where, params = "true", []
        if status is not None:
            where += " AND status = %s"
            params.append(status)
        if agent_id is not None:
            where += " AND agent_id = %s"
            params.append(key(agent_id))
        return self._records(conn, Session, "sessions", where + _ordered(limit, params), params)

    def session(self, conn: Conn, session_id: str) -> list[Session]:
        return self._records(conn, Session, "sessions", "id = %s", [key(session_id)])

    def runs(self, conn: Conn, session_id: str, status: str | None, limit: int | None) -> list[Run]:
        where, params = "session_id = %s", [key(session_id)]
        if status is not None:
            where += " AND status = %s"
            params.append(status)
        return self._records(conn, Run, "runs", where + _ordered(limit, params), params)

    def run(self, conn: Conn, run_id: str) -> list[Run]:
        return self._records(conn, Run, "runs", "id = %s", [key(run_id)])

    def begin_run(self, conn: Conn, session_id: str, run: Run) -> Session:
        """Save *run* and its session made active, unless the session is missing or
        busy: one transaction, holding the session's row lock throughout."""
        with conn.transaction():
            found = self._records(
                conn, Session, "sessions", "id = %s FOR UPDATE", [key(session_id)]
            )
            if not found:
                raise SessionError("session_not_found", f"Session not found: {session_id}")
            busy = self._records(
                conn,
                Run,
                "runs",
                "session_id = %s AND status IN ('pending', 'running')",
                [key(session_id)],
            )
            session = resumed(found[0], busy, session_id)
            self.put_run(conn, run)
            self.put_session(conn, session)
        return session

    def delete_session(self, conn: Conn, session_id: str) -> None:
        conn.execute(self._delete, {"id": key(session_id)})

    # -- events ------------------------------------------------------------------------

    @staticmethod
    def _batch(events: Sequence[Event]) -> str:
        return "[" + ",".join(dumps(e.to_dict()) for e in events) + "]"

    @staticmethod
    def _stored(events: Sequence[Event], rows: list[tuple[Any, ...]]) -> list[Event]:
        return [
            event.with_sequence(seq) if found is None else _load(Event, found)
            for event, (seq, found) in zip(events, rows, strict=True)
        ]

    def append(self, conn: Conn, events: Sequence[Event]) -> list[Event]:
        """Append *events* in order (one transaction); the stored events."""
        return self._stored(events, conn.execute(self._append, (self._batch(events),)).fetchall())

    def flush(self, conn: Conn, session: Session, run: Run, events: Sequence[Event]) -> None:
        """Save *session* and *run* and append *events*, in one statement (one transaction)."""
        params = (*self._session_row(session), *self._run_row(run), self._batch(events))
        conn.execute(self._flush, params).fetchall()

    def notify(self, conn: Conn, session_ids: set[str]) -> None:
        """Tell other processes' listeners which sessions have new events.

        Its own small transaction with ``synchronous_commit`` off: a NOTIFY takes a
        database-wide lock at commit, held here for no WAL flush (an append's own
        commit never waits on it). One simple-protocol query, one round trip.
        """
        conn.execute(
            sql.SQL(
                "BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_notify({}, {}); COMMIT"
            ).format(sql.Literal(self.channel), sql.Literal(notify_payload(session_ids)))
        )

    def latest_sequence(self, conn: Conn, session_id: str) -> int:
        row = conn.execute(self._latest, (key(session_id),)).fetchone()
        return int(row[0]) if row else 0

    def events(self, conn: Conn, query: EventQuery) -> list[Event]:
        parts: list[sql.Composable] = [self._events]
        params: list[Any] = [key(query.session_id)]
        if query.run_id is not None:
            parts.append(sql.SQL(" AND run_id = %s"))
            params.append(key(query.run_id))
        if query.types is not None:
            parts.append(sql.SQL(" AND type = ANY (%s)"))
            params.append([t.value for t in query.types])
        for clause, value in (
            (" AND ts >= %s", query.since),
            (" AND seq > %s", query.after),
            (" AND seq < %s", query.before),
        ):
            if value is not None:
                parts.append(sql.SQL(clause))
                params.append(value)
        parts.append(sql.SQL(" ORDER BY seq"))
        if query.limit is not None:
            parts.append(sql.SQL(" LIMIT %s"))
            params.append(query.limit)
        rows = conn.execute(sql.Composed(parts), params).fetchall()
        return [_load(Event, text) for _, text in rows]
