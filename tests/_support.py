"""Small test doubles shared by the run_once and stream-session tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import trio

from trio_stream_session import Capability, Event, EventType, Run, Session, SessionError
from trio_stream_session.stores import AppendEventAppender
from trio_stream_session.testing import MockAdapter

USER_INPUT = {"messages": [{"role": "user", "content": "hello"}]}


class ScriptedAdapter:
    """An adapter that emits given event mappings, then returns or raises."""

    name = "scripted"

    def __init__(
        self,
        events: Sequence[Mapping[str, Any]] = (),
        *,
        result: Any = None,
        raises: BaseException | None = None,
        capabilities: Sequence[Capability] = (),
        model: str | None = None,
    ) -> None:
        self.events = list(events)
        self.result = result
        self.raises = raises
        self._capabilities = tuple(capabilities)
        self.sessions: list[Session] = []
        self.opts: list[dict[str, Any]] = []

    async def capabilities(self) -> Sequence[Capability]:
        await trio.lowlevel.checkpoint()
        return self._capabilities

    async def cancel(self, run_id: str) -> None:
        await trio.lowlevel.checkpoint()

    async def execute(self, run: Run, session: Session, *, emit: Any, **opts: Any) -> Any:
        self.sessions.append(session)
        self.opts.append(opts)
        for event in self.events:
            await emit(event)
        await trio.lowlevel.checkpoint()
        if self.raises is not None:
            raise self.raises
        if self.result is not None:
            return self.result
        return {"output": {"content": "ok"}, "token_usage": {"input_tokens": 1}, "events": []}


class FailingAppendStore:
    """Wraps an in-memory store; appending a ``message_received`` event fails."""

    def __init__(self, inner: Any, failing: EventType = EventType.MESSAGE_RECEIVED) -> None:
        self._inner = inner
        self._failing = failing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def appender(self, session_id: str, run_id: str | None = None, **kw: Any) -> Any:
        return AppendEventAppender(self, session_id, run_id, **kw)  # type: ignore[arg-type]

    async def append_event(self, event: Event) -> Event:
        if event.type is self._failing:
            await trio.lowlevel.checkpoint()
            raise SessionError("storage_write_failed", "simulated append failure")
        return await self._inner.append_event(event)


class StoreKillingAdapter(MockAdapter):
    """Closes the store mid-run, then fails: the failure cannot be recorded."""

    def __init__(self, store: Any) -> None:
        super().__init__()
        self._store = store

    async def execute(self, run: Run, session: Session, *, emit: Any, **opts: Any) -> Any:
        await self._store.aclose()
        raise SessionError("provider_unavailable", "Provider failed after store shutdown")
