"""The store conformance suite: behaviour every :class:`SessionStore` must have.

Each check is an async function taking a *store factory* (a zero-argument
callable returning an async context manager that yields a fresh, empty,
open store) and raising ``AssertionError`` on a violation. It imports no test
framework; with pytest and pytest-trio::

    from trio_stream_session.testing import store_conformance

    checks = store_conformance.CHECKS

    @pytest.mark.parametrize("check", checks.values(), ids=checks)
    async def test_conformance(check):
        await check(lambda: MyStore(...))

Timing checks measure with :func:`trio.current_time`, so they also pass under
``trio.testing.MockClock(autojump_threshold=0)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from functools import partial
from typing import Any, Final

import trio

from .._errors import ErrorCode, SessionError
from .._events import Event, EventType
from .._models import Run, RunStatus, Session, SessionStatus
from .._ports import SessionStore

__all__ = ["CHECKS", "Check", "StoreFactory"]

StoreFactory = Callable[[], AbstractAsyncContextManager[SessionStore]]
Check = Callable[[StoreFactory], Awaitable[None]]
CHECKS: Final[dict[str, Check]] = {}


def _check(fn: Check) -> Check:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


async def _raises(code: ErrorCode, awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except SessionError as exc:
        assert exc.code == code, f"expected {code}, got {exc.code}: {exc}"
    else:
        raise AssertionError(f"expected SessionError({code.value})")


def _session(agent_id: str = "agent", **kw: Any) -> Session:
    return Session(agent_id=agent_id, **kw)


def _event(session_id: str, type: EventType = EventType.SESSION_CREATED, **kw: Any) -> Event:
    return Event(type=type, session_id=session_id, **kw)


# -- sessions ---------------------------------------------------------------------------


@_check
async def check_session_save_and_get(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        await store.save_session(session)
        got = await store.get_session(session.id)
        assert (got.id, got.agent_id, got.status) == (session.id, "agent", SessionStatus.PENDING)
        assert got == session


@_check
async def check_session_not_found(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await _raises(ErrorCode.SESSION_NOT_FOUND, store.get_session("ses_missing"))


@_check
async def check_session_update_and_repeat_saves(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        for _ in range(3):
            await store.save_session(session)
        await store.save_session(session.with_status("active"))
        assert (await store.get_session(session.id)).status == SessionStatus.ACTIVE
        assert len(await store.list_sessions()) == 1


@_check
async def check_session_list_and_filters(open_store: StoreFactory) -> None:
    async with open_store() as store:
        pending = _session("a")
        active = _session("b").with_status("active")
        await store.save_session(pending)
        await store.save_session(active)
        assert {s.id for s in await store.list_sessions()} == {pending.id, active.id}
        assert [s.id for s in await store.list_sessions(status="pending")] == [pending.id]
        assert [s.id for s in await store.list_sessions(status=SessionStatus.ACTIVE)] == [active.id]
        assert [s.id for s in await store.list_sessions(agent_id="b")] == [active.id]
        assert len(await store.list_sessions(limit=1)) == 1


@_check
async def check_session_delete_is_idempotent(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        await store.save_session(session)
        await store.delete_session(session.id)
        await _raises(ErrorCode.SESSION_NOT_FOUND, store.get_session(session.id))
        await store.delete_session(session.id)


@_check
async def check_session_records_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session(
            metadata={"user_id": "u-1", "nested": {"a": [1, 2]}},
            context={"system_prompt": "Be helpful"},
            tags=("test",),
        )
        await store.save_session(session)
        got = await store.get_session(session.id)
        assert got.metadata == {"user_id": "u-1", "nested": {"a": [1, 2]}}
        assert got.context == {"system_prompt": "Be helpful"}
        assert list(got.tags) == ["test"]
        assert got.created_at == session.created_at


# -- runs -------------------------------------------------------------------------------


@_check
async def check_run_save_get_update(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        await store.save_session(session)
        run = Run(session_id=session.id, input={"prompt": "Hello"})
        await store.save_run(run)
        got = await store.get_run(run.id)
        assert (got.status, got.session_id, got.input) == (
            RunStatus.PENDING,
            session.id,
            {"prompt": "Hello"},
        )
        await store.save_run(run.with_status("running"))
        assert (await store.get_run(run.id)).status == RunStatus.RUNNING
        await _raises(ErrorCode.RUN_NOT_FOUND, store.get_run("run_missing"))


@_check
async def check_run_lists(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session, other = _session(), _session()
        runs = [Run(session_id=session.id), Run(session_id=session.id)]
        for run in runs:
            await store.save_run(run)
        assert [r.id for r in await store.list_runs(session.id)] == [r.id for r in runs]
        assert await store.list_runs(other.id) == []
        await store.save_run(runs[1].with_status("running"))
        assert [r.id for r in await store.list_runs(session.id, status="running")] == [runs[1].id]
        assert len(await store.list_runs(session.id, limit=1)) == 1


@_check
async def check_active_run(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        run = Run(session_id=session.id)
        await store.save_run(run)
        assert await store.get_active_run(session.id) is None
        running = run.with_status("running")
        await store.save_run(running)
        active = await store.get_active_run(session.id)
        assert active is not None and active.id == run.id and active.status == RunStatus.RUNNING
        await store.save_run(running.with_status("completed"))
        assert await store.get_active_run(session.id) is None


@_check
async def check_run_records_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        run = Run(session_id="ses_x", input={"messages": [{"role": "user", "content": "hi"}]})
        run = run.with_status("running").with_status(
            "completed",
            output={"content": "ok"},
            token_usage={"input_tokens": 1},
            cost_usd=0.5,
            provider="mock",
        )
        await store.save_run(run)
        assert await store.get_run(run.id) == run


# -- events -----------------------------------------------------------------------------


@_check
async def check_append_assigns_contiguous_sequence(open_store: StoreFactory) -> None:
    async with open_store() as store:
        assert await store.get_latest_sequence("ses_a") == 0
        first = await store.append_event(_event("ses_a"))
        second = await store.append_event(_event("ses_a", EventType.SESSION_STARTED))
        other = await store.append_event(_event("ses_b"))
        assert (first.sequence_number, second.sequence_number, other.sequence_number) == (1, 2, 1)
        assert await store.get_latest_sequence("ses_a") == 2
        # A preset sequence number is overwritten.
        preset = await store.append_event(_event("ses_a", sequence_number=99))
        assert preset.sequence_number == 3


@_check
async def check_append_returns_the_stored_event(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = _event("ses_a", EventType.RUN_STARTED, run_id="run_1", data={"model": "m"})
        stored = await store.append_event(event)
        assert (stored.id, stored.type, stored.session_id, stored.data) == (
            event.id,
            EventType.RUN_STARTED,
            "ses_a",
            {"model": "m"},
        )
        [got] = await store.get_events("ses_a")
        assert got == stored


@_check
async def check_append_dedups_by_id(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = _event("ses_a")
        first = await store.append_event(event)
        again = await store.append_event(event)
        assert (again.id, again.sequence_number) == (first.id, first.sequence_number)
        assert len(await store.get_events("ses_a")) == 1
        assert await store.get_latest_sequence("ses_a") == 1


@_check
async def check_append_events_batch(open_store: StoreFactory) -> None:
    async with open_store() as store:
        e1, e2 = _event("ses_a"), _event("ses_a")
        stored = await store.append_events([e1, e2])
        assert [e.sequence_number for e in stored] == [1, 2]
        same = _event("ses_b")
        twice = await store.append_events([same, same])
        assert [e.sequence_number for e in twice] == [1, 1]
        assert await store.get_latest_sequence("ses_b") == 1


@_check
async def check_append_events_is_all_or_nothing(open_store: StoreFactory) -> None:
    async with open_store() as store:
        bad: list[Any] = [_event("ses_a"), {"type": "session_created"}]
        await _raises(ErrorCode.VALIDATION_ERROR, store.append_events(bad))
        assert await store.get_events("ses_a") == []


@_check
async def check_events_in_append_order_with_filters(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sid = "ses_a"
        created = await store.append_event(_event(sid))
        await store.append_event(_event(sid, EventType.SESSION_STARTED))
        await store.append_event(_event(sid, EventType.RUN_STARTED, run_id="run_1"))
        await store.append_event(_event(sid))
        types = [e.type for e in await store.get_events(sid)]
        assert types == [
            EventType.SESSION_CREATED,
            EventType.SESSION_STARTED,
            EventType.RUN_STARTED,
            EventType.SESSION_CREATED,
        ]
        assert len(await store.get_events(sid, run_id="run_1")) == 1
        assert len(await store.get_events(sid, type="session_created")) == 2
        both = {EventType.SESSION_STARTED, EventType.RUN_STARTED}
        assert len(await store.get_events(sid, type=both)) == 2
        assert [e.sequence_number for e in await store.get_events(sid, after=1, before=4)] == [2, 3]
        assert [e.sequence_number for e in await store.get_events(sid, after=2)] == [3, 4]
        assert [e.sequence_number for e in await store.get_events(sid, before=3)] == [1, 2]
        assert [e.sequence_number for e in await store.get_events(sid, limit=2)] == [1, 2]
        later = created.timestamp + timedelta(days=1)
        assert await store.get_events(sid, since=later) == []
        assert len(await store.get_events(sid, since=created.timestamp)) == 4
        assert await store.get_events("ses_unknown") == []


@_check
async def check_filters_combine(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sid = "ses_a"
        msg = EventType.MESSAGE_RECEIVED
        e1 = await store.append_event(_event(sid, msg, run_id="run1"))
        e2 = await store.append_event(_event(sid, msg, run_id="run1"))
        await store.append_event(_event(sid, msg, run_id="run2"))
        e4 = await store.append_event(_event(sid, msg, run_id="run1"))
        await store.append_event(_event(sid, msg, run_id="run1"))
        found = await store.get_events(
            sid, after=e1.sequence_number, run_id="run1", type=msg, limit=2
        )
        assert [e.sequence_number for e in found] == [e2.sequence_number, e4.sequence_number]


@_check
async def check_bad_filters_are_rejected(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await _raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", limit=0))
        await _raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", after=-1))
        await _raises(ErrorCode.INVALID_EVENT_TYPE, store.get_events("ses_a", type="nope"))
        await _raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", wait=-1))


@_check
async def check_event_fields_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = _event(
            "ses_a",
            EventType.TOOL_CALL_COMPLETED,
            run_id="run_1",
            provider="mock",
            correlation_id="corr",
            data={"tool_name": "bash", "tool_output": {"lines": ["a", "é"]}, "n": 1.5},
            metadata={"latency_ms": 42},
        )
        stored = await store.append_event(event)
        [got] = await store.get_events("ses_a")
        assert got == stored
        assert got.timestamp == event.timestamp


#: Text with lone surrogates: what ``json.loads`` makes of a ``"\\ud83d"`` escape in
#: tool or CLI output, and what ``os.fsdecode`` makes of a file name's stray byte.
_LONE_SURROGATES: Final = "tool said \ud83d, file caf\udce9.txt"


@_check
async def check_lone_surrogates_round_trip(open_store: StoreFactory) -> None:
    text = _LONE_SURROGATES
    async with open_store() as store:
        session = _session(
            f"agent {text}",
            id=f"ses {text}",
            metadata={text: text},
            context={"cwd": text},
            tags=(text,),
        )
        await store.save_session(session)
        assert await store.get_session(session.id) == session
        assert await store.list_sessions(agent_id=session.agent_id) == [session]
        run = Run(id=f"run {text}", session_id=session.id, input={"prompt": text})
        run = run.with_status("running")
        await store.save_run(run)
        assert await store.get_active_run(session.id) == run
        done = run.with_status("completed", output={"content": text})
        await store.flush(session, done, [_event(session.id, run_id=run.id, data={"n": 1})])
        assert await store.get_run(run.id) == done
        assert await store.list_runs(session.id) == [done]
        event = _event(
            session.id,
            EventType.TOOL_CALL_COMPLETED,
            id=f"evt {text}",
            run_id=run.id,
            provider=text,
            correlation_id=text,
            data={"tool_name": "bash", "tool_output": text, text: [text, {text: text}]},
            metadata={"path": text},
        )
        stored = await store.append_event(event)
        assert (stored.data, stored.metadata) == (event.data, event.metadata)
        assert (await store.append_event(event)).sequence_number == 2  # deduplicated
        assert await store.get_events(session.id, run_id=run.id, after=1) == [stored]
        assert await store.get_latest_sequence(session.id) == 2
        await store.delete_session(session.id)
        assert await store.get_events(session.id) == []


# -- flush ------------------------------------------------------------------------------


@_check
async def check_flush_stores_everything(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        run = Run(session_id=session.id).with_status("running")
        events = [
            _event(session.id, EventType.RUN_STARTED, run_id=run.id),
            _event(session.id, EventType.RUN_COMPLETED, run_id=run.id),
        ]
        await store.flush(session, run, events)
        assert (await store.get_session(session.id)).id == session.id
        assert (await store.get_run(run.id)).status == RunStatus.RUNNING
        types = [e.type for e in await store.get_events(session.id, run_id=run.id)]
        assert types == [EventType.RUN_STARTED, EventType.RUN_COMPLETED]


@_check
async def check_flush_is_atomic(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        run = Run(session_id=session.id)
        bad: list[Any] = [_event(session.id), "not an event"]
        await _raises(ErrorCode.VALIDATION_ERROR, store.flush(session, run, bad))
        await _raises(ErrorCode.SESSION_NOT_FOUND, store.get_session(session.id))
        await _raises(ErrorCode.RUN_NOT_FOUND, store.get_run(run.id))
        assert await store.get_events(session.id) == []


# -- long-poll --------------------------------------------------------------------------


@_check
async def check_wait_returns_at_once_when_events_exist(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await store.append_event(_event("ses_a"))
        start = trio.current_time()
        found = await store.get_events("ses_a", after=0, wait=5)
        assert len(found) == 1
        assert trio.current_time() - start < 1


@_check
async def check_wait_wakes_on_append(open_store: StoreFactory) -> None:
    async with open_store() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("ses_a", wait=10))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(0.05)
            start = trio.current_time()
            await store.append_event(_event("ses_a"))
        assert trio.current_time() - start < 5
        assert [e.type for e in results[0]] == [EventType.SESSION_CREATED]


@_check
async def check_wait_times_out_empty(open_store: StoreFactory) -> None:
    async with open_store() as store:
        start = trio.current_time()
        assert await store.get_events("ses_a", wait=0.1) == []
        assert trio.current_time() - start >= 0.08
        start = trio.current_time()
        assert await store.get_events("ses_a") == []
        assert trio.current_time() - start < 0.1


@_check
async def check_wait_ignores_other_sessions_types_and_runs(open_store: StoreFactory) -> None:
    async with open_store() as store:
        results: dict[str, list[Event]] = {}

        async def reader(name: str, **filters: Any) -> None:
            results[name] = await store.get_events("ses_a", wait=10, **filters)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, "plain")
            nursery.start_soon(partial(reader, "typed", type=EventType.RUN_STARTED))
            nursery.start_soon(partial(reader, "run", run_id="run_2"))
            await trio.sleep(0.05)
            await store.append_event(_event("ses_b"))
            await trio.sleep(0.05)
            assert results == {}
            await store.append_event(_event("ses_a"))
            await trio.sleep(0.05)
            assert [e.session_id for e in results["plain"]] == ["ses_a"]
            assert "typed" not in results and "run" not in results
            await store.append_event(_event("ses_a", EventType.RUN_STARTED, run_id="run_1"))
            await trio.sleep(0.05)
            assert [e.type for e in results["typed"]] == [EventType.RUN_STARTED]
            assert "run" not in results
            await store.append_event(_event("ses_a", EventType.RUN_COMPLETED, run_id="run_2"))
        assert [e.run_id for e in results["run"]] == ["run_2"]


@_check
async def check_wait_ends_when_store_closes(open_store: StoreFactory) -> None:
    results: list[list[Event]] = []
    async with open_store() as store:

        async def reader() -> None:
            results.append(await store.get_events("ses_a", wait=1000))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(0.05)
            start = trio.current_time()
            await store.aclose()
    assert results == [[]]
    assert trio.current_time() - start < 100


@_check
async def check_closed_store_raises(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await store.aclose()
        await store.aclose()  # idempotent
        try:
            await store.get_session("ses_x")
        except SessionError as exc:
            assert exc.code.category.value == "storage", exc
        else:
            raise AssertionError("a closed store must refuse calls")


# -- concurrency ------------------------------------------------------------------------


@_check
async def check_concurrent_session_saves_and_deletes(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sessions = [_session(f"agent-{i}") for i in range(100)]
        async with trio.open_nursery() as nursery:
            for session in sessions:
                nursery.start_soon(store.save_session, session)
        assert len(await store.list_sessions()) == 100
        async with trio.open_nursery() as nursery:
            for session in sessions:
                nursery.start_soon(store.delete_session, session.id)
        assert await store.list_sessions() == []


@_check
async def check_concurrent_mixed_session_access(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = _session()
        await store.save_session(session)
        errors: list[BaseException] = []

        async def op(i: int) -> None:
            try:
                if i % 2:
                    await store.save_session(session)
                else:
                    assert (await store.get_session(session.id)).id == session.id
            except BaseException as exc:  # collected, then asserted empty
                errors.append(exc)
                raise

        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(op, i)
        assert errors == []
        assert (await store.get_session(session.id)).id == session.id


@_check
async def check_concurrent_runs(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sessions = [_session() for _ in range(100)]
        running = Run(session_id=sessions[0].id).with_status("running")
        await store.save_run(running)
        async with trio.open_nursery() as nursery:
            for session in sessions[1:]:
                nursery.start_soon(store.save_run, Run(session_id=session.id))
            for _ in range(20):
                nursery.start_soon(store.save_run, running)
        for session in sessions:
            assert len(await store.list_runs(session.id)) == 1
        seen: list[Run | None] = []

        async def active() -> None:
            seen.append(await store.get_active_run(sessions[0].id))

        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(active)
        assert len(seen) == 100 and all(r is not None and r.id == running.id for r in seen)


@_check
async def check_concurrent_appends_are_contiguous(open_store: StoreFactory) -> None:
    async with open_store() as store:
        events = [_event("ses_a", data={"i": i}) for i in range(100)]
        async with trio.open_nursery() as nursery:
            for event in events:
                nursery.start_soon(store.append_event, event)
                nursery.start_soon(store.append_event, event)  # duplicates race too
        stored = await store.get_events("ses_a")
        assert [e.sequence_number for e in stored] == list(range(1, 101))
        assert {e.id for e in stored} == {e.id for e in events}


@_check
async def check_concurrent_reads_and_writes(open_store: StoreFactory) -> None:
    async with open_store() as store:
        for i in range(50):
            await store.append_event(_event("ses_a", data={"i": i}))
        counts: list[int] = []

        async def read() -> None:
            counts.append(len(await store.get_events("ses_a", before=51)))

        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(read)
                if i % 4 == 0:
                    nursery.start_soon(store.append_event, _event("ses_a"))
        assert counts == [50] * 100
        assert await store.get_latest_sequence("ses_a") == 75
