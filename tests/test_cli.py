"""The command line, driven as a real subprocess (offline, --adapter mock).

Every exit path with its one-line message: ``test_cli_exits.py``."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trio_stream_session import Event
from trio_stream_session._cli import main

ENV = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "ANTHROPIC_API_KEY")}


def cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trio_stream_session", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV if env is None else env,
        check=False,
    )


def test_offline_mock_session_renders_and_exits_0() -> None:
    done = cli("--adapter", "mock", "Hello")
    assert done.returncode == 0, done.stderr
    assert "Mock response" in done.stdout
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    assert done.stderr == ""


def test_prompt_from_stdin() -> None:
    done = cli("--adapter", "mock", "--renderer", "verbose", stdin="Hello from stdin\n")
    assert done.returncode == 0, done.stderr
    assert "run_started" in done.stdout or "Mock response" in done.stdout


def test_run_error_exits_1_with_the_error_rendered() -> None:
    done = cli("--adapter", "mock", "--mock-mode", "failing", "Hello")
    assert done.returncode == 1
    assert "Configured to fail" in done.stdout


def test_idle_timeout_exits_1() -> None:
    done = cli("--adapter", "mock", "--mock-mode", "timeout", "--idle-timeout", "0.2", "Hi")
    assert done.returncode == 1
    assert "stream idle timeout after 0.2s" in done.stdout


def test_jsonl_output_parses_back_into_events(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    done = cli("--adapter", "mock", "--jsonl", str(path), "Hello")
    assert done.returncode == 0, done.stderr
    lines = path.read_text("utf-8").splitlines()
    events = [Event.from_dict(json.loads(line)) for line in lines]
    assert events[0].type == "run_started"
    assert events[-1].type == "run_completed"
    assert [e.sequence_number for e in events] == list(range(4, 4 + len(events)))


def test_sqlite_store_list_and_replay(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'sessions.db'}"
    first = cli("--adapter", "mock", "--store", store, "Hello")
    assert first.returncode == 0, first.stderr
    listed = cli("--store", store, "--list-sessions")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.splitlines()
    session_id, status, runs, _, _, last, agent = line.split()[:7]
    assert (status, runs, last, agent) == ("completed", "1", "completed", "mock")
    replayed = cli("--store", store, "--replay", session_id)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == first.stdout
    missing = cli("--store", store, "--replay", "ses_nope")
    assert missing.returncode == 2
    assert "Session not found: ses_nope" in missing.stderr


def test_ctrl_c_exits_130_and_records_the_run_as_cancelled(tmp_path: Path) -> None:
    db = tmp_path / "interrupted.db"
    argv = ["--adapter", "mock", "--mock-mode", "timeout", "--store", f"sqlite:{db}", "Hi"]
    # ``with``: the pipes are closed and the child reaped however the test ends;
    # ``kill`` in ``finally`` (a no-op once it exited): a failed assertion never
    # leaves a running child behind to trip a later test's ResourceWarning.
    with subprocess.Popen(
        [sys.executable, "-m", "trio_stream_session", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    ) as process:
        try:
            deadline = time.monotonic() + 30
            while _run_status(db) != "running":
                assert time.monotonic() < deadline, "the run never started"
                assert process.poll() is None, process.communicate()
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert _run_status(db) == "cancelled"


def _run_status(db: Path) -> str | None:
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT status FROM runs").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = FakeTTY()
    assert main(["--adapter", "mock", "Hi"], stdout=out, stderr=io.StringIO()) == 0
    assert "\x1b[" in out.getvalue()
    for args, env in ((["--no-color"], None), ([], "1")):
        if env:
            monkeypatch.setenv("NO_COLOR", env)
        out = FakeTTY()
        assert main(["--adapter", "mock", *args, "Hi"], stdout=out, stderr=io.StringIO()) == 0
        assert "\x1b[" not in out.getvalue()
        assert "Mock response" in out.getvalue()


async def test_claude_adapter_against_the_fake_server() -> None:
    import trio

    from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Hello ", "from the fake API."))
        env = {**ENV, "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdefghijklmnop"}
        done = await trio.run_process(
            [
                sys.executable,
                "-m",
                "trio_stream_session",
                "--base-url",
                server.url,
                "--model",
                "claude-haiku-4-5-20251001",
                "Hi",
            ],
            capture_stdout=True,
            capture_stderr=True,
            env=env,
            check=False,
        )
        [request] = server.requests
    assert done.returncode == 0, done.stderr
    assert "Hello from the fake API." in done.stdout.decode()
    assert request.json["messages"] == [{"role": "user", "content": "Hi"}]
    assert request.has_api_key("sk-ant-test-0123456789abcdefghijklmnop")
    assert b"sk-ant-test" not in done.stdout + done.stderr


def test_continue_a_stored_session_and_list_it(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'sessions.db'}"
    first = cli("--adapter", "mock", "--store", store, "Plan it")
    assert first.returncode == 0, first.stderr
    [line] = cli("--store", store, "--list-sessions").stdout.splitlines()
    session_id = line.split()[0]
    again = cli("--adapter", "mock", "--store", store, "--continue", session_id, "Now do it")
    assert again.returncode == 0, again.stderr
    [line] = cli("--store", store, "--list-sessions").stdout.splitlines()
    assert line.split()[:6] == [session_id, "completed", "2", "runs", "last:", "completed"]
    replayed = cli("--store", store, "--replay", session_id)
    assert replayed.returncode == 0, replayed.stderr
    # Both runs, one session.
    assert replayed.stdout.count("Mock response") == 2 * first.stdout.count("Mock response") > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--continue", "ses_x", "Hi"], "--continue needs a persistent --store"),
        (["--store", "sqlite:DB", "--continue", "ses_nope", "Hi"], "Session not found: ses_nope"),
        (["--store", "sqlite:DB", "--list-sessions", "--continue", "ses_x"], "--continue does"),
        (["--follow", "Hi"], "--follow goes with --replay"),
    ],
)
def test_conversation_flags_misused_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "sessions.db"
    assert cli("--adapter", "mock", "--store", f"sqlite:{db}", "Hello").returncode == 0
    args = [a.replace("DB", str(db)) for a in args]
    done = cli("--adapter", "mock", *args) if "--list-sessions" not in args else cli(*args)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert message in line


def test_replay_follow_tails_a_session_another_process_writes(tmp_path: Path) -> None:
    store = f"sqlite:{tmp_path / 'sessions.db'}"
    first = cli("--adapter", "mock", "--store", store, "Plan it")
    assert first.returncode == 0, first.stderr
    [line] = cli("--store", store, "--list-sessions").stdout.splitlines()
    session_id = line.split()[0]
    per_run = first.stdout.count("Mock response")
    argv = ["--store", store, "--replay", session_id, "--follow"]
    with subprocess.Popen(
        [sys.executable, "-m", "trio_stream_session", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    ) as tail:
        try:
            assert tail.stdout is not None
            seen = b""

            def read_until(count: int) -> None:
                nonlocal seen
                while seen.count(b"Mock response") < count:
                    chunk = os.read(tail.stdout.fileno(), 4096)  # type: ignore[union-attr]
                    assert chunk, (seen, tail.stderr.read())  # type: ignore[union-attr]
                    seen += chunk

            read_until(per_run)  # the stored run, shown first
            again = cli("--adapter", "mock", "--store", store, "--continue", session_id, "More")
            assert again.returncode == 0, again.stderr
            read_until(2 * per_run)  # the new run, as another process writes it
            tail.send_signal(signal.SIGINT)
            assert tail.wait(timeout=30) == 130
        finally:
            tail.kill()
