"""Validated event queries, shared by every store."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from .._errors import SessionError
from .._events import EventType
from .._ports import EventTypeFilter

__all__ = ["EventQuery"]


def _check_seq(name: str, value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise SessionError("validation_error", f"{name} must be an integer >= 0, got {value!r}")
    return value


def _check_types(value: EventTypeFilter | None) -> frozenset[EventType] | None:
    if value is None:
        return None
    items: Collection[object] = [value] if isinstance(value, str) else value
    if not isinstance(items, Collection):
        raise SessionError(
            "validation_error", f"type must be an event type or a collection of them, got {value!r}"
        )
    types = set()
    for item in items:
        resolved = EventType.resolve(item)
        if resolved is None:
            raise SessionError("invalid_event_type", f"Invalid event type: {item!r}")
        types.add(resolved)
    return frozenset(types)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The filters of ``SessionStore.get_events``, checked once.

    ``since`` is inclusive (``timestamp >= since``); ``after``/``before`` are
    exclusive bounds on ``sequence_number``; ``limit`` keeps the first N.
    """

    session_id: str
    run_id: str | None = None
    types: frozenset[EventType] | None = None
    since: datetime | None = None
    after: int | None = None
    before: int | None = None
    limit: int | None = None
    wait: float = 0.0

    @classmethod
    def build(
        cls,
        session_id: str,
        *,
        run_id: str | None = None,
        type: EventTypeFilter | None = None,
        since: datetime | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
        wait: float = 0.0,
    ) -> EventQuery:
        if not isinstance(session_id, str) or not session_id:
            raise SessionError("validation_error", "session_id must be a non-empty string")
        if run_id is not None and not isinstance(run_id, str):
            raise SessionError("validation_error", f"run_id must be a string, got {run_id!r}")
        if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
            raise SessionError("validation_error", "since must be an aware datetime")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise SessionError("validation_error", f"limit must be an integer >= 1, got {limit!r}")
        if (
            not isinstance(wait, int | float)
            or isinstance(wait, bool)
            or math.isnan(wait)
            or wait < 0
        ):
            raise SessionError(
                "validation_error", f"wait must be a number of seconds >= 0, got {wait!r}"
            )
        return cls(
            session_id,
            run_id,
            _check_types(type),
            since,
            _check_seq("after", after),
            _check_seq("before", before),
            limit,
            float(wait),
        )

    def matches(self, run_id: str | None, type: str, timestamp: datetime, seq: int) -> bool:
        """Whether an event with these fields passes the filters."""
        if self.run_id is not None and run_id != self.run_id:
            return False
        if self.types is not None and type not in self.types:
            return False
        if self.since is not None and timestamp < self.since:
            return False
        if self.after is not None and seq <= self.after:
            return False
        return not (self.before is not None and seq >= self.before)
