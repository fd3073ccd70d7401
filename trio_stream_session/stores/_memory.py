"""The in-memory session store: the default, fast, and gone with the process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self

import trio

from .._errors import SessionError
from .._events import Event, EventType, build_event
from .._models import Run, RunStatus, Session, SessionStatus, resumed
from .._ports import EventAppender, EventTypeFilter
from ._eventlog import EventContext, EventLog, id_prefix
from ._longpoll import LongPoll
from ._query import EventQuery

__all__ = ["InMemorySessionStore"]

_checkpoint_if_cancelled: Final = trio.lowlevel.checkpoint_if_cancelled


class InMemorySessionStore:
    """A :class:`~trio_stream_session.SessionStore` in process memory.

    Every operation completes without blocking, so each one is atomic with
    respect to other tasks. Listing and event queries are full checkpoints;
    what a run does (saving and getting its session and run, ``flush``,
    appending events) is a cancellation point but not a schedule point, so a
    run adds no scheduler pass per operation (its own awaits provide them).
    ``delete_session`` also deletes
    the session's runs and events (the reference keeps them; we do not).

    Events are kept compactly (see ``EventLog``) and rebuilt on read, so a
    read returns equal but new ``Event`` objects. Events a run creates here
    get derived ids: ``evt_``, 24 random hex digits fixed per run, and the
    sequence number in decimal.

    >>> async def demo():
    ...     async with InMemorySessionStore() as store:
    ...         ...
    """

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._runs: dict[str, Run] = {}
        self._runs_by_session: dict[str, dict[str, None]] = {}
        self._events: dict[str, EventLog] = {}
        # Event id -> (session id, index), for append_event's duplicate check;
        # built when first needed (run_once's own appends never need it).
        self._by_id: dict[str, tuple[str, int]] | None = None
        self._long_poll = LongPoll()
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        events = sum(map(len, self._events.values()))
        counts = f"sessions={len(self._sessions)} events={events}"
        return f"<InMemorySessionStore {state} {counts}>"

    async def __aenter__(self) -> Self:
        self._check_open()
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
        """Close the store: later calls raise ``storage_connection_failed``;
        long-polling readers return ``[]``. Idempotent."""
        self._close_now()
        await trio.lowlevel.checkpoint()

    def _close_now(self) -> None:
        self._closed = True
        self._long_poll.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SessionError("storage_connection_failed", "the session store is closed")

    # -- sessions -----------------------------------------------------------------

    async def save_session(self, session: Session) -> None:
        await _checkpoint_if_cancelled()
        self._put_session(session)

    def _put_session(self, session: Session) -> None:
        self._check_open()
        if not isinstance(session, Session):
            raise SessionError(
                "validation_error", f"expected a Session, got {type(session).__name__}"
            )
        self._sessions[session.id] = session

    async def get_session(self, session_id: str) -> Session:
        await _checkpoint_if_cancelled()
        return self._session_now(session_id)

    def _session_now(self, session_id: str) -> Session:
        self._check_open()
        try:
            return self._sessions[session_id]
        except (KeyError, TypeError):
            raise SessionError("session_not_found", f"Session not found: {session_id}") from None

    async def list_sessions(
        self,
        *,
        status: SessionStatus | str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        await trio.lowlevel.checkpoint()
        self._check_open()
        wanted = None if status is None else SessionStatus(status)
        found = [
            s
            for s in self._sessions.values()
            if (wanted is None or s.status == wanted)
            and (agent_id is None or s.agent_id == agent_id)
        ]
        return found[:limit] if limit is not None else found

    async def delete_session(self, session_id: str) -> None:
        await trio.lowlevel.checkpoint()
        self._check_open()
        self._sessions.pop(session_id, None)
        for run_id in self._runs_by_session.pop(session_id, {}):
            self._runs.pop(run_id, None)
        log = self._events.pop(session_id, None)
        if self._by_id is not None and log is not None:
            for event_id in log.ids():
                self._by_id.pop(event_id, None)

    # -- runs ---------------------------------------------------------------------

    async def save_run(self, run: Run) -> None:
        await _checkpoint_if_cancelled()
        self._put_run(run)

    def _put_run(self, run: Run) -> None:
        self._check_open()
        if not isinstance(run, Run):
            raise SessionError("validation_error", f"expected a Run, got {type(run).__name__}")
        self._runs[run.id] = run
        self._runs_by_session.setdefault(run.session_id, {})[run.id] = None

    async def get_run(self, run_id: str) -> Run:
        await _checkpoint_if_cancelled()
        return self._run_now(run_id)

    def _run_now(self, run_id: str) -> Run:
        self._check_open()
        try:
            return self._runs[run_id]
        except (KeyError, TypeError):
            raise SessionError("run_not_found", f"Run not found: {run_id}") from None

    async def list_runs(
        self, session_id: str, *, status: RunStatus | str | None = None, limit: int | None = None
    ) -> list[Run]:
        await trio.lowlevel.checkpoint()
        self._check_open()
        wanted = None if status is None else RunStatus(status)
        runs = [self._runs[r] for r in self._runs_by_session.get(session_id, {})]
        found = [r for r in runs if wanted is None or r.status == wanted]
        return found[:limit] if limit is not None else found

    async def get_active_run(self, session_id: str) -> Run | None:
        await trio.lowlevel.checkpoint()
        self._check_open()
        for run_id in self._runs_by_session.get(session_id, {}):
            run = self._runs[run_id]
            if run.status == RunStatus.RUNNING:
                return run
        return None

    async def begin_run(self, session_id: str, run: Run) -> Session:
        """See :meth:`SessionStore.begin_run`; atomic (nothing here blocks)."""
        await _checkpoint_if_cancelled()
        session = self._session_now(session_id)
        runs = (self._runs[r] for r in self._runs_by_session.get(session_id, {}))
        session = resumed(session, runs, session_id)
        self._put_run(run)
        self._put_session(session)
        return session

    # -- events -------------------------------------------------------------------

    async def append_event(self, event: Event) -> Event:
        """Store *event* with the session's next sequence number and return the
        stored copy. An event whose id is already stored is not appended again:
        the originally stored event is returned."""
        await _checkpoint_if_cancelled()
        self._check_open()
        return self._append(event)

    def appender(
        self,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> EventAppender:
        """The :class:`~trio_stream_session.EventAppender` of one session (and run):
        no copy, no duplicate check (each event is new), ids derived from a
        fresh per-run prefix and the sequence number."""
        return _Appender(self, session_id, run_id, provider, correlation_id)

    def _index(self) -> dict[str, tuple[str, int]]:
        """Where each stored event id is, for the duplicate check of ``append_event``."""
        if self._by_id is None:
            self._by_id = {
                event_id: (session_id, index)
                for session_id, log in self._events.items()
                for index, event_id in enumerate(log.ids())
            }
        return self._by_id

    def _append(self, event: Event) -> Event:
        session_id = event.session_id if isinstance(event, Event) else None
        if not session_id:
            raise SessionError("validation_error", "events must be Event objects with a session_id")
        index = self._index()
        existing = index.get(event.id)
        if existing is not None:
            return self._events[existing[0]].event(existing[0], existing[1])
        log = self._events.get(session_id)
        if log is None:
            log = self._events[session_id] = EventLog()
        seq = log.append_event(event)
        index[event.id] = (session_id, seq - 1)
        self._long_poll.wake(session_id)
        return event.with_sequence(seq)

    @staticmethod
    def _validate_events(events: Sequence[Event]) -> None:
        if isinstance(events, str | bytes) or not isinstance(events, Sequence):
            raise SessionError("validation_error", "events must be a sequence of Event objects")
        for event in events:
            if not isinstance(event, Event) or not event.session_id:
                raise SessionError(
                    "validation_error", "events must be Event objects with a session_id"
                )

    async def append_events(self, events: Sequence[Event]) -> list[Event]:
        """Append *events* in order, all or nothing (every item is checked first)."""
        await _checkpoint_if_cancelled()
        self._check_open()
        self._validate_events(events)
        return [self._append(e) for e in events]

    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        """Atomically append *events* and save *session* and *run*.

        Everything is checked before anything is written, so an invalid item
        raises ``validation_error`` and leaves the store unchanged.
        """
        await _checkpoint_if_cancelled()
        self._flush_now(session, run, events)

    def _flush_now(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        self._check_open()
        if not isinstance(session, Session) or not isinstance(run, Run):
            raise SessionError(
                "validation_error", "invalid flush payload: need a Session and a Run"
            )
        self._validate_events(events)
        for event in events:
            self._append(event)
        self._sessions[session.id] = session
        self._put_run(run)

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
        """The session's events in sequence order, filtered.

        With ``wait > 0`` and nothing matching yet, blocks until a matching
        event is appended, *wait* seconds pass (returns ``[]``), or the store
        closes (returns ``[]``). Cancelling a waiting call leaves no trace.
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
        await trio.lowlevel.checkpoint()
        self._check_open()

        async def fetch() -> list[Event]:
            return self._query(query)

        return await self._long_poll.poll(session_id, fetch, query.wait)

    def _query(self, query: EventQuery) -> list[Event]:
        log = self._events.get(query.session_id)
        return [] if log is None else log.query(query)

    async def get_latest_sequence(self, session_id: str) -> int:
        await trio.lowlevel.checkpoint()
        self._check_open()
        log = self._events.get(session_id)
        return 0 if log is None else len(log)


