"""One behaviour suite for the three CLI agents (Claude Code, Codex, Amp).

Each test runs against every adapter with a fake executable (``fake_cli/``) that
replays the CLI's recorded output byte for byte and records its argv, stdin and
environment. Subprocess I/O runs on the real clock, so the few real timeouts
here are short; the long-run test uses a ``MockClock`` running 100x real time.

Where each recording (``fake_cli/recordings/<flavor>/<name>.jsonl``) comes from:
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest
import trio
import trio.testing
from fake_cli.helpers import (
    Recorder,
    fake_env,
    fake_executable,
    kill_quietly,
    process_gone,
    read_record,
    wait_for_record,
    wait_gone,
)

from trio_stream_session import EventType, Run, Session, SessionError, open_stream_session
from trio_stream_session.adapters import AmpAdapter, ClaudeCodeAdapter, CodexAdapter
from trio_stream_session.adapters._cli_common import CLIAdapter

SOURCES: Final[Mapping[str, str]] = {
    "codex/tools": "openai/codex docs/exec.md, 'Sample output' (verbatim)",
    "codex/items, rate_limited, usage_limit, fail, reconnect, interrupted, resumed": (
        "serialised as openai/codex codex-rs/exec/src/exec_events.rs defines the lines and "
        "codex-rs/exec/src/event_processor_with_jsonl_output.rs prints them (error "
        "notifications, failed and interrupted turns, usage_from_last_total); messages from "
        "codex-rs/protocol/src/error.rs (RetryLimitReachedError, UsageLimitReachedError)"
    ),
    "amp/hello": "ampcode.com/news/streaming-json, the example session (verbatim)",
    "amp/tools, fail, rate_limited, interrupted": (
        "shaped as @sourcegraph/amp-sdk dist/types.d.ts types them (AssistantMessage, "
        "UserMessage with ToolResultContent, ErrorResultMessage)"
    ),
    "claude_code/*": (
        "anthropics/claude-agent-sdk-python tests/test_message_parser.py (the raw CLI lines "
        "of test_parse_assistant_message_preserves_all_fields, "
        "test_parse_result_message_preserves_all_fields, tool use/result, thinking, "
        "rate_limit/authentication_failed assistant errors, rate_limit_event, "
        "error_max_turns) and tests/test_stream_accumulator.py (stream_event deltas)"
    ),
}

API_KEY = "fake-secret-value-1234"
PROMPT = {"messages": [{"role": "user", "content": "list the files"}]}


@dataclass(frozen=True)
class Agent:
    adapter_class: type[CLIAdapter]
    fake: str
    key_variable: str
    thread_id: str
    tool_names: tuple[str, ...]
    content: str

    def adapter(self, scenario: str, record: Path | None = None, **options: Any) -> CLIAdapter:
        env = {**fake_env(scenario, record), **options.pop("env", {})}
        return self.adapter_class(executable=fake_executable(self.fake), env=env, **options)


CODEX = Agent(
    CodexAdapter,
    "codex",
    "CODEX_API_KEY",
    "0199a213-81c0-7800-8aa1-bbab2a035a53",
    ("bash",),
    "Yep \u2014 there\u2019s a `README.md` in the repository root.",
)
AMP = Agent(
    AmpAdapter,
    "amp",
    "AMP_API_KEY",
    "T-019c479a-39cc-72af-a2d1-65a965c076ec",
    ("Bash", "Read"),
    "There is one file: file.txt.",
)
CLAUDE_CODE = Agent(
    ClaudeCodeAdapter,
    "claude",
    "ANTHROPIC_API_KEY",
    "fdf2d90a-fd9e-4736-ae35-806edd13643f",
    ("Read", "Edit", "Read"),
    "Hi! I'm ready to help.",
)
AGENTS = pytest.mark.parametrize("agent", [CLAUDE_CODE, CODEX, AMP], ids=lambda a: a.fake)


def run_and_session(metadata: Mapping[str, Any] | None = None) -> tuple[Run, Session]:
    session = Session(agent_id="test", metadata=dict(metadata or {}))
    return Run(session_id=session.id, input=dict(PROMPT)), session


async def execute(adapter: CLIAdapter, **opts: Any) -> tuple[Mapping[str, Any], Recorder]:
    recorder = Recorder()
    run, session = run_and_session()
    result = await adapter.execute(run, session, emit=recorder, **opts)
    return result, recorder


async def failure(adapter: CLIAdapter, **opts: Any) -> SessionError:
    with pytest.raises(SessionError) as info:
        await execute(adapter, **opts)
    return info.value


@AGENTS
async def test_a_full_turn_with_tools(agent: Agent, tmp_path: Path) -> None:
    result, recorder = await execute(agent.adapter("ok"))
    types = recorder.types
    assert types[0] == "run_started"
    assert types[-3:] == ["message_received", "token_usage_updated", "run_completed"]
    started = recorder.of("tool_call_started")
    assert tuple(call["tool_name"] for call in started) == agent.tool_names
    ended = recorder.of("tool_call_completed") + recorder.of("tool_call_failed")
    assert {call["tool_call_id"] for call in ended} == {call["tool_call_id"] for call in started}
    assert result["output"]["content"] == agent.content
    assert recorder.of("message_received")[0]["content"] == agent.content
    assert result["token_usage"]["output_tokens"] > 0
    assert result["provider_session"]["provider_session_id"] == agent.thread_id
    assert recorder.of("run_completed")[0]["token_usage"] == result["token_usage"]


@AGENTS
@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        ("fail", "provider_error"),
        ("rate_limited", "provider_rate_limited"),
        ("interrupted", "provider_error"),
        ("incomplete", "provider_error"),
    ],
)
async def test_reported_failures(agent: Agent, scenario: str, code: str) -> None:
    error = await failure(agent.adapter(scenario))
    assert error.code == code
    assert error.provider_error is not None
    assert error.provider_error["provider"] == agent.adapter_class.provider
    if scenario in ("interrupted", "incomplete"):
        assert error.provider_error["kind"] == "interrupted"
    if code == "provider_rate_limited":
        assert error.provider_error["kind"] == "rate_limit"
        assert error.retryable


@AGENTS
async def test_non_json_lines(agent: Agent) -> None:
    result, recorder = await execute(agent.adapter("banner"))
    assert result["output"]["content"] == agent.content
    first = recorder.events[0]
    assert first["metadata"]["cli_warnings"] == [
        "skipped non-JSON output line: Fake CLI v1.0 -- welcome"
    ]
    error = await failure(agent.adapter("not_object"))
    assert (error.code, error.provider_error and error.provider_error["kind"]) == (
        "provider_error",
        "parse_error",
    )


@AGENTS
async def test_a_one_mebibyte_line_is_read_and_a_longer_one_is_refused(agent: Agent) -> None:
    result, _ = await execute(agent.adapter("big_line"))
    assert len(result["output"]["content"]) > 1_000_000
    error = await failure(agent.adapter("long_line", env={"FAKE_CLI_LINE_BYTES": str(1 << 20 | 1)}))
    assert error.provider_error is not None and error.provider_error["kind"] == "parse_error"


@AGENTS
async def test_non_zero_exit_keeps_a_redacted_stderr_tail(agent: Agent) -> None:
    error = await failure(agent.adapter("exit", api_key=API_KEY))
    pe = error.provider_error
    assert pe is not None and pe["kind"] == "transport_exit" and pe["exit_code"] == 2
    assert "permission denied" in pe["stderr"]
    assert API_KEY not in str(pe) and "sk-proj-abcdefghij" not in str(pe)


@AGENTS
async def test_missing_executable(agent: Agent, tmp_path: Path) -> None:
    adapter = agent.adapter_class(executable=str(tmp_path / "not-installed"))
    error = await failure(adapter)
    assert error.code == "provider_unavailable"
    assert error.provider_error is not None and error.provider_error["kind"] == "cli_not_found"


@AGENTS
async def test_sets_no_environment_variable_its_cli_does_not_read(
    agent: Agent, tmp_path: Path
) -> None:
    record = tmp_path / "record.json"
    await execute(agent.adapter("echo", record, api_key=API_KEY))
    environ = read_record(record)["environ"]
    added = {k for k in environ if os.environ.get(k) != environ[k]}
    assert added == {agent.key_variable, "FAKE_CLI_SCENARIO", "FAKE_CLI_RECORD"}
    assert environ[agent.key_variable] == API_KEY
    # Without api_key= and env=, the CLI inherits our environment unchanged.
    plain = agent.adapter_class(executable=fake_executable(agent.fake))
    assert plain._child_env() is None


@AGENTS
async def test_a_continued_session_resumes_the_cli_thread(agent: Agent, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    state = {"provider_session_id": "thread-42", "model": "m"}
    run, session = run_and_session({"provider_sessions": {agent.adapter_class.provider: state}})
    session = session.replace(context={"transcript": "never replayed"})
    await agent.adapter("echo", record).execute(run, session, emit=Recorder())
    data = read_record(record)
    assert data["stdin"] == "list the files"
    argv = data["argv"]
    if agent is CODEX:
        assert argv[argv.index("resume") :] == ["resume", "thread-42", "--", "-"]
    elif agent is AMP:
        assert argv[:4] == ["threads", "continue", "thread-42", "--execute"]
    else:
        assert "--resume=thread-42" in argv
    # Another provider's thread is not this one's.
    run, session = run_and_session({"provider_sessions": {"other": state}})
    await agent.adapter("echo", record).execute(run, session, emit=Recorder())
    assert "thread-42" not in " ".join(read_record(record)["argv"])


@AGENTS
async def test_streams_for_three_minutes_without_a_default_limit(
    agent: Agent, mock_clock: trio.testing.MockClock
) -> None:
    mock_clock.rate = 100  # 1 s of run time per 10 ms of real time
    adapter = agent.adapter("tick", env={"FAKE_CLI_TICKS": "180", "FAKE_CLI_TICK_DELAY": "0.01"})
    started = trio.current_time()
    result, recorder = await execute(adapter)
    assert trio.current_time() - started >= 150  # minutes of (mock) time, not cut off
    assert result["output"]["content"] == agent.content
    assert len(recorder.events) > 180


@AGENTS
async def test_a_timeout_when_asked_for_ends_the_process(agent: Agent, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    error = await failure(agent.adapter("hang", record), timeout=0.3)
    assert error.code == "provider_timeout"
    assert await wait_gone(read_record(record)["pid"])
    with pytest.raises(SessionError) as info:
        await execute(agent.adapter("hang"), timeout=-1)
    assert info.value.code == "validation_error"


@AGENTS
async def test_idle_timeout_ends_the_process_group_with_grandchildren(
    agent: Agent, tmp_path: Path
) -> None:
    record = tmp_path / "record.json"
    adapter = agent.adapter("grandchild", record, terminate_grace=0.5)
    try:
        async with open_stream_session(adapter=adapter, input=PROMPT, idle_timeout=0.5) as stream:
            events = [event async for event in stream]
        assert events[-1].type is EventType.ERROR_OCCURRED
        assert events[-1].data["error_code"] == "timeout"
        data = read_record(record)
        assert await wait_gone(data["pid"])
        assert await wait_gone(data["grandchild_pid"])
    finally:
        if record.exists():
            kill_quietly(read_record(record)["grandchild_pid"])


@AGENTS
async def test_cancel_ends_the_cli(agent: Agent, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    adapter = agent.adapter("hang", record)
    recorder = Recorder()
    run, session = run_and_session()
    async with trio.open_nursery() as nursery:

        async def run_it() -> None:
            with pytest.raises(SessionError) as info:
                await adapter.execute(run, session, emit=recorder)
            assert info.value.code == "cancelled"

        nursery.start_soon(run_it)
        pid = (await wait_for_record(record))["pid"]
        await recorder.wait_for("run_started")
        await adapter.cancel(run.id)
    assert recorder.types[-1] == "run_cancelled"
    assert process_gone(pid)


@pytest.mark.parametrize("agent", [CLAUDE_CODE, AMP], ids=lambda a: a.fake)
async def test_mcp_config_mapping_goes_through_a_private_file(agent: Agent, tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    config = {"mcpServers": {"fs": {"command": "fs-server", "env": {"TOKEN": "tok-secret-99"}}}}
    await execute(agent.adapter("echo", record, mcp_config=config))
    data = read_record(record)
    argv = data["argv"]
    assert "tok-secret-99" not in " ".join(argv)
    assert data["mcp_config"] == {"mode": 0o600, "content": config}
    assert not await trio.Path(argv[argv.index("--mcp-config") + 1]).exists()  # deleted
    # A path is passed as it is.
    await execute(agent.adapter("echo", record, mcp_config=tmp_path / "mcp.json"))
    argv = read_record(record)["argv"]
    assert argv[argv.index("--mcp-config") + 1] == str(tmp_path / "mcp.json")


@AGENTS
async def test_a_stream_session_lets_an_agent_work_for_minutes(
    agent: Agent, mock_clock: trio.testing.MockClock
) -> None:
    """No run-level limit by default: three minutes of (mock) time, an event a second.

    The idle timeout stays the guard; it is widened here only so that a
    loaded machine's pauses between the fake's lines cannot trip it.
    """
    mock_clock.rate = 100
    adapter = agent.adapter("tick", env={"FAKE_CLI_TICKS": "180", "FAKE_CLI_TICK_DELAY": "0.01"})
    started = trio.current_time()
    async with open_stream_session(adapter=adapter, input=PROMPT, idle_timeout=600) as stream:
        events = [event async for event in stream]
    assert trio.current_time() - started >= 150
    assert events[-1].type is EventType.RUN_COMPLETED
    assert stream.result is not None and stream.result.output["content"] == agent.content
