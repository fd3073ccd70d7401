"""``RunRecorder``: what a run writes to its store about itself.

The base of :class:`~trio_stream_session._lifecycle.RunLifecycle`: the session
and run records as last written, the appenders of their lifecycle events, and
the recording of a run's outcome when it fails or is interrupted, as far as the
store allows (it never raises: a failure to record is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Final

import trio

from ._errors import ErrorCode, SessionError
from ._events import Event, EventType, utc_now
from ._models import Run, RunStatus, Session, SessionStatus
from ._ports import EventAppender, SessionStore
from ._provider_error import error_payload

__all__ = ["RECORD_TIMEOUT", "RunRecorder", "append_run_event_once"]

logger = logging.getLogger("trio_stream_session")

#: Seconds the shielded recording of a failed or interrupted run's outcome may take.
#: It is the library's, not ``shutdown_timeout``'s: the outcome is recorded whatever
#: the caller's shutdown budget (a store has its own timeouts within it).
RECORD_TIMEOUT: Final = 5.0

_INTERRUPTION: Final = {
    RunStatus.CANCELLED: (
        EventType.RUN_CANCELLED,
        SessionStatus.CANCELLED,
        EventType.SESSION_CANCELLED,
    ),
    RunStatus.TIMEOUT: (EventType.RUN_TIMEOUT, SessionStatus.FAILED, EventType.SESSION_FAILED),
}


async def append_run_event_once(
    store: SessionStore,
    append: EventAppender,
    run: Run,
    type: EventType,
    data: Mapping[str, Any],
) -> None:
    """Append a *type* event of *run* through *append*, unless the run already
    has one: the adapter, ``cancel_run``, the run's own cleanup and a recovery
    (in any process) may each report how the run ended."""
    if not await store.get_events(run.session_id, run_id=run.id, type=type):
        await append(type, utc_now(), data, {})


class RunRecorder:
    """The records of one run in *store*; see the module docstring."""

    def __init__(self, store: SessionStore, provider: str) -> None:
        self.store = store
        self.provider = provider
        self.session: Session | None = None
        self.run: Run | None = None
        #: A scope whose deadline is the stream's idle timeout: a cancellation
        #: once that deadline has passed is recorded as a timeout.
        self.timeout_scope: trio.CancelScope | None = None
        # The store's appenders of this session's and this run's new events, once known.
        self._session_append: EventAppender | None = None
        self._run_append: EventAppender | None = None

    @property
    def session_id(self) -> str | None:
        return None if self.session is None else self.session.id

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.id

    async def _append(self, type: EventType, data: Mapping[str, Any], *, run: bool) -> Event:
        """Append a lifecycle event of this session (and of its run, if *run*)."""
        append = self._run_append if run and self._run_append else self._session_append
        assert append is not None
        return await append(type, utc_now(), data, {})

    async def _set_session_status(self, status: SessionStatus) -> None:
        assert self.session is not None
        current = await self.store.get_session(self.session.id)
        session = current.with_status(status)
        await self.store.save_session(session)
        self.session = session

    async def _live_run(self) -> Run | None:
        """The stored run, unless it has already ended (``cancel_run`` may have ended it)."""
        if self.run is None:
            return None
        with suppress(SessionError):  # not stored yet: our own copy is the truth
            self.run = await self.store.get_run(self.run.id)
        return None if self.run.status.terminal else self.run

    async def _live_session(self) -> Session | None:
        if self.session is None:
            return None
        with suppress(SessionError):
            self.session = await self.store.get_session(self.session.id)
        return None if self.session.status.terminal else self.session

    async def _end_session(self, status: SessionStatus, event: EventType, data: Any) -> None:
        session = await self._live_session()
        if session is not None:
            self.session = session.with_status(status)
            await self.store.save_session(self.session)
            await self._append(event, data, run=False)

    async def _fail_session(self, error: SessionError) -> None:
        payload = error_payload(error, fallback_provider=self.provider)
        await self._end_session(SessionStatus.FAILED, EventType.SESSION_FAILED, payload)

    async def _record_failure(self, error: SessionError) -> None:
        """Record *error* as ``run_failed`` + ``session_failed`` (``cancelled`` as a
        cancellation), as far as the store allows; never raises (a store failure
        on the way is logged: the run's own error is what the caller sees)."""
        if error.code is ErrorCode.CANCELLED:
            await self._record_interruption(RunStatus.CANCELLED)
            return
        try:
            payload = error_payload(error, fallback_provider=self.provider)
            run = await self._live_run()
            if run is not None:
                error_map = {"code": error.code.value, "message": error.message}
                error_map.update(
                    {k: v for k, v in payload.items() if k in ("provider_error", "details")}
                )
                self.run = run.with_status(RunStatus.FAILED, error=error_map)
                await self.store.save_run(self.run)
                await self._append(EventType.RUN_FAILED, payload, run=True)
            await self._fail_session(error)
        except Exception as exc:
            logger.warning("could not record the failure of run %s: %s", self.run_id, exc)

    async def _record_interruption(self, status: RunStatus | None = None) -> None:
        """Record a cancelled (or timed-out) run and session; never raises."""
        status = status or self._interruption_status()
        run_event, session_status, session_event = _INTERRUPTION[status]
        reason = "timeout" if status is RunStatus.TIMEOUT else "cancelled"
        try:
            run = await self._live_run()
            if run is not None:
                self.run = run.with_status(status)
                await self.store.save_run(self.run)
                await self._append_once(run_event, {"reason": reason})
            data: dict[str, Any] = {"reason": reason}
            if session_event is EventType.SESSION_FAILED:
                data = {"error_code": "timeout", "error_message": "the run timed out"}
            await self._end_session(session_status, session_event, data)
        except Exception as exc:
            logger.warning("could not record the interruption of run %s: %s", self.run_id, exc)

    def _interruption_status(self) -> RunStatus:
        scope = self.timeout_scope
        if scope is not None and scope.deadline <= trio.current_time():
            return RunStatus.TIMEOUT
        return RunStatus.CANCELLED

    async def _append_once(self, type: EventType, data: Mapping[str, Any]) -> None:
        """Append a run event unless the run already has one of its type."""
        assert self.run is not None and self._run_append is not None
        await append_run_event_once(self.store, self._run_append, self.run, type, data)

    async def _earlier(self, type: EventType) -> list[Event]:
        """This run's stored events of *type*."""
        assert self.session is not None and self.run is not None
        return await self.store.get_events(self.session.id, run_id=self.run.id, type=type)
