"""Runs whose process is gone: found, listed as interrupted, and closed as failed.

The owner rule is tested by killing a real writer process (SIGKILL) over a
real SQLite file; the lease rule over the in-memory store with records whose
timestamps are set in the past (event times are wall-clock datetimes, so no
clock is mocked and nothing sleeps).
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from trio_stream_session import (
    ErrorCode,
    Event,
    EventType,
    InMemorySessionStore,
    Run,
    RunStatus,
    Session,
    SessionError,
    SessionStatus,
    SQLiteSessionStore,
    find_interrupted_runs,
    recover_interrupted_runs,
    run_once,
)
from trio_stream_session._events import utc_now
from trio_stream_session._manager import RECORD_TIMEOUT
from trio_stream_session._models import run_owner
from trio_stream_session.testing import MockAdapter

THIS_HOST = run_owner().rpartition(":")[0]
LONG_AGO = timedelta(days=1)

#: A writer that starts a run which never ends by itself, says so, and waits.
_WRITER = textwrap.dedent(
    """
    import math, sys, trio
    from trio_stream_session import SQLiteSessionStore, open_stream_session
    from trio_stream_session.testing import MockAdapter

    async def main(path):
        async with SQLiteSessionStore(path) as store:
            async with open_stream_session(
                adapter=MockAdapter("streaming", chunk_delay=3600),
                input={"prompt": "hello"},
                store=store,
                idle_timeout=math.inf,
            ) as stream:
                async for event in stream:
                    if event.type == "run_started":
                        print(stream.session_id, stream.run_id, flush=True)

    trio.run(main, sys.argv[1])
    """
)


@dataclass(frozen=True)
class KilledWriter:
    pid: int
    session_id: str
    run_id: str


async def _read_line(stream: trio.abc.ReceiveStream) -> str:
    buffer = b""
    while b"\n" not in buffer:
        chunk = await stream.receive_some()
        assert chunk, "the writer exited before its run started"
        buffer += chunk
    return buffer.split(b"\n", 1)[0].decode()


async def kill_writer_mid_run(path: Path) -> KilledWriter:
    """Start the writer, wait until its run is stored as running, SIGKILL it."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        with trio.fail_after(120):  # a safety net only: readiness is what is awaited
            session_id, run_id = (await _read_line(process.stdout)).split()
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()  # reaped: no zombie keeps the pid alive
        assert process.returncode == -signal.SIGKILL
        return KilledWriter(process.pid, session_id, run_id)
    finally:
        if process.returncode is None:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
        await process.stdout.aclose()


async def list_sessions_cli(path: Path) -> dict[str, str]:
    """``--list-sessions`` of the real command line: session id -> shown status."""
    done = await trio.run_process(
        [
            sys.executable,
            "-m",
            "trio_stream_session",
            "--store",
            f"sqlite:{path}",
            "--list-sessions",
        ],
        capture_stdout=True,
        capture_stderr=True,
    )
    assert done.stderr == b""
    return {line.split()[0]: line.split()[1] for line in done.stdout.decode().splitlines() if line}


async def test_a_killed_writer_is_found_listed_and_closed_but_a_live_run_never(
    tmp_path: Path,
) -> None:
    path = tmp_path / "killed.sqlite3"
    writer = await kill_writer_mid_run(path)
    assert await list_sessions_cli(path) == {writer.session_id: "interrupted"}

    async with SQLiteSessionStore(path) as store:
        killed = await store.get_run(writer.run_id)
        assert killed.status is RunStatus.RUNNING
        assert killed.owner == f"{THIS_HOST}:{writer.pid}"
        events_before = await store.get_events(writer.session_id)

        # A live run of this very process, in the same store (run_once this time).
        started: list[Event] = []
        running = trio.Event()

        def on_event(event: Event) -> None:
            if event.type is EventType.RUN_STARTED:
                started.append(event)
                running.set()

        adapter = MockAdapter("streaming", chunk_delay=3600)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                partial(run_once, store, adapter, {"prompt": "live"}, event_callback=on_event)
            )
            await running.wait()
            assert started[0].run_id is not None
            own_run = await store.get_run(started[0].run_id)
            assert (own_run.status, own_run.owner) == (RunStatus.RUNNING, run_owner())

            # Found at once by the owner rule; never this process's own run,
            # not even when any silence counts (stale_after=0).
            for stale_after in (600.0, 0.0):
                found = await find_interrupted_runs(store, stale_after=stale_after)
                assert [r.id for r in found] == [writer.run_id]
            assert (await store.get_events(writer.session_id)) == events_before  # read-only

            [recovered] = await recover_interrupted_runs(store, stale_after=0)
            assert await recover_interrupted_runs(store, stale_after=0) == []  # nothing left
            assert await store.get_run(own_run.id) == own_run  # the live run is untouched
            assert (await store.get_session(own_run.session_id)).status is SessionStatus.ACTIVE
            nursery.cancel_scope.cancel()
        # Ended by its own process: recorded as cancelled, never as interrupted.
        assert (await store.get_run(own_run.id)).status is RunStatus.CANCELLED

        run = await store.get_run(writer.run_id)
        assert run == recovered
        assert run.status is RunStatus.FAILED and run.ended_at is not None
        assert run.error is not None
        assert run.error["code"] == "run_interrupted" == ErrorCode.RUN_INTERRUPTED.value
        assert run.error["details"]["reason"] == "owner_exited"
        assert run.error["details"]["owner"] == killed.owner
        assert f"process {killed.owner} no longer exists" in run.error["message"]
        assert (await store.get_session(writer.session_id)).status is SessionStatus.FAILED

        events = await store.get_events(writer.session_id)
        assert events[: len(events_before)] == events_before
        run_failed, session_failed = events[len(events_before) :]
        assert (run_failed.type, run_failed.run_id) == (EventType.RUN_FAILED, writer.run_id)
        assert (session_failed.type, session_failed.run_id) == (EventType.SESSION_FAILED, None)
        for event in (run_failed, session_failed):
            assert event.provider == "mock"
            assert event.data["error_code"] == "run_interrupted"
            assert event.data["error_message"] == run.error["message"]
            assert event.data["details"]["reason"] == "owner_exited"
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))

    assert await list_sessions_cli(path) == {
        writer.session_id: "failed",
        own_run.session_id: "cancelled",
    }


