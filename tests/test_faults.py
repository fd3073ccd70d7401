"""Faults and bad input: nothing crashes the consumer, nothing is lost."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
import trio
import trio.testing
from _support import USER_INPUT, ScriptedAdapter
from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    SessionStatus,
    open_session_supervisor,
    open_stream_session,
)
from trio_stream_session._input import check_input
from trio_stream_session.testing import MockAdapter

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
odd_values = json_values | st.binary(max_size=8) | st.tuples(st.integers()) | st.sets(st.integers())
event_mappings = st.dictionaries(
    st.sampled_from(["type", "data", "metadata", "timestamp", "session_id", "run_id", "x"]),
    odd_values | st.sampled_from([t.value for t in EventType]),
    max_size=6,
)


@given(raw_events=st.lists(event_mappings, max_size=6))
async def test_arbitrary_event_mappings_are_stored_and_streamed(
    raw_events: list[dict[str, Any]],
) -> None:
    store = InMemorySessionStore()
    async with open_stream_session(
        adapter=ScriptedAdapter(raw_events), input=USER_INPUT, store=store
    ) as stream:
        got = [e async for e in stream]
    assert len(got) == len(raw_events)
    assert all(isinstance(e, Event) and e.sequence_number is not None for e in got)
    stored = await store.get_events(stream.session_id or "", run_id=stream.run_id)
    assert [e.id for e in stored[1:]] == [e.id for e in got]  # [0] is message_sent
    for event in got:
        assert Event.from_dict(event.to_dict()).to_dict() == event.to_dict()


@given(value=odd_values | st.dictionaries(st.sampled_from(["messages", "prompt"]), odd_values))
async def test_arbitrary_input_is_rejected_at_the_call_or_runs(value: Any) -> None:
    try:
        check_input(value)
    except (TypeError, ValueError) as exc:
        rejected: type[Exception] | None = type(exc)
    else:
        rejected = None
    if rejected is not None:
        with pytest.raises(rejected, match="input must be"):
            async with open_stream_session(adapter=MockAdapter(), input=value):
                raise AssertionError("unreachable")
        return
    async with open_stream_session(adapter=MockAdapter(), input=value) as stream:
        events = [e async for e in stream]
    assert events[-1].type is EventType.RUN_COMPLETED


class StagedFailure(MockAdapter):
    """Raises *error* after emitting *after* events."""

    def __init__(self, after: int, error: BaseException) -> None:
        super().__init__("streaming", chunk_delay=0, response={"content": "x" * 40})
        self.after = after
        self.error = error

    async def execute(self, run: Any, session: Any, *, emit: Any, **opts: Any) -> Any:
        count = 0

        async def counting_emit(event: Any) -> Any:
            nonlocal count
            if count == self.after:
                raise self.error
            count += 1
            return await emit(event)

        return await super().execute(run, session, emit=counting_emit, **opts)


@pytest.mark.parametrize("after", range(8))  # the run emits 8 events
@pytest.mark.parametrize(
    "error", [SessionError("provider_error", "stage failure"), RuntimeError("stage bug")]
)
async def test_adapter_raising_at_each_stage(after: int, error: BaseException) -> None:
    store = InMemorySessionStore()
    async with open_stream_session(
        adapter=StagedFailure(after, error), input=USER_INPUT, store=store
    ) as stream:
        events = [e async for e in stream]
    *delivered, last = events
    assert len(delivered) == after
    assert last.type is EventType.ERROR_OCCURRED and last.data["error_code"] == "provider_error"
    assert "stage" in last.data["error_message"]
    run = await store.get_run(stream.run_id or "")
    assert run.status is RunStatus.FAILED
    stored = await store.get_events(run.session_id, run_id=run.id)
    assert [e.id for e in stored[1 : 1 + len(delivered)]] == [e.id for e in delivered]


async def supervise_mix(count: int) -> tuple[InMemorySessionStore, dict[int, list[Event]]]:
    store = InMemorySessionStore()
    results: dict[int, list[Event]] = {}

    def adapter_for(i: int) -> Any:
        kind = i % 4
        if kind == 0:
            return MockAdapter("instant")
        if kind == 1:
            return MockAdapter("streaming", chunk_delay=0.5)
        if kind == 2:
            return MockAdapter("failing")
        return MockAdapter("timeout")  # hangs: ended by the idle timeout

    async def consume(i: int, stream: Any) -> None:
        results[i] = [e async for e in stream]

    async with open_session_supervisor() as sup, trio.open_nursery() as nursery:
        for i in range(count):
            stream = await sup.start(
                adapter=adapter_for(i), input=USER_INPUT, store=store, idle_timeout=5
            )
            nursery.start_soon(consume, i, stream)
    return store, results


async def check_mix(count: int) -> None:
    store, results = await supervise_mix(count)
    assert len(results) == count
    for i, events in results.items():
        last = events[-1]
        expected = {
            0: "run_completed",
            1: "run_completed",
            2: "error_occurred",
            3: "error_occurred",
        }
        assert last.type == expected[i % 4]
        if i % 4 == 3:
            assert last.data["error_code"] == "timeout"
    sessions = await store.list_sessions()
    assert len(sessions) == count
    for session in sessions:
        assert session.status.terminal
        events = await store.get_events(session.id)
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
        [run] = await store.list_runs(session.id)
        assert run.status in (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.TIMEOUT)
    statuses = [s.status for s in sessions]
    assert statuses.count(SessionStatus.COMPLETED) == count // 2


async def test_a_thousand_mixed_sessions_with_bounded_memory(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gc.collect()
    tracemalloc.start()
    try:
        await check_mix(1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Peak Python heap per session (about 20 KiB), including its ~7 stored events.
    assert peak / 1000 < 64 * 1024, f"{peak / 1000 / 1024:.1f} KiB per session"
