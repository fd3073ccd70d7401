"""AmpAdapter against a fake ``amp`` CLI run as a real subprocess.

Recordings (``fake_cli/recordings/amp/``): ``hello`` is the example session of
ampcode.com/news/streaming-json, verbatim; ``tools``, ``fail``, ``rate_limited``
and ``interrupted`` are shaped as ``@sourcegraph/amp-sdk`` ``dist/types.d.ts``
types the messages. Flags are checked against that SDK's ``buildCliArgs``
(``threads continue <id>`` first, then ``--execute --stream-json``, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_cli.helpers import Recorder, fake_env, fake_executable, read_record, run_and_session

from trio_stream_session import Event, EventType, InMemorySessionStore, SessionError, run_once
from trio_stream_session.adapters import AmpAdapter
from trio_stream_session.adapters._amp import _AmpTranslator
from trio_stream_session.adapters._cli_common import Invocation

API_KEY = "fake-secret-value-1234"
PROMPT = {"prompt": "list the files"}
HELLO_THREAD = "T-2775dc92-90ed-4f85-8b73-8f9766029e83"


def adapter(scenario: str, record: Path | None = None, **options: Any) -> AmpAdapter:
    env = {**fake_env(scenario, record), **options.pop("env", {})}
    return AmpAdapter(executable=fake_executable("amp"), env=env, **options)


async def test_run_once_maps_the_published_session(store: InMemorySessionStore) -> None:
    events: list[Event] = []
    result = await run_once(store, adapter("hello"), PROMPT, event_callback=events.append)
    assert [e.type.value for e in events] == [
        "run_started",
        "message_streamed",
        "message_received",
        "token_usage_updated",
        "run_completed",
    ]
    assert events[0].data == {
        "session_id": HELLO_THREAD,
        "cwd": "/Users/mrnugget/work/amp",
        "tools": ["oracle", "..."],
        "mcp_servers": [],
    }
    assert events[1].data == {"content": "2 + 2 equals 4.", "delta": "2 + 2 equals 4."}
    usage = {
        "input_tokens": 12783,
        "cache_creation_input_tokens": 367,
        "cache_read_input_tokens": 12416,
        "output_tokens": 8,
    }
    assert events[3].data == usage  # max_tokens is a limit, not a count
    assert events[4].data == {
        "stop_reason": "end_turn",
        "session_id": HELLO_THREAD,
        "duration_ms": 2906,
        "num_turns": 1,
        "token_usage": usage,
    }
    assert result.output["content"] == "2 + 2 equals 4."
    run = await store.get_run(result.run_id)
    assert run.provider_metadata["provider_session_id"] == HELLO_THREAD


async def test_tools_and_thinking_blocks() -> None:
    recorder = Recorder()
    run, session = run_and_session(PROMPT)
    result = await adapter("tools", thinking=True).execute(run, session, emit=recorder)
    streamed = recorder.of("message_streamed")
    assert streamed[0] == {
        "content": "List the files first.",
        "delta": "List the files first.",
        "kind": "thinking",
    }
    assert recorder.of("tool_call_completed") == [
        {
            "tool_call_id": "toolu_1",
            "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "tool_output": "file.txt",
        }
    ]
    assert recorder.of("tool_call_failed")[0]["tool_output"] == "ENOENT: missing.txt"
    # No usage on the result: each assistant message counted once.
    assert result["token_usage"] == {
        "input_tokens": 60,
        "output_tokens": 19,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 8,
    }


async def test_error_result_keeps_permission_denials(store: InMemorySessionStore) -> None:
    with pytest.raises(SessionError) as info:
        await run_once(store, adapter("fail"), PROMPT)
    error = info.value
    assert (error.code, error.message) == ("provider_error", "something failed")
    assert error.provider_error is not None
    assert error.provider_error["kind"] == "error_during_execution"
    assert error.details["permission_denials"] == ["file_write", "bash_exec"]
    session = (await store.list_sessions())[0]
    failed = [e for e in await store.get_events(session.id) if e.type is EventType.RUN_FAILED]
    assert failed[0].data["details"]["permission_denials"] == ["file_write", "bash_exec"]


ARGV_CASES = [
    ({"mode": "rush"}, ["--mode", "rush"]),
    ({"effort": "high"}, ["--effort", "high"]),
    ({"permission_mode": "default"}, []),
    ({"permission_mode": "full_auto"}, ["--dangerously-allow-all"]),
    ({"permission_mode": "dangerously_skip_permissions"}, ["--dangerously-allow-all"]),
    ({"visibility": "private"}, ["--visibility", "private"]),
    ({"settings_file": "settings.json"}, ["--settings-file", "settings.json"]),
    ({"mcp_config": "mcp.json"}, ["--mcp-config", "mcp.json"]),
    ({"labels": ["ci", "nightly"]}, ["--label", "ci", "--label", "nightly"]),
    ({"extra_args": ["--log-level", "debug"]}, ["--log-level", "debug"]),
    ({"model": "claude-sonnet-4-5"}, []),  # reported in run_started; Amp has no --model
]


@pytest.mark.parametrize(("options", "flags"), ARGV_CASES, ids=lambda v: str(v)[:40])
def test_each_option_becomes_its_documented_flag(options: dict[str, Any], flags: list[str]) -> None:
    invocation = Invocation(mcp_config=options.get("mcp_config"))
    assert AmpAdapter(**options)._arguments(invocation) == ["--execute", "--stream-json", *flags]


def test_thinking_replaces_stream_json_and_continue_comes_first() -> None:
    amp = AmpAdapter(thinking=True, mode="smart")
    assert amp._arguments(Invocation(resume_id="T-1")) == [
        "threads",
        "continue",
        "T-1",
        "--execute",
        "--stream-json-thinking",
        "--mode",
        "smart",
    ]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"permission_mode": "plan"}, ValueError),
        ({"permission_mode": "accept_edits"}, ValueError),
        ({"visibility": "everyone"}, ValueError),
        ({"labels": "ci"}, TypeError),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match="AmpAdapter"):
        AmpAdapter(**options)


async def test_argv_env_and_stdin(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    amp = adapter("echo", record, api_key=API_KEY, mode="smart", cwd=tmp_path)
    recorder = Recorder()
    run, session = run_and_session({"prompt": "say hello"})
    result = await amp.execute(run, session, emit=recorder)
    data = read_record(record)
    assert data["argv"] == ["--execute", "--stream-json", "--mode", "smart"]
    assert data["stdin"] == "say hello"
    assert data["cwd"] == str(tmp_path)
    assert data["env"]["AMP_API_KEY"] == API_KEY
    assert API_KEY not in json.dumps(data["argv"]) + repr(amp) + json.dumps(recorder.events)
    assert result["output"]["content"] == "say hello"
    assert result["provider_session"] == {"provider_session_id": "T-fake"}


async def test_usage_without_a_result_total_counts_each_message_once() -> None:
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
