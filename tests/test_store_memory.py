"""InMemorySessionStore: the shared conformance suite plus memory-specific behaviour."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
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
    Session,
    SessionError,
    SessionStore,
)
from trio_stream_session.testing import store_conformance

CHECKS = store_conformance.CHECKS


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
async def test_conformance(check: store_conformance.Check) -> None:
    await check(InMemorySessionStore)


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
async def test_conformance_with_autojump_clock(
    check: store_conformance.Check, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    await check(InMemorySessionStore)
    assert trio.current_time() >= start


def test_conformance_suite_is_complete() -> None:
    assert len(CHECKS) >= 30
    assert all(callable(check) for check in CHECKS.values())


# -- protocol, repr, lifecycle -------------------------------------------------------------


async def test_is_a_session_store() -> None:
    async with InMemorySessionStore() as store:
        assert isinstance(store, SessionStore)


async def test_repr() -> None:
    store = InMemorySessionStore()
    assert repr(store) == "<InMemorySessionStore open sessions=0 events=0>"
    session = Session(agent_id="a")
    await store.save_session(session)
    await store.append_event(Event(type=EventType.SESSION_CREATED, session_id=session.id))
    await store.append_event(Event(type=EventType.SESSION_STARTED, session_id="ses_other"))
    assert repr(store) == "<InMemorySessionStore open sessions=1 events=2>"
    await store.aclose()
    assert repr(store) == "<InMemorySessionStore closed sessions=1 events=2>"


async def test_context_manager_closes() -> None:
    async with InMemorySessionStore() as store:
        assert store.closed is False
    assert store.closed is True
    with pytest.raises(SessionError) as info:
        async with store:
            pass
    assert info.value.code is ErrorCode.STORAGE_CONNECTION_FAILED


async def test_context_manager_closes_on_error() -> None:
    store = InMemorySessionStore()
    with pytest.raises(RuntimeError):
        async with store:
            raise RuntimeError("boom")
    assert store.closed


CLOSED_CALLS: list[tuple[str, Callable[[InMemorySessionStore], Awaitable[Any]]]] = [
    ("append_event", lambda s: s.append_event(Event(type=EventType.RUN_STARTED, session_id="x"))),
    (
        "append_events",
        lambda s: s.append_events([Event(type=EventType.RUN_STARTED, session_id="x")]),
    ),
    ("save_session", lambda s: s.save_session(Session(agent_id="a"))),
    ("get_session", lambda s: s.get_session("x")),
    ("list_sessions", lambda s: s.list_sessions()),
    ("delete_session", lambda s: s.delete_session("x")),
    ("save_run", lambda s: s.save_run(Run(session_id="x"))),
    ("get_run", lambda s: s.get_run("x")),
    ("list_runs", lambda s: s.list_runs("x")),
    ("get_active_run", lambda s: s.get_active_run("x")),
    ("flush", lambda s: s.flush(Session(agent_id="a"), Run(session_id="x"))),
    ("get_events", lambda s: s.get_events("x")),
    ("get_events_wait", lambda s: s.get_events("x", wait=5)),
    ("get_latest_sequence", lambda s: s.get_latest_sequence("x")),
]


@pytest.mark.parametrize("call", [c for _, c in CLOSED_CALLS], ids=[n for n, _ in CLOSED_CALLS])
async def test_closed_store_refuses_every_call(
    call: Callable[[InMemorySessionStore], Awaitable[Any]],
) -> None:
    store = InMemorySessionStore()
    await store.aclose()
    with pytest.raises(SessionError) as info:
        await call(store)
    assert info.value.code is ErrorCode.STORAGE_CONNECTION_FAILED
    assert info.value.retryable is True


# -- delete cascades -------------------------------------------------------------------------


async def test_delete_cascades_runs_and_events() -> None:
    async with InMemorySessionStore() as store:
        session, other = Session(agent_id="a"), Session(agent_id="b")
        run = Run(session_id=session.id).with_status("running")
        other_run = Run(session_id=other.id)
        events = [
            Event(type=EventType.RUN_STARTED, session_id=session.id, run_id=run.id),
            Event(type=EventType.RUN_COMPLETED, session_id=session.id, run_id=run.id),
        ]
        kept = Event(type=EventType.SESSION_CREATED, session_id=other.id)
        await store.flush(session, run, events)
        await store.flush(other, other_run, [kept])

        await store.delete_session(session.id)

        with pytest.raises(SessionError) as info:
            await store.get_run(run.id)
        assert info.value.code is ErrorCode.RUN_NOT_FOUND
        assert await store.list_runs(session.id) == []
        assert await store.get_active_run(session.id) is None
        assert await store.get_events(session.id) == []
        assert await store.get_latest_sequence(session.id) == 0
        assert repr(store) == "<InMemorySessionStore open sessions=1 events=1>"
        # The other session is untouched.
        assert (await store.get_run(other_run.id)).id == other_run.id
        assert [e.id for e in await store.get_events(other.id)] == [kept.id]


async def test_deleted_event_ids_can_be_appended_again() -> None:
    async with InMemorySessionStore() as store:
        event = Event(type=EventType.SESSION_CREATED, session_id="ses_a")
        await store.append_event(event)
        await store.delete_session("ses_a")
        again = await store.append_event(event)
        assert again.sequence_number == 1
        assert await store.get_events("ses_a") == [again]


async def test_delete_unknown_session_with_only_events() -> None:
    async with InMemorySessionStore() as store:
        await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="ses_e"))
        await store.delete_session("ses_e")
        assert await store.get_events("ses_e") == []


# -- stored values -------------------------------------------------------------------------


async def test_append_returns_a_sequenced_copy() -> None:
    async with InMemorySessionStore() as store:
        event = Event(type=EventType.SESSION_CREATED, session_id="ses_a")
        stored = await store.append_event(event)
        assert event.sequence_number is None
        assert stored.sequence_number == 1
        assert stored.id == event.id


async def test_duplicate_id_returns_original_even_for_another_session() -> None:
    async with InMemorySessionStore() as store:
        event = Event(type=EventType.SESSION_CREATED, session_id="ses_a")
        first = await store.append_event(event)
        moved = dataclasses.replace(event, session_id="ses_b")
        again = await store.append_event(moved)
        assert again == first
        assert await store.get_events("ses_b") == []


@pytest.mark.parametrize("bad", [None, "event", {"type": "session_created"}])
async def test_append_event_rejects_non_events(bad: Any) -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as info:
            await store.append_event(bad)
        assert info.value.code is ErrorCode.VALIDATION_ERROR


@pytest.mark.parametrize("bad", ["abc", b"abc", None, {Event}])
async def test_append_events_rejects_non_sequences(bad: Any) -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as info:
            await store.append_events(bad)
        assert info.value.code is ErrorCode.VALIDATION_ERROR


async def test_save_rejects_wrong_records() -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as info:
            await store.save_session(Run(session_id="s"))  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.VALIDATION_ERROR
        with pytest.raises(SessionError) as info:
            await store.save_run(Session(agent_id="a"))  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.VALIDATION_ERROR
        with pytest.raises(SessionError) as info:
            await store.flush(Run(session_id="s"), Run(session_id="s"))  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.VALIDATION_ERROR


async def test_unhashable_ids_are_not_found() -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as info:
            await store.get_session(["x"])  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.SESSION_NOT_FOUND
        with pytest.raises(SessionError) as info:
            await store.get_run(["x"])  # type: ignore[arg-type]
        assert info.value.code is ErrorCode.RUN_NOT_FOUND


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": True},
        {"limit": 1.5},
        {"after": True},
        {"before": "3"},
        {"wait": float("nan")},
        {"wait": True},
        {"wait": "1"},
        {"run_id": 5},
        {"type": 5},
    ],
)
async def test_more_bad_filters(kwargs: dict[str, Any]) -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as info:
            await store.get_events("ses_a", **kwargs)
        assert info.value.code is ErrorCode.VALIDATION_ERROR


async def test_bad_session_id_and_naive_since() -> None:
    async with InMemorySessionStore() as store:
        for session_id in ("", None):
            with pytest.raises(SessionError) as info:
                await store.get_events(session_id)  # type: ignore[arg-type]
            assert info.value.code is ErrorCode.VALIDATION_ERROR
        with pytest.raises(SessionError) as info:
            await store.get_events("s", since=datetime(2025, 1, 1))
        assert info.value.code is ErrorCode.VALIDATION_ERROR


async def test_after_beyond_the_end_and_before_zero() -> None:
    async with InMemorySessionStore() as store:
        for _ in range(3):
            await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="s"))
        assert await store.get_events("s", after=10) == []
        assert await store.get_events("s", before=0) == []
        assert await store.get_events("s", before=1) == []
        assert len(await store.get_events("s", after=0)) == 3


async def test_list_filters_reject_bad_status() -> None:
    async with InMemorySessionStore() as store:
        with pytest.raises(ValueError, match="bogus"):
            await store.list_sessions(status="bogus")
        with pytest.raises(ValueError, match="bogus"):
            await store.list_runs("s", status="bogus")


# -- long-poll and cancellation ---------------------------------------------------------------


async def test_cancelled_long_poll_leaves_no_waiter(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        with trio.move_on_after(1) as scope:
            await store.get_events("ses_a", wait=100)
        assert scope.cancelled_caught
        assert store._long_poll.waiters == {}
        # A later append still works and nobody is woken spuriously.
        stored = await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="ses_a"))
        assert stored.sequence_number == 1


async def test_timed_out_long_poll_leaves_no_waiter(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        start = trio.current_time()
        assert await store.get_events("ses_a", wait=3) == []
        assert trio.current_time() - start == pytest.approx(3)
        assert store._long_poll.waiters == {}


async def test_many_cancelled_waiters_leave_nothing(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(partial(store.get_events, f"ses_{i % 3}", wait=100))
            await trio.sleep(1)
            nursery.cancel_scope.cancel()
        assert store._long_poll.waiters == {}


async def test_woken_waiter_is_removed(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("ses_a", wait=100))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1)
            assert len(store._long_poll.waiters["ses_a"]) == 1
            await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="ses_a"))
        assert len(results[0]) == 1
        assert store._long_poll.waiters == {}


async def test_waiter_not_matching_reregisters(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("ses_a", type="run_started", wait=100))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1)
            await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="ses_a"))
            await trio.sleep(1)
            assert results == []
            assert len(store._long_poll.waiters["ses_a"]) == 1
            await store.append_event(Event(type=EventType.RUN_STARTED, session_id="ses_a"))
        assert [e.type for e in results[0]] == [EventType.RUN_STARTED]
        assert store._long_poll.waiters == {}


async def test_long_poll_wakes_on_flush_and_batch(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        session = Session(agent_id="a")
        run = Run(session_id=session.id)
        results: list[list[Event]] = []

        async def reader(after: int) -> None:
            results.append(await store.get_events(session.id, after=after, wait=100))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, 0)
            await trio.sleep(1)
            await store.flush(
                session, run, [Event(type=EventType.RUN_STARTED, session_id=session.id)]
            )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, 1)
            await trio.sleep(1)
            await store.append_events(
                [Event(type=EventType.MESSAGE_SENT, session_id=session.id) for _ in range(2)]
            )
        assert [[e.sequence_number for e in r] for r in results] == [[1], [2, 3]]


async def test_long_poll_applies_limit(autojump_clock: trio.testing.MockClock) -> None:
    async with InMemorySessionStore() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("s", limit=1, wait=100))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(1)
            await store.append_events(
                [Event(type=EventType.SESSION_CREATED, session_id="s") for _ in range(3)]
            )
        assert [e.sequence_number for e in results[0]] == [1]


async def test_append_is_a_cancellation_point_but_atomic() -> None:
    async with InMemorySessionStore() as store:
        event = Event(type=EventType.SESSION_CREATED, session_id="s")
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await store.append_event(event)
            with pytest.raises(trio.Cancelled):
                await store.append_events([event])
        assert await store.get_events("s") == []


async def test_reads_are_checkpoints() -> None:
    async with InMemorySessionStore() as store:
        with trio.testing.assert_checkpoints():
            await store.get_events("s")
        with trio.testing.assert_checkpoints():
            await store.list_sessions()
        with trio.testing.assert_checkpoints():
            await store.get_latest_sequence("s")
