"""``StreamSession``: one agent run as a Trio receive channel of events."""

from __future__ import annotations

import logging
import math
import traceback
from collections.abc import Awaitable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Final, Literal, final

import trio

from ._errors import SessionError
from ._events import Event, EventType
from ._lifecycle import RunLifecycle, RunResult
from ._options import (
    EventCallback,
    RunOptions,
)
from ._ports import ProviderAdapter, SessionStore
from ._provider_error import error_payload
from ._redact import redact_text
from ._specs import ResourceSpec

__all__ = ["StreamSession", "StreamStatistics"]

logger = logging.getLogger("trio_stream_session")
_current_time: Final = trio.current_time

State = Literal["opening", "running", "finished", "closed"]


@dataclass(frozen=True, slots=True)
class StreamStatistics:
    """A snapshot of a :class:`StreamSession` (see :meth:`StreamSession.statistics`).

    ``events_delivered`` counts events handed to the channel (including a
    terminal error event); ``events_received`` those the consumer has taken;
    ``current_buffer_used``/``max_buffer_size`` are the memory channel's.
    """

    state: State
    events_delivered: int
    events_received: int
    current_buffer_used: int
    max_buffer_size: int | float


@final
class StreamSession(trio.abc.ReceiveChannel[Event]):
    """The events of one agent run, in order, as a ``trio.abc.ReceiveChannel``.

    Create one with :func:`open_stream_session` or :func:`start_stream_session`.
    Iterate with ``async for``; a successful run ends the stream after the
    adapter's last event; any failure ends it with one terminal
    ``error_occurred`` event (never an exception). ``receive()`` raises
    ``trio.EndOfChannel`` at the end and ``trio.ClosedResourceError`` after
    :meth:`aclose`; ``async for`` simply ends in both cases.
    """

    def __init__(
        self,
        *,
        adapter: ResourceSpec[Any],
        store: ResourceSpec[Any],
        input: Mapping[str, Any],
        run_opts: RunOptions,
        idle_timeout: float,
        shutdown_timeout: float,
        max_buffer: int | float,
    ) -> None:
        self._adapter_spec = adapter
        self._store_spec = store
        self._input = input
        self._user_callback: EventCallback | None = run_opts.pop("event_callback", None)
        self._run_opts = run_opts
        self._idle_timeout = idle_timeout
        self._shutdown_timeout = shutdown_timeout
        self._send, self._receive = trio.open_memory_channel[Event](max_buffer)
        self._send_nowait = self._send.send_nowait
        self._run_scope = trio.CancelScope()
        self._done = trio.Event()
        self._task: trio.lowlevel.Task | None = None
        self._started = False
        self._closing = False
        self._lifecycle: RunLifecycle | None = None
        self._provider: str | None = None
        self._delivered = 0
        self._idle_push_at = math.inf  # see _push_idle_deadline
        self.result: RunResult | None = None
        """The :class:`RunResult` once the run has succeeded, else None."""
        self.meta: Mapping[str, Any] = {"adapter": adapter.meta, "store": store.meta}
        """``{"adapter": ..., "store": ...}``: the class for owned resources, else the instance."""

    def __repr__(self) -> str:
        return f"<StreamSession {self._state()} session_id={self.session_id!r}>"

    @property
    def session_id(self) -> str | None:
        """The session's id once it is created, else None."""
        return None if self._lifecycle is None else self._lifecycle.session_id

    @property
    def run_id(self) -> str | None:
        """The run's id once it is created, else None."""
        return None if self._lifecycle is None else self._lifecycle.run_id

    def _state(self) -> State:
        if self._closing:
            return "closed"
        if self._done.is_set():
            return "finished"
        return "running" if self._started else "opening"

    def statistics(self) -> StreamStatistics:
        """A frozen snapshot of counters; cheap, synchronous."""
        channel = self._receive.statistics()
        buffered = channel.current_buffer_used
        return StreamStatistics(
            state=self._state(),
            events_delivered=self._delivered,
            events_received=self._delivered - buffered,
            current_buffer_used=buffered,
            max_buffer_size=channel.max_buffer_size,
        )

    # -- consumer side -------------------------------------------------------------------

    async def receive(self) -> Event:
        """The next event. Raises ``trio.EndOfChannel`` once the stream is over and
        ``trio.ClosedResourceError`` once it was closed. Always a checkpoint."""
        return await self._receive.receive()

    async def __anext__(self) -> Event:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop the session and wait until it has cleaned up.

        Idempotent and safe from any task, before, during or after consuming,
        including the session's own (an ``event_callback``): there it does not
        wait, and the run is cancelled at the callback's next checkpoint.
        Closes the receive side (a task blocked in ``receive`` gets
        ``ClosedResourceError``; ``async for`` ends), cancels the run (which is
        recorded in the store as ``run_cancelled``, shielded and bounded by
        ``shutdown_timeout``), then closes the owned adapter and the owned store.
        The wait is shielded: if the caller is cancelled, cleanup still
        completes and ``Cancelled`` is raised afterwards.
        """
        await self._shutdown()
        await trio.lowlevel.checkpoint()

    async def wait_finished(self) -> None:
        """Wait until the session has ended: its run's outcome recorded and its
        owned resources closed (whether the events were consumed or not).
        Returns at once for a session that never started."""
        if self._started:
            await self._done.wait()
        else:
            await trio.lowlevel.checkpoint()

    async def _shutdown(self) -> None:
        """:meth:`aclose` without its final checkpoint (the session scope's exit
        is the schedule point, as a nursery's is)."""
        if not self._closing:
            self._closing = True
            self._run_scope.deadline = math.inf  # a cancellation now is a close, not a timeout
            self._receive.close()
            self._run_scope.cancel(reason="stream closed")
        if self._started and not self._done.is_set() and not self._called_from_run():
            with trio.CancelScope(shield=True):
                await self._done.wait()

    def _called_from_run(self) -> bool:
        """True in the session task or a task it started (an ``event_callback``,
        an adapter's tool task): waiting there for the session to end would wait
        for ourselves. The cancellation is delivered at the caller's next
        checkpoint instead, and the session ends as it unwinds."""
        task: trio.lowlevel.Task | None = trio.lowlevel.current_task()
        while task is not None:
            if task is self._task:
                return True
            nursery = task.parent_nursery
            task = None if nursery is None else nursery.parent_task
        return False

    # -- producer side -------------------------------------------------------------------

    async def _start(self, nursery: trio.Nursery) -> None:
        """Start the session task in *nursery*. With an owned resource to enter,
        wait until it is open (its failure raises here); otherwise build the
        run here and just spawn."""
        if self._adapter_spec.factory is not None or self._store_spec.factory is not None:
            await nursery.start(self._main)
        else:
            self._prepare_now()
            nursery.start_soon(self._main)

    def _prepare(self, store: SessionStore, adapter: ProviderAdapter) -> None:
        """Build the run's lifecycle (synchronous; ``TypeError`` for bad run options)."""
        try:
            self._lifecycle = RunLifecycle(
                store, adapter, self._input, {**self._run_opts, "event_callback": self._hand_over}
            )
        except SessionError as exc:
            raise TypeError(str(exc)) from None
        # The session task ends right after the run: no schedule point needed there.
        self._lifecycle.final_schedule_point = False
        self._provider = self._lifecycle.provider
        self._started = True

    def _prepare_now(self) -> None:
        """:meth:`_prepare` in the caller's task when nothing needs opening."""
        store = self._store_spec.instance
        adapter = self._adapter_spec.instance
        assert store is not None and adapter is not None
        self._prepare(store, adapter)

    async def _main(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The session task: open owned resources unless prepared, run, deliver, close."""
        self._task = trio.lowlevel.current_task()
        try:
            with self._send:
                if self._lifecycle is not None:
                    await self._run()
                else:
                    async with AsyncExitStack() as stack:
                        store = await self._store_spec.open(stack, self._shutdown_timeout)
                        adapter = await self._adapter_spec.open(stack, self._shutdown_timeout)
                        self._prepare(store, adapter)
                        task_status.started()
                        await self._run()
        finally:
            if self._lifecycle is not None:
                # The lifecycle's callback is our bound method: a reference cycle
                # that would keep the store and every event alive until a full GC.
                self._lifecycle.event_callback = None
            self._done.set()

    async def _run(self) -> None:
        assert self._lifecycle is not None
        error: dict[str, Any] | None = None
        scope = self._run_scope
        if math.isfinite(self._idle_timeout):
            now = trio.current_time()
            scope.deadline = now + self._idle_timeout
            self._idle_push_at = now
        self._lifecycle.timeout_scope = scope
        with scope:
            try:
                self.result = await self._lifecycle.execute()
            except SessionError as exc:
                error = error_payload(exc, fallback_provider=self._provider)
            except Exception as exc:
                error = {
                    "error_code": "internal_error",
                    "error_message": redact_text("".join(traceback.format_exception(exc))),
                }
        if scope.cancelled_caught and scope.deadline <= trio.current_time():
            error = {
                "error_code": "timeout",
                "error_message": f"stream idle timeout after {self._idle_timeout:g}s",
            }
        if error is not None and not self._closing:
            await self._deliver_terminal(
                Event(
                    type=EventType.ERROR_OCCURRED,
                    session_id=self.session_id,
                    run_id=self.run_id,
                    provider=self._provider,
                    data=error,
                )
            )

    def _hand_over(self, event: Event) -> Awaitable[None] | None:
        """The run's event callback: hand *event* to the consumer, then call the
        user's callback.

        The fast path (room in the buffer) is synchronous: the run's ``emit``
        provides the checkpoint, as ``MemorySendChannel.send`` does. When the
        buffer is full this returns the waiting part as an awaitable.
        """
        try:
            self._send_nowait(event)
        except trio.WouldBlock:
            return self._hand_over_blocking(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the consumer has closed the stream: nothing left to hand over
        else:
            self._delivered += 1
            now = _current_time()
            if now >= self._idle_push_at:
                self._push_idle_deadline(now)
        return None if self._user_callback is None else self._call_user(event)

    async def _hand_over_blocking(self, event: Event) -> None:
        """Wait for room, with the idle timer and the execute timeout paused:
        a slow consumer is not a silent producer."""
        assert self._lifecycle is not None
        scope = self._run_scope
        idle_deadline, scope.deadline = scope.deadline, math.inf
        try:
            with self._lifecycle.execute_deadline_paused():
                await self._send.send(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        else:
            self._delivered += 1
        finally:
            if math.isfinite(idle_deadline) and not self._closing:
                self._push_idle_deadline(_current_time())
        pending = None if self._user_callback is None else self._call_user(event)
        if pending is not None:
            await pending

    def _call_user(self, event: Event) -> Awaitable[None] | None:
        """Call the user's ``event_callback``; its exceptions are logged and ignored."""
        assert self._user_callback is not None
        try:
            result = self._user_callback(event)
        except Exception:
            logger.debug("event_callback raised; ignored", exc_info=True)
            return None
        if result is not None and hasattr(result, "__await__"):
            return self._await_user(result)
        return None

    async def _await_user(self, pending: Awaitable[Any]) -> None:
        try:
            await pending
        except Exception:
            logger.debug("event_callback raised; ignored", exc_info=True)

    async def _deliver_terminal(self, event: Event) -> None:
        try:
            await self._send.send(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        self._delivered += 1

    # -- idle timeout --------------------------------------------------------------------

    def _push_idle_deadline(self, now: float) -> None:
        """The producer made progress: move the idle deadline, lazily.

        The run's cancel scope has the idle deadline. It is moved at most once
        per eighth of the timeout (``_hand_over`` compares the clock with
        ``_idle_push_at``), to ``now + 9/8 * timeout``: the stream times out
        between ``idle_timeout`` and ``1.125 * idle_timeout`` after the last
        event, never early, for one clock read per event.
        """
        slack = self._idle_timeout / 8
        self._run_scope.deadline = now + self._idle_timeout + slack
        self._idle_push_at = now + slack
