"""The two ports: :class:`SessionStore` and :class:`ProviderAdapter`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeAlias, TypeGuard, runtime_checkable

from ._events import Event, EventType
from ._models import Capability, Run, RunStatus, Session, SessionStatus

__all__ = ["Emit", "EventAppender", "EventTypeFilter", "ProviderAdapter", "SessionStore"]

#: What an adapter calls for every event it produces: ``await emit({"type": ..., "data": {...}})``.
#: It returns the enriched, persisted event once the consumer side has taken it.
Emit: TypeAlias = Callable[[Mapping[str, Any]], Awaitable[Event]]
#: One event type, or a collection of them (any matches).
EventTypeFilter: TypeAlias = EventType | str | Collection[EventType | str]


class EventAppender(Protocol):
    """Appends the new events of one session (or of one run) to a store: the
    per-event path of every run, obtained once per run from
    :meth:`SessionStore.appender`.

    ``await append(type, timestamp, data, metadata)`` stores a new event (a
    fresh id, never a duplicate) with the session's next sequence number and
    returns the stored :class:`Event`. It returns only once the event is as
    durable as the store promises (a durable store: committed), is a
    cancellation point, and is atomic under cancellation. The store takes
    ownership of *data* and *metadata* (the caller passes private copies).
    """

    async def __call__(
        self,
        type: EventType,
        timestamp: datetime,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
    ) -> Event: ...


@runtime_checkable
class SessionStore(Protocol):
    """Where sessions, runs and events live.

    Every method is a cancellation point. Writes are atomic under
    cancellation: a cancelled call has either written everything or nothing.
    Missing records raise :class:`SessionError` (``session_not_found`` /
    ``run_not_found``); a closed or broken store raises ``SessionError`` with
    a storage code. Stores are async context managers (``async with store:``
    opens and closes them).

    Runs append their events through :meth:`appender` (one per run, see
    :class:`EventAppender`); a store with nothing better to do returns
    ``AppendEventAppender(self, ...)`` from ``trio_stream_session.stores``,
    which builds each event and calls :meth:`append_event`.
    """

    async def save_session(self, session: Session) -> None: ...
    async def get_session(self, session_id: str) -> Session: ...
    async def list_sessions(
        self,
        *,
        status: SessionStatus | str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]: ...
    async def delete_session(self, session_id: str) -> None: ...
    async def save_run(self, run: Run) -> None: ...
    async def get_run(self, run_id: str) -> Run: ...
    async def list_runs(
        self, session_id: str, *, status: RunStatus | str | None = None, limit: int | None = None
    ) -> list[Run]: ...
    async def get_active_run(self, session_id: str) -> Run | None: ...
    async def begin_run(self, session_id: str, run: Run) -> Session:
        """Start *run* in the existing session *session_id*, in one atomic step.

        Raises ``SessionError("session_not_found")`` for an unknown session and
        ``SessionError("session_busy")`` when the session has a run that is
        ``pending`` or ``running`` (in any process sharing the store). Otherwise
        saves *run* and the session moved to ``active`` (an ended session is
        resumed) and returns the session as saved.
        """
        ...

    def appender(
        self,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> EventAppender: ...
    async def append_event(self, event: Event) -> Event: ...
    async def append_events(self, events: Sequence[Event]) -> list[Event]: ...
    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None: ...
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
    ) -> list[Event]: ...
    async def get_latest_sequence(self, session_id: str) -> int: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class ProviderAdapter(Protocol):
    """A provider of agent runs (an API, a CLI, a mock).

    ``execute`` calls ``await emit(event_mapping)`` for every event, in order,
    and returns a mapping with ``output``, ``token_usage`` and ``events``; it
    raises :class:`SessionError` on failure. Adapters that hold resources
    (clients, processes) are also async context managers: the owned form of
    :func:`open_stream_session` enters and exits them.
    """

    @property
    def name(self) -> str: ...

    async def capabilities(self) -> Sequence[Capability]: ...

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> Mapping[str, Any]: ...

    async def cancel(self, run_id: str) -> None: ...


_CONFORMING: set[tuple[type, type]] = set()


def _conforms(obj: object, protocol: type) -> bool:
    """``isinstance(obj, protocol)`` for a runtime-checkable Protocol, cached per class.

    A Protocol ``isinstance`` calls ``hasattr`` for every member (6-7 us for
    ``SessionStore``, twice per session); a class that passed once is remembered.
    """
    key = (type(obj), protocol)
    if key in _CONFORMING:
        return True
    if isinstance(obj, protocol):
        _CONFORMING.add(key)
        return True
    return False


def is_session_store(obj: object) -> TypeGuard[SessionStore]:
    return _conforms(obj, SessionStore)


def is_provider_adapter(obj: object) -> TypeGuard[ProviderAdapter]:
    return _conforms(obj, ProviderAdapter)
