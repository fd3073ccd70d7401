"""open_session_supervisor: many sessions, fault isolation."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import (
    Event,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    SessionStatus,
    StreamSession,
    open_session_supervisor,
)
from trio_stream_session.testing import MockAdapter


async def drain(stream: StreamSession, into: dict[int, list[Event]], key: int) -> None:
    into[key] = [event async for event in stream]


async def test_hundred_sessions_some_failing(autojump_clock: trio.testing.MockClock) -> None:
    store = InMemorySessionStore()
    results: dict[int, list[Event]] = {}
    async with open_session_supervisor() as sup:
        async with trio.open_nursery() as consumers:
            for i in range(100):
                adapter = MockAdapter("failing") if i % 10 == 3 else MockAdapter("streaming")
                stream = await sup.start(adapter=adapter, input=USER_INPUT, store=store)
                consumers.start_soon(drain, stream, results, i)
        assert sup.statistics().sessions_started == 100
    assert sup.statistics().sessions_active == 0
    for i, events in results.items():
        if i % 10 == 3:
            assert [e.type for e in events] == ["error_occurred"]
            assert events[0].data["error_code"] == "provider_error"
        else:
            assert events[-1].type == "run_completed" and len(events) == 6
    sessions = await store.list_sessions()
    assert len(sessions) == 100
    assert sum(s.status is SessionStatus.FAILED for s in sessions) == 10
    assert sum(s.status is SessionStatus.COMPLETED for s in sessions) == 90


async def test_crashing_session_does_not_disturb_siblings(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Crashing(MockAdapter):
        async def execute(self, *args: object, **kwargs: object) -> dict[str, object]:
            await trio.sleep(0.5)
            raise ZeroDivisionError("adapter bug")

    results: dict[int, list[Event]] = {}
    async with open_session_supervisor() as sup, trio.open_nursery() as consumers:
        slow = await sup.start(adapter=MockAdapter("streaming", chunk_delay=1), input=USER_INPUT)
        crashing = await sup.start(adapter=Crashing(), input=USER_INPUT)
        consumers.start_soon(drain, slow, results, 0)
        consumers.start_soon(drain, crashing, results, 1)
    assert results[1][0].data["error_code"] == "provider_error"
    assert "adapter bug" in results[1][0].data["error_message"]
    assert results[0][-1].type == "run_completed"


async def test_leaving_the_supervisor_closes_running_sessions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    async with open_session_supervisor() as sup:
        streams = [
            await sup.start(adapter=MockAdapter("timeout"), input=USER_INPUT, store=store)
            for _ in range(5)
        ]
        await trio.sleep(1)
        assert sup.statistics().sessions_active == 5
    for stream in streams:
        assert stream.statistics().state == "closed"
        assert (await store.get_run(stream.run_id or "")).status is RunStatus.CANCELLED
    with pytest.raises(SessionError) as info:
        await sup.start(adapter=MockAdapter(), input=USER_INPUT)
    assert info.value.code == "invalid_operation"


async def test_open_failure_raises_to_the_caller_not_the_supervisor() -> None:
    class Unopenable(MockAdapter):
        async def __aenter__(self) -> Unopenable:
            raise RuntimeError("nope")

    async with open_session_supervisor() as sup:
        with pytest.raises(SessionError) as info:
            await sup.start(adapter=Unopenable, input=USER_INPUT)
        assert info.value.code == "provider_unavailable"
        stream = await sup.start(adapter=MockAdapter(), input=USER_INPUT)
        assert [e.type async for e in stream][-1] == "run_completed"
