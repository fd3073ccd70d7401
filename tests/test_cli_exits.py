"""Every way the command line ends: exit code, and for exit 2 one line on
stderr with nothing started (no run, no database, no output file).

Driven as a real subprocess (``python -m trio_stream_session``), except where
a test needs a terminal of its own (the spinner, a broken standard output):
those call ``main()`` with stand-in streams.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

import trio_stream_session
from trio_stream_session._cli import main
from trio_stream_session._cli_terminal import FRAMES
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

ENV = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "ANTHROPIC_API_KEY")}
PREFIX = "trio-stream-session: "


def cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "trio_stream_session", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=ENV if env is None else env,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that could not start (exit 2)."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(PREFIX)
    return lines[0].removeprefix(PREFIX)


def _corrupt(tmp: Path) -> None:
    (tmp / "corrupt.db").write_bytes(b"this is not a database " * 20)


def _stored(tmp: Path) -> None:
    done = cli("--adapter", "mock", "--store", "sqlite:s.db", "Hi", cwd=tmp)
    assert done.returncode == 0, done.stderr


def _nothing(tmp: Path) -> None:
    pass


# (argv, set-up, the whole message, or its start and "..."); every case also checks
# that no file appeared and none changed.
USAGE: list[tuple[tuple[str, ...], Callable[[Path], None], str]] = [
    (("--adapter", "mock"), _nothing, "the prompt is empty"),
    (("--adapter", "mock", "  "), _nothing, "the prompt is empty"),
    (
        ("--bogus",),
        _nothing,
        "unrecognized arguments: --bogus (see --help)",
    ),
    (
        ("--adapter", "nope", "Hi"),
        _nothing,
        "argument --adapter: invalid choice: 'nope' (choose from ...",  # quoting varies
    ),
    (
        ("--adapter", "mock", "--store", "redis:x", "Hi"),
        _nothing,
        "--store must be 'memory', 'sqlite:PATH' or 'postgres:DSN', not 'redis'",
    ),
    (
        ("--adapter", "mock", "--idle-timeout", "-1", "Hi"),
        _nothing,
        "--idle-timeout must be >= 0 seconds, not -1.0",
    ),
    (
        ("--adapter", "mock", "--timeout", "0", "Hi"),
        _nothing,
        "--timeout must be a positive number of seconds, not '0'",
    ),
    (
        ("--adapter", "mock", "--timeout", "soon", "Hi"),
        _nothing,
        "--timeout must be a positive number of seconds, not 'soon'",
    ),
    # unusable paths
    (
        ("--adapter", "mock", "--store", "sqlite:missing/s.db", "Hi"),
        _nothing,
        "--store sqlite:missing/s.db: no such directory: missing",
    ),
    (
        ("--adapter", "mock", "--store", "sqlite:.", "Hi"),
        _nothing,
        "--store sqlite:.: . is a directory",
    ),
    (
        ("--adapter", "mock", "--store", "sqlite:corrupt.db", "Hi"),
        _corrupt,
        "--store sqlite:corrupt.db: cannot open corrupt.db: file is not a database",
    ),
    (
        ("--adapter", "mock", "--store", "sqlite:new.db", "--jsonl", "missing/e.jsonl", "Hi"),
        _nothing,
        "--jsonl: no such directory: missing",
    ),
    (
        ("--adapter", "mock", "--jsonl", ".", "Hi"),
        _nothing,
        "--jsonl: . is a directory",
    ),
    # missing key or CLI, in command-line words
    (
        ("--store", "sqlite:new.db", "Hi"),
        _nothing,
        "ANTHROPIC_API_KEY is not set: export your Anthropic API key as ANTHROPIC_API_KEY "
        "(or try --adapter mock, offline)",
    ),
    (
        ("--adapter", "codex", "--cli-path", "/nonexistent/codex", "Hi"),
        _nothing,
        "codex CLI not found: '/nonexistent/codex' (check --cli-path)",
    ),
    (
        ("--adapter", "amp", "Hi"),
        _nothing,
        "amp CLI not found on PATH: 'amp' (install it, or give its path with --cli-path)",
    ),
    (
        ("--adapter", "claude-code", "--cli-path", "corrupt.db", "Hi"),
        _corrupt,
        "claude-code CLI not found on PATH: 'corrupt.db' (check --cli-path)",
    ),
    (
        ("--adapter", "codex", "--cli-path", "./corrupt.db", "Hi"),
        _corrupt,
        "codex CLI is not executable: ./corrupt.db",
    ),
    # flags that would do nothing
    (
        ("--adapter", "mock", "--cli-path", "/bin/codex", "Hi"),
        _nothing,
        "--cli-path does nothing with --adapter mock (it is for --adapter claude-code, codex "
        "or amp)",
    ),
    (
        ("--adapter", "codex", "--base-url", "http://127.0.0.1:1", "Hi"),
        _nothing,
        "--base-url does nothing with --adapter codex (it is for --adapter claude)",
    ),
    (
        ("--mock-mode", "failing", "Hi"),
        _nothing,
        "--mock-mode does nothing with --adapter claude (it is for --adapter mock)",
    ),
    (
        ("--store", "sqlite:s.db", "--list-sessions", "--replay", "ses_x"),
        _stored,
        "--list-sessions and --replay cannot be combined",
    ),
    (
        ("--store", "sqlite:s.db", "--list-sessions", "Hi"),
        _stored,
        "--list-sessions takes no prompt (got 'Hi')",
    ),
    (
        ("--store", "sqlite:s.db", "--replay", "ses_x", "Hi"),
        _stored,
        "--replay takes no prompt (got 'Hi')",
    ),
    (
        ("--store", "sqlite:s.db", "--list-sessions", "--adapter", "mock"),
        _stored,
        "--adapter does nothing with --list-sessions",
    ),
    (
        ("--store", "sqlite:s.db", "--list-sessions", "--jsonl", "e.jsonl"),
        _stored,
        "--jsonl does nothing with --list-sessions",
    ),
    (
        ("--store", "sqlite:s.db", "--replay", "ses_x", "--timeout", "5"),
        _stored,
        "--timeout does nothing with --replay",
    ),
    (
        ("--list-sessions",),
        _nothing,
        "--list-sessions needs --store sqlite:PATH (a memory store starts empty)",
    ),
    # stores that are read, never created
    (
        ("--store", "sqlite:typo.db", "--list-sessions"),
        _nothing,
        "no such store: typo.db",
    ),
    (
        ("--store", "sqlite:typo.db", "--replay", "ses_x"),
        _nothing,
        "no such store: typo.db",
    ),
    (
        ("--store", "sqlite:corrupt.db", "--list-sessions"),
        _corrupt,
        "--store sqlite:corrupt.db: cannot open corrupt.db: file is not a database",
    ),
    (
        ("--store", "sqlite:s.db", "--replay", "ses_nope"),
        _stored,
        "Session not found: ses_nope",
    ),
]


@pytest.mark.parametrize(("argv", "setup", "message"), USAGE, ids=[" ".join(c[0]) for c in USAGE])
def test_cannot_start_is_exit_2_one_line_and_nothing_started(
    tmp_path: Path, argv: tuple[str, ...], setup: Callable[[Path], None], message: str
) -> None:
    setup(tmp_path)
    before = _files(tmp_path)
    line = one_line(cli(*argv, cwd=tmp_path))
    if message.endswith("..."):
        assert line.startswith(message.removesuffix("...")), line
    else:
        assert line == message
    assert _files(tmp_path) == before


def _files(directory: Path) -> dict[str, bytes]:
    """The files in *directory* and their contents. SQLite's ``-wal``/``-shm``
    files are left out: opening a WAL database, even read-only, may create them
    (empty; the database itself is unchanged)."""
    return {
        p.name: p.read_bytes()
        for p in directory.iterdir()
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_version(tmp_path: Path) -> None:
    done = cli("--version", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"trio-stream-session {trio_stream_session.__version__}\n"


def test_help_names_the_exit_codes(tmp_path: Path) -> None:
    done = cli("--help", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert "--version" in done.stdout
    assert "2 the command could not start as asked" in " ".join(done.stdout.split())


def test_list_and_replay_read_a_store_they_did_not_write(tmp_path: Path) -> None:
    _stored(tmp_path)
    listed = cli("--store", "sqlite:s.db", "--list-sessions", cwd=tmp_path)
    assert (listed.returncode, listed.stderr) == (0, "")
    [line] = listed.stdout.splitlines()
    session_id, status, runs, _, _, last, agent = line.split()[:7]
    assert (status, runs, last, agent) == ("completed", "1", "completed", "mock")
    replayed = cli("--store", "sqlite:s.db", "--replay", session_id, cwd=tmp_path)
    assert (replayed.returncode, replayed.stderr) == (0, "")
    assert replayed.stdout.endswith("6 events, 0 tools\n")


def test_replay_of_a_failed_run_exits_1(tmp_path: Path) -> None:
    failed = cli("--adapter", "mock", "--mock-mode", "failing", "--store", "sqlite:s.db", "Hi",
                 cwd=tmp_path)  # fmt: skip
    assert failed.returncode == 1
    [line] = cli("--store", "sqlite:s.db", "--list-sessions", cwd=tmp_path).stdout.splitlines()
    replayed = cli("--store", "sqlite:s.db", "--replay", line.split()[0], cwd=tmp_path)
    assert (replayed.returncode, replayed.stderr) == (1, "")
    assert "Configured to fail" in replayed.stdout


def test_singular_counts(tmp_path: Path) -> None:
    done = cli("--adapter", "mock", "--mock-mode", "timeout", "--idle-timeout", "0.1", "Hi",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "1 event, 0 tools"


def _without_write_access() -> tuple[str, ...]:
    """Root ignores file modes: run the child as root without capabilities."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's capabilities"
    return (setpriv, "--inh-caps=-all", "--bounding-set=-all", "--")


