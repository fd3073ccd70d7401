"""open_stream_session / StreamSession (reference core_spec §1, §5.1, §5.6)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest
import trio
import trio.testing
from _support import USER_INPUT, FailingAppendStore, ScriptedAdapter

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    SessionStatus,
    StreamSession,
    open_stream_session,
    start_stream_session,
)
from trio_stream_session.testing import MockAdapter


async def collect(stream: StreamSession) -> list[Event]:
    return [event async for event in stream]


def types(events: list[Event]) -> list[str]:
    return [e.type.value for e in events]


class OwnedStore(InMemorySessionStore):
    """An in-memory store that records being opened and closed."""

    instances: ClassVar[list[OwnedStore]] = []

    def __init__(self) -> None:
        super().__init__()
        self.entered = False
        OwnedStore.instances.append(self)

    async def __aenter__(self) -> OwnedStore:
        self.entered = True
        return await super().__aenter__()


# -- reference tests (§5.1) -----------------------------------------------------------


async def test_streams_events_from_an_owned_adapter() -> None:
    async with open_stream_session(
        adapter=(MockAdapter, {"mode": "instant"}), input=USER_INPUT
    ) as stream:
        assert isinstance(stream, trio.abc.ReceiveChannel)
        events = await collect(stream)
        assert stream.meta["adapter"] is MockAdapter
        await stream.aclose()
    assert types(events) == ["run_started", "message_received", "run_completed"]
    assert [e.sequence_number for e in events] == [4, 5, 6]
    assert all(e.session_id == stream.session_id and e.run_id == stream.run_id for e in events)
    assert [dict(e.data) for e in events] == [
        {"model": "mock-model"},
        {"content": "Mock response", "role": "assistant"},
        {"stop_reason": "end_turn"},
    ]
    assert all(e.provider == "mock" and e.timestamp.tzinfo is not None for e in events)
    assert stream.result is not None and stream.result.token_usage["output_tokens"] == 20


async def test_borrowed_adapter_is_not_closed() -> None:
    adapter = MockAdapter()
    async with open_stream_session(adapter=adapter, input=USER_INPUT) as stream:
        await collect(stream)
    assert stream.meta["adapter"] is adapter
    assert (adapter.entered, adapter.exited) == (0, 0)
    assert len(adapter.executions) == 1


async def test_borrowed_store_is_not_closed() -> None:
    store = InMemorySessionStore()
    async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, store=store) as stream:
        await collect(stream)
    assert not store.closed
    assert len(await store.get_events(stream.session_id or "")) == 7


async def test_aclose_is_idempotent_and_works_before_consuming() -> None:
    async with open_stream_session(adapter=(MockAdapter, {}), input=USER_INPUT) as stream:
        for _ in range(3):
            await stream.aclose()
        assert await collect(stream) == []
        with pytest.raises(trio.ClosedResourceError):
            await stream.receive()
        assert stream.statistics().state == "closed"


async def test_failing_adapter_yields_one_error_event() -> None:
    async with open_stream_session(adapter=MockAdapter("failing"), input=USER_INPUT) as stream:
        events = await collect(stream)
    [event] = events
    assert event.type is EventType.ERROR_OCCURRED
    assert event.sequence_number is None
    assert event.data == {
        "error_code": "provider_error",
        "error_message": "Configured to fail",
        "provider_error": {
            "provider": "unknown",
            "kind": None,
            "message": "Configured to fail",
            "exit_code": None,
            "stderr": None,
            "truncated": None,
        },
    }


async def test_terminal_event_carries_the_provider_error() -> None:
    error = SessionError(
        "provider_error",
        "codex executable exited with status 2",
        details={"transport": "exec_failed", "exit_status": 2, "stderr": "x"},
        provider_error={
            "provider": "codex",
            "kind": "transport_exit",
            "message": "codex executable exited with status 2",
            "exit_code": 2,
            "stderr": "OPENAI_API_KEY=sk-proj-secret\npermission denied",
            "truncated?": True,
        },
    )
    async with open_stream_session(adapter=MockAdapter(fail_with=error), input=USER_INPUT) as s:
        [event] = await collect(s)
    data = event.data
    assert data["error_message"] == "codex executable exited with status 2"
    pe = data["provider_error"]
    assert (pe["provider"], pe["kind"], pe["exit_code"], pe["truncated"]) == (
        "codex",
        "transport_exit",
        2,
        True,
    )
    assert "sk-proj" not in pe["stderr"] and pe["stderr"].endswith("permission denied")
    assert data["details"] == {"transport": "exec_failed", "exit_status": 2, "stderr": "x"}


async def test_idle_timeout_ends_the_stream(autojump_clock: trio.testing.MockClock) -> None:
    store = InMemorySessionStore()
    start = trio.current_time()
    async with open_stream_session(
        adapter=MockAdapter("timeout"), input=USER_INPUT, store=store, idle_timeout=0.1
    ) as stream:
        events = await collect(stream)
    assert trio.current_time() - start == pytest.approx(0.1)
    [event] = events
    assert event.data == {
        "error_code": "timeout",
        "error_message": "stream idle timeout after 0.1s",
    }
    run = await store.get_run(stream.run_id or "")
    assert run.status is RunStatus.TIMEOUT
    session = await store.get_session(stream.session_id or "")
    assert session.status is SessionStatus.FAILED
    assert types(await store.get_events(session.id))[-2:] == ["run_timeout", "session_failed"]


async def test_provider_timeout_when_execute_times_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_stream_session(
        adapter=MockAdapter("timeout"),
        input=USER_INPUT,
        idle_timeout=10,
        run_opts={"adapter_opts": {"timeout": 0.001}},
    ) as stream:
        [event] = await collect(stream)
    assert event.data["error_code"] == "provider_timeout"
    assert event.data["error_message"] == "Provider execute call timed out after 5.001s"
    assert event.data["provider_error"]["provider"] == "unknown"
    assert event.data["details"]["operation"] == "execute"


async def test_agent_id_forwarding_top_level_wins() -> None:
    store = InMemorySessionStore()
    for agent_id, run_opts, expected in [
        ("top", {"agent_id": "inner"}, "top"),
        (None, {"agent_id": "inner"}, "inner"),
        ("test-agent", None, "test-agent"),
    ]:
        async with open_stream_session(
            adapter=MockAdapter(),
            input=USER_INPUT,
            store=store,
            agent_id=agent_id,
            run_opts=run_opts,
        ) as stream:
            await collect(stream)
        assert (await store.get_session(stream.session_id or "")).agent_id == expected


async def test_user_event_callback_still_called() -> None:
    seen: list[str] = []
    async with open_stream_session(
        adapter=MockAdapter(),
        input=USER_INPUT,
        run_opts={"event_callback": lambda e: seen.append(e.type)},
    ) as stream:
        events = await collect(stream)
    assert types(events) == seen == ["run_started", "message_received", "run_completed"]


async def test_raising_user_callback_does_not_disturb_the_stream() -> None:
    async def callback(event: Event) -> None:
        await trio.lowlevel.checkpoint()
        raise RuntimeError("user callback bug")

    async with open_stream_session(
        adapter=MockAdapter(), input=USER_INPUT, run_opts={"event_callback": callback}
    ) as stream:
        events = await collect(stream)
    assert types(events) == ["run_started", "message_received", "run_completed"]


async def test_missing_or_bad_options_fail_at_the_call() -> None:
    with pytest.raises(TypeError, match="adapter"):
        open_stream_session(input=USER_INPUT)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="input"):
        open_stream_session(adapter=MockAdapter())  # type: ignore[call-arg]
    bad_calls: list[dict[str, Any]] = [
        {"adapter": None, "input": USER_INPUT},
        {"adapter": "nope", "input": USER_INPUT},
        {"adapter": (MockAdapter, {}, "extra"), "input": USER_INPUT},
        {"adapter": MockAdapter(), "input": 42},
        {"adapter": MockAdapter(), "input": USER_INPUT, "store": "memory"},
        {"adapter": MockAdapter(), "input": USER_INPUT, "run_opts": {"nope": 1}},
        {"adapter": MockAdapter(), "input": USER_INPUT, "idle_timeout": "5"},
    ]
    for kwargs in bad_calls:
        with pytest.raises(TypeError):
            async with open_stream_session(**kwargs):
                raise AssertionError("unreachable")
    for kwargs in [{"idle_timeout": 0}, {"shutdown_timeout": -1}, {"max_buffer": -1}]:
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, **kwargs):
                raise AssertionError("unreachable")


async def test_streaming_adapter_delivers_events_in_order() -> None:
    async with open_stream_session(
        adapter=(MockAdapter, {"mode": "streaming", "chunk_delay": 0.001}), input=USER_INPUT
    ) as stream:
        events = await collect(stream)
    assert types(events) == [
        "run_started",
        "message_streamed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert [e.sequence_number for e in events] == list(range(4, 10))
    assert [e.data.get("delta") for e in events[1:3]] == ["Mock respo", "nse"]


# -- extra behaviours (§5.6 and the design) ---------------------------------------------


@pytest.mark.parametrize("how", ["exhaust", "break", "aclose"])
async def test_owned_resources_closed_adapter_before_store(
    how: str, autojump_clock: trio.testing.MockClock
) -> None:
    order: list[str] = []

    class TrackedAdapter(MockAdapter):
        async def __aexit__(self, *exc: object) -> None:
            order.append("adapter")
            await super().__aexit__(None, None, None)

    class TrackedStore(InMemorySessionStore):
        async def aclose(self) -> None:
            if not self.closed:
                order.append("store")
            await super().aclose()

    async with open_stream_session(
        adapter=(TrackedAdapter, {"mode": "streaming", "chunk_delay": 1}),
        input=USER_INPUT,
        store=TrackedStore,
    ) as stream:
        if how == "exhaust":
            await collect(stream)
        elif how == "break":
            async for _ in stream:
                break
        else:
            await stream.aclose()
    assert order == ["adapter", "store"]


async def test_session_manager_events_are_persisted_not_yielded() -> None:
    store = InMemorySessionStore()
    async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, store=store) as s:
        yielded = await collect(s)
    stored = await store.get_events(s.session_id or "")
    assert types(stored) == [
        "session_created",
        "session_started",
        "message_sent",
        *types(yielded),
        "session_completed",
    ]


async def test_non_provider_error_has_no_provider_error_key() -> None:
    adapter = MockAdapter(fail_with=SessionError("internal_error", "kaput", details={"a": 1}))
    async with open_stream_session(adapter=adapter, input=USER_INPUT) as stream:
        [event] = await collect(stream)
    assert event.data == {
        "error_code": "internal_error",
        "error_message": "kaput",
        "details": {"a": 1},
    }
    plain = MockAdapter(fail_with=SessionError("internal_error", "kaput"))
    async with open_stream_session(adapter=plain, input=USER_INPUT) as stream:
        [event] = await collect(stream)
    assert event.data == {"error_code": "internal_error", "error_message": "kaput"}


async def test_string_provider_and_kind_are_normalised() -> None:
    error = SessionError(
        "internal_error",
        "kaput2",
        provider_error={"provider": "Claude", "kind": "Parse_Error", "stderr": "l1\nl2"},
    )
    async with open_stream_session(adapter=MockAdapter(fail_with=error), input=USER_INPUT) as s:
        [event] = await collect(s)
    assert event.data["provider_error"] == {
        "provider": "claude",
        "kind": "parse_error",
        "message": "kaput2",
        "exit_code": None,
        "stderr": "l1\nl2",
        "truncated": None,
    }


async def test_unknown_adapter_types_become_error_occurred_in_the_stream() -> None:
    adapter = ScriptedAdapter(
        [
            {"type": "assistant_message", "data": {"content": "x"}},
            {"type": "run_completed", "data": {}},
        ]
    )
    async with open_stream_session(adapter=adapter, input=USER_INPUT) as stream:
        events = await collect(stream)
    assert types(events) == ["error_occurred", "run_completed"]
    assert events[0].data["original_type"] == "assistant_message"


async def test_crash_in_the_run_is_an_internal_error_event() -> None:
    class BrokenStore(InMemorySessionStore):
        async def save_run(self, run: Any) -> None:
            raise ZeroDivisionError("store bug")

    async with open_stream_session(
        adapter=MockAdapter(), input=USER_INPUT, store=BrokenStore()
    ) as stream:
        [event] = await collect(stream)
    assert event.data["error_code"] == "internal_error"
    assert "ZeroDivisionError: store bug" in event.data["error_message"]
    assert "Traceback" in event.data["error_message"]


async def test_secrets_never_reach_the_terminal_event() -> None:
    error = SessionError(
        "provider_error",
        "failed with Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456",
        provider_error={"stderr": "ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwx"},
    )
    async with open_stream_session(adapter=MockAdapter(fail_with=error), input=USER_INPUT) as s:
        [event] = await collect(s)
    text = repr(event.to_dict())
    assert "abcdefghijklmnopqrstuvwxyz123456" not in text and "sk-ant-api03" not in text


async def test_break_early_cancels_and_records_the_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    adapter = MockAdapter("streaming", chunk_delay=1)
    async with open_stream_session(adapter=adapter, input=USER_INPUT, store=store) as stream:
        async for event in stream:
            assert event.type is EventType.RUN_STARTED
            break
    run = await store.get_run(stream.run_id or "")
    assert run.status is RunStatus.CANCELLED
    assert (await store.get_session(run.session_id)).status is SessionStatus.CANCELLED
    recorded = types(await store.get_events(run.session_id))
    assert recorded[-2:] == ["run_cancelled", "session_cancelled"]
    seqs = [e.sequence_number for e in await store.get_events(run.session_id)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_outer_cancel_scope_mid_stream(autojump_clock: trio.testing.MockClock) -> None:
    store = InMemorySessionStore()
    received: list[Event] = []
    with trio.move_on_after(1.5) as scope:
        async with open_stream_session(
            adapter=MockAdapter("streaming", chunk_delay=1), input=USER_INPUT, store=store
        ) as stream:
            async for event in stream:
                received.append(event)
    assert scope.cancelled_caught
    assert types(received) == ["run_started", "message_streamed"]
    run = await store.get_run(stream.run_id or "")
    assert run.status is RunStatus.CANCELLED
    assert stream.statistics().state == "closed"


async def test_body_exception_propagates_unwrapped() -> None:
    with pytest.raises(KeyError, match="from the body"):
        async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT):
            raise KeyError("from the body")


async def test_body_exception_is_the_same_object_with_its_traceback() -> None:
    raised = ValueError("mine")
    with pytest.raises(ValueError, match="mine") as info:
        async with open_stream_session(adapter=MockAdapter("streaming"), input=USER_INPUT) as s:
            await s.receive()
            raise raised
    assert info.value is raised
    assert info.value.__traceback__ is not None
    assert not isinstance(info.value.__context__, BaseExceptionGroup)


async def test_the_context_manager_is_one_shot() -> None:
    manager = open_stream_session(adapter=MockAdapter(), input=USER_INPUT)
    async with manager as stream:
        assert [e.type for e in await collect(stream)]
    with pytest.raises(RuntimeError, match="only be entered once"):
        async with manager:
            raise AssertionError("unreachable")


async def test_keyboard_interrupt_in_the_body_propagates_after_cleanup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    with pytest.raises(KeyboardInterrupt):
        async with open_stream_session(
            adapter=MockAdapter("streaming", chunk_delay=1), input=USER_INPUT, store=store
        ) as stream:
            await stream.receive()
            raise KeyboardInterrupt
    assert (await store.get_run(stream.run_id or "")).status is RunStatus.CANCELLED


async def test_keyboard_interrupt_in_the_run_propagates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    with pytest.raises(KeyboardInterrupt):
        async with open_stream_session(
            adapter=ScriptedAdapter([{"type": "run_started"}], raises=KeyboardInterrupt()),
            input=USER_INPUT,
            store=store,
        ) as stream:
            await collect(stream)
    [session] = await store.list_sessions()
    assert session.status is SessionStatus.CANCELLED


async def test_slow_consumer_with_small_buffer_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter = MockAdapter("burst", burst_events=50)
    async with open_stream_session(
        adapter=adapter, input=USER_INPUT, max_buffer=1, idle_timeout=1
    ) as stream:
        events: list[Event] = []
        async for event in stream:
            events.append(event)
            await trio.sleep(5)  # far slower than the idle timeout
            assert stream.statistics().current_buffer_used <= 1
    assert len(events) == 53
    assert types(events)[-1] == "run_completed"
    indices = [e.data["index"] for e in events if e.type is EventType.MESSAGE_STREAMED]
    assert indices == list(range(50))


async def test_a_consumer_pause_longer_than_every_timeout_loses_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    async with open_stream_session(
        adapter=MockAdapter("streaming", chunk_delay=0),
        input=USER_INPUT,
        store=store,
        max_buffer=0,
        idle_timeout=1,
        run_opts={"adapter_opts": {"timeout": 2}},
    ) as stream:
        first = await stream.receive()
        await trio.sleep(1000)  # longer than idle_timeout and the 7 s execute deadline
        rest = await collect(stream)
    assert types([first, *rest]) == [
        "run_started",
        "message_streamed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert (await store.get_run(stream.run_id or "")).status is RunStatus.COMPLETED


async def test_idle_timer_counts_silence_between_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Chunks 0.9 s apart never trip a 1 s idle timeout, however long the run.
    adapter = MockAdapter("streaming", chunk_delay=0.9, response={"content": "x" * 100})
    async with open_stream_session(adapter=adapter, input=USER_INPUT, idle_timeout=1) as stream:
        events = await collect(stream)
    assert types(events)[-1] == "run_completed"
    assert len(events) == 14


async def test_infinite_idle_timeout_disables_the_watchdog(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.move_on_after(10_000) as scope:
        async with open_stream_session(
            adapter=MockAdapter("timeout"),
            input=USER_INPUT,
            idle_timeout=math.inf,
            run_opts={"adapter_opts": {"timeout": "unbounded"}},
        ) as stream:
            await collect(stream)
    assert scope.cancelled_caught


async def test_aclose_from_another_task_ends_iteration(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_stream_session(adapter=MockAdapter("timeout"), input=USER_INPUT) as stream:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect, stream)
            await trio.sleep(1)
            await stream.aclose()
        assert stream.statistics().state == "closed"


async def test_owned_store_open_failure_raises_session_error() -> None:
    class Unopenable(InMemorySessionStore):
        async def __aenter__(self) -> Unopenable:
            raise OSError("disk on fire")

    with pytest.raises(SessionError) as info:
        async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, store=Unopenable):
            raise AssertionError("unreachable")
    assert info.value.code == "storage_connection_failed"
    assert isinstance(info.value.__cause__, OSError)


async def test_owned_adapter_open_failure_closes_the_owned_store() -> None:
    OwnedStore.instances.clear()

    class Unopenable(MockAdapter):
        async def __aenter__(self) -> Unopenable:
            raise RuntimeError("no key")

    with pytest.raises(SessionError) as info:
        async with open_stream_session(adapter=Unopenable, input=USER_INPUT, store=OwnedStore):
            raise AssertionError("unreachable")
    assert info.value.code == "provider_unavailable"
    [store] = OwnedStore.instances
    assert store.entered and store.closed


async def test_an_event_the_store_cannot_persist_ends_the_stream_with_its_error() -> None:
    inner = InMemorySessionStore()
    async with open_stream_session(
        adapter=MockAdapter(), input=USER_INPUT, store=FailingAppendStore(inner)
    ) as stream:
        events = await collect(stream)
    assert types(events) == ["run_started", "error_occurred"]
    assert events[-1].data["error_code"] == "storage_write_failed"
    assert stream.result is None
    run = await inner.get_run(events[0].run_id or "")
    assert run.status is RunStatus.FAILED


async def test_statistics_counts() -> None:
    async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT) as stream:
        first = stream.statistics()
        assert first.max_buffer_size == 64
        await collect(stream)
        stats = stream.statistics()
    assert (stats.events_delivered, stats.events_received, stats.current_buffer_used) == (3, 3, 0)


async def test_start_stream_session_in_a_caller_nursery() -> None:
    store = InMemorySessionStore()
    async with trio.open_nursery() as nursery:
        stream = await start_stream_session(
            nursery,
            adapter=(MockAdapter, {"mode": "streaming", "chunk_delay": 0}),
            input="hi",
            store=store,
        )
        events = await collect(stream)
        assert stream.session_id is not None
        await stream.aclose()
    assert types(events)[-1] == "run_completed"
    assert (await store.get_session(stream.session_id)).status is SessionStatus.COMPLETED


async def test_consumer_need_not_be_the_opening_task() -> None:
    results: list[list[Event]] = []
    async with (
        open_stream_session(adapter=MockAdapter(), input=USER_INPUT) as stream,
        trio.open_nursery() as nursery,
    ):

        async def consume() -> None:
            results.append(await collect(stream))

        nursery.start_soon(consume)
    assert types(results[0]) == ["run_started", "message_received", "run_completed"]
