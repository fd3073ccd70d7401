"""One session's event log in memory: compact, and invisible to the cyclic GC."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .._events import Event, EventType, _randbits, build_event
from ._query import EventQuery

__all__ = ["EventContext", "EventLog", "id_prefix"]

#: What consecutive events of a run share: run_id, provider, correlation_id,
#: schema_version, and the prefix of their ids (None: ids stored one by one).
EventContext = tuple[str | None, str | None, str | None, int, str | None]


def id_prefix() -> str:
    """A fresh prefix for derived event ids: ``evt_`` and 24 random hex digits.

    An event appended under a context with a prefix gets the id ``prefix +
    its sequence number in decimal`` (e.g. ``evt_3f0c...9a17``): unique as
    long as prefixes are (96 random bits each), cheap to make, and not stored.
    """
    return "evt_" + _randbits(96).to_bytes(12, "big").hex()


class EventLog:
    """The events of one session, in sequence order (sequence number = index + 1).

    Kept as columns rather than as ``Event`` objects: a stored ``Event`` is
    a GC-tracked object of about 120 bytes that the cyclic collector walks
    again every time the heap grows by a quarter, so both the memory and the
    collector's work grew with the log. Here an event costs one slot in each
    of three lists (type, timestamp, data) plus the objects themselves; the
    fields a run's events share are stored once per stretch of events (an
    :data:`EventContext`), ids only where they are not derived from the
    context's prefix and the sequence number, and ``metadata`` only where it
    is not empty. Events are rebuilt on read.
    """

    __slots__ = (
        "_context_starts",
        "_contexts",
        "_custom_ids",
        "_data",
        "_last_context",
        "_metadata",
        "_times",
        "_types",
    )

    def __init__(self) -> None:
        self._custom_ids: dict[int, str] = {}  # index -> id, where not derived
        self._types: list[EventType] = []
        self._times: list[datetime] = []
        self._data: list[Mapping[str, Any]] = []
        self._metadata: dict[int, Mapping[str, Any]] = {}  # index -> non-empty metadata
        self._contexts: list[EventContext] = []
        self._last_context: EventContext | None = None
        self._context_starts: list[int] = []  # index of each context's first event

    def __len__(self) -> int:
        return len(self._types)

    def append(
        self,
        type: EventType,
        timestamp: datetime,
        context: EventContext,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
        id: str | None = None,
    ) -> int:
        """Store one event from valid parts; returns its sequence number.

        Pass the same *context* object for a run's events: a new stretch
        starts only when it differs from the last one. Without *id*, the id
        is derived (the context must have a prefix): see :meth:`id`.
        """
        index = len(self._types)
        last = self._last_context
        if last is not context and last != context:
            self._begin(context)
        if id is not None:
            self._custom_ids[index] = id
        self._types.append(type)
        self._times.append(timestamp)
        self._data.append(data)
        if metadata:
            self._metadata[index] = metadata
        return index + 1

    def _begin(self, context: EventContext) -> None:
        """Start a stretch of events under *context* at the next index."""
        self._context_starts.append(len(self._types))
        self._contexts.append(context)
        self._last_context = context

    def append_event(self, event: Event) -> int:
        """Store *event*; returns its sequence number."""
        context = (event.run_id, event.provider, event.correlation_id, event.schema_version, None)
        return self.append(
            event.type, event.timestamp, context, event.data, event.metadata, event.id
        )

    def _context(self, index: int) -> EventContext:
        return self._contexts[bisect_right(self._context_starts, index) - 1]

    def event(self, session_id: str, index: int, context: EventContext | None = None) -> Event:
        """The stored event at *index* (its sequence number minus one)."""
        context = context or self._context(index)
        run_id, provider, correlation_id, schema_version, _ = context
        return build_event(
            self.id(index, context),
            self._types[index],
            self._times[index],
            session_id,
            run_id,
            index + 1,
            provider,
            correlation_id,
            self._data[index],
            self._metadata.get(index) or {},
            schema_version,
        )

    def id(self, index: int, context: EventContext | None = None) -> str:
        """The id of the event at *index*."""
        custom = self._custom_ids.get(index)
        if custom is not None:
            return custom
        prefix = (context or self._context(index))[4]
        assert prefix is not None
        return prefix + str(index + 1)

    def ids(self) -> list[str]:
        return [self.id(index) for index in range(len(self._types))]

    def query(self, query: EventQuery) -> list[Event]:
        """The events matching *query* (its ``session_id`` names this log)."""
        count = len(self._types)
        # Sequence numbers are 1..n in order, so "after n" starts at index n.
        start = 0 if query.after is None else min(query.after, count)
        end = count if query.before is None else min(max(query.before - 1, start), count)
        found: list[Event] = []
        if start >= end:
            return found
        starts = self._context_starts
        which = bisect_right(starts, start) - 1
        following = starts[which + 1] if which + 1 < len(starts) else count
        types, times = self._types, self._times
        for index in range(start, end):
            if index >= following:
                which += 1
                following = starts[which + 1] if which + 1 < len(starts) else count
            context = self._contexts[which]
            if query.matches(context[0], types[index], times[index], index + 1):
                found.append(self.event(query.session_id, index, context))
                if query.limit is not None and len(found) >= query.limit:
                    break
        return found