def test_a_read_only_store_is_refused_for_a_run_and_still_listed(tmp_path: Path) -> None:
    _stored(tmp_path)
    db = tmp_path / "s.db"
    db.chmod(0o444)
    try:
        before = db.read_bytes()
        refused = cli("--adapter", "mock", "--store", "sqlite:s.db", "Hi", cwd=tmp_path,
                      prefix=_without_write_access())  # fmt: skip
        assert one_line(refused) == "--store sqlite:s.db: s.db is read-only"
        assert db.read_bytes() == before
        listed = cli("--store", "sqlite:s.db", "--list-sessions", cwd=tmp_path,
                     prefix=_without_write_access())  # fmt: skip
        assert (listed.returncode, listed.stderr) == (0, "")
        assert len(listed.stdout.splitlines()) == 1
    finally:
        db.chmod(0o644)


def test_a_store_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refused = cli("--adapter", "mock", "--store", "sqlite:locked/s.db", "Hi", cwd=tmp_path,
                      prefix=_without_write_access())  # fmt: skip
        assert one_line(refused) == "--store sqlite:locked/s.db: cannot create files in locked"
        jsonl = cli("--adapter", "mock", "--jsonl", "locked/e.jsonl", "Hi", cwd=tmp_path,
                    prefix=_without_write_access())  # fmt: skip
        assert one_line(jsonl) == "--jsonl: cannot create files in locked"
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_a_bad_jsonl_path_leaves_no_run_in_the_store(tmp_path: Path) -> None:
    _stored(tmp_path)
    refused = cli("--adapter", "mock", "--store", "sqlite:s.db", "--jsonl", "nope/e.jsonl", "Hi",
                  cwd=tmp_path)  # fmt: skip
    assert one_line(refused) == "--jsonl: no such directory: nope"
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class BrokenPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_spinner_while_the_agent_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = FakeTTY(), io.StringIO()
    argv = ["--adapter", "mock", "--mock-mode", "timeout", "--idle-timeout", "1", "Hi"]
    assert main(argv, stdout=out, stderr=err) == 1
    text = out.getvalue()
    assert f"{FRAMES[0]} 0." in text  # a frame and the time elapsed
    # Every frame is erased before the next text: what remains is the plain output.
    frames = text.count("\x1b[K")
    assert frames >= 1 and text.count(FRAMES[0]) >= 1
    visible = _erase_spinner(text)
    assert "stream idle timeout after 1s" in visible
    assert not any(frame in visible for frame in FRAMES)


