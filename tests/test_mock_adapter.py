"""MockAdapter: the reference mock provider's modes and exact events, driven directly."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
import trio
import trio.testing

from trio_stream_session import (
    Capability,
    CapabilityType,
    ErrorCode,
    Event,
    EventType,
    ProviderAdapter,
    Run,
    Session,
    SessionError,
)
from trio_stream_session.testing import MockAdapter, MockExecution

DEFAULT_OUTPUT = {"content": "Mock response", "stop_reason": "end_turn", "tool_calls": []}
DEFAULT_USAGE = {"input_tokens": 10, "output_tokens": 20}


class Recorder:
    """An ``emit`` that records every mapping (with the trio time it arrived) and
    returns an Event built from it, like run_once's emit does."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.raw: list[dict[str, Any]] = []
        self.times: list[float] = []

    async def __call__(self, raw: Mapping[str, Any]) -> Event:
        await trio.lowlevel.checkpoint()
        self.raw.append(dict(raw))
        self.times.append(trio.current_time())
        return Event(
            type=EventType(raw["type"]),
            session_id=raw.get("session_id") or self.session.id,
            run_id=raw.get("run_id"),
            data=raw.get("data", {}),
            provider=raw.get("provider"),
        )

    @property
    def types(self) -> list[str]:
        return [r["type"] for r in self.raw]

    @property
    def data(self) -> list[Any]:
        return [r["data"] for r in self.raw]


@pytest.fixture
def session() -> Session:
    return Session(agent_id="agent")


@pytest.fixture
def run(session: Session) -> Run:
    return Run(session_id=session.id, input={"prompt": "hi"}).with_status("running")


@pytest.fixture
def emit(session: Session) -> Recorder:
    return Recorder(session)


def assert_envelopes(recorder: Recorder, run: Run, provider: str = "mock") -> None:
    for raw in recorder.raw:
        assert set(raw) == {"type", "timestamp", "session_id", "run_id", "data", "provider"}
        assert raw["session_id"] == run.session_id
        assert raw["run_id"] == run.id
        assert raw["provider"] == provider
        assert isinstance(raw["timestamp"], datetime)
        assert raw["timestamp"].tzinfo is not None


# -- construction -------------------------------------------------------------------------


def test_defaults_and_protocol() -> None:
    adapter = MockAdapter()
    assert adapter.mode == "instant"
    assert adapter.delay == 0.1
    assert adapter.chunk_delay == 0.01
    assert adapter.fail_with is None
    assert adapter.name == "mock"
    assert adapter.model == "mock-model"
    assert adapter.burst_events == 1000
    assert adapter.response == {**DEFAULT_OUTPUT, "token_usage": DEFAULT_USAGE}
    assert adapter.executions == []
    assert adapter.cancelled == []
    assert isinstance(adapter, ProviderAdapter)
    assert repr(adapter) == "MockAdapter(mode='instant', provider_name='mock')"


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        MockAdapter("sometimes")  # type: ignore[arg-type]


def test_provider_name_and_response_override() -> None:
    adapter = MockAdapter(provider_name="codex", response={"content": "custom"})
    assert adapter.name == "codex"
    assert adapter.response["content"] == "custom"
    assert adapter.response["stop_reason"] == "end_turn"


# -- capabilities --------------------------------------------------------------------------


async def test_default_capabilities() -> None:
    caps = await MockAdapter().capabilities()
    assert [(c.name, c.type, c.enabled) for c in caps] == [
        ("chat", CapabilityType.TOOL, True),
        ("sampling", CapabilityType.SAMPLING, True),
    ]


async def test_custom_capabilities() -> None:
    custom = [Capability(name="bash", type=CapabilityType.CODE_EXECUTION)]
    assert list(await MockAdapter(capabilities=custom).capabilities()) == custom
    assert list(await MockAdapter(capabilities=[]).capabilities()) == []


async def test_fail_with_makes_capabilities_fail() -> None:
    error = SessionError("provider_unavailable", "down")
    with pytest.raises(SessionError) as info:
        await MockAdapter(fail_with=error).capabilities()
    assert info.value is error


# -- modes ---------------------------------------------------------------------------------


async def test_instant(run: Run, session: Session, emit: Recorder) -> None:
    result = await MockAdapter().execute(run, session, emit=emit)
    assert emit.types == ["run_started", "message_received", "run_completed"]
    assert emit.data == [
        {"model": "mock-model"},
        {"content": "Mock response", "role": "assistant"},
        {"stop_reason": "end_turn"},
    ]
    assert_envelopes(emit, run)
    assert result == {"output": DEFAULT_OUTPUT, "token_usage": DEFAULT_USAGE, "events": []}


