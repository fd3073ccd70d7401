"""``run_once`` and ``cancel_run``: one run of an adapter, driven to the end.

The run itself (events persisted in order, the outcome recorded whatever
ends it) is :class:`~trio_stream_session._lifecycle.RunLifecycle`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Unpack

from ._errors import SessionError
from ._events import EventType
from ._input import check_input
from ._lifecycle import RECORD_TIMEOUT, RunLifecycle, RunResult, adapter_name
from ._models import RunStatus
from ._options import RunOptions, check_run_options
from ._outcome import append_run_event_once
from ._ports import ProviderAdapter, SessionStore, is_session_store

__all__ = ["RECORD_TIMEOUT", "RunResult", "cancel_run", "run_once"]

logger = logging.getLogger("trio_stream_session")


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
    append = store.appender(run.session_id, run.id, provider=adapter_name(adapter))
    await append_run_event_once(
        store, append, run, EventType.RUN_CANCELLED, {"reason": "cancelled"}
    )
    return run_id
