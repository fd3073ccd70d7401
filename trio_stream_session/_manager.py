"""``run_once``: one session, one run, every event persisted in order.

Persisted order of a successful run (reference §2.7)::

    session_created, session_started, message_sent*, <adapter events>,
    session_completed

A failed run ends ``..., run_failed, session_failed``; a cancelled one
``..., run_cancelled, session_cancelled``; one ended by the stream's idle
timeout ``..., run_timeout, session_failed``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, Unpack

import trio

from ._cost import calculate_cost
from ._errors import ErrorCode, SessionError
from ._events import (
    _BY_VALUE,
    _SHAPES,
    Event,
    EventType,
    build_event,
    new_id,
    shape_warnings,
    utc_now,
)
from ._input import check_input, input_messages
from ._models import (
    Run,
    RunStatus,
    Session,
    SessionStatus,
    add_token_usage,
    negotiate_capabilities,
    run_owner,
)
from ._options import EXECUTE_GRACE, RunOptions, check_run_options, execute_timeout
from ._ports import EventTypeFilter, ProviderAdapter, SessionStore, is_session_store
from ._provider_error import error_payload
from ._redact import redact_value
from ._transcript import build_transcript
from .stores import InMemorySessionStore
from .stores._memory import NewEventAppender, RunView

__all__ = ["RunResult", "cancel_run", "resolve_execute_timeout", "run_once"]

resolve_execute_timeout = execute_timeout  # the CLI adapters' name for it

logger = logging.getLogger("trio_stream_session")
_now = datetime.now
_checkpoint_if_cancelled = trio.lowlevel.checkpoint_if_cancelled
_cancel_shielded_checkpoint = trio.lowlevel.cancel_shielded_checkpoint

#: Seconds the shielded recording of a failed or interrupted run's outcome may take.
#: It is the library's, not ``shutdown_timeout``'s: the outcome is recorded whatever
#: the caller's shutdown budget (a store has its own timeouts within it).
RECORD_TIMEOUT: Final = 5.0

#: Event types whose data is scanned for secrets before it is stored.
_REDACTED_TYPES: Final = frozenset(
    {
        EventType.ERROR_OCCURRED,
        EventType.RUN_FAILED,
        EventType.SESSION_FAILED,
        EventType.TOOL_CALL_STARTED,
        EventType.TOOL_CALL_COMPLETED,
        EventType.TOOL_CALL_FAILED,
        EventType.POLICY_VIOLATION,
    }
)
_OBSERVED_TYPES: Final = frozenset({EventType.RUN_STARTED, EventType.RUN_COMPLETED})
#: Per event type, what ``emit`` does besides storing it: (shape rules,
#: redact its data?, note it for the run's result?), in one lookup.
_PLANS: Final = {
    t: (_SHAPES.get(t, ()), t in _REDACTED_TYPES, t in _OBSERVED_TYPES) for t in EventType
}
_INTERRUPTION: Final = {
    RunStatus.CANCELLED: (
        EventType.RUN_CANCELLED,
        SessionStatus.CANCELLED,
        EventType.SESSION_CANCELLED,
    ),
    RunStatus.TIMEOUT: (EventType.RUN_TIMEOUT, SessionStatus.FAILED, EventType.SESSION_FAILED),
}


class _RunStore(Protocol):
    """The store operations a run uses: a :class:`SessionStore`, or the
    in-memory store's cancellation-only :class:`RunView`."""

    async def save_session(self, session: Session) -> None: ...
    async def get_session(self, session_id: str) -> Session: ...
    async def save_run(self, run: Run) -> None: ...
    async def get_run(self, run_id: str) -> Run: ...
    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None: ...
    async def append_event(self, event: Event) -> Event: ...
    async def get_events(
        self, session_id: str, *, run_id: str | None = ..., type: EventTypeFilter | None = ...
    ) -> list[Event]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What :func:`run_once` returns after a successful run.

    ``events`` is what the adapter returned in its result (the persisted
    events are in the store).
    """

    output: Any
    token_usage: Mapping[str, Any]
    events: Sequence[Any]
    session_id: str
    run_id: str
    cost_usd: float | None = None


def _copy_mapping(value: object) -> dict[str, Any]:
    """A private copy of an adapter's ``data``/``metadata`` (``{}`` if not a mapping)."""
    if type(value) is dict:
        return value.copy()
    if value is None or not isinstance(value, Mapping):
        return {}
    return dict(value)


