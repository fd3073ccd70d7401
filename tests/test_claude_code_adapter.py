"""ClaudeCodeAdapter against a fake ``claude`` CLI run as a real subprocess.

Recordings (``fake_cli/recordings/claude_code/``) are made of the raw CLI lines
in anthropics/claude-agent-sdk-python ``tests/test_message_parser.py`` (the
assistant and result lines of ``test_parse_assistant_message_preserves_all_fields``
and ``test_parse_result_message_preserves_all_fields``, tool use and results,
thinking, the ``rate_limit`` and ``authentication_failed`` assistant errors,
``rate_limit_event``, ``error_max_turns``) and ``tests/test_stream_accumulator.py``
(``stream_event`` deltas). Flags are checked against the Claude Agent SDK's
``_build_command`` (``claude_agent_sdk/_internal/transport/subprocess_cli.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_cli.helpers import Recorder, fake_env, fake_executable, read_record, run_and_session

from trio_stream_session import Event, InMemorySessionStore, SessionError, run_once
from trio_stream_session.adapters import ClaudeCodeAdapter
from trio_stream_session.adapters._claude_code import _ClaudeCodeTranslator
from trio_stream_session.adapters._cli_common import Invocation
from trio_stream_session.adapters._cli_process import CLIFailure

PROMPT = {"prompt": "hello"}
SESSION = "fdf2d90a-fd9e-4736-ae35-806edd13643f"
HI = "Hi! I'm ready to help."
BASE = ["-p", "--output-format", "stream-json", "--verbose"]


def adapter(scenario: str, record: Path | None = None, **options: Any) -> ClaudeCodeAdapter:
    env = {**fake_env(scenario, record), **options.pop("env", {})}
    return ClaudeCodeAdapter(executable=fake_executable("claude"), env=env, **options)


async def failure(scenario: str) -> SessionError:
    run, session = run_and_session(PROMPT)
    with pytest.raises(SessionError) as info:
        await adapter(scenario).execute(run, session, emit=Recorder())
    return info.value


async def test_run_once_maps_a_turn_with_tools(store: InMemorySessionStore) -> None:
    events: list[Event] = []
    codes = adapter("ok", model="sonnet")
    result = await run_once(store, codes, PROMPT, event_callback=events.append)
    assert [e.type.value for e in events] == [
        "run_started",
        "message_streamed",
        "message_streamed",
        "tool_call_started",
        "tool_call_completed",
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
        "session_id": SESSION,
        "model": "claude-sonnet-4-5-20250929",
        "configured_model": "sonnet",
        "cwd": "/srv/work",
        "tools": ["Bash", "Read", "Edit"],
        "mcp_servers": [],
        "permission_mode": "default",
    }
    assert events[1].data["kind"] == "thinking"
    assert events[4].data["tool_output"] == "File contents here"
    assert events[8].data["is_error"] is True
    assert events[10].data == {"content": HI, "role": "assistant"}
    assert events[11].data == {"input_tokens": 3, "output_tokens": 24}
    assert events[12].data["total_cost_usd"] == pytest.approx(0.010620999999999998)
    assert events[12].data["duration_ms"] == 2995
    # The cost Claude Code reports is the run's cost.
    assert result.cost_usd == pytest.approx(0.010620999999999998)
    run = await store.get_run(result.run_id)
    assert run.provider_metadata["provider_session_id"] == SESSION


async def test_partial_messages_stream_deltas_once() -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    codes = adapter("partial", include_partial_messages=True)
    result = await codes.execute(run, session, emit=recorder)
    assert [e["delta"] for e in recorder.of("message_streamed")] == [
        "Let me think",
        "Hi! I'm ",
        "ready to help.",
    ]
    assert recorder.of("message_streamed")[0]["kind"] == "thinking"
    assert result["output"]["content"] == HI


@pytest.mark.parametrize(
    ("scenario", "code", "message"),
    [
        ("rate_limited", "provider_rate_limited", "Rate limit exceeded"),
        ("auth_failed", "provider_authentication_failed", "Invalid API key"),
        ("fail", "provider_error", "maximum number of turns"),
    ],
)
async def test_failed_results(scenario: str, code: str, message: str) -> None:
    error = await failure(scenario)
    assert error.code == code
    assert message in error.message


async def test_a_rejected_rate_limit_is_noted() -> None:
    error = await failure("rate_limited")
    assert error.details["warnings"] == ["claude_code: rate limit rejected (five_hour)"]
    assert error.provider_error is not None and error.provider_error["kind"] == "rate_limit"


async def test_max_turns_keeps_the_turn_count() -> None:
    error = await failure("fail")
    assert error.provider_error is not None
    assert error.provider_error["kind"] == "error_max_turns"
    assert error.details["num_turns"] == 10


ARGV_CASES = [
    ({"include_partial_messages": True}, ["--include-partial-messages"]),
    ({"model": "sonnet"}, ["--model", "sonnet"]),
    ({"permission_mode": "default"}, ["--permission-mode", "default"]),
    ({"permission_mode": "plan"}, ["--permission-mode", "plan"]),
    ({"permission_mode": "accept_edits"}, ["--permission-mode", "acceptEdits"]),
    ({"permission_mode": "full_auto"}, ["--permission-mode", "acceptEdits"]),
    (
        {"permission_mode": "dangerously_skip_permissions"},
        ["--permission-mode", "bypassPermissions"],
    ),
    ({"permission_mode": "bypassPermissions"}, ["--permission-mode", "bypassPermissions"]),
    ({"permission_mode": "dontAsk"}, ["--permission-mode", "dontAsk"]),
    ({"allowed_tools": ["Read", "Bash(git:*)"]}, ["--allowedTools", "Read,Bash(git:*)"]),
    ({"disallowed_tools": ["WebFetch"]}, ["--disallowedTools", "WebFetch"]),
    ({"max_turns": 5}, ["--max-turns", "5"]),
    ({"append_system_prompt": "Be terse."}, ["--append-system-prompt", "Be terse."]),
    ({"mcp_config": "mcp.json"}, ["--mcp-config", "mcp.json"]),
    ({"add_dirs": ["/a", Path("/b")]}, ["--add-dir", "/a", "--add-dir", "/b"]),
    ({"extra_args": ["--fallback-model", "haiku"]}, ["--fallback-model", "haiku"]),
]


@pytest.mark.parametrize(("options", "flags"), ARGV_CASES, ids=lambda v: str(v)[:40])
def test_each_option_becomes_its_documented_flag(options: dict[str, Any], flags: list[str]) -> None:
    invocation = Invocation(mcp_config=options.get("mcp_config"))
    assert ClaudeCodeAdapter(**options)._arguments(invocation) == [*BASE, *flags]


def test_resume_uses_the_equals_form() -> None:
    # A session id starting with "-" can never be read as a flag.
    assert ClaudeCodeAdapter()._arguments(Invocation(resume_id="-x")) == [*BASE, "--resume=-x"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"permission_mode": "yolo"}, ValueError),
        ({"max_turns": 0}, ValueError),
        ({"allowed_tools": "Read"}, TypeError),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match="ClaudeCodeAdapter"):
        ClaudeCodeAdapter(**options)


async def test_argv_stdin_and_working_directory(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    codes = adapter("echo", record, cwd=tmp_path, max_turns=3)
    run, session = run_and_session({"prompt": "say hello"})
    result = await codes.execute(run, session, emit=Recorder())
    data = read_record(record)
    assert data["argv"] == [*BASE, "--max-turns", "3"]
    assert data["stdin"] == "say hello"
    assert data["cwd"] == str(tmp_path)
    assert result["output"]["content"] == "say hello"
    assert result["provider_session"] == {"provider_session_id": "fake-session"}


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (529, "overloaded", "provider_unavailable"),
        (429, "rate_limit", "provider_rate_limited"),
        (401, "authentication_failed", "provider_authentication_failed"),
    ],
)
async def test_api_retry_notices_name_the_cause_of_a_failed_result(
    status: int, error: str, code: str
) -> None:
    """``system``/``api_retry`` lines as Claude Code prints them while it retries
    (``attempt``, ``max_retries``, ``retry_delay_ms``, ``error_status``, ``error``),
    then a failed result carrying ``api_error_status``."""
    recorder = Recorder()
    translator = _ClaudeCodeTranslator(recorder, [], None)
    retry = {"type": "system", "subtype": "api_retry", "attempt": 1, "max_retries": 10}
    await translator.handle(
        {**retry, "retry_delay_ms": 600, "error_status": status, "error": error}
    )
    result = {"type": "result", "subtype": "success", "is_error": True, "result": "API Error"}
    with pytest.raises(CLIFailure) as info:
        await translator.handle({**result, "api_error_status": status})
    assert info.value.code == code
    assert info.value.details["api_error_status"] == status
    assert translator.warnings == [f"claude_code: API retry 1/10: {error} (HTTP {status})"]


async def test_diagnostic_lines_between_events_are_skipped_with_a_note() -> None:
    """Some Claude Code builds print ``[SandboxDebug] ...`` on stdout (the Agent
    SDK skips such lines: claude-agent-sdk-python ``_parse_stdout_line``, #347)."""
    run, session = run_and_session(PROMPT)
    result = await adapter("noise").execute(run, session, emit=Recorder())
    assert result["output"]["content"] == HI
    assert result["output"]["warnings"] == [
        "skipped non-JSON output line: [SandboxDebug] Seccomp filtering not available"
    ]
    # A line that starts like JSON but is not an object is still a parse error.
    error = await failure("not_object")
    assert error.provider_error is not None and error.provider_error["kind"] == "parse_error"
