"""CodexAdapter against a fake ``codex`` CLI run as a real subprocess.

Recordings (``fake_cli/recordings/codex/``): ``tools`` is the sample session of
openai/codex ``docs/exec.md``, verbatim; the others are serialised as
``codex-rs/exec/src/exec_events.rs`` defines the lines and
``codex-rs/exec/src/event_processor_with_jsonl_output.rs`` prints them (see
``test_cli_agents_behaviour.SOURCES``). Flags are checked against
``codex-rs/exec/src/cli.rs`` and ``SharedCliOptions`` (``codex-rs/utils/cli``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_cli.helpers import Recorder, fake_env, fake_executable, read_record, run_and_session

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    Run,
    Session,
    SessionError,
    Transcript,
    TranscriptMessage,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import CodexAdapter
from trio_stream_session.adapters._cli_common import Invocation

API_KEY = "fake-secret-value-1234"
PROMPT = {"messages": [{"role": "user", "content": "list the files"}]}
THREAD = "0199a213-81c0-7800-8aa1-bbab2a035a53"
FINAL = "Yep \u2014 there\u2019s a `README.md` in the repository root."
DOCS_USAGE = {"input_tokens": 24763, "cached_input_tokens": 24448, "output_tokens": 122}


def adapter(scenario: str, record: Path | None = None, **options: Any) -> CodexAdapter:
    env = {**fake_env(scenario, record), **options.pop("env", {})}
    return CodexAdapter(executable=fake_executable("codex"), env=env, **options)


def resumed_session(state: dict[str, Any]) -> tuple[Run, Session]:
    session = Session(agent_id="test", metadata={"provider_sessions": {"codex": state}})
    return Run(session_id=session.id, input=PROMPT), session


async def test_run_once_maps_the_documented_session(store: InMemorySessionStore) -> None:
    events: list[Event] = []
    result = await run_once(store, adapter("ok"), PROMPT, event_callback=events.append)
    assert [e.type.value for e in events] == [
        "run_started",
        "tool_call_started",
        "tool_call_completed",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert events[0].data == {"thread_id": THREAD}
    assert events[1].data == {
        "tool_call_id": "item_1",
        "tool_name": "bash",
        "tool_input": {"command": "bash -lc ls"},
        "thread_id": THREAD,
    }
    output = events[2].data["tool_output"]
    assert output["exit_code"] == 0 and output["status"] == "completed"
    assert output["output"].splitlines()[:2] == ["2025-09-11", "AGENTS.md"]
    assert events[3].data == {"content": FINAL, "delta": FINAL, "thread_id": THREAD}
    assert events[5].data == {**DOCS_USAGE, "thread_id": THREAD}
    assert events[6].data == {
        "stop_reason": "end_turn",
        "thread_id": THREAD,
        "token_usage": DOCS_USAGE,
    }
    assert result.output["content"] == FINAL
    assert result.token_usage == DOCS_USAGE
    run = await store.get_run(result.run_id)
    assert run.provider_metadata["provider_session_id"] == THREAD


async def test_item_kinds_failures_web_search_and_reasoning_tokens() -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    result = await adapter("items").execute(run, session, emit=recorder)
    failed = recorder.of("tool_call_failed")
    assert [(f["tool_name"], f["error_message"]) for f in failed] == [
        ("bash", "exit code 1"),
        ("fs:read_file", "File not found"),
    ]
    completed = {c["tool_name"]: c for c in recorder.of("tool_call_completed")}
    assert completed["apply_patch"]["tool_input"] == {
        "changes": [{"path": "src/a.py", "kind": "update"}]
    }
    # The completed web search carries the query and action (not item.started's "").
    search = completed["web_search"]
    action = {"type": "search", "query": "trio nursery docs"}
    assert search["tool_input"] == {"query": "trio nursery docs", "action": action}
    assert search["tool_output"] == search["tool_input"]
    assert "todo_list" not in completed  # a plan, not a tool call
    assert result["output"]["warnings"] == [
        "codex: model rerouted: gpt-5 -> gpt-5-mini (HighRiskCyberActivity)"
    ]
    assert result["token_usage"] == {
        "input_tokens": 1200,
        "cached_input_tokens": 1000,
        "output_tokens": 80,
        "reasoning_output_tokens": 40,
    }


async def test_a_resumed_thread_reports_its_own_share_of_the_running_total(
    tmp_path: Path,
) -> None:
    record = tmp_path / "record.json"
    run, session = resumed_session({"provider_session_id": THREAD, "usage_total": DOCS_USAGE})
    recorder = Recorder()
    result = await adapter("resumed", record).execute(run, session, emit=recorder)
    share = {"input_tokens": 5237, "cached_input_tokens": 3552, "output_tokens": 78}
    assert result["token_usage"] == share
    assert recorder.of("run_completed")[0]["token_usage"] == share
    assert recorder.of("run_started") == [{"thread_id": THREAD, "resumed": True}]
    total = {"input_tokens": 30000, "cached_input_tokens": 28000, "output_tokens": 200}
    assert result["provider_session"] == {"provider_session_id": THREAD, "usage_total": total}
    data = read_record(record)
    assert data["argv"] == ["exec", "--json", "resume", THREAD, "--", "-"]
    assert data["stdin"] == "list the files"


async def test_a_new_thread_is_not_reduced_by_another_threads_total() -> None:
    run, session = resumed_session({"provider_session_id": "other", "usage_total": DOCS_USAGE})
    result = await adapter("resumed").execute(run, session, emit=Recorder())
    assert result["token_usage"]["input_tokens"] == 30000


ARGV_CASES = [
    ({"model": "gpt-5-codex"}, ["--model", "gpt-5-codex"]),
    ({"permission_mode": "default"}, []),
    ({"permission_mode": "plan"}, ["--sandbox", "read-only"]),
    ({"permission_mode": "accept_edits"}, ["--sandbox", "workspace-write"]),
    ({"permission_mode": "full_auto"}, ["--sandbox", "workspace-write"]),
    (
        {"permission_mode": "dangerously_skip_permissions"},
        ["--dangerously-bypass-approvals-and-sandbox"],
    ),
    ({"sandbox": "read-only"}, ["--sandbox", "read-only"]),
    ({"sandbox": "workspace-write"}, ["--sandbox", "workspace-write"]),
    ({"sandbox": "danger-full-access"}, ["--sandbox", "danger-full-access"]),
    ({"approval_policy": "never"}, ["--config", 'approval_policy="never"']),
    ({"reasoning_effort": "high"}, ["--config", 'model_reasoning_effort="high"']),
    (
        {"config": {"sandbox_workspace_write.network_access": True, "model_verbosity": "low"}},
        [
            "--config",
            "sandbox_workspace_write.network_access=true",
            "--config",
            'model_verbosity="low"',
        ],
    ),
    ({"add_dirs": ["/a", Path("/b")]}, ["--add-dir", "/a", "--add-dir", "/b"]),
    ({"profile": "ci"}, ["--profile", "ci"]),
    ({"output_schema": "schema.json"}, ["--output-schema", "schema.json"]),
    ({"output_last_message": "last.txt"}, ["--output-last-message", "last.txt"]),
    ({"ephemeral": True}, ["--ephemeral"]),
    ({"skip_git_repo_check": True}, ["--skip-git-repo-check"]),
    ({"extra_args": ["--color", "never"]}, ["--color", "never"]),
]


@pytest.mark.parametrize(("options", "flags"), ARGV_CASES, ids=lambda v: str(v)[:40])
def test_each_option_becomes_its_documented_flag(options: dict[str, Any], flags: list[str]) -> None:
    assert CodexAdapter(**options)._arguments(Invocation()) == ["exec", "--json", *flags, "--", "-"]


def test_images_follow_resume_and_the_prompt_follows_a_double_dash() -> None:
    codex = CodexAdapter(images=["a.png"], output_schema="s.json", model="m")
    assert codex._arguments(Invocation(resume_id="t-1")) == [
        "exec",
        "--json",
        "--model",
        "m",
        "--output-schema",
        "s.json",
        "resume",
        "t-1",
        "--image",
        "a.png",
        "--",
        "-",
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"permission_mode": "yolo"},
        {"sandbox": "everything"},
        {"sandbox": "read-only", "permission_mode": "full_auto"},
        {"approval_policy": "sometimes"},
        {"reasoning_effort": "extreme"},
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="CodexAdapter"):
        CodexAdapter(**options)


async def test_argv_env_and_stdin(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codex = adapter("echo", record, api_key=API_KEY, model="o3", cwd=tmp_path)
    recorder = Recorder()
    run, session = run_and_session({"prompt": "say hello"})
    result = await codex.execute(run, session, emit=recorder)
    data = read_record(record)
    assert data["argv"] == ["exec", "--json", "--model", "o3", "--", "-"]
    assert data["stdin"] == "say hello"
    assert data["cwd"] == str(tmp_path)
    # codex exec reads CODEX_API_KEY only; OPENAI_API_KEY is left as it was.
    assert data["env"]["CODEX_API_KEY"] == API_KEY
    assert data["env"]["OPENAI_API_KEY"] is None
    assert API_KEY not in json.dumps(data["argv"]) + repr(codex) + json.dumps(recorder.events)
    assert result["output"]["content"] == "say hello"
    assert recorder.of("run_started") == [{"thread_id": "thread-fake", "model": "o3"}]


async def test_prompt_replays_the_transcript_without_a_thread_to_resume(tmp_path: Path) -> None:
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
    run_input = {"messages": [{"role": "system", "content": "be brief"}, {"content": "and now?"}]}
    run, session = run_and_session(run_input, {"transcript": transcript})
    await adapter("echo", record).execute(run, session, emit=Recorder())
    assert read_record(record)["stdin"] == (
        "user: list files\n"
        'assistant_tool_call(c1): bash {"command": "ls"}\n'
        "tool_result(c1): bash a.txt\n"
        "assistant: There is a.txt.\n"
        "\n"
        "and now?"
    )


async def test_the_real_rate_limit_failure_is_provider_rate_limited() -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter("rate_limited").execute(run, session, emit=Recorder())
    error = info.value
    assert error.code == "provider_rate_limited"
    assert error.message.startswith("exceeded retry limit, last status: 429 Too Many Requests")
    assert error.details["error"] == {"message": error.message}
    assert error.details["warnings"][0].startswith("codex: Reconnecting... 1/5")


async def test_a_usage_limit_is_provider_quota_exceeded() -> None:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter("usage_limit").execute(run, session, emit=Recorder())
    assert info.value.code == "provider_quota_exceeded"


async def test_error_notices_before_a_completed_turn_are_warnings() -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    result = await adapter("reconnect").execute(run, session, emit=recorder)
    assert result["output"]["content"] == "recovered"
    assert len(result["output"]["warnings"]) == 2
    assert recorder.events[1]["metadata"]["cli_warnings"] == result["output"]["warnings"]


async def test_options_and_capabilities() -> None:
    codex = CodexAdapter(api_key=API_KEY, env={"SOME_TOKEN": "token-value-123456"})
    assert codex.name == "codex"
    assert API_KEY not in repr(codex) and "token-value" not in repr(codex)
    names = [c.name for c in await codex.capabilities()]
    assert names == ["streaming", "tool_use", "interrupt", "mcp", "file_operations", "bash"]
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
    assert stream.result.output["content"] == FINAL


async def test_input_without_prompt_text_is_a_validation_error(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    run, session = run_and_session({"messages": [{"role": "system", "content": "only this"}]})
    with pytest.raises(SessionError) as info:
        await adapter("echo", record).execute(run, session, emit=Recorder())
    assert info.value.code == "validation_error"
    assert not record.exists()  # no process was started
