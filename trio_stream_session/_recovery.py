"""Finding and closing runs whose process is gone (``kill -9``, a crash, a lost host).

A run whose process dies without a chance to clean up stays ``running`` in the
store. Two things recorded with every run tell such a run from a live one:

* its owner, :attr:`Run.owner` (``"host:pid"`` of the process running it), and
* its heartbeat: a live run stores events as it goes, and a stream's idle
  timeout ends a run that stays silent. The newest event of the run's session
  (or the run's ``started_at`` when it has none) is its last sign of life, and
  no sign of life for ``stale_after`` seconds is a lease that expired.

The rules are in :func:`find_interrupted_runs`.

Everything here goes through the :class:`SessionStore` port, so it works with
every store. The port has no conditional write: recovery re-reads each run
right before closing it and leaves alone any run that ended (or showed a sign
of life) meanwhile, but an owner that writes between that re-read and the
recovery's own write is not detected. Choose ``stale_after`` well above the
longest silence of a live run (the stream's ``idle_timeout``, 120 s by default,
or the longest tool call of a ``run_once`` without one).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import trio

from ._errors import ErrorCode, SessionError
from ._events import Event, EventType, utc_now
from ._models import Run, RunStatus, Session, SessionStatus, run_owner
from ._options import _seconds
from ._outcome import RECORD_TIMEOUT, append_run_event_once
from ._ports import SessionStore, is_session_store
from ._provider_error import error_payload

__all__ = ["find_interrupted_runs", "recover_interrupted_runs"]

#: Seconds without a stored event after which a run whose owner cannot be
#: checked (another host, none recorded) counts as interrupted: five times
#: the stream's default idle timeout.
DEFAULT_STALE_AFTER: Final = 600.0

#: When this process loaded the library: a run it owns started later.
_LOADED_AT: Final = utc_now()
#: Sessions that may hold an unfinished run.
_OPEN_SESSIONS: Final = (SessionStatus.ACTIVE, SessionStatus.PAUSED, SessionStatus.PENDING)
#: A record deleted while we look at it is no longer ours to close.
_GONE: Final = frozenset({ErrorCode.RUN_NOT_FOUND, ErrorCode.SESSION_NOT_FOUND})


@dataclass(frozen=True, slots=True)
class _Verdict:
    """Why a run counts as interrupted."""

    reason: str  # "owner_exited" or "lease_expired"
    last_seen: datetime


async def find_interrupted_runs(
    store: SessionStore, *, stale_after: float = DEFAULT_STALE_AFTER
) -> list[Run]:
    """The unfinished runs in *store* whose process is gone (read-only).

    Every run records its owner (:attr:`Run.owner`, ``"host:pid"``), and a live
    run stores events as it goes: the newest event of its session (or its
    ``started_at``) is its last sign of life. An unfinished (``pending`` or
    ``running``) run is interrupted when

    1. its owner is a process on this host that no longer exists (at once,
       whatever *stale_after* says; a killed process its parent has not yet
       reaped still exists), or
    2. its session has stored nothing for more than *stale_after* seconds (an
       owner on another host, no owner recorded, or a pid since reused).

    A run of the calling process (its owner, started after the process
    loaded the library) never is, however silent. Returns the runs as stored.

    *stale_after* (seconds, default 600: five times the stream's default idle
    timeout) should be well above the longest silence of a live run (the
    stream's ``idle_timeout``, or the longest tool call of a ``run_once``
    without one); ``0`` counts any silence, ``math.inf`` relies on rule 1
    alone. A bad value raises ``TypeError``/``ValueError``; a *store* that is
    not a :class:`SessionStore` instance, ``TypeError``. Works with every
    store (only the port is used).
    """
    stale_after = _check_arguments(store, stale_after)
    return [
        run
        for run in await _unfinished_runs(store)
        if await _verdict(store, run, stale_after) is not None
    ]


async def recover_interrupted_runs(
    store: SessionStore, *, stale_after: float = DEFAULT_STALE_AFTER
) -> list[Run]:
    """Close the runs :func:`find_interrupted_runs` finds: each one ``failed``
    with code ``run_interrupted``.

    For each run, right before writing, the run is read again and checked
    again: one that ended or showed a sign of life meanwhile is left alone.
    An interrupted run is saved ``failed`` (``run.error``: ``code``,
    ``message``, ``details`` with ``reason`` — ``owner_exited`` or
    ``lease_expired`` —, ``owner``, ``last_seen`` and ``recovered_by``) and a
    ``run_failed`` event is appended; its session, unless it has ended or
    has another unfinished run, is saved ``failed`` with a ``session_failed``
    event. Both events carry ``error_code``, ``error_message`` and
    ``details``, like any failed run's.

    The writes of one run are shielded from cancellation, bounded by
    ``RECORD_TIMEOUT`` (as a run records its own outcome); a store failure
    raises its ``SessionError``. Returns the runs it closed, as saved; running
    it again finds nothing new to do, and so does a recovery in another
    process that re-reads the run after this one closed it (the port has no
    conditional write: two recoveries writing in the same instant may both
    append their events). ``run_interrupted`` is not retryable: how far the
    run got (tools it ran, files it changed) is unknown, so starting it again
    is the caller's decision.
    """
    stale_after = _check_arguments(store, stale_after)
    recovered: list[Run] = []
    for candidate in await _unfinished_runs(store):
        try:
            closed = await _recover(store, candidate.id, stale_after)
        except SessionError as exc:
            if exc.code not in _GONE:
                raise
            continue  # deleted meanwhile
        if closed is not None:
            recovered.append(closed)
    return recovered


def _check_arguments(store: object, stale_after: object) -> float:
    if isinstance(store, type) or not is_session_store(store):
        raise TypeError(f"store must be a SessionStore instance, got {store!r}")
    return _seconds("stale_after", stale_after, allow_zero=True)


async def _unfinished_runs(store: SessionStore) -> list[Run]:
    """Every pending or running run of the sessions that have not ended."""
    runs: list[Run] = []
    for status in _OPEN_SESSIONS:
        for session in await store.list_sessions(status=status):
            runs.extend(r for r in await store.list_runs(session.id) if not r.status.terminal)
    return runs


async def _verdict(store: SessionStore, run: Run, stale_after: float) -> _Verdict | None:
    """Why *run* is interrupted, or None if it has ended or may still be alive."""
    if run.status.terminal or _is_own_live_run(run):
        return None
    last_seen = await _last_seen(store, run)
    pid = _local_pid(run.owner)
    if pid is not None and not _process_exists(pid):
        return _Verdict("owner_exited", last_seen)
    if (utc_now() - last_seen).total_seconds() > stale_after:
        return _Verdict("lease_expired", last_seen)
    return None


async def _recover(store: SessionStore, run_id: str, stale_after: float) -> Run | None:
    run = await store.get_run(run_id)  # it may have ended, or emitted, since the scan
    verdict = await _verdict(store, run, stale_after)
    if verdict is None:
        return None
    error = _interruption(run, verdict, stale_after)
    # Written whole even if we are cancelled meanwhile, as a run records its own outcome.
    failed: Run | None = None
    with trio.move_on_after(RECORD_TIMEOUT, shield=True):
        failed = await _record(store, run, error)
    if failed is None:
        raise SessionError(
            "storage_write_failed",
            f"recording run {run.id} as interrupted took more than {RECORD_TIMEOUT:g}s",
        )
    return failed


async def _record(store: SessionStore, run: Run, error: SessionError) -> Run:
    """Save *run* failed with *error*, with ``run_failed``, and fail its session."""
    payload = error_payload(error)
    failed = run.with_status(
        RunStatus.FAILED,
        error={"code": error.code.value, "message": error.message, "details": error.details},
    )
    await store.save_run(failed)
    session = await store.get_session(run.session_id)
    provider = run.provider or _text(session.metadata.get("provider"))
    # Another recovery (another process) may have closed it a moment ago.
    append = store.appender(run.session_id, run.id, provider=provider)
    await append_run_event_once(store, append, failed, EventType.RUN_FAILED, payload)
    await _fail_session(store, session, provider, payload)
    return failed


async def _fail_session(
    store: SessionStore, session: Session, provider: str | None, payload: dict[str, Any]
) -> None:
    """Fail the session of a recovered run, unless it has ended or is still busy."""
    if session.status.terminal:
        return
    if any(not r.status.terminal for r in await store.list_runs(session.id)):
        return  # another run of the session is still going: it decides the outcome
    await store.save_session(session.with_status(SessionStatus.FAILED))
    await store.append_event(
        Event(type=EventType.SESSION_FAILED, session_id=session.id, provider=provider, data=payload)
    )


def _interruption(run: Run, verdict: _Verdict, stale_after: float) -> SessionError:
    owner = run.owner or "an unrecorded owner"
    if verdict.reason == "owner_exited":
        why = f"process {owner} no longer exists"
    else:
        silence = (utc_now() - verdict.last_seen).total_seconds()
        why = f"{owner} recorded nothing for {silence:.0f}s (stale_after={stale_after:g}s)"
    return SessionError(
        ErrorCode.RUN_INTERRUPTED,
        f"{ErrorCode.RUN_INTERRUPTED.default_message}: {why}",
        details={
            "reason": verdict.reason,
            "owner": run.owner,
            "last_seen": verdict.last_seen.isoformat(),
            "recovered_by": run_owner(),
        },
    )


async def _last_seen(store: SessionStore, run: Run) -> datetime:
    """The newest sign of life of *run*: its session's newest event, or its start."""
    last_seen = _utc(run.started_at)
    sequence = await store.get_latest_sequence(run.session_id)
    if sequence > 0:
        for event in await store.get_events(run.session_id, after=sequence - 1, limit=1):
            last_seen = max(last_seen, _utc(event.timestamp))
    return last_seen


def _is_own_live_run(run: Run) -> bool:
    """Owned by this process and started after it loaded the library (an earlier
    start means an earlier process with the same host and pid owned it)."""
    return run.owner == run_owner() and _utc(run.started_at) >= _LOADED_AT


def _local_pid(owner: str | None) -> int | None:
    """The pid in *owner* (``"host:pid"``) if it names a process on this host."""
    if not owner:
        return None
    host, _, pid = owner.rpartition(":")
    if host != run_owner().rpartition(":")[0] or not (pid.isascii() and pid.isdigit()):
        return None
    return int(pid) or None


def _process_exists(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # os.kill(pid, 0) would end the process there: unknown, so alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's process
        return True
    return True


def _utc(moment: datetime) -> datetime:
    """*moment* as an aware datetime (a naive one is taken as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
