"""The SQLite store's rows: records encoded in, decoded out, and the statements on them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from .._errors import ErrorCode, SessionError
from .._events import Event
from .._models import Run, Session
from ._query import EventQuery
from ._sqlite_file import execute

__all__ = [
    "latest_sequence",
    "put_run",
    "put_session",
    "records",
    "select_events",
    "store_events",
    "validate_events",
]

_R = TypeVar("_R", Event, Run, Session)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _ts_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _dumps(record: Mapping[str, Any]) -> str:
    # ASCII JSON (``ensure_ascii``, the default): text SQLite cannot hold as
    # UTF-8 (lone surrogates) becomes a ``\udXXX`` escape and reads back as
    # the same ``str``. Non-ASCII text costs up to twice its UTF-8 size.
    return json.dumps(record, separators=(",", ":"))


def _load(kind: type[_R], text: str) -> _R:
    """A stored record; a record that does not decode is a read failure."""
    try:
        return kind.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError, SessionError) as exc:
        raise SessionError(
            ErrorCode.STORAGE_READ_FAILED, f"a stored {kind.__name__} record is corrupt: {exc}"
        ) from exc


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
            _dumps(stored.to_dict()),
        ),
    )


def validate_events(events: Sequence[Event]) -> None:
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise SessionError("validation_error", "events must be a sequence of Event objects")
    for event in events:
        if not isinstance(event, Event) or not event.session_id:
            raise SessionError("validation_error", "events must be Event objects with a session_id")


def records(conn: sqlite3.Connection, kind: type[_R], where: str, params: list[Any]) -> list[_R]:
    """The decoded records of ``SELECT record FROM {where}``."""
    return [_load(kind, row[0]) for row in execute(conn, f"SELECT record FROM {where}", params)]


def latest_sequence(conn: sqlite3.Connection, session_id: str) -> int:
    sql = "SELECT coalesce(max(seq), 0) FROM events WHERE session_id = ?"
    latest: int = execute(conn, sql, (session_id,)).fetchone()[0]
    return latest


def store_events(conn: sqlite3.Connection, events: Sequence[Event]) -> list[Event]:
    stored: list[Event] = []
    for event in events:
        row = execute(conn, "SELECT record FROM events WHERE id = ?", (event.id,)).fetchone()
        if row is not None:  # a duplicate: the event as first stored
            stored.append(_load(Event, row[0]))
            continue
        new, values = _event_row(event, latest_sequence(conn, event.session_id or "") + 1)
        execute(conn, "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", values)
        stored.append(new)
    return stored


def put_session(conn: sqlite3.Connection, session: Session) -> None:
    execute(
        conn,
        "INSERT INTO sessions (id, agent_id, status, record) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET agent_id = excluded.agent_id,"
        " status = excluded.status, record = excluded.record",
        (session.id, session.agent_id, session.status.value, _dumps(session.to_dict())),
    )


def put_run(conn: sqlite3.Connection, run: Run) -> None:
    execute(
        conn,
        "INSERT INTO runs (id, session_id, status, record) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id,"
        " status = excluded.status, record = excluded.record",
        (run.id, run.session_id, run.status.value, _dumps(run.to_dict())),
    )


def select_events(conn: sqlite3.Connection, query: EventQuery) -> list[Event]:
    sql = "events WHERE session_id = ?"
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
    return records(conn, Event, sql, params)
