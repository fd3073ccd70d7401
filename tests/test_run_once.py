"""run_once: the session/run lifecycle (reference core_spec §2, §5.2)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import trio
from _support import USER_INPUT, FailingAppendStore, ScriptedAdapter, StoreKillingAdapter

from trio_stream_session import (
    Capability,
    Event,
    EventType,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    SessionStatus,
    Transcript,
    cancel_run,
    run_once,
)
from trio_stream_session.testing import MockAdapter


def types(events: list[Event]) -> list[str]:
    return [e.type.value for e in events]


async def test_returns_output_token_usage_and_ids(store: InMemorySessionStore) -> None:
    result = await run_once(store, MockAdapter(), USER_INPUT)
    assert result.output == {
        "content": "Mock response",
        "stop_reason": "end_turn",
        "tool_calls": [],
    }
    assert result.token_usage == {"input_tokens": 10, "output_tokens": 20}
    assert result.session_id.startswith("ses_") and len(result.session_id) == 36
    assert result.run_id.startswith("run_")
    assert result.events == ()
    assert result.cost_usd is None


async def test_persisted_order_on_success(store: InMemorySessionStore) -> None:
    result = await run_once(store, MockAdapter(), USER_INPUT, metadata={"correlation_id": "corr-1"})
    events = await store.get_events(result.session_id)
    assert types(events) == [
        "session_created",
        "session_started",
        "message_sent",
        "run_started",
        "message_received",
        "run_completed",
        "session_completed",
    ]
    assert [e.sequence_number for e in events] == list(range(1, 8))
    assert [e.run_id is not None for e in events] == [False, False, True, True, True, True, False]
    assert events[0].data == {"provider": "mock"}
    assert events[2].data == {"role": "user", "content": "hello"}
    assert events[3].data == {"model": "mock-model"}
    assert events[4].data == {"content": "Mock response", "role": "assistant"}
    assert events[5].data == {"stop_reason": "end_turn"}
    assert all(e.provider == "mock" and e.correlation_id == "corr-1" for e in events)


async def test_final_session_and_run_records(store: InMemorySessionStore) -> None:
    result = await run_once(store, MockAdapter(), USER_INPUT)
    session = await store.get_session(result.session_id)
    run = await store.get_run(result.run_id)
    assert session.status is SessionStatus.COMPLETED
    assert session.metadata == {
        "provider": "mock",
        "provider_sessions": {"mock": {"model": "mock-model"}},
    }
    assert run.status is RunStatus.COMPLETED
    assert run.output == {"content": "Mock response", "stop_reason": "end_turn", "tool_calls": []}
    assert run.token_usage == {"input_tokens": 10, "output_tokens": 20}
    assert run.provider == "mock"
    assert run.metadata == run.provider_metadata == {"provider": "mock", "model": "mock-model"}
    assert run.ended_at is not None
    assert run.input == USER_INPUT


async def test_agent_id_defaults_to_adapter_name_or_is_custom(store: InMemorySessionStore) -> None:
    default = await run_once(store, MockAdapter(), USER_INPUT)
    custom = await run_once(store, MockAdapter(), USER_INPUT, agent_id="custom-agent")
    assert (await store.get_session(default.session_id)).agent_id == "mock"
    assert (await store.get_session(custom.session_id)).agent_id == "custom-agent"
    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter(), USER_INPUT, agent_id="")
    assert info.value.code == "validation_error"
    assert "agent_id cannot be empty" in info.value.message


async def test_forwards_metadata_context_and_tags(store: InMemorySessionStore) -> None:
    result = await run_once(
        store,
        MockAdapter(),
        USER_INPUT,
        metadata={"user_id": "u-1"},
        context={"system_prompt": "Be helpful"},
        tags=["test"],
    )
    session = await store.get_session(result.session_id)
    assert session.metadata["user_id"] == "u-1"
    assert session.metadata["provider"] == "mock"
    assert session.context == {"system_prompt": "Be helpful"}
    assert list(session.tags) == ["test"]


async def test_adapter_failure_is_recorded_and_raised(store: InMemorySessionStore) -> None:
    adapter = MockAdapter(fail_with=SessionError("provider_error", "Boom"))
    with pytest.raises(SessionError) as info:
        await run_once(store, adapter, USER_INPUT)
    assert info.value.code == "provider_error"
    [session] = await store.list_sessions()
    assert session.status is SessionStatus.FAILED
    [run] = await store.list_runs(session.id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["code"] == "provider_error"
    events = await store.get_events(session.id)
    assert types(events) == [
        "session_created",
        "session_started",
        "message_sent",
        "run_failed",
        "session_failed",
    ]
    assert events[3].data["error_message"] == "Boom"
    assert events[3].data["provider_error"]["provider"] == "unknown"
    assert events[3].data["provider_error"]["kind"] is None


async def test_events_before_a_failure_stay_stored(store: InMemorySessionStore) -> None:
    adapter = ScriptedAdapter(
        [
            {"type": "run_started", "data": {}},
            {"type": "message_streamed", "data": {"content": "x"}},
        ],
        raises=SessionError("provider_error", "mid-run failure"),
    )
    with pytest.raises(SessionError):
        await run_once(store, adapter, USER_INPUT)
    [session] = await store.list_sessions()
    assert types(await store.get_events(session.id))[3:] == [
        "run_started",
        "message_streamed",
        "run_failed",
        "session_failed",
    ]


async def test_codex_provider_error_is_persisted(store: InMemorySessionStore) -> None:
    error = SessionError(
        "provider_error",
        "codex executable exited with status 2",
        details={"transport": "exec_failed", "exit_status": 2, "stderr": "x"},
        provider_error={
            "provider": "codex",
            "kind": "transport_exit",
            "exit_code": 2,
            "stderr": "OPENAI_API_KEY=sk-proj-secretsecretsecret\npermission denied",
            "truncated?": True,
        },
    )
    with pytest.raises(SessionError):
        await run_once(store, MockAdapter(fail_with=error), USER_INPUT)
    [session] = await store.list_sessions()
    [run] = await store.list_runs(session.id)
    assert run.error is not None
    assert run.error["code"] == "provider_error"
    assert run.error["message"] == "codex executable exited with status 2"
    pe = run.error["provider_error"]
    assert (pe["provider"], pe["kind"], pe["exit_code"], pe["truncated"]) == (
        "codex",
        "transport_exit",
        2,
        True,
    )
    assert set(pe) == {"provider", "kind", "message", "exit_code", "stderr", "truncated"}
    assert "sk-proj" not in pe["stderr"] and "permission denied" in pe["stderr"]
    assert run.error["details"]["transport"] == "exec_failed"
    failed = (await store.get_events(session.id, type=EventType.RUN_FAILED))[0]
    assert failed.data["provider_error"] == pe
    assert failed.data["error_message"] == "codex executable exited with status 2"


async def test_provider_timeout_marks_run_and_session_failed(
    store: InMemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter("timeout"), USER_INPUT, adapter_opts={"timeout": 0.001})
    assert info.value.code == "provider_timeout"
    assert info.value.message == "Provider execute call timed out after 5.001s"
    assert trio.current_time() - start == pytest.approx(5.001)
    [session] = await store.list_sessions()
    assert session.status is SessionStatus.FAILED
    [run] = await store.list_runs(session.id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["details"]["operation"] == "execute"


async def test_no_wall_clock_limit_by_default(
    store: InMemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    # An agent run may take hours: only adapter_opts["timeout"] sets a limit.
    week = 7 * 86_400
    with trio.move_on_after(week) as scope:
        await run_once(store, MockAdapter("timeout"), USER_INPUT)
    assert scope.cancelled_caught
    [session] = await store.list_sessions()
    [run] = await store.list_runs(session.id)
    assert run.status is RunStatus.CANCELLED


@pytest.mark.parametrize(
    ("seconds", "message"),
    [("x", "positive number"), (-1, "> 0"), (0, "> 0"), (math.nan, "> 0"), ([], "number")],
)
async def test_bad_execute_timeout_is_rejected_at_the_call(
    store: InMemorySessionStore, seconds: object, message: str
) -> None:
    with pytest.raises(SessionError, match=re.escape(message)) as info:
        await run_once(store, MockAdapter(), USER_INPUT, adapter_opts={"timeout": seconds})
    assert info.value.code == "validation_error"
    assert await store.list_sessions() == []


async def test_callback_sees_events_in_real_time(store: InMemorySessionStore) -> None:
    seen: list[tuple[str, int | None]] = []
    result = await run_once(
        store,
        MockAdapter(),
        USER_INPUT,
        event_callback=lambda e: seen.append((e.type, e.sequence_number)),
    )
    assert seen == [("run_started", 4), ("message_received", 5), ("run_completed", 6)]
    assert result.run_id


async def test_async_callback_is_awaited(store: InMemorySessionStore) -> None:
    seen: list[str] = []

    async def callback(event: Event) -> None:
        await trio.lowlevel.checkpoint()
        seen.append(event.type)

    await run_once(
        store, MockAdapter("streaming", chunk_delay=0), USER_INPUT, event_callback=callback
    )
    assert seen[0] == "run_started" and seen[-1] == "run_completed" and len(seen) == 6


async def test_raising_callback_fails_the_run(store: InMemorySessionStore) -> None:
    def callback(event: Event) -> None:
        raise RuntimeError("callback boom")

    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter(), USER_INPUT, event_callback=callback)
    assert info.value.code == "provider_error"
    assert "callback boom" in info.value.message


async def test_required_capabilities(store: InMemorySessionStore) -> None:
    adapter = MockAdapter()
    await run_once(store, adapter, USER_INPUT, required_capabilities=["tool"])
    assert len(adapter.executions) == 1
    await run_once(store, adapter, USER_INPUT, optional_capabilities=["code_execution"])
    assert len(adapter.executions) == 2

    only_tool = MockAdapter(capabilities=[Capability(name="t", type="tool")])
    other = InMemorySessionStore()
    with pytest.raises(SessionError) as info:
        await run_once(other, only_tool, USER_INPUT, required_capabilities=["file_access"])
    assert info.value.code == "missing_required_capability"
    assert info.value.message == "Missing required capability types: file_access"
    [session] = await other.list_sessions()
    assert await other.list_runs(session.id) == []
    assert types(await other.get_events(session.id)) == [
        "session_created",
        "session_started",
        "session_failed",
    ]
    assert only_tool.executions == []


@pytest.mark.parametrize(
    "bad", [InMemorySessionStore, (InMemorySessionStore, "ignored"), "store", 1]
)
async def test_rejects_what_is_not_a_store(bad: Any) -> None:
    with pytest.raises(SessionError) as info:
        await run_once(bad, MockAdapter(), USER_INPUT)
    assert info.value.code == "validation_error"


async def test_rejects_bad_input_and_adapter(store: InMemorySessionStore) -> None:
    with pytest.raises(SessionError, match="input must be a mapping"):
        await run_once(store, MockAdapter(), 42)  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="adapter must be a ProviderAdapter"):
        await run_once(store, object(), USER_INPUT)  # type: ignore[arg-type]
    assert await store.list_sessions() == []


async def test_prompt_and_string_inputs_give_one_message_sent(store: InMemorySessionStore) -> None:
    for value in ({"prompt": "Hello"}, "Hello"):
        result = await run_once(store, MockAdapter(), value)
        sent = await store.get_events(result.session_id, type="message_sent")
        assert [e.data for e in sent] == [{"role": "user", "content": "Hello"}]
        assert sent[0].sequence_number == 3


async def test_string_event_types_are_canonicalised_and_unknown_ones_flagged(
    store: InMemorySessionStore,
) -> None:
    adapter = ScriptedAdapter(
        [
            {"type": "run_started", "data": {}},
            {"type": "assistant_message", "data": {"content": "x"}},
            {"type": EventType.RUN_COMPLETED, "data": {"stop_reason": "end_turn"}},
            {"data": "not a mapping"},
        ]
    )
    result = await run_once(store, adapter, USER_INPUT)
    events = await store.get_events(result.session_id, run_id=result.run_id)
    assert types(events)[1:] == ["run_started", "error_occurred", "run_completed", "error_occurred"]
    assert events[2].data == {"content": "x", "original_type": "assistant_message"}
    assert events[4].data == {}
    assert "_validation_warnings" in events[2].metadata


async def test_shape_warnings_are_advisory(store: InMemorySessionStore) -> None:
    adapter = ScriptedAdapter([{"type": "message_received", "data": {"content": "hi"}}])
    result = await run_once(store, adapter, USER_INPUT)
    [event] = await store.get_events(result.session_id, type="message_received")
    assert event.metadata["_validation_warnings"] == [
        "missing required field 'role' for shape validation"
    ]


async def test_adapter_timestamp_and_metadata_are_kept(store: InMemorySessionStore) -> None:
    when = datetime(2025, 6, 15, 10, 30, tzinfo=UTC)
    adapter = ScriptedAdapter(
        [
            {"type": "run_started", "timestamp": when, "metadata": {"provider_event_id": "pe-123"}},
            {"type": "run_completed", "timestamp": "not a datetime", "data": {"stop_reason": "x"}},
            {"type": "message_received", "session_id": "ignored", "run_id": "ignored", "data": {}},
        ]
    )
    result = await run_once(store, adapter, USER_INPUT)
    events = await store.get_events(result.session_id, run_id=result.run_id)
    assert events[1].timestamp == when
    assert events[1].metadata == {"provider_event_id": "pe-123"}
    assert events[2].timestamp > when
    assert events[3].session_id == result.session_id and events[3].run_id == result.run_id
    assert all(e.provider == "scripted" for e in events[1:])


async def test_cost_from_reported_total_or_price_table(store: InMemorySessionStore) -> None:
    reported = ScriptedAdapter(
        [{"type": "run_completed", "data": {"stop_reason": "end_turn", "total_cost_usd": 0.01234}}]
    )
    result = await run_once(store, reported, USER_INPUT)
    assert result.cost_usd == pytest.approx(0.01234, abs=1e-7)
    assert (await store.get_run(result.run_id)).cost_usd == pytest.approx(0.01234, abs=1e-7)

    class Claude(ScriptedAdapter):
        name = "claude"

    priced = Claude(
        [{"type": "run_started", "data": {"model": "claude-opus-4-6-20260101"}}],
        result={"output": {}, "token_usage": {"input_tokens": 1000, "output_tokens": 500}},
    )
    result = await run_once(store, priced, USER_INPUT)
    assert result.cost_usd == pytest.approx(1000 * 15e-6 + 500 * 75e-6, abs=1e-7)


async def test_an_event_the_store_cannot_persist_fails_the_run() -> None:
    inner = InMemorySessionStore()
    store = FailingAppendStore(inner)
    delivered: list[Event] = []
    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter(), USER_INPUT, event_callback=delivered.append)  # type: ignore[arg-type]
    assert info.value.code == "storage_write_failed"
    assert "message_received" in info.value.message
    # Nothing unstored is handed on; the failure is recorded as far as the store allows.
    assert [e.type for e in delivered] == ["run_started"]
    [session] = await inner.list_sessions()
    assert types(await inner.get_events(session.id))[-3:] == [
        "run_started",
        "run_failed",
        "session_failed",
    ]
    [run] = await inner.list_runs(session.id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["code"] == "storage_write_failed"


async def test_store_dying_mid_run_keeps_the_runs_own_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The failure cannot be recorded (the store is closed): that is logged, and
    # the caller sees what ended the run, not the store's complaint about it.
    store = InMemorySessionStore()
    with pytest.raises(SessionError) as info:
        await run_once(store, StoreKillingAdapter(store), USER_INPUT)
    assert info.value.code == "provider_unavailable"
    assert "could not record the failure" in caplog.text


async def test_adapter_exception_becomes_provider_error(store: InMemorySessionStore) -> None:
    with pytest.raises(SessionError) as info:
        await run_once(store, ScriptedAdapter(raises=ValueError("adapter boom")), USER_INPUT)
    assert info.value.code == "provider_error"
    assert info.value.message == "Provider execute call failed: ValueError('adapter boom')"
    assert isinstance(info.value.__cause__, ValueError)


async def test_bad_adapter_result_is_a_provider_error(store: InMemorySessionStore) -> None:
    with pytest.raises(SessionError, match="expected a mapping"):
        await run_once(store, ScriptedAdapter(result=["not", "a", "mapping"]), USER_INPUT)


async def test_adapter_opts_reach_the_adapter(store: InMemorySessionStore) -> None:
    adapter = MockAdapter()
    await run_once(store, adapter, USER_INPUT, adapter_opts={"timeout": 12.5, "custom_flag": "on"})
    assert adapter.executions[0].opts == {"timeout": 12.5, "custom_flag": "on"}
    with pytest.raises(SessionError, match="emit"):
        await run_once(store, adapter, USER_INPUT, adapter_opts={"emit": None})


async def test_provider_metadata_is_moved_under_provider_sessions(
    store: InMemorySessionStore,
) -> None:
    started = {
        "type": "run_started",
        "data": {"provider_session_id": "mock-provider-session-123", "model": "mock-model-v1"},
    }
    result = await run_once(
        store, ScriptedAdapter([started]), USER_INPUT, metadata={"user_id": "u"}
    )
    session = await store.get_session(result.session_id)
    assert "provider_session_id" not in session.metadata and "model" not in session.metadata
    assert session.metadata["provider_sessions"]["scripted"] == {
        "provider_session_id": "mock-provider-session-123",
        "model": "mock-model-v1",
    }
    assert session.metadata["user_id"] == "u"
    run = await store.get_run(result.run_id)
    assert run.metadata["provider_session_id"] == "mock-provider-session-123"
    assert run.provider_metadata["model"] == "mock-model-v1"


async def test_continuation_attaches_a_transcript(store: InMemorySessionStore) -> None:
    adapter = ScriptedAdapter(
        [{"type": "message_received", "data": {"content": "first reply", "role": "assistant"}}]
    )
    first = await run_once(store, adapter, {"prompt": "first"}, context={"system_prompt": "sys"})
    assert "transcript" not in adapter.sessions[0].context
    # The transcript is built from the session the run belongs to: run the
    # second turn on the same session through the lifecycle's store.
    second = await run_once(store, adapter, {"prompt": "second"}, continuation="auto")
    transcript = adapter.sessions[1].context["transcript"]
    assert isinstance(transcript, Transcript)
    assert second.session_id != first.session_id
    assert transcript.messages == ()  # a fresh session has no history yet


async def test_continuation_within_one_session_via_store_events() -> None:
    from trio_stream_session._transcript import build_transcript

    store = InMemorySessionStore()
    adapter = ScriptedAdapter(
        [{"type": "message_received", "data": {"content": "first reply", "role": "assistant"}}]
    )
    result = await run_once(store, adapter, {"prompt": "first"})
    transcript = build_transcript(result.session_id, await store.get_events(result.session_id))
    assert [(m.role, m.content) for m in transcript.messages] == [
        ("user", "first"),
        ("assistant", "first reply"),
    ]


@pytest.mark.parametrize("value", [True, "sideways", 1])
async def test_bad_continuation_is_rejected_at_the_call(
    store: InMemorySessionStore, value: object
) -> None:
    with pytest.raises(SessionError, match="continuation must be") as info:
        await run_once(store, MockAdapter(), USER_INPUT, continuation=value)  # type: ignore[arg-type]
    assert info.value.code == "validation_error"
    assert await store.list_sessions() == []


async def test_native_continuation_fails_the_run_before_messages(
    store: InMemorySessionStore,
) -> None:
    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter(), USER_INPUT, continuation="native")
    assert info.value.code == "invalid_operation"
    [session] = await store.list_sessions()
    assert types(await store.get_events(session.id)) == [
        "session_created",
        "session_started",
        "run_failed",
        "session_failed",
    ]
    [run] = await store.list_runs(session.id)
    assert run.status is RunStatus.FAILED


async def test_sequence_numbers_contiguous_across_runs(store: InMemorySessionStore) -> None:
    for _ in range(3):
        await run_once(store, MockAdapter("streaming", chunk_delay=0), USER_INPUT)
    for session in await store.list_sessions():
        events = await store.get_events(session.id)
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
        assert await store.get_latest_sequence(session.id) == len(events)


async def test_cancellation_is_recorded_then_propagates(
    store: InMemorySessionStore, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.move_on_after(1) as scope:
        await run_once(store, MockAdapter("streaming", chunk_delay=1), USER_INPUT)
    assert scope.cancelled_caught
    [session] = await store.list_sessions()
    assert session.status is SessionStatus.CANCELLED
    [run] = await store.list_runs(session.id)
    assert run.status is RunStatus.CANCELLED and run.ended_at is not None
    assert types(await store.get_events(session.id))[-2:] == ["run_cancelled", "session_cancelled"]


async def test_cancel_run_marks_the_run_cancelled(store: InMemorySessionStore) -> None:
    adapter = MockAdapter("streaming", chunk_delay=10)
    results: list[Any] = []

    async def runner() -> None:
        try:
            await run_once(store, adapter, USER_INPUT)
        except SessionError as exc:
            results.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(runner)
        await trio.testing.wait_all_tasks_blocked()
        [session] = await store.list_sessions()
        run = await store.get_active_run(session.id)
        assert run is not None
        assert await cancel_run(store, adapter, run.id) == run.id
    assert adapter.cancelled == [run.id]
    assert results[0].code == "cancelled"
    assert (await store.get_run(run.id)).status is RunStatus.CANCELLED
    assert (await store.get_session(session.id)).status is SessionStatus.CANCELLED
    recorded = types(await store.get_events(session.id))
    assert recorded.count("run_cancelled") == 1
    assert recorded[-1] == "session_cancelled"


class _NeverAwaits:
    """An adapter whose execute returns at once, without emitting or awaiting."""

    name = "instant"

    async def capabilities(self) -> list[Capability]:
        return []

    async def cancel(self, run_id: str) -> None:
        return None

    async def execute(self, run: Any, session: Any, *, emit: Any, **opts: Any) -> Any:
        return {"output": "done", "token_usage": {}, "events": []}


async def test_is_a_checkpoint_even_if_the_adapter_never_awaits(
    store: InMemorySessionStore,
) -> None:
    # The in-memory store's operations are only cancellation points inside a run.
    with trio.testing.assert_checkpoints():
        result = await run_once(store, _NeverAwaits(), USER_INPUT)
    assert result.output == "done"
    assert types(await store.get_events(result.session_id))[-1] == "session_completed"


async def test_cancelled_before_the_adapter_records_nothing_half_done(
    store: InMemorySessionStore,
) -> None:
    with trio.CancelScope() as scope:
        scope.cancel()
        await run_once(store, _NeverAwaits(), USER_INPUT)
    assert scope.cancelled_caught
    assert await store.list_sessions() == []


async def test_stored_event_ids_are_unique_across_runs(store: InMemorySessionStore) -> None:
    first = await run_once(store, MockAdapter("streaming"), USER_INPUT)
    second = await run_once(store, MockAdapter("streaming"), USER_INPUT)
    events = [
        *await store.get_events(first.session_id),
        *await store.get_events(second.session_id),
    ]
    ids = [e.id for e in events]
    assert len(set(ids)) == len(ids) > 10
    assert all(re.fullmatch(r"evt_[0-9a-f]{24}[1-9][0-9]*", i) for i in ids)
    # Read back twice, an event keeps its id.
    assert [e.id for e in await store.get_events(first.session_id)] == ids[: len(ids) // 2]


async def test_emit_outside_execute_is_a_clear_error(store: InMemorySessionStore) -> None:
    from trio_stream_session._lifecycle import RunLifecycle

    lifecycle = RunLifecycle(store, MockAdapter(), USER_INPUT, {})
    with pytest.raises(RuntimeError, match="outside the adapter's execute"):
        await lifecycle.emit({"type": "message_streamed", "data": {"content": "x"}})
