"""``RunLifecycle``: one run of an adapter in a session, every event persisted in order.

Persisted order of a successful run (reference §2.7)::

    session_created, session_started, message_sent*, <adapter events>,
    session_completed

A failed run ends ``..., run_failed, session_failed``; a cancelled one
``..., run_cancelled, session_cancelled``; one ended by the stream's idle
timeout ``..., run_timeout, session_failed``. ``run_once`` and the stream
sessions both drive a run through this class; it talks to the store only
through the :class:`~trio_stream_session.SessionStore` port.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import trio

from ._errors import SessionError
from ._events import Event, EventType
from ._input import input_messages
from ._models import (
    Run,
    RunStatus,
    Session,
    SessionStatus,
    negotiate_capabilities,
    run_owner,
)
from ._normalize import normalize
from ._options import EXECUTE_GRACE, RunOptions, execute_timeout
from ._outcome import RECORD_TIMEOUT, RunRecorder
from ._ports import ProviderAdapter, SessionStore
from ._redact import redact_value_async
from ._run_result import RunResult, completed_records
from ._transcript import build_transcript

__all__ = ["RECORD_TIMEOUT", "RunLifecycle", "RunResult"]

logger = logging.getLogger("trio_stream_session")
_cancel_shielded_checkpoint: Final = trio.lowlevel.cancel_shielded_checkpoint
# Compared by identity on the per-event path (hashing an enum member calls Python code).
_RUN_STARTED: Final = EventType.RUN_STARTED
_RUN_COMPLETED: Final = EventType.RUN_COMPLETED
_RUN_CANCELLED: Final = EventType.RUN_CANCELLED


def adapter_name(adapter: object) -> str:
    """The adapter's ``name``, or ``SessionError("validation_error")`` for a non-adapter."""
    name = None if isinstance(adapter, type) else getattr(adapter, "name", None)
    if not callable(getattr(adapter, "execute", None)) or not isinstance(name, str) or not name:
        raise SessionError(
            "validation_error",
            "adapter must be a ProviderAdapter with a non-empty name and execute(), "
            f"got {adapter!r}",
        )
    return name


