"""The CLI-agent examples and command-line flags, run exactly as written against
the fake executables (``fake_cli/``), which replay recorded real output.

Each fake is reached through a one-line shell wrapper, as a real install puts
one executable on ``PATH``; the wrapper runs the fake with this interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from fake_cli.helpers import FAKE_DIR, read_record

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "codex_agent.py": ("CODEX_EXECUTABLE", "codex", "there\u2019s a `README.md`"),
    "amp_agent.py": ("AMP_EXECUTABLE", "amp", "There is one file: file.txt."),
    "claude_code_agent.py": ("CLAUDE_EXECUTABLE", "claude", "Hi! I'm ready to help."),
}


def wrapper(tmp_path: Path, fake: str) -> Path:
    script = tmp_path / fake
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_DIR / fake}.py" "$@"\n')
    script.chmod(0o755)
    return script


async def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with trio.fail_after(120):
        result = await trio.run_process(
            argv,
            env={**os.environ, **env},
            cwd=cwd,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    return subprocess.CompletedProcess(
        argv, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES))
async def test_example_runs_as_written(example: str, tmp_path: Path) -> None:
    variable, fake, answer = EXAMPLES[example]
    record = tmp_path / "record.json"
    env = {
        variable: str(wrapper(tmp_path, fake)),
        "FAKE_CLI_SCENARIO": "ok",
        "FAKE_CLI_RECORD": str(record),
    }
    done = await run([sys.executable, str(ROOT / "examples" / example), "Fix it"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("run_started ")
    assert lines[-2].startswith("run_completed ")
    assert answer in lines[-1]
    assert read_record(record)["stdin"] == "Fix it"


async def test_example_reports_a_failed_run_with_exit_status_1(tmp_path: Path) -> None:
    env = {"CODEX_EXECUTABLE": str(wrapper(tmp_path, "codex")), "FAKE_CLI_SCENARIO": "fail"}
    done = await run([sys.executable, str(ROOT / "examples" / "codex_agent.py")], env, tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].startswith("error_occurred ")


async def test_command_line_claude_code_adapter_with_a_timeout(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    cli = wrapper(tmp_path, "claude")
    argv = [sys.executable, "-m", "trio_stream_session", "--adapter", "claude-code"]
    argv += ["--cli-path", str(cli), "--timeout", "600", "--no-color", "hello"]
    env = {"FAKE_CLI_SCENARIO": "ok", "FAKE_CLI_RECORD": str(record)}
    done = await run(argv, env, ROOT)
    assert done.returncode == 0, done.stderr
    assert "Hi! I'm ready to help." in done.stdout
    assert read_record(record)["argv"][:4] == ["-p", "--output-format", "stream-json", "--verbose"]


async def test_command_line_timeout_ends_a_hanging_agent(tmp_path: Path) -> None:
    cli = wrapper(tmp_path, "codex")
    argv = [sys.executable, "-m", "trio_stream_session", "--adapter", "codex"]
    argv += ["--cli-path", str(cli), "--timeout", "0.5", "--no-color", "hello"]
    done = await run(argv, {"FAKE_CLI_SCENARIO": "hang"}, ROOT)
    assert done.returncode == 1
    assert "timed out" in done.stdout


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan", "inf"])
async def test_command_line_timeout_must_be_a_positive_number(value: str) -> None:
    argv = [sys.executable, "-m", "trio_stream_session", "--adapter", "mock", "--timeout", value]
    done = await run([*argv, "hello"], {}, ROOT)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"trio-stream-session: --timeout must be a positive number of seconds, not {value!r}"
    ]
    assert done.stdout == ""
