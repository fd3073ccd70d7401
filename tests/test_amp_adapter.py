"""AmpAdapter against a fake ``amp`` CLI run as a real subprocess.

Timeouts are short real ones (subprocess I/O runs on the real clock, where
``autojump_clock`` would fire every deadline at once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from fake_cli.helpers import (
    Recorder,
    fake_env,
    fake_executable,
    kill_quietly,
    process_gone,
    read_record,
    run_and_session,
    wait_for_record,
    wait_gone,
)

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    SessionError,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import AmpAdapter

API_KEY = "fake-secret-value-1234"
PROMPT = {"prompt": "list the files"}


def adapter(scenario: str, record: Path | None = None, **options: Any) -> AmpAdapter:
    env = {**fake_env(scenario, record), **options.pop("env", {})}
    return AmpAdapter(executable=fake_executable("amp"), env=env, **options)


async def test_run_once_maps_a_recorded_session(store: InMemorySessionStore) -> None:
    events: list[Event] = []
    result = await run_once(store, adapter("ok"), PROMPT, event_callback=events.append)
    assert [e.type.value for e in events] == [
        "run_started",
        "message_streamed",
        "tool_call_started",
        "tool_call_completed",
        "tool_call_started",
        "tool_call_failed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert events[0].data == {
        "session_id": "T-123",
        "cwd": "/srv/work",
        "tools": ["Bash", "Read"],
        "mcp_servers": [{"name": "fs", "status": "connected"}],
    }
    assert events[1].data == {"content": "Let me look. ", "delta": "Let me look. "}
    assert events[2].data == {
        "tool_call_id": "tu_1",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
    }
    assert events[3].data == {
        "tool_call_id": "tu_1",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_output": "file.txt",
    }
    assert events[5].data == {
        "tool_call_id": "tu_2",
        "tool_name": "Read",
        "tool_input": {"path": "missing.txt"},
        "tool_output": "ENOENT: missing.txt",
        "is_error": True,
    }
    final = "There is one file: file.txt."
    assert events[7].data == {"content": final, "role": "assistant"}
    usage = {"input_tokens": 60, "output_tokens": 19, "cache_read_input_tokens": 8}
    assert events[8].data == usage
    assert events[9].data == {
        "stop_reason": "end_turn",
        "session_id": "T-123",
        "duration_ms": 1500,
        "num_turns": 3,
        "token_usage": usage,
        "total_cost_usd": 0.0123,
    }
    assert result.output["content"] == final
    assert result.output["session_id"] == "T-123"
    assert [c["output"] for c in result.output["tool_calls"]] == ["file.txt", "ENOENT: missing.txt"]
    assert result.token_usage == usage
    assert result.cost_usd == 0.0123  # reported by the CLI, not computed


async def test_argv_env_and_stdin(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    amp = adapter(
        "echo",
        record,
        api_key=API_KEY,
        model="claude-sonnet-4-5",
        mode="smart",
        permission_mode="dangerously_skip_permissions",
        mcp_config={"fs": {"command": "mcp-fs"}},
        thinking=True,
    )
    recorder = Recorder()
    run, session = run_and_session({"messages": [{"role": "user", "content": "hi there"}]})
    result = await amp.execute(run, session, emit=recorder)
    data = read_record(record)
    assert data["argv"] == [
        "--execute",
        "--stream-json",
        "--stream-json-thinking",
        "--dangerously-allow-all",
        "--mode",
        "smart",
        "--mcp-config",
        '{"fs":{"command":"mcp-fs"}}',
    ]
    assert data["stdin"] == "hi there"
    assert data["env"]["AMP_API_KEY"] == API_KEY
    assert API_KEY not in json.dumps(data["argv"]) and API_KEY not in repr(amp)
    assert recorder.of("run_started") == [
        {"session_id": "T-fake", "model": "claude-sonnet-4-5", "tools": ["Bash"]}
    ]
    assert result["output"]["content"] == "hi there"
    # No usage reported at all: zeros, so the run still has a token_usage.
    assert result["token_usage"] == {"input_tokens": 0, "output_tokens": 0}


async def test_error_result_is_a_protocol_error_with_permission_denials(
    store: InMemorySessionStore,
) -> None:
    with pytest.raises(SessionError) as info:
        await run_once(store, adapter("fail"), PROMPT)
    error = info.value
    assert error.code == "provider_error"
    assert error.message == "something failed"
    assert error.provider_error is not None
    assert error.provider_error["provider"] == "amp"
    assert error.provider_error["kind"] == "protocol_error"
    assert error.details["permission_denials"] == ["file_write", "bash_exec"]
    assert error.details["subtype"] == "error_during_execution"
    session = (await store.list_sessions())[0]
    failed = [e for e in await store.get_events(session.id) if e.type is EventType.RUN_FAILED]
    assert failed[0].data["details"]["permission_denials"] == ["file_write", "bash_exec"]


async def test_non_zero_exit_is_transport_exit_with_redacted_stderr() -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter("exit", api_key=API_KEY, env={"FAKE_CLI_EXIT_CODE": "17"}).execute(
            run, session, emit=Recorder()
        )
    pe = info.value.provider_error
    assert pe is not None
    assert (pe["provider"], pe["kind"], pe["exit_code"]) == ("amp", "transport_exit", 17)
    assert "permission denied" in pe["stderr"]
    dumped = json.dumps(info.value.to_dict())
    assert "sk-proj-" not in dumped and API_KEY not in dumped


@pytest.mark.parametrize(
    ("scenario", "kind", "message"),
    [
        ("incomplete", "protocol_error", "amp exited without a result message"),
        ("not_object", "parse_error", "not an object"),
        ("stderr_flood", "transport_exit", "amp executable exited with status 3"),
    ],
)
async def test_other_failures(scenario: str, kind: str, message: str) -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter(scenario).execute(run, session, emit=Recorder())
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == kind
    assert message in info.value.message


async def test_missing_cli_is_provider_unavailable() -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await AmpAdapter(executable="amp-is-not-installed-here").execute(
            run, session, emit=Recorder()
        )
    assert info.value.code == "provider_unavailable"
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "cli_not_found"
    assert str(info.value) == (
        "[provider_unavailable] amp CLI not found: 'amp-is-not-installed-here' "
        "(install it, or pass executable= with its path)"
    )


async def test_cancel_mid_run_ends_the_process_group(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    amp = adapter("grandchild", record, terminate_grace=0.5)
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    errors: list[SessionError] = []

    async def execute() -> None:
        try:
            await amp.execute(run, session, emit=recorder)
        except SessionError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(execute)
        data = await wait_for_record(record)
        with trio.fail_after(5):
            await recorder.wait_for("run_started")
        await amp.cancel(run.id)
    try:
        assert errors[0].code == "cancelled"
        assert recorder.types == ["run_started", "run_cancelled"]
        assert process_gone(data["pid"])
        assert await wait_gone(data["grandchild_pid"])
    finally:
        kill_quietly(data["grandchild_pid"])


async def test_owned_adapter_exit_cancels_running_runs(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    run, session = run_and_session(PROMPT)
    errors: list[SessionError] = []
    amp = adapter("hang", record)

    async def execute() -> None:
        try:
            await amp.execute(run, session, emit=Recorder())
        except SessionError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery, amp:
        nursery.start_soon(execute)
        await wait_for_record(record)
        # Leaving the adapter's block cancels the run still executing through it.
    assert errors[0].code == "cancelled"
    assert process_gone(read_record(record)["pid"])


async def test_stream_session_end_to_end() -> None:
    async with open_stream_session(adapter=adapter("ok"), input=PROMPT) as stream:
        events = [event async for event in stream]
    assert [e.type for e in events][-3:] == [
        EventType.MESSAGE_RECEIVED,
        EventType.TOKEN_USAGE_UPDATED,
        EventType.RUN_COMPLETED,
    ]
    assert stream.result is not None
    assert stream.result.cost_usd == 0.0123


async def test_stream_session_idle_timeout_with_a_hanging_cli(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    async with open_stream_session(
        adapter=adapter("hang", record), input=PROMPT, idle_timeout=0.5
    ) as stream:
        events = [event async for event in stream]
    assert events[-1].type is EventType.ERROR_OCCURRED
    assert events[-1].data["error_code"] == "timeout"
    assert process_gone(read_record(record)["pid"])


async def test_stream_session_error_event_carries_the_provider_error() -> None:
    async with open_stream_session(adapter=adapter("exit"), input=PROMPT) as stream:
        events = [event async for event in stream]
    assert [e.type for e in events] == [EventType.RUN_STARTED, EventType.ERROR_OCCURRED]
    pe = events[-1].data["provider_error"]
    assert (pe["provider"], pe["kind"], pe["exit_code"]) == ("amp", "transport_exit", 2)
    assert "sk-proj-" not in pe["stderr"]


async def test_usage_without_a_result_total_counts_each_message_once() -> None:
    from trio_stream_session.adapters._amp import _AmpTranslator

    recorder = Recorder()
    translator = _AmpTranslator(recorder, [], None)
    usage = {"input_tokens": 10, "output_tokens": 5}
    for message in (
        {"id": "msg_1", "content": [{"type": "text", "text": "a"}], "usage": usage},
        # The same message again (one line per content block): not counted twice.
        {"id": "msg_1", "content": [{"type": "text", "text": "b"}], "usage": usage},
        {"id": "msg_2", "content": [{"type": "text", "text": "c"}], "usage": usage},
    ):
        await translator.handle({"type": "assistant", "message": message})
    await translator.handle({"type": "result", "subtype": "success"})
    result = await translator.finish()
    assert result["token_usage"] == {"input_tokens": 20, "output_tokens": 10}
    assert result["output"]["content"] == "abc"
    assert recorder.types[0] == "run_started"