def _aware_or_now(value: object) -> datetime:
    """The adapter's timestamp if it is an aware datetime, else now (UTC)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return utc_now()


def _adapter_name(adapter: object) -> str:
    name = None if isinstance(adapter, type) else getattr(adapter, "name", None)
    if not callable(getattr(adapter, "execute", None)) or not isinstance(name, str) or not name:
        raise SessionError(
            "validation_error",
            "adapter must be a ProviderAdapter with a non-empty name and execute(), "
            f"got {adapter!r}",
        )
    return name


class RunLifecycle:
    """The state of one ``run_once`` call; :class:`StreamSession` watches it.

    ``session``/``run`` are the latest records written; ``interrupted_status``
    says how a cancellation is recorded (``cancelled`` unless the stream's
    idle timeout set ``timeout``).
    """

    def __init__(
        self,
        store: SessionStore,
        adapter: ProviderAdapter,
        input: Mapping[str, Any],
        options: RunOptions,
    ) -> None:
        """*input* and *options* are already checked (``check_input``, ``check_run_options``)."""
        self.store = store
        # The in-memory store: cancellation-only operations, and new events
        # are appended from their parts (no copy, no duplicate check).
        self._ops: _RunStore = self.store
        self._memory: InMemorySessionStore | None = None
        if type(self.store) is InMemorySessionStore:
            self._ops = RunView(self.store)
            self._memory = self.store
        # The in-memory store's appenders of new session/run events, once known.
        self._session_append: NewEventAppender | None = None
        self._run_append: NewEventAppender | None = None
        self.adapter = adapter
        self.provider = _adapter_name(adapter)
        self.input = input
        self.agent_id = options.get("agent_id") or self.provider
        self._callback = options.get("event_callback")
        self._metadata = options.get("metadata") or {}
        self._context = options.get("context") or {}
        self._tags = tuple(options.get("tags") or ())
        self._adapter_opts = options.get("adapter_opts") or {}
        self._required = tuple(options.get("required_capabilities") or ())
        self._optional = tuple(options.get("optional_capabilities") or ())
        self._continuation = options.get("continuation", False)
        self._continuation_opts = options.get("continuation_opts") or {}
        #: The store's error that ended the run (an event could not be persisted).
        self._storage_error: SessionError | None = None
        self._correlation_id: str | None = None
        self.session: Session | None = None
        self.run: Run | None = None
        self.interrupted_status = RunStatus.CANCELLED
        self._run_started: Mapping[str, Any] | None = None
        self._reported_cost: float | None = None
        self._execute_scope: trio.CancelScope | None = None
        self.final_schedule_point = True

    @property
    def session_id(self) -> str | None:
        return None if self.session is None else self.session.id

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.id

    # -- the event path -------------------------------------------------------------

    async def emit(self, raw: Mapping[str, Any]) -> Event:
        """Normalise, persist and hand on one adapter event (the adapter's ``emit``).

        Always a checkpoint. ``event_callback`` is called with the stored
        event; if it returns an awaitable, that is awaited.

        This is the per-event hot path: common cases (plain dicts, canonical
        string types, no timestamp) are inlined; anything else takes the
        general helpers.
        """
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise TypeError(f"emit() takes an event mapping, got {type(raw).__name__}")
        get = raw.get
        raw_type = get("type")
        event_type = (
            _BY_VALUE.get(raw_type) if type(raw_type) is str else EventType.resolve(raw_type)
        )
        data = get("data")
        data = data.copy() if type(data) is dict else _copy_mapping(data)
        metadata = get("metadata")
        metadata = {} if metadata is None else _copy_mapping(metadata)
        if event_type is None:
            event_type = EventType.ERROR_OCCURRED
            if raw_type:
                data["original_type"] = str(raw_type)
        rules, redacted, observed = _PLANS[event_type]
        if rules:
            for name, expected, _ in rules:
                if data.get(name).__class__ is not expected:
                    warnings = shape_warnings(event_type, data)
                    if warnings:
                        metadata["_validation_warnings"] = warnings
                    break
        if redacted:
            data = redact_value(data)
        timestamp = get("timestamp")
        if timestamp is None:
            timestamp = _now(UTC)
        elif type(timestamp) is not datetime or timestamp.tzinfo is None:
            timestamp = _aware_or_now(timestamp)
        append = self._run_append
        if append is None and self.run is None:
            raise RuntimeError("emit() called outside the adapter's execute()")
        try:
            if append is not None:
                await _checkpoint_if_cancelled()
                stored = append(event_type, timestamp, data, metadata)
            else:
                stored = await self._ops.append_event(
                    self._build(new_id("evt"), event_type, timestamp, data, metadata)
                )
        except Exception as exc:
            raise self._abort_for_storage(exc, event_type) from exc
        if observed:
            self._observe(event_type, data)
        if self._callback is not None:
            result = self._callback(stored)
            if result is not None and hasattr(result, "__await__"):
                await result
        # Like MemorySendChannel.send: a cancellation point first, a schedule point last.
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

    def _build(
        self,
        id: str,
        type: EventType,
        timestamp: datetime,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
        *,
        run: bool = True,
    ) -> Event:
        """An event of this session, and of its run if *run* and there is one."""
        assert self.session is not None
        return build_event(
            id,
            type,
            timestamp,
            self.session.id,
            self.run.id if run and self.run is not None else None,
            None,
            self.provider,
            self._correlation_id,
            data,
            metadata,
        )

    def _event(self, type: EventType, data: Mapping[str, Any], *, run: bool) -> Event:
        """A new lifecycle event of this session (and run, if *run*)."""
        return self._build(new_id("evt"), type, utc_now(), data, {}, run=run)

    async def _append(self, type: EventType, data: Mapping[str, Any], *, run: bool) -> Event:
        append = self._run_append if run and self._run_append else self._session_append
        if append is None:
            return await self._ops.append_event(self._event(type, data, run=run))
        await _checkpoint_if_cancelled()
        return append(type, utc_now(), data, {})

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
            with trio.CancelScope(shield=True), trio.move_on_after(RECORD_TIMEOUT):
                await self._record_failure(error)
            raise
        except Exception as exc:
            with trio.CancelScope(shield=True), trio.move_on_after(RECORD_TIMEOUT):
                await self._record_failure(
                    SessionError("internal_error", f"{type(exc).__name__}: {exc}")
                )
            raise
        except BaseException:
            with trio.CancelScope(shield=True), trio.move_on_after(RECORD_TIMEOUT):
                await self._record_interruption()
            raise

    async def _execute(self) -> RunResult:
        store = self._ops
        metadata = {**self._metadata, "provider": self.provider}
        correlation = metadata.get("correlation_id")
        self._correlation_id = correlation if isinstance(correlation, str) else None
        session = Session(
            agent_id=self.agent_id, metadata=metadata, context=self._context, tags=self._tags
        )
        await store.save_session(session)
        self.session = session
        if self._memory is not None:
            self._session_append = self._memory._appender(
                session.id, None, self.provider, self._correlation_id
            )
        await self._append(EventType.SESSION_CREATED, {"provider": self.provider}, run=False)
        await self._set_session_status(SessionStatus.ACTIVE)
        await self._append(EventType.SESSION_STARTED, {}, run=False)

        await self._check_capabilities()
        run = Run(session_id=session.id, input=self.input, owner=run_owner())
        await store.save_run(run)
        self.run = run
        run = run.with_status(RunStatus.RUNNING)
        await store.save_run(run)
        self.run = run
        if self._memory is not None:
            self._run_append = self._memory._appender(
                session.id, run.id, self.provider, self._correlation_id
            )

        adapter_session = await self._prepare_session()
        for message in input_messages(self.input):
            await self._append(EventType.MESSAGE_SENT, message, run=True)
        result = await self._call_adapter(run, adapter_session)
        return await self._finish(result)

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
        """The session the adapter sees: with ``context["transcript"]`` on continuation."""
        assert self.session is not None
        mode = self._continuation
        if mode is False or mode is None:
            return self.session
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
        return self.session.replace(context={**self.session.context, "transcript": transcript})

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
        token_usage = result.get("token_usage")
        token_usage = dict(token_usage) if isinstance(token_usage, Mapping) else {}
        events = result.get("events")
        events = tuple(events) if isinstance(events, list | tuple) else ()
        started = self._run_started or {}
        provider_session_id = next(
            (
                started[k]
                for k in ("provider_session_id", "session_id", "thread_id")
                if started.get(k)
            ),
            None,
        )
        model = started.get("model") if isinstance(started.get("model"), str) else None
        provider_session = {
            k: v for k, v in (("provider_session_id", provider_session_id), ("model", model)) if v
        }
        provider_metadata = {"provider": self.provider, **provider_session}
        cost = self._reported_cost
        if cost is None:
            cost = calculate_cost(token_usage, self.provider, model)
        run = self.run.with_status(
            RunStatus.COMPLETED,
            output=result.get("output"),
            token_usage=add_token_usage(self.run.token_usage, token_usage),
            provider=self.provider,
            provider_metadata=provider_metadata,
            metadata={**self.run.metadata, **provider_metadata},
            cost_usd=cost,
        )
        session_metadata = {
            k: v
            for k, v in self.session.metadata.items()
            if k not in ("provider_session_id", "model")
        }
        sessions = dict(session_metadata.get("provider_sessions") or {})
        sessions[self.provider] = {**sessions.get(self.provider, {}), **provider_session}
        session = self.session.with_status(
            SessionStatus.COMPLETED, metadata={**session_metadata, "provider_sessions": sessions}
        )
        await self._ops.flush(session, run)
        self.session, self.run = session, run
        await self._append(EventType.SESSION_COMPLETED, {}, run=False)
        if self.final_schedule_point:
            # The in-memory store's operations are not schedule points: make sure
            # the run has one, without losing its completed result to a cancellation.
            await _cancel_shielded_checkpoint()
        return RunResult(
            output=run.output,
            token_usage=token_usage,
            events=events,
            session_id=session.id,
            run_id=run.id,
            cost_usd=cost,
        )

    async def _set_session_status(self, status: SessionStatus) -> None:
        assert self.session is not None
        current = await self._ops.get_session(self.session.id)
        session = current.with_status(status)
        await self._ops.save_session(session)
        self.session = session

    async def _live_run(self) -> Run | None:
        """The stored run, unless it has already ended (``cancel_run`` may have ended it)."""
        if self.run is None:
            return None
        with suppress(SessionError):  # not stored yet: our own copy is the truth
            self.run = await self._ops.get_run(self.run.id)
        return None if self.run.status.terminal else self.run

    async def _live_session(self) -> Session | None:
        if self.session is None:
            return None
        with suppress(SessionError):
            self.session = await self._ops.get_session(self.session.id)
        return None if self.session.status.terminal else self.session

    async def _end_session(self, status: SessionStatus, event: EventType, data: Any) -> None:
        session = await self._live_session()
        if session is not None:
            self.session = session.with_status(status)
            await self._ops.save_session(self.session)
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
                await self._ops.save_run(self.run)
                await self._append(EventType.RUN_FAILED, payload, run=True)
            await self._fail_session(error)
        except Exception as exc:
            logger.warning("could not record the failure of run %s: %s", self.run_id, exc)

    async def _record_interruption(self, status: RunStatus | None = None) -> None:
        """Record a cancelled (or timed-out) run and session; never raises."""
        status = status or self.interrupted_status
        run_event, session_status, session_event = _INTERRUPTION[status]
        reason = "timeout" if status is RunStatus.TIMEOUT else "cancelled"
        try:
            run = await self._live_run()
            if run is not None:
                self.run = run.with_status(status)
                await self._ops.save_run(self.run)
                await _append_once(self._ops, self._event(run_event, {"reason": reason}, run=True))
            data: dict[str, Any] = {"reason": reason}
            if session_event is EventType.SESSION_FAILED:
                data = {"error_code": "timeout", "error_message": "the run timed out"}
            await self._end_session(session_status, session_event, data)
        except Exception as exc:
            logger.warning("could not record the interruption of run %s: %s", self.run_id, exc)


async def run_once(
    store: SessionStore,
    adapter: ProviderAdapter,
    input: Mapping[str, Any] | str,
    **options: Unpack[RunOptions],
) -> RunResult:
    """Create a session, run *adapter* once on *input*, and persist every event.

    Options (:class:`RunOptions`): ``agent_id`` defaults to the adapter's name.
    ``event_callback`` (sync, or async returning an awaitable) is called with
    every adapter event after it is persisted; an exception it raises fails
    the run. ``adapter_opts`` are passed to ``adapter.execute``; a ``timeout``
    there (seconds) plus a 5 s grace bounds the call (``provider_timeout``);
    there is no limit by default. ``continuation="auto"``/``"replay"`` gives
    the adapter the session's earlier conversation as
    ``session.context["transcript"]``.

    Bad arguments raise ``SessionError("validation_error")`` before anything
    is stored. A failed run raises :class:`SessionError` after persisting
    ``run_failed`` and ``session_failed``; an event the store cannot persist
    fails the run with the store's error (``storage_write_failed``). If
    cancelled (or interrupted by ``KeyboardInterrupt``), it records
    ``run_cancelled`` and ``session_cancelled`` in a shielded step bounded by
    :data:`RECORD_TIMEOUT`, then lets the cancellation propagate.
    """
    if isinstance(store, type) or not is_session_store(store):
        raise SessionError(
            "validation_error", f"Unsupported store reference for run_once: {store!r}"
        )
    try:
        checked_input = check_input(input)
        checked = check_run_options(options)
    except (TypeError, ValueError) as exc:
        raise SessionError("validation_error", str(exc)) from None
    return await RunLifecycle(store, adapter, checked_input, checked).execute()


async def cancel_run(store: SessionStore, adapter: ProviderAdapter, run_id: str) -> str:
    """Ask *adapter* to cancel *run_id* (best effort), then record the run as
    ``cancelled`` with a ``run_cancelled`` event unless it has ended already
    (then nothing is written). Returns *run_id*."""
    run = await store.get_run(run_id)
    if run.status.terminal:
        return run_id
    try:
        await adapter.cancel(run_id)
    except Exception as exc:  # best effort: an unavailable adapter is not an error here
        logger.info("adapter cancel of run %s failed: %s", run_id, exc)
    run = await store.get_run(run_id)
    if run.status.terminal:  # the run's own task already recorded it
        return run_id
    run = run.with_status(RunStatus.CANCELLED)
    await store.save_run(run)
    cancelled = Event(
        type=EventType.RUN_CANCELLED,
        session_id=run.session_id,
        run_id=run.id,
        provider=_adapter_name(adapter),
        data={"reason": "cancelled"},
    )
    await _append_once(store, cancelled)
    return run_id


async def _append_once(store: _RunStore, event: Event) -> None:
    """Append *event* unless the run already has one of its type: the adapter,
    ``cancel_run`` and the run's own cleanup may each report a cancellation."""
    earlier = await store.get_events(event.session_id or "", run_id=event.run_id, type=event.type)
    if not earlier:
        await store.append_event(event)