async def _stored_run(
    store: InMemorySessionStore,
    *,
    owner: str | None,
    started: timedelta,
    last_event: timedelta | None = None,
    status: RunStatus = RunStatus.RUNNING,
) -> Run:
    """A session with one unfinished run started *started* ago, whose newest
    event (if any) was stored *last_event* ago."""
    now = utc_now()
    session = Session(agent_id="agent", metadata={"provider": "remote"})
    await store.save_session(session.with_status(SessionStatus.ACTIVE))
    run = Run(session_id=session.id, status=status, owner=owner, started_at=now - started)
    await store.save_run(run)
    if last_event is not None:
        await store.append_event(
            Event(
                type=EventType.MESSAGE_STREAMED,
                session_id=session.id,
                run_id=run.id,
                timestamp=now - last_event,
                data={"delta": "x", "content": "x"},
            )
        )
    return run


async def test_a_run_silent_past_its_lease_is_interrupted(store: InMemorySessionStore) -> None:
    hours = timedelta(hours=2)
    elsewhere = await _stored_run(store, owner="other-host:4242", started=hours, last_event=hours)
    unowned = await _stored_run(store, owner=None, started=hours, status=RunStatus.PENDING)
    busy = await _stored_run(
        store, owner="other-host:4243", started=hours, last_event=timedelta(seconds=5)
    )
    fresh = await _stored_run(store, owner=None, started=timedelta(seconds=5))

    found = await find_interrupted_runs(store)  # stale_after=600 s
    assert {r.id for r in found} == {elsewhere.id, unowned.id}
    assert await find_interrupted_runs(store, stale_after=3 * 3600) == []
    assert {r.id for r in await find_interrupted_runs(store, stale_after=1)} == {
        elsewhere.id,
        unowned.id,
        busy.id,
        fresh.id,
    }

    recovered = await recover_interrupted_runs(store)
    assert {r.id for r in recovered} == {elsewhere.id, unowned.id}
    for run in recovered:
        assert run.status is RunStatus.FAILED
        assert run.error is not None and run.error["code"] == "run_interrupted"
        assert run.error["details"]["reason"] == "lease_expired"
        assert "recorded nothing for 7200s (stale_after=600s)" in run.error["message"]
        assert (await store.get_session(run.session_id)).status is SessionStatus.FAILED
        types = [e.type for e in await store.get_events(run.session_id)]
        assert types[-2:] == [EventType.RUN_FAILED, EventType.SESSION_FAILED]
    for run in (busy, fresh):
        assert (await store.get_run(run.id)).status is run.status
        assert (await store.get_session(run.session_id)).status is SessionStatus.ACTIVE
    assert await recover_interrupted_runs(store) == []


async def test_this_process_pid_on_an_older_run_is_a_reused_pid(
    store: InMemorySessionStore,
) -> None:
    # Same host and pid as this process, but started before this process loaded
    # the library: an earlier process owned it, and the lease rule applies.
    earlier = await _stored_run(store, owner=run_owner(), started=LONG_AGO, last_event=LONG_AGO)
    # This process's own run: never interrupted, however silent.
    own = await _stored_run(store, owner=run_owner(), started=timedelta(0))
    found = await find_interrupted_runs(store, stale_after=0)
    assert [r.id for r in found] == [earlier.id]
    [recovered] = await recover_interrupted_runs(store, stale_after=0)
    assert recovered.error is not None
    assert recovered.error["details"]["reason"] == "lease_expired"
    assert (await store.get_run(own.id)).status is RunStatus.RUNNING