class _Appender:
    """Appends the new events of one session (and run) to an in-memory store.

    For ``run_once``, which builds each event from valid parts: no copy, no
    duplicate check (the id is new), no checkpoint (the caller checkpoints).
    The fixed fields are bound once, and ``EventLog.append`` and
    ``build_event`` are inlined: this is the per-event path. A slotted object
    rather than a closure: two GC-tracked objects per appender, not a dozen.
    """

    __slots__ = (
        "_context",
        "_correlation_id",
        "_prefix",
        "_provider",
        "_run_id",
        "_session_id",
        "_store",
    )

    def __init__(
        self,
        store: InMemorySessionStore,
        session_id: str,
        run_id: str | None,
        provider: str | None,
        correlation_id: str | None,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._run_id = run_id
        self._provider = provider
        self._correlation_id = correlation_id
        self._prefix = id_prefix()
        self._context: EventContext = (run_id, provider, correlation_id, 1, self._prefix)

    async def __call__(
        self,
        type: EventType,
        timestamp: datetime,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Event:
        await _checkpoint_if_cancelled()
        store = self._store
        if store._closed:
            store._check_open()
        session_id = self._session_id
        log = store._events.get(session_id)
        if log is None:
            log = store._events[session_id] = EventLog()
        context = self._context
        if log._last_context is not context:
            log._begin(context)
        types = log._types
        index = len(types)
        types.append(type)
        log._times.append(timestamp)
        log._data.append(data)
        if metadata:
            log._metadata[index] = metadata
        seq = index + 1
        id = self._prefix + str(seq)
        if store._by_id is not None:
            store._by_id[id] = (session_id, index)
        if store._long_poll.waiters:
            store._long_poll.wake(session_id)
        return build_event(
            id,
            type,
            timestamp,
            session_id,
            self._run_id,
            seq,
            self._provider,
            self._correlation_id,
            data,
            metadata,
        )
