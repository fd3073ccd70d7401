"""One session's event log in memory, laid out so the cyclic GC skips it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._events import _BY_VALUE, Event, EventType, build_event
from ._query import EventQuery

__all__ = ["EventLog"]

#: The atomic fields of an event: id, type (its plain string), timestamp,
#: session_id, run_id, sequence_number, provider, correlation_id, schema_version.
_Row = tuple[str, str, datetime, str, str | None, int, str | None, str | None, int]


class EventLog:
    """The events of one session, in sequence order (sequence number = index + 1).

    Stored ``Event`` objects are GC-tracked, so the cyclic collector walks
    every one of them again each time the heap has grown by a quarter: a
    cost per event that grows with the log. Here an event is a tuple of
    atomic fields, which the collector stops tracking at its first
    collection, plus its ``data`` and ``metadata`` in two flat lists (a
    tuple holding a dict is never untracked). Events are rebuilt on read.
    """

    __slots__ = ("_data", "_metadata", "_rows")

    def __init__(self) -> None:
        self._rows: list[_Row] = []
        self._data: list[Mapping[str, Any]] = []
        self._metadata: list[Mapping[str, Any] | None] = []  # None: empty

    def __len__(self) -> int:
        return len(self._rows)

    def append(
        self,
        id: str,
        type: EventType,
        timestamp: datetime,
        session_id: str,
        run_id: str | None,
        provider: str | None,
        correlation_id: str | None,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
        schema_version: int = 1,
    ) -> int:
        """Store one event from valid parts; returns its sequence number."""
        seq = len(self._rows) + 1
        self._rows.append(
            (
                id,
                type._value_,
                timestamp,
                session_id,
                run_id,
                seq,
                provider,
                correlation_id,
                schema_version,
            )
        )
        self._data.append(data)
        self._metadata.append(metadata or None)
        return seq

    def append_event(self, event: Event) -> int:
        """Store *event* (which must have a session id); returns its sequence number."""
        assert event.session_id is not None
        return self.append(
            event.id,
            event.type,
            event.timestamp,
            event.session_id,
            event.run_id,
            event.provider,
            event.correlation_id,
            event.data,
            event.metadata,
            event.schema_version,
        )

    def event(self, index: int) -> Event:
        """The stored event at *index* (its sequence number minus one)."""
        row = self._rows[index]
        return build_event(
            row[0],
            _BY_VALUE[row[1]],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            self._data[index],
            self._metadata[index] or {},
            row[8],
        )

    def ids(self) -> list[str]:
        return [row[0] for row in self._rows]

    def query(self, query: EventQuery) -> list[Event]:
        """The events matching *query* (its ``session_id`` is not checked here)."""
        rows = self._rows
        # Sequence numbers are 1..n in order, so "after n" starts at index n.
        start = 0 if query.after is None else min(query.after, len(rows))
        found: list[Event] = []
        for index in range(start, len(rows)):
            row = rows[index]
            if query.before is not None and row[5] >= query.before:
                break
            if query.matches_fields(row[4], row[1], row[2], row[5]):
                found.append(self.event(index))
                if query.limit is not None and len(found) >= query.limit:
                    break
        return found