async def test_instant_with_custom_response_and_model(
    run: Run, session: Session, emit: Recorder
) -> None:
    adapter = MockAdapter(
        provider_name="claude",
        model="m-2",
        response={
            "content": "Hi!",
            "stop_reason": "max_tokens",
            "tool_calls": [{"tool_name": "x"}],
            "token_usage": {"input_tokens": 1, "output_tokens": 2},
        },
    )
    result = await adapter.execute(run, session, emit=emit)
    assert emit.data == [
        {"model": "m-2"},
        {"content": "Hi!", "role": "assistant"},
        {"stop_reason": "max_tokens"},
    ]
    assert_envelopes(emit, run, provider="claude")
    assert result == {
        "output": {
            "content": "Hi!",
            "stop_reason": "max_tokens",
            "tool_calls": [{"tool_name": "x"}],
        },
        "token_usage": {"input_tokens": 1, "output_tokens": 2},
        "events": [],
    }


async def test_result_does_not_alias_the_response(
    run: Run, session: Session, emit: Recorder
) -> None:
    adapter = MockAdapter()
    result = await adapter.execute(run, session, emit=emit)
    result["output"]["tool_calls"].append("x")
    result["token_usage"]["input_tokens"] = 999
    assert adapter.response["tool_calls"] == []
    assert adapter.response["token_usage"] == DEFAULT_USAGE