class RunLifecycle(RunRecorder):
    """The state of one ``run_once`` call; :class:`StreamSession` watches it.

    ``session``/``run`` are the latest records written; a cancellation is
    recorded as ``cancelled``, or as ``timeout`` once the deadline of
    :attr:`timeout_scope` (the stream's idle timeout) has passed.
    """

    def __init__(
        self,
        store: SessionStore,
        adapter: ProviderAdapter,
        input: Mapping[str, Any],
        options: RunOptions,
    ) -> None:
        """*input* and *options* are already checked (``check_input``, ``check_run_options``)."""
        super().__init__(store, adapter_name(adapter))
        self.adapter = adapter
        self.input = input
        self.agent_id = options.get("agent_id") or self.provider
        self.event_callback = options.get("event_callback")
        self._metadata = options.get("metadata") or {}
        self._context = options.get("context") or {}
        self._tags = tuple(options.get("tags") or ())
        self._adapter_opts = options.get("adapter_opts") or {}
        self._required = tuple(options.get("required_capabilities") or ())
        self._optional = tuple(options.get("optional_capabilities") or ())
        self._continuation = options.get("continuation", False)
        self._continuation_opts = options.get("continuation_opts") or {}
        self._session_id = options.get("session_id")
        #: The session's earlier events, when this run continues it.
        self._history: tuple[Event, ...] | None = None
        #: The store's error that ended the run (an event could not be persisted).
        self._storage_error: SessionError | None = None
        self._correlation_id: str | None = None
        self._run_started: Mapping[str, Any] | None = None
        self._reported_cost: float | None = None
        self._execute_scope: trio.CancelScope | None = None
        self.final_schedule_point = True

    async def emit(self, raw: Mapping[str, Any]) -> Event:
        """Normalise, persist and hand on one adapter event (the adapter's ``emit``).

        A cancellation point first (the store's append), a schedule point last,
        as ``MemorySendChannel.send``. ``event_callback`` is called with the
        stored event; if it returns an awaitable, that is awaited. An event the
        store cannot persist ends the run (see :meth:`_abort_for_storage`).
        """
        event_type, timestamp, data, metadata, redact = normalize(raw)
        if redact:
            data = await redact_value_async(data)
        append = self._run_append
        if append is None:
            raise RuntimeError("emit() called outside the adapter's execute()")
        if event_type is _RUN_CANCELLED:
            # cancel_run may have recorded it already: one run_cancelled per run.
            earlier = await self._earlier(event_type)
            if earlier:
                return earlier[0]
        try:
            stored = await append(event_type, timestamp, data, metadata)
        except Exception as exc:
            raise self._abort_for_storage(exc, event_type) from exc
        if event_type is _RUN_STARTED or event_type is _RUN_COMPLETED:
            self._observe(event_type, data)
        if self.event_callback is not None:
            result = self.event_callback(stored)
            if result is not None and hasattr(result, "__await__"):
                await result
        await _cancel_shielded_checkpoint()
        return stored

    def _observe(self, event_type: EventType, data: Mapping[str, Any]) -> None:
        """Note what ``_finish`` needs from the events themselves (no store reads)."""
        if event_type is EventType.RUN_STARTED and self._run_started is None:
            self._run_started = data
        elif event_type is EventType.RUN_COMPLETED and self._reported_cost is None:
            cost = data.get("total_cost_usd")
            if isinstance(cost, int | float) and not isinstance(cost, bool) and cost > 0:
                self._reported_cost = float(cost)

    def _abort_for_storage(self, exc: Exception, event_type: EventType) -> SessionError:
        """The store failed to persist an adapter event: end the run with its error.

        Nothing unstored is handed on (every delivered event is in the store).
        The adapter's call is cancelled, so however the adapter treats the
        raised error, the run ends with this one (see :meth:`_call_adapter`).
        """
        if isinstance(exc, SessionError) and exc.code.category.value == "storage":
            error = exc
        else:
            error = SessionError("storage_write_failed", f"{type(exc).__name__}: {exc}")
        error = SessionError(
            error.code,
            f"could not persist a {event_type.value} event: {error.message}",
            details=error.details,
        )
        if self._storage_error is None:
            self._storage_error = error
        if self._execute_scope is not None:
            self._execute_scope.cancel(reason="event persistence failed")
        return error

    @contextmanager
    def execute_deadline_paused(self) -> Iterator[None]:
        """Stop the execute timeout's clock for the duration of the block.

        The stream uses it while the adapter waits for a slow consumer
        (backpressure): that wait is not the adapter's time.
        """
        scope = self._execute_scope
        if scope is None or not math.isfinite(scope.deadline):
            yield
            return
        remaining = scope.deadline - trio.current_time()
        scope.deadline = math.inf
        try:
            yield
        finally:
            scope.deadline = trio.current_time() + remaining

    # -- lifecycle ------------------------------------------------------------------

    async def execute(self) -> RunResult:
        """Run the whole lifecycle; see :func:`run_once`.

        Whatever ends the run, its outcome is recorded in a shielded step
        bounded by :data:`RECORD_TIMEOUT`: a ``SessionError`` as ``run_failed``
        (a store that fails on the way is logged; the run's own error wins),
        another exception as ``internal_error``, a cancellation (or
        ``KeyboardInterrupt``) as ``run_cancelled``/``run_timeout``.
        """
        try:
            return await self._execute()
        except SessionError as error:
            with trio.move_on_after(RECORD_TIMEOUT, shield=True):
                await self._record_failure(error)
            raise
        except Exception as exc:
            with trio.move_on_after(RECORD_TIMEOUT, shield=True):
                await self._record_failure(
                    SessionError("internal_error", f"{type(exc).__name__}: {exc}")
                )
            raise
        except BaseException:
            with trio.move_on_after(RECORD_TIMEOUT, shield=True):
                await self._record_interruption()
            raise

    async def _execute(self) -> RunResult:
        store = self.store
        metadata = {**self._metadata, "provider": self.provider}
        correlation = metadata.get("correlation_id")
        self._correlation_id = correlation if isinstance(correlation, str) else None
        if self._session_id is None:
            run = await self._start_session(metadata)
        else:
            run = await self._resume_session(self._session_id)
        run = run.with_status(RunStatus.RUNNING)
        await store.save_run(run)
        self.run = run
        self._run_append = store.appender(
            run.session_id, run.id, provider=self.provider, correlation_id=self._correlation_id
        )
        adapter_session = await self._prepare_session()
        for message in input_messages(self.input):
            await self._append(EventType.MESSAGE_SENT, message, run=True)
        result = await self._call_adapter(run, adapter_session)
        return await self._finish(result)

    async def _start_session(self, metadata: Mapping[str, Any]) -> Run:
        """A new session, active, with this run saved as pending."""
        store = self.store
        session = Session(
            agent_id=self.agent_id, metadata=metadata, context=self._context, tags=self._tags
        )
        await store.save_session(session)
        self.session = session
        self._session_append = store.appender(
            session.id, provider=self.provider, correlation_id=self._correlation_id
        )
        await self._append(EventType.SESSION_CREATED, {"provider": self.provider}, run=False)
        await self._set_session_status(SessionStatus.ACTIVE)
        await self._append(EventType.SESSION_STARTED, {}, run=False)
        await self._check_capabilities()
        run = Run(session_id=session.id, input=self.input, owner=run_owner())
        await store.save_run(run)
        self.run = run
        return run

    async def _resume_session(self, session_id: str) -> Run:
        """This run saved as pending in the existing session *session_id*, which is
        active again: the store's atomic ``begin_run`` (``session_not_found``,
        ``session_busy``). The adapter gets the session's earlier events as
        ``context["history"]``."""
        store = self.store
        run = Run(session_id=session_id, input=self.input, owner=run_owner())
        session = await store.begin_run(session_id, run)
        self.session, self.run = session, run
        self._history = tuple(await store.get_events(session_id))
        self._session_append = store.appender(
            session_id, provider=self.provider, correlation_id=self._correlation_id
        )
        await self._append(EventType.SESSION_RESUMED, {"run_id": run.id}, run=False)
        await self._check_capabilities()
        return run

    async def _check_capabilities(self) -> None:
        if not self._required and not self._optional:
            return
        try:
            capabilities = await self.adapter.capabilities()
        except SessionError:
            raise
        except Exception as exc:
            raise SessionError(
                "provider_error", f"Provider capabilities call failed: {exc!r}"
            ) from exc
        negotiation = negotiate_capabilities(
            capabilities, required=self._required, optional=self._optional
        )
        for warning in negotiation.warnings:
            logger.info("%s", warning)

    async def _prepare_session(self) -> Session:
        """The session the adapter sees: with ``context["history"]`` (the events
        of its earlier runs) when it was continued, and ``context["transcript"]``
        with ``continuation``."""
        assert self.session is not None
        session = self.session
        if self._history is not None:
            session = session.replace(context={**session.context, "history": self._history})
        mode = self._continuation
        if mode is False or mode is None:
            return session
        if mode == "native":
            raise SessionError(
                "invalid_operation",
                "Native continuation is not available for this provider. "
                "Use continuation='auto' to fall back to transcript replay.",
            )
        opts = self._continuation_opts
        query = {k: opts[k] for k in ("run_id", "type", "since", "after", "before") if k in opts}
        events = await self.store.get_events(self.session.id, **query)
        transcript = build_transcript(
            self.session.id,
            events,
            max_messages=opts.get("max_messages"),
            max_chars=opts.get("max_chars"),
            max_tokens_approx=opts.get("max_tokens_approx"),
        )
        return session.replace(context={**session.context, "transcript": transcript})

    async def _call_adapter(self, run: Run, session: Session) -> Mapping[str, Any]:
        """``adapter.execute``, bounded by ``adapter_opts["timeout"]`` (no limit by
        default) plus :data:`EXECUTE_GRACE`; its failures as ``SessionError``."""
        opts = self._adapter_opts
        timeout = execute_timeout(opts.get("timeout")) + EXECUTE_GRACE
        details = {"operation": "execute", "adapter": repr(self.adapter), "timeout_s": timeout}
        result: object = None
        with trio.move_on_after(timeout) as scope:
            self._execute_scope = scope
            try:
                result = await self.adapter.execute(run, session, emit=self.emit, **opts)
            except SessionError:
                if self._storage_error is None:
                    raise
            except Exception as exc:
                if self._storage_error is None:
                    raise SessionError(
                        "provider_error",
                        f"Provider execute call failed: {exc!r}",
                        details={**details, "exception": type(exc).__name__},
                    ) from exc
        self._execute_scope = None
        if self._storage_error is not None:
            raise self._storage_error
        if scope.cancelled_caught:
            raise SessionError(
                "provider_timeout",
                f"Provider execute call timed out after {timeout:g}s",
                details=details,
            )
        if not isinstance(result, Mapping):
            raise SessionError(
                "provider_error",
                f"Provider execute returned {type(result).__name__}; expected a mapping "
                "with output, token_usage and events",
                details=details,
            )
        return result

    async def _finish(self, result: Mapping[str, Any]) -> RunResult:
        assert self.session is not None and self.run is not None
        session, run, run_result = completed_records(
            self.session,
            self.run,
            result,
            provider=self.provider,
            run_started=self._run_started or {},
            reported_cost=self._reported_cost,
        )
        await self.store.flush(session, run)
        self.session, self.run = session, run
        await self._append(EventType.SESSION_COMPLETED, {}, run=False)
        if self.final_schedule_point:
            # A store's run operations need not be schedule points: make sure the
            # run has one, without losing its completed result to a cancellation.
            await _cancel_shielded_checkpoint()
        return run_result