def _erase_spinner(text: str) -> str:
    """The screen's text after the spinner's own erase sequences are applied."""
    import re

    return re.sub(r" ?[" + FRAMES + r"] [0-9.hms]+\x1b\[\d+D\x1b\[K", "", text)


@pytest.mark.parametrize(
    ("stdout", "env", "flags"),
    [(io.StringIO, None, ()), (FakeTTY, "1", ()), (FakeTTY, None, ("--no-color",))],
    ids=["piped", "NO_COLOR", "--no-color"],
)
def test_no_spinner_when_piped_or_plain(
    monkeypatch: pytest.MonkeyPatch, stdout: type[io.StringIO], env: str | None, flags: tuple[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    if env:
        monkeypatch.setenv("NO_COLOR", env)
    out = stdout()
    argv = ["--adapter", "mock", "--mock-mode", "timeout", "--idle-timeout", "0.8", *flags, "Hi"]
    assert main(argv, stdout=out, stderr=io.StringIO()) == 1
    assert not any(frame in out.getvalue() for frame in FRAMES)
    assert "\x1b[" not in out.getvalue()


def test_an_output_that_breaks_is_one_line_and_exit_1() -> None:
    err = io.StringIO()
    assert main(["--adapter", "mock", "Hi"], stdout=BrokenPipe(), stderr=err) == 1
    assert err.getvalue() == f"{PREFIX}cannot write the output: [Errno 32] Broken pipe\n"


async def test_ctrl_c_ends_a_partial_line_cleanly(tmp_path: Path) -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Half a sen", "tence").then_stall())
        env = {**ENV, "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdefghijklmnop"}
        argv = [sys.executable, "-m", "trio_stream_session", "--base-url", server.url, "Hi"]
        process = await trio.lowlevel.open_process(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path
        )
        try:
            assert process.stdout is not None and process.stderr is not None
            output = b""
            with trio.fail_after(60):
                while b"Half a sentence" not in output:  # streamed, then the model stalls
                    chunk = await process.stdout.receive_some()
                    assert chunk, "the command ended early"
                    output += chunk
                process.send_signal(signal.SIGINT)
                while chunk := await process.stdout.receive_some():
                    output += chunk
                errors = b""
                while chunk := await process.stderr.receive_some():
                    errors += chunk
                await process.wait()
        finally:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
                for pipe in (process.stdin, process.stdout, process.stderr):
                    if pipe is not None:
                        await pipe.aclose()
    assert process.returncode == 130
    assert output.decode().endswith("Half a sentence\n")  # the line ends before the message
    assert errors.decode() == f"{PREFIX}interrupted\n"