class _OwnerActsAfterTheScan:
    """An in-memory store whose run's owner acts right after recovery lists the
    runs and before it writes: the interleaving recovery must survive."""

    def __init__(self, inner: InMemorySessionStore, act: str) -> None:
        self._inner = inner
        self._act = act

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def list_runs(self, session_id: str, **kwargs: Any) -> list[Run]:
        runs = await self._inner.list_runs(session_id, **kwargs)
        for run in runs:
            if self._act == "completes" and not run.status.terminal:
                await self._inner.save_run(run.with_status(RunStatus.COMPLETED))
            elif self._act == "emits":
                await self._inner.append_event(
                    Event(type=EventType.MESSAGE_STREAMED, session_id=session_id, run_id=run.id)
                )
        return runs


@pytest.mark.parametrize("act", ["completes", "emits"])
async def test_a_run_that_ends_or_speaks_meanwhile_is_left_alone(
    store: InMemorySessionStore, act: str
) -> None:
    run = await _stored_run(store, owner="other-host:1", started=LONG_AGO, last_event=LONG_AGO)
    racing = _OwnerActsAfterTheScan(store, act)
    assert await recover_interrupted_runs(racing) == []
    stored = await store.get_run(run.id)
    assert stored.status is (RunStatus.COMPLETED if act == "completes" else RunStatus.RUNNING)
    assert stored.error is None
    types = {e.type for e in await store.get_events(run.session_id)}
    assert EventType.RUN_FAILED not in types and EventType.SESSION_FAILED not in types
    assert (await store.get_session(run.session_id)).status is SessionStatus.ACTIVE


class _CancelledWhileSaving:
    """An in-memory store that cancels *scope* as recovery saves the run."""

    def __init__(self, inner: InMemorySessionStore, scope: trio.CancelScope) -> None:
        self._inner = inner
        self._scope = scope

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def save_run(self, run: Run) -> None:
        self._scope.cancel()
        await self._inner.save_run(run)


async def test_a_cancelled_recovery_still_closes_the_run_whole(
    store: InMemorySessionStore,
) -> None:
    run = await _stored_run(store, owner="other-host:1", started=LONG_AGO, last_event=LONG_AGO)
    with trio.CancelScope() as scope:
        await recover_interrupted_runs(_CancelledWhileSaving(store, scope))
        await trio.lowlevel.checkpoint()  # the cancellation is still pending: delivered here
    assert scope.cancelled_caught
    assert (await store.get_run(run.id)).status is RunStatus.FAILED
    assert (await store.get_session(run.session_id)).status is SessionStatus.FAILED
    types = [e.type for e in await store.get_events(run.session_id)]
    assert types[-2:] == [EventType.RUN_FAILED, EventType.SESSION_FAILED]


class _HangingAppend:
    """An in-memory store whose appends never return."""

    def __init__(self, inner: InMemorySessionStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def append_event(self, event: Event) -> Event:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


async def test_a_recording_that_hangs_is_a_storage_error(
    store: InMemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    run = await _stored_run(store, owner="other-host:1", started=LONG_AGO, last_event=LONG_AGO)
    with pytest.raises(SessionError, match=f"recording run {run.id} as interrupted took more"):
        await recover_interrupted_runs(_HangingAppend(store))
    assert trio.current_time() == pytest.approx(RECORD_TIMEOUT)


@pytest.mark.parametrize(
    ("stale_after", "error", "message"),
    [
        (-1, ValueError, "stale_after must be >= 0 seconds"),
        (math.nan, TypeError, "stale_after must be a number of seconds"),
        ("600", TypeError, "stale_after must be a number of seconds"),
        (True, TypeError, "stale_after must be a number of seconds"),
    ],
)
async def test_a_bad_stale_after_is_refused(
    store: InMemorySessionStore, stale_after: Any, error: type[Exception], message: str
) -> None:
    for call in (find_interrupted_runs, recover_interrupted_runs):
        with pytest.raises(error, match=message):
            await call(store, stale_after=stale_after)


@pytest.mark.parametrize("store_ref", [object(), InMemorySessionStore, None])
async def test_a_non_store_is_refused(store_ref: Any) -> None:
    for call in (find_interrupted_runs, recover_interrupted_runs):
        with pytest.raises(TypeError, match="store must be a SessionStore instance"):
            await call(store_ref)


def test_error_code() -> None:
    code = ErrorCode.RUN_INTERRUPTED
    assert code.category == "runtime"
    assert code.default_message == "The process running this run is gone"
    assert code.retryable is False  # how far the run got is unknown: the caller decides


async def test_naive_timestamps_are_taken_as_utc(store: InMemorySessionStore) -> None:
    # Records rebuilt from an external source may carry naive times.
    session = Session(agent_id="a").with_status(SessionStatus.ACTIVE)
    await store.save_session(session)
    run = Run(session_id=session.id, status=RunStatus.RUNNING, started_at=datetime(2000, 1, 1))
    await store.save_run(run)
    assert [r.id for r in await find_interrupted_runs(store)] == [run.id]