async def test_streaming(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    result = await MockAdapter("streaming").execute(run, session, emit=emit)
    assert emit.types == [
        "run_started",
        "message_streamed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert emit.data == [
        {"model": "mock-model"},
        {"content": "Mock respo", "delta": "Mock respo"},
        {"content": "nse", "delta": "nse"},
        {"content": "Mock response", "role": "assistant"},
        DEFAULT_USAGE,
        {"stop_reason": "end_turn"},
    ]
    assert_envelopes(emit, run)
    assert result == {"output": DEFAULT_OUTPUT, "token_usage": DEFAULT_USAGE, "events": []}
    # One chunk_delay before the first chunk and one after each chunk.
    assert emit.times[1] - start == pytest.approx(0.01)
    assert emit.times[2] - emit.times[1] == pytest.approx(0.01)
    assert trio.current_time() - start == pytest.approx(0.03)


async def test_streaming_chunks_of_ten_characters(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    content = "0123456789abcdefghijKLMNOé"
    await MockAdapter("streaming", response={"content": content}).execute(run, session, emit=emit)
    chunks = [
        d["delta"] for t, d in zip(emit.types, emit.data, strict=True) if t == "message_streamed"
    ]
    assert chunks == ["0123456789", "abcdefghij", "KLMNOé"]
    assert "".join(chunks) == content


async def test_streaming_empty_content(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    await MockAdapter("streaming", response={"content": ""}).execute(run, session, emit=emit)
    assert emit.types == ["run_started", "message_received", "token_usage_updated", "run_completed"]


async def test_delayed(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    result = await MockAdapter("delayed", delay=2.5).execute(run, session, emit=emit)
    assert emit.types == ["run_started", "message_received", "run_completed"]
    assert emit.times[0] - start == pytest.approx(2.5)
    assert result["output"] == DEFAULT_OUTPUT


async def test_delayed_default_delay(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    await MockAdapter("delayed").execute(run, session, emit=emit)
    assert emit.times[0] - start == pytest.approx(0.1)


async def test_failing(run: Run, session: Session, emit: Recorder) -> None:
    with pytest.raises(SessionError) as info:
        await MockAdapter("failing").execute(run, session, emit=emit)
    assert info.value.code is ErrorCode.PROVIDER_ERROR
    assert info.value.message == "Configured to fail"
    assert emit.raw == []


@pytest.mark.parametrize("mode", ["instant", "streaming", "delayed", "failing", "timeout", "burst"])
async def test_fail_with_applies_in_every_mode(
    mode: Any, run: Run, session: Session, emit: Recorder
) -> None:
    error = SessionError("provider_rate_limited", "slow down")
    adapter = MockAdapter(mode, fail_with=error)
    with pytest.raises(SessionError) as info:
        await adapter.execute(run, session, emit=emit)
    assert info.value is error
    assert emit.raw == []
    assert len(adapter.executions) == 1


async def test_fail_with_any_exception(run: Run, session: Session, emit: Recorder) -> None:
    with pytest.raises(RuntimeError, match="kaboom"):
        await MockAdapter(fail_with=RuntimeError("kaboom")).execute(run, session, emit=emit)


async def test_timeout_never_returns(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    adapter = MockAdapter("timeout")
    with trio.move_on_after(3600) as scope:
        await adapter.execute(run, session, emit=emit)
    assert scope.cancelled_caught
    assert emit.raw == []
    # An outer cancellation is not a mock cancel(): no run_cancelled, no scope left behind.
    assert adapter._scopes == {}


async def test_burst(run: Run, session: Session, emit: Recorder) -> None:
    result = await MockAdapter("burst", burst_events=5).execute(run, session, emit=emit)
    assert emit.types == [
        "run_started",
        *["message_streamed"] * 5,
        "message_received",
        "run_completed",
    ]
    streamed = emit.raw[1:6]
    assert [r["data"] for r in streamed] == [
        {"delta": "x", "content": "x", "index": i} for i in range(5)
    ]
    # Burst events are bare mappings: run_once fills in the envelope.
    assert all(set(r) == {"type", "data"} for r in streamed)
    assert result["output"] == DEFAULT_OUTPUT


async def test_burst_default_count(run: Run, session: Session, emit: Recorder) -> None:
    await MockAdapter("burst").execute(run, session, emit=emit)
    assert emit.types.count("message_streamed") == 1000
    assert len(emit.raw) == 1003


async def test_burst_zero(run: Run, session: Session, emit: Recorder) -> None:
    await MockAdapter("burst", burst_events=0).execute(run, session, emit=emit)
    assert emit.types == ["run_started", "message_received", "run_completed"]


# -- cancel --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["streaming", "delayed", "timeout"])
async def test_cancel_while_running(
    mode: Any, run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    adapter = MockAdapter(mode, chunk_delay=1.0, delay=10.0)
    errors: list[SessionError] = []

    async def execute() -> None:
        try:
            await adapter.execute(run, session, emit=emit)
        except SessionError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(execute)
        await trio.sleep(0.5)
        await adapter.cancel(run.id)

    [error] = errors
    assert error.code is ErrorCode.CANCELLED
    assert error.message == "Run was cancelled"
    assert emit.types[-1] == "run_cancelled"
    assert emit.raw[-1]["data"] == {}
    assert "run_completed" not in emit.types
    assert_envelopes(emit, run)
    assert adapter.cancelled == [run.id]
    assert adapter._scopes == {}


async def test_cancel_mid_stream_keeps_emitted_chunks(
    run: Run, session: Session, emit: Recorder, autojump_clock: trio.testing.MockClock
) -> None:
    adapter = MockAdapter("streaming", chunk_delay=1.0, response={"content": "x" * 50})
    async with trio.open_nursery() as nursery:

        async def execute() -> None:
            with pytest.raises(SessionError, match="cancelled"):
                await adapter.execute(run, session, emit=emit)

        nursery.start_soon(execute)
        await trio.sleep(2.5)
        await adapter.cancel(run.id)
    assert emit.types == ["run_started", "message_streamed", "message_streamed", "run_cancelled"]


async def test_cancel_unknown_or_finished_run_is_recorded_only(
    run: Run, session: Session, emit: Recorder
) -> None:
    adapter = MockAdapter()
    await adapter.cancel("run_unknown")
    await adapter.execute(run, session, emit=emit)
    await adapter.cancel(run.id)
    assert adapter.cancelled == ["run_unknown", run.id]
    assert emit.types == ["run_started", "message_received", "run_completed"]


async def test_cancel_one_run_leaves_another_running(
    session: Session, autojump_clock: trio.testing.MockClock
) -> None:
    adapter = MockAdapter("delayed", delay=5)
    run_a = Run(session_id=session.id, input={"prompt": "a"}).with_status("running")
    run_b = Run(session_id=session.id, input={"prompt": "b"}).with_status("running")
    emit_a, emit_b = Recorder(session), Recorder(session)
    outcomes: dict[str, Any] = {}

    async def execute(run: Run, emit: Recorder) -> None:
        try:
            outcomes[run.id] = await adapter.execute(run, session, emit=emit)
        except SessionError as exc:
            outcomes[run.id] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(execute, run_a, emit_a)
        nursery.start_soon(execute, run_b, emit_b)
        await trio.sleep(1)
        await adapter.cancel(run_a.id)
    assert isinstance(outcomes[run_a.id], SessionError)
    assert outcomes[run_b.id]["output"] == DEFAULT_OUTPUT
    assert emit_a.types == ["run_cancelled"]
    assert emit_b.types == ["run_started", "message_received", "run_completed"]


# -- records -------------------------------------------------------------------------------


async def test_records_executions(run: Run, session: Session, emit: Recorder) -> None:
    adapter = MockAdapter()
    await adapter.execute(run, session, emit=emit, timeout=30, custom="x")
    with pytest.raises(SessionError):
        await MockAdapter("failing").execute(run, session, emit=emit)
    [execution] = adapter.executions
    assert isinstance(execution, MockExecution)
    assert execution.run_id == run.id
    assert execution.session_id == session.id
    assert execution.input == {"prompt": "hi"}
    assert execution.opts == {"timeout": 30, "custom": "x"}
    assert execution.session is session
    assert execution.timestamp.tzinfo is not None


async def test_failing_run_is_recorded(run: Run, session: Session, emit: Recorder) -> None:
    adapter = MockAdapter("failing")
    for _ in range(2):
        with pytest.raises(SessionError):
            await adapter.execute(run, session, emit=emit)
    assert [e.run_id for e in adapter.executions] == [run.id, run.id]


async def test_owned_lifecycle() -> None:
    adapter = MockAdapter()
    assert (adapter.entered, adapter.exited, adapter.closed) == (0, 0, False)
    async with adapter as entered:
        assert entered is adapter
        assert (adapter.entered, adapter.exited, adapter.closed) == (1, 0, False)
    assert (adapter.entered, adapter.exited, adapter.closed) == (1, 1, True)
    with pytest.raises(RuntimeError):
        async with adapter:
            raise RuntimeError("x")
    assert (adapter.entered, adapter.exited, adapter.closed) == (2, 2, True)
