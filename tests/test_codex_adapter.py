"""CodexAdapter against a fake ``codex`` CLI run as a real subprocess.

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
    Transcript,
    TranscriptMessage,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import CodexAdapter

API_KEY = "fake-secret-value-1234"
PROMPT = {"messages": [{"role": "user", "content": "list the files"}]}
TOOL_KEYS = {"tool_call_id", "tool_name", "tool_input", "tool_output", "error_message", "thread_id"}


def adapter(scenario: str, record: Path | None = None, **options: Any) -> CodexAdapter:
    env = {**fake_env(scenario, record), **options.pop("env", {})}
    return CodexAdapter(executable=fake_executable("codex"), env=env, **options)


async def all_events(store: InMemorySessionStore, session_id: str) -> list[Event]:
    return await store.get_events(session_id)


async def test_run_once_maps_a_recorded_session(store: InMemorySessionStore) -> None:
    events: list[Event] = []
    result = await run_once(store, adapter("ok"), PROMPT, event_callback=events.append)
    types = [e.type.value for e in events]
    assert types == [
        "run_started",
        "message_streamed",
        "tool_call_started",
        "tool_call_completed",
        "tool_call_started",
        "tool_call_failed",
        "tool_call_started",
        "tool_call_completed",
        "tool_call_started",
        "tool_call_completed",
        "tool_call_started",
        "tool_call_failed",
        "tool_call_started",
        "tool_call_completed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    thread = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    assert events[0].data == {"thread_id": thread}
    assert events[1].data == {
        "content": "Planning first.",
        "delta": "Planning first.",
        "thread_id": thread,
    }
    bash = events[3].data
    assert bash["tool_name"] == "bash"
    assert bash["tool_input"] == {"command": "bash -lc ls"}
    assert bash["tool_output"] == {"output": "README.md\n", "exit_code": 0, "status": "completed"}
    failed_command = events[5].data
    assert failed_command["error_message"] == "exit code 1"
    assert failed_command["tool_output"]["exit_code"] == 1
    assert events[7].data["tool_name"] == "apply_patch"
    assert events[7].data["tool_input"] == {"changes": [{"path": "src/a.py", "kind": "update"}]}
    assert events[9].data["tool_name"] == "fs:list_dir"
    assert events[9].data["tool_input"] == {"path": "/srv/work"}
    assert events[11].data["tool_name"] == "fs:read_file"
    assert events[11].data["tool_output"] == {"message": "File not found"}
    assert events[11].data["error_message"] == "File not found"
    assert events[13].data["tool_name"] == "web_search"
    assert events[13].data["tool_input"] == {"query": "trio docs"}
    for event in events:
        if event.type.value.startswith("tool_call"):
            assert set(event.data) <= TOOL_KEYS
            assert event.data["tool_call_id"].startswith("item_")
    final = "Done. README.md is the only file."
    assert events[15].data == {"content": final, "role": "assistant", "thread_id": thread}
    usage = {"input_tokens": 24763, "output_tokens": 122, "cached_input_tokens": 24448}
    assert events[16].data == {**usage, "thread_id": thread}
    assert events[17].data == {"stop_reason": "end_turn", "thread_id": thread, "token_usage": usage}

    assert result.output["content"] == final
    assert result.output["thread_id"] == thread
    assert [c["name"] for c in result.output["tool_calls"]] == [
        "bash",
        "bash",
        "apply_patch",
        "fs:list_dir",
        "fs:read_file",
        "web_search",
    ]
    assert result.token_usage == usage
    assert result.cost_usd == pytest.approx(24763 * 3e-6 + 122 * 15e-6)
    run = await store.get_run(result.run_id)
    assert run.provider_metadata["provider_session_id"] == thread


async def test_argv_env_and_stdin(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codex = adapter(
        "echo",
        record,
        api_key=API_KEY,
        model="o3",
        permission_mode="full_auto",
        sandbox="workspace-write",
        reasoning_effort="high",
        skip_git_repo_check=True,
        cwd=tmp_path,
    )
    recorder = Recorder()
    run, session = run_and_session({"prompt": "say hello"})
    result = await codex.execute(run, session, emit=recorder)
    data = read_record(record)
    assert data["argv"] == [
        "exec",
        "--json",
        "--model",
        "o3",
        "--full-auto",
        "--sandbox",
        "workspace-write",
        "--config",
        'model_reasoning_effort="high"',
        "--skip-git-repo-check",
        "-",
    ]
    assert data["stdin"] == "say hello"
    assert data["cwd"] == str(tmp_path)
    assert data["env"]["CODEX_API_KEY"] == data["env"]["OPENAI_API_KEY"] == API_KEY
    assert API_KEY not in json.dumps(data["argv"])
    assert API_KEY not in repr(codex)
    assert API_KEY not in json.dumps(recorder.events)
    assert result["output"]["content"] == "say hello"
    assert recorder.of("run_started") == [{"thread_id": "thread-fake", "model": "o3"}]
    assert result["events"] == []


async def test_prompt_replays_the_transcript_then_the_user_messages(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    transcript = Transcript(
        session_id="ses_1",
        messages=(
            TranscriptMessage(role="user", content="list files"),
            TranscriptMessage(
                role="assistant", tool_call_id="c1", tool_name="bash", tool_input={"command": "ls"}
            ),
            TranscriptMessage(
                role="tool", tool_call_id="c1", tool_name="bash", tool_output="a.txt"
            ),
            TranscriptMessage(role="assistant", content="There is a.txt."),
        ),
    )
    run_input = {
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "and now?"},
            {"role": "user", "content": "thanks"},
        ]
    }
    run, session = run_and_session(run_input, {"transcript": transcript})
    await adapter("echo", record).execute(run, session, emit=Recorder())
    assert read_record(record)["stdin"] == (
        "user: list files\n"
        'assistant_tool_call(c1): bash {"command": "ls"}\n'
        "tool_result(c1): bash a.txt\n"
        "assistant: There is a.txt.\n"
        "\n"
        "and now?\nthanks"
    )


async def test_missing_cli_is_provider_unavailable(store: InMemorySessionStore) -> None:
    codex = CodexAdapter(executable="/nonexistent/bin/codex")
    with pytest.raises(SessionError) as info:
        await run_once(store, codex, PROMPT)
    error = info.value
    assert error.code == "provider_unavailable"
    assert str(error).count("\n") == 0
    assert "codex CLI not found" in str(error)
    assert error.provider_error is not None
    assert error.provider_error["kind"] == "cli_not_found"
    sessions = await store.list_sessions()
    failed = [e for e in await all_events(store, sessions[0].id) if e.type is EventType.RUN_FAILED]
    assert failed[0].data["provider_error"]["kind"] == "cli_not_found"


async def test_non_zero_exit_is_transport_exit_and_secrets_never_persist(
    store: InMemorySessionStore,
) -> None:
    codex = adapter("exit", api_key=API_KEY)
    with pytest.raises(SessionError) as info:
        await run_once(store, codex, PROMPT)
    pe = info.value.provider_error
    assert pe is not None
    assert pe["provider"] == "codex"
    assert pe["kind"] == "transport_exit"
    assert pe["exit_code"] == 2
    assert "permission denied" in pe["stderr"]
    assert info.value.message.startswith("codex executable exited with status 2")
    session = (await store.list_sessions())[0]
    stored = json.dumps([e.to_dict() for e in await all_events(store, session.id)])
    run = await store.get_run((await store.list_runs(session.id))[0].id)
    everything = stored + json.dumps(run.to_dict()) + repr(info.value.to_dict())
    assert "transport_exit" in stored
    assert "sk-proj-" not in everything
    assert API_KEY not in everything


@pytest.mark.parametrize(
    ("scenario", "code", "kind", "message"),
    [
        ("fail", "provider_error", "protocol_error", "stream disconnected before completion"),
        ("rate_limited", "provider_rate_limited", "protocol_error", "Azure OpenAI rate limit hit"),
        ("error_event", "provider_error", "protocol_error", "Connection failed"),
        ("incomplete", "provider_error", "protocol_error", "codex exited without completing"),
        ("garbage", "provider_error", "parse_error", "printed a non-JSON line"),
        ("signal", "provider_error", "transport_exit", "killed by SIGKILL"),
    ],
)
async def test_cli_failures_map_to_provider_errors(
    scenario: str, code: str, kind: str, message: str
) -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter(scenario).execute(run, session, emit=recorder)
    assert info.value.code == code
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == kind
    assert info.value.provider_error["provider"] == "codex"
    assert message in info.value.message
    # The failure is raised, not emitted: run_once and the stream record it once.
    assert "error_occurred" not in recorder.types
    assert "run_completed" not in recorder.types


async def test_rate_limit_details_are_kept() -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter("rate_limited").execute(run, session, emit=Recorder())
    assert info.value.details["error"]["status"] == 429
    assert info.value.retryable


async def test_reconnect_errors_and_banners_are_warnings_not_failures() -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    result = await adapter("reconnect").execute(run, session, emit=recorder)
    assert result["output"]["content"] == "recovered"
    assert result["output"]["warnings"] == ["codex: Reconnecting... 1/5 (stream disconnected)"]
    streamed = next(e for e in recorder.events if e["type"] == "message_streamed")
    assert streamed["metadata"] == {"cli_warnings": result["output"]["warnings"]}

    recorder = Recorder()
    result = await adapter("banner").execute(run, session, emit=recorder)
    assert recorder.events[0]["type"] == "run_started"
    assert recorder.events[0]["metadata"]["cli_warnings"] == [
        "skipped non-JSON output line: Fake CLI v1.0 -- welcome"
    ]
    assert result["output"]["content"] == "Done. README.md is the only file."


async def test_cancel_ends_the_cli_and_reports_run_cancelled(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codex = adapter("grandchild", record)
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    outcome: list[BaseException] = []

    async def execute() -> None:
        try:
            await codex.execute(run, session, emit=recorder)
        except SessionError as exc:
            outcome.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(execute)
        data = await wait_for_record(record)
        with trio.fail_after(5):
            await recorder.wait_for("run_started")
        await codex.cancel(run.id)
    try:
        assert isinstance(outcome[0], SessionError)
        assert outcome[0].code == "cancelled"
        assert outcome[0].message == "Run was cancelled"
        assert recorder.types == ["run_started", "run_cancelled"]
        assert process_gone(data["pid"])
        assert await wait_gone(data["grandchild_pid"])
    finally:
        kill_quietly(data["grandchild_pid"])
    with pytest.raises(SessionError, match="Run not found"):
        await codex.cancel(run.id)


async def test_cancel_through_run_once(store: InMemorySessionStore, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codex = adapter("hang", record)
    async with trio.open_nursery() as nursery:

        def on_event(event: Event) -> None:
            if event.type is EventType.RUN_STARTED:
                assert event.run_id is not None
                nursery.start_soon(codex.cancel, event.run_id)

        with pytest.raises(SessionError) as info:
            await run_once(store, codex, PROMPT, event_callback=on_event)
    assert info.value.code == "cancelled"
    assert process_gone(read_record(record)["pid"])
    session = (await store.list_sessions())[0]
    types = [e.type.value for e in await all_events(store, session.id)]
    assert types.count("run_cancelled") == 1
    assert types[-1] == "session_cancelled"


async def test_outer_cancellation_ends_the_cli(store: InMemorySessionStore, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    with trio.move_on_after(0.5) as scope:
        await run_once(store, adapter("hang", record), PROMPT)
    assert scope.cancelled_caught
    assert process_gone(read_record(record)["pid"])


async def test_adapter_timeout_is_provider_timeout(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter("hang", record).execute(run, session, emit=Recorder(), timeout=0.3)
    assert info.value.code == "provider_timeout"
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "timeout"
    assert info.value.message == "codex run timed out after 0.3s"
    assert process_gone(read_record(record)["pid"])


async def test_options_and_capabilities() -> None:
    codex = CodexAdapter(api_key=API_KEY, env={"SOME_TOKEN": "token-value-123456"})
    assert codex.name == "codex"
    assert API_KEY not in repr(codex) and "token-value" not in repr(codex)
    names = [c.name for c in await codex.capabilities()]
    assert names == ["streaming", "tool_use", "interrupt", "mcp", "file_operations", "bash"]
    with pytest.raises(ValueError, match="permission_mode"):
        CodexAdapter(permission_mode="yolo")
    with pytest.raises(TypeError):
        CodexAdapter(executable=[])
    with pytest.raises(SessionError, match="Run not found"):
        await codex.cancel("run_missing")


async def test_stream_session_end_to_end() -> None:
    spec = (CodexAdapter, {"executable": fake_executable("codex"), "env": fake_env("ok")})
    async with open_stream_session(adapter=spec, input=PROMPT) as stream:
        events = [event async for event in stream]
    assert events[0].type is EventType.RUN_STARTED
    assert events[-1].type is EventType.RUN_COMPLETED
    assert all(e.provider == "codex" for e in events)
    assert stream.result is not None
    assert stream.result.output["content"] == "Done. README.md is the only file."


async def test_stream_session_idle_timeout_with_a_hanging_cli(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codex = adapter("hang", record)
    async with open_stream_session(adapter=codex, input=PROMPT, idle_timeout=0.5) as stream:
        events = [event async for event in stream]
    assert [e.type for e in events] == [EventType.RUN_STARTED, EventType.ERROR_OCCURRED]
    assert events[-1].data["error_code"] == "timeout"
    assert events[-1].data["error_message"] == "stream idle timeout after 0.5s"
    assert process_gone(read_record(record)["pid"])


async def test_stream_session_reports_a_missing_cli_as_one_error_event() -> None:
    async with open_stream_session(
        adapter=CodexAdapter(executable="/nonexistent/codex"), input=PROMPT
    ) as stream:
        events = [event async for event in stream]
    assert [e.type for e in events] == [EventType.ERROR_OCCURRED]
    data = events[0].data
    assert data["error_code"] == "provider_unavailable"
    assert data["provider_error"]["kind"] == "cli_not_found"
    assert "\n" not in data["error_message"]


async def test_input_without_prompt_text_is_a_validation_error(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    run, session = run_and_session({"messages": [{"role": "system", "content": "only this"}]})
    with pytest.raises(SessionError) as info:
        await adapter("echo", record).execute(run, session, emit=Recorder())
    assert info.value.code == "validation_error"
    assert not record.exists()  # no process was started
