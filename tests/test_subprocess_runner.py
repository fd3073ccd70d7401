"""The shared CLI subprocess runner, against real fake-CLI processes.

Timeouts here are short real ones: the processes run on the real clock, so
``autojump_clock`` would fire every deadline at once.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
from pathlib import Path

import pytest
import trio
from fake_cli.helpers import (
    fake_env,
    fake_executable,
    kill_quietly,
    process_gone,
    read_record,
    wait_for_record,
    wait_gone,
)

from trio_stream_session import SessionError
from trio_stream_session.adapters._subprocess import CLICommand, CLIFailure, CLIProcess

API_KEY = "fake-secret-value-1234"


def command(
    scenario: str,
    record: Path | None = None,
    *,
    flavor: str = "codex",
    stdin: bytes = b"hello",
    **options: object,
) -> CLICommand:
    env = {**os.environ, **fake_env(scenario, record), "CODEX_API_KEY": API_KEY}
    extra_env = options.pop("env", None)
    if isinstance(extra_env, dict):
        env.update(extra_env)
    return CLICommand(
        provider=flavor,
        argv=(*fake_executable(flavor), "exec", "--json", "-"),
        env=env,
        stdin_data=stdin,
        secrets=(API_KEY,),
        **options,  # type: ignore[arg-type]
    )


async def drain(cli: CLIProcess) -> list[dict[str, object]]:
    events = []
    while (event := await cli.receive_event()) is not None:
        events.append(event)
    return events


async def test_reads_json_lines_feeds_stdin_and_exits_cleanly(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    async with CLIProcess(command("echo", record, stdin=b"say hi")) as cli:
        events = await drain(cli)
        assert await cli.wait() == 0
    assert [e["type"] for e in events] == ["thread.started", "item.completed", "turn.completed"]
    assert events[1]["item"] == {"id": "m1", "type": "agent_message", "text": "say hi"}
    assert read_record(record)["stdin"] == "say hi"
    assert cli.returncode == 0


async def test_cwd_env_and_own_process_group(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    cmd = command("echo", record, env={"FAKE_EXTRA": "extra-value"})
    cmd = dataclasses.replace(cmd, cwd=str(tmp_path))
    async with CLIProcess(cmd) as cli:
        await drain(cli)
        await cli.wait()
    data = read_record(record)
    assert data["cwd"] == str(tmp_path)
    assert data["env"]["FAKE_EXTRA"] == "extra-value"
    assert data["env"]["CODEX_API_KEY"] == API_KEY
    # start_new_session: the CLI leads its own process group.
    assert data["pgid"] == data["pid"] != os.getpgid(0)
    assert API_KEY not in repr(cmd)
    assert API_KEY not in repr(cli)


@pytest.mark.parametrize(
    "argv0", ["/nonexistent/dir/codex", "codex-cli-that-is-not-installed-anywhere"]
)
async def test_missing_executable_is_provider_unavailable(argv0: str) -> None:
    cmd = CLICommand(provider="codex", argv=(argv0, "exec"))
    with pytest.raises(SessionError) as info:
        async with CLIProcess(cmd):
            pytest.fail("the block must not run")  # pragma: no cover
    error = info.value
    assert error.code == "provider_unavailable"
    assert error.provider_error is not None
    assert error.provider_error["kind"] == "cli_not_found"
    assert error.provider_error["provider"] == "codex"
    assert "\n" not in str(error)
    assert argv0 in str(error)


async def test_file_that_is_not_executable_is_cli_not_found(tmp_path: Path) -> None:
    script = tmp_path / "codex"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with pytest.raises(SessionError) as info:
        async with CLIProcess(CLICommand(provider="codex", argv=(str(script),))):
            pass  # pragma: no cover
    assert info.value.code == "provider_unavailable"
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "cli_not_found"
    assert "not executable" in info.value.message


async def test_missing_working_directory(tmp_path: Path) -> None:
    cmd = CLICommand(provider="amp", argv=(sys.executable, "-c", "pass"), cwd=str(tmp_path / "x"))
    with pytest.raises(SessionError) as info:
        async with CLIProcess(cmd):
            pass  # pragma: no cover
    assert info.value.code == "provider_unavailable"
    assert "working directory does not exist" in info.value.message


async def test_non_zero_exit_is_transport_exit_with_redacted_stderr() -> None:
    with pytest.raises(SessionError) as info:
        async with CLIProcess(command("exit")) as cli:
            await drain(cli)
            cli.check_returncode(await cli.wait())
    error = info.value
    pe = error.provider_error
    assert error.code == "provider_error"
    assert pe is not None
    assert set(pe) == {"provider", "kind", "message", "exit_code", "stderr", "truncated"}
    assert pe["kind"] == "transport_exit"
    assert pe["exit_code"] == 2
    assert pe["truncated"] is None
    assert "permission denied" in pe["stderr"]
    assert "authentication failed" in pe["stderr"]
    for text in (pe["stderr"], error.message, repr(error.to_dict())):
        assert "sk-proj-" not in text
        assert API_KEY not in text
    assert error.message.startswith("codex executable exited with status 2: permission denied")


async def test_killed_by_signal_names_the_signal() -> None:
    with pytest.raises(SessionError) as info:
        async with CLIProcess(command("signal")) as cli:
            await drain(cli)
            cli.check_returncode(await cli.wait())
    pe = info.value.provider_error
    assert pe is not None
    assert pe["kind"] == "transport_exit"
    assert pe["exit_code"] == -9
    assert "killed by SIGKILL" in info.value.message
    assert info.value.details["signal"] == "SIGKILL"


async def test_stderr_keeps_a_bounded_redacted_tail() -> None:
    with pytest.raises(SessionError) as info:
        async with CLIProcess(command("stderr_flood")) as cli:
            await drain(cli)
            cli.check_returncode(await cli.wait())
    pe = info.value.provider_error
    assert pe is not None
    stderr = pe["stderr"]
    assert pe["truncated"] is True
    assert pe["exit_code"] == 3
    assert len(stderr.split("\n")) <= 200
    assert len(stderr.encode()) <= 16_384
    assert stderr.endswith("fatal: out of cheese")
    assert "log line 5999" in stderr
    assert "log line 0:" not in stderr
    assert "sk-proj-" not in stderr
    assert "out of cheese" in info.value.message


async def test_too_long_line_is_a_parse_error_and_ends_the_process() -> None:
    cmd = command("long_line", max_line_bytes=1000, env={"FAKE_CLI_LINE_BYTES": "5000"})
    with pytest.raises(SessionError) as info:
        async with CLIProcess(cmd) as cli:
            await drain(cli)
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "parse_error"
    assert "longer than 1000 bytes" in info.value.message
    assert cli.pid is not None and process_gone(cli.pid)


async def test_default_line_limit_is_one_mebibyte() -> None:
    with pytest.raises(SessionError, match="longer than 1048576 bytes") as info:
        async with CLIProcess(command("long_line")) as cli:
            await drain(cli)
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "parse_error"


async def test_garbage_after_the_first_event_is_a_parse_error() -> None:
    with pytest.raises(SessionError) as info:
        async with CLIProcess(command("garbage")) as cli:
            await drain(cli)
    assert info.value.provider_error is not None
    assert info.value.provider_error["kind"] == "parse_error"
    assert "this is not json {" in info.value.message
    assert cli.pid is not None and process_gone(cli.pid)


async def test_json_that_is_not_an_object_is_a_parse_error() -> None:
    with pytest.raises(SessionError, match="not an object"):
        async with CLIProcess(command("not_object")) as cli:
            await drain(cli)


async def test_banner_before_the_first_event_is_skipped_with_a_warning() -> None:
    async with CLIProcess(command("banner")) as cli:
        events = await drain(cli)
        assert await cli.wait() == 0
    assert events[0]["type"] == "thread.started"
    assert cli.warnings == ["skipped non-JSON output line: Fake CLI v1.0 -- welcome"]


async def test_cancellation_ends_the_process_and_its_grandchild(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    with trio.move_on_after(10) as scope:
        async with CLIProcess(command("grandchild", record, terminate_grace=1.0)) as cli:
            assert await cli.receive_event() == {
                "type": "thread.started",
                "thread_id": "thread-fake",
            }
            data = await wait_for_record(record)
            assert not process_gone(data["grandchild_pid"])
            scope.cancel()
            await trio.sleep_forever()
    try:
        assert scope.cancelled_caught
        assert process_gone(data["pid"])
        # The grandchild dies with its group; its exit is seen by whoever reaps it.
        assert await wait_gone(data["grandchild_pid"])
    finally:
        kill_quietly(data["grandchild_pid"])


async def cancel_once_sigterm_is_ignored(cli: CLIProcess, scope: trio.CancelScope) -> float:
    """Wait until the ``ignore_term`` child has installed its SIGTERM handler (it
    emits its first event right after), then cancel *scope*; returns the time of
    the cancel. Cancelling earlier, as a fixed delay would under load, lets the
    SIGTERM kill a child that was not ready to ignore it yet."""
    with trio.fail_after(30):
        assert await cli.receive_event() == {"type": "thread.started", "thread_id": "thread-fake"}
    scope.cancel()
    return trio.current_time()


async def test_sigterm_ignored_escalates_to_sigkill_after_the_grace() -> None:
    with trio.CancelScope() as scope:
        async with CLIProcess(command("ignore_term", terminate_grace=0.3)) as cli:
            await cancel_once_sigterm_is_ignored(cli, scope)
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert cli.returncode == -9  # SIGKILL, after SIGTERM was ignored
    assert cli.pid is not None and process_gone(cli.pid)


async def test_cleanup_is_bounded_by_the_grace_even_for_stubborn_processes() -> None:
    with trio.CancelScope() as scope:
        async with CLIProcess(command("ignore_term", terminate_grace=0.4)) as cli:
            cancelled_at = await cancel_once_sigterm_is_ignored(cli, scope)
            await trio.sleep_forever()
    elapsed = trio.current_time() - cancelled_at
    assert 0.4 <= elapsed < 3.0
    assert cli.returncode == -9


async def test_leftover_grandchild_is_ended_after_a_normal_exit(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    async with CLIProcess(command("grandchild_exit", record, terminate_grace=1.0)) as cli:
        events = await drain(cli)  # EOF needs the grandchild (it holds the pipes) gone
        assert await cli.wait() == 0
    data = read_record(record)
    try:
        assert events[-1]["type"] == "turn.completed"
        assert await wait_gone(data["grandchild_pid"])
    finally:
        kill_quietly(data["grandchild_pid"])


async def test_body_exceptions_propagate_unwrapped_and_end_the_process() -> None:
    with pytest.raises(KeyError):
        async with CLIProcess(command("hang")) as cli:
            await cli.receive_event()
            raise KeyError("boom")
    assert cli.pid is not None and process_gone(cli.pid)


async def test_cli_failure_becomes_session_error_with_stderr_tail() -> None:
    with pytest.raises(SessionError) as info:
        async with CLIProcess(command("fail")) as cli:
            await cli.receive_event()
            await cli.wait()
            raise CLIFailure("protocol_error", "turn failed: bad things", details={"x": 1})
    pe = info.value.provider_error
    assert pe is not None
    assert pe["kind"] == "protocol_error"
    assert pe["stderr"] == "turn failed"
    assert info.value.details == {"x": 1}
