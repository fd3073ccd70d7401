"""The :class:`~trio_stream_session.EventAppender` of a store that has only ``append_event``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, final

from .._events import Event, EventType, build_event, new_id
from .._ports import SessionStore

__all__ = ["AppendEventAppender"]


@final
class AppendEventAppender:
    """``store.appender(...)`` for a store whose ``append_event`` is its best
    append: each call builds the event and awaits ``append_event``.

    A durable store batches concurrent ``append_event`` calls into one
    transaction (group commit) behind it; see ``SQLiteSessionStore``.
    """

    __slots__ = ("_correlation_id", "_provider", "_run_id", "_session_id", "_store")

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._run_id = run_id
        self._provider = provider
        self._correlation_id = correlation_id

    async def __call__(
        self,
        type: EventType,
        timestamp: datetime,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Event:
        event = build_event(
            new_id("evt"),
            type,
            timestamp,
            self._session_id,
            self._run_id,
            None,
            self._provider,
            self._correlation_id,
            data,
            metadata,
        )
        return await self._store.append_event(event)
