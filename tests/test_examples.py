"""Every example runs as written, and the docs show only code that runs.

The docs never hold Python of their own: every Python example in ``docs/`` is a
``literalinclude`` of a file in ``examples/``, and every file there is run here
(scripts as a user runs them, ``test_*.py`` files under pytest). The README's
example must be a slice of one of them. ``mypy --strict examples`` checks
their types (``nox -s typecheck``, ``.ci/run``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"
#: Run elsewhere: against the fake CLIs (tests/test_cli_agent_examples.py), and
#: against a PostgreSQL server (tests/test_store_postgres_processes.py).
RUN_ELSEWHERE = {"codex_agent.py", "amp_agent.py", "claude_code_agent.py", "postgres_workers.py"}
#: Script -> lines its output must contain, in order.
SCRIPTS = {
    "quickstart.py": ["4 run_started {'model': 'mock-model'}", "9 run_completed"],
    "render_session.py": ["6 events, 0 tools", "RenderSummary(events=6, tools=0, errors=0)"],
    "many_sessions.py": ["What is Trio? -> Answer to 'What is Trio?'", "3 sessions stored"],
    "supervisor.py": ["bad: failed with provider_rate_limited", "slow: failed with timeout"],
    "echo_adapter.py": ["4 run_started {'model': 'echo-1'}", "hello from trio"],
    "sqlite_store.py": ["True completed mock", "2 events, 0 tools"],
    "conversation.py": ["['completed', 'completed']", "error_occurred session_not_found"],
    "claude_tools.py": ["tool_call_started", "answer: It is sunny and 21C in Paris right now."],
}
#: pytest files -> how many tests they hold.
TEST_FILES = {"test_my_app.py": 5, "test_audited_store.py": 0}


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def assert_in_order(output: str, expected: list[str]) -> None:
    position = 0
    for text in expected:
        found = output.find(text, position)
        assert found >= 0, f"{text!r} missing (in order) from:\n{output}"
        position = found + len(text)


def test_every_example_is_run() -> None:
    covered = set(SCRIPTS) | set(TEST_FILES) | RUN_ELSEWHERE | {"claude_chat.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script(name: str, tmp_path: Path) -> None:
    assert_in_order(run([sys.executable, str(EXAMPLES / name)], tmp_path), SCRIPTS[name])


@pytest.mark.parametrize("name", sorted(TEST_FILES))
def test_test_file(name: str, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / name)]
    output = run(argv, ROOT)
    assert re.search(r"\b(\d+) passed\b", output)
    assert " failed" not in output and " skipped" not in output and " error" not in output
    if TEST_FILES[name]:
        assert f"{TEST_FILES[name]} passed" in output


async def test_claude_chat_against_the_fake_api(tmp_path: Path) -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Blue light ", "scatters more."))
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "sk-ant-test-0123456789abcdefghij",
        }
        with trio.fail_after(120):
            done = await trio.run_process(
                [sys.executable, str(EXAMPLES / "claude_chat.py"), "Why is the sky blue?"],
                cwd=tmp_path,
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        [request] = server.requests
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("Blue light scatters more.\n")
    assert request.json["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]


# -- the docs show only code that runs ---------------------------------------------

_PYTHON_BLOCK = re.compile(r"^\.\. (?:code-block|code|sourcecode):: *(?:python|py|pycon)\b", re.M)
_INCLUDE = re.compile(r"^\s*\.\. literalinclude:: *(\S+)", re.M)


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_docs_python_comes_from_examples(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not _PYTHON_BLOCK.search(text), "write it in examples/ and literalinclude it"
    for target in _INCLUDE.findall(text):
        path = (page.parent / target).resolve()
        assert path.parent == EXAMPLES, f"{target}: include files from examples/ only"
        assert path.exists(), target


def test_readme_example_is_a_slice_of_an_example() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    blocks = re.findall(r"^\.\. code-block:: python\n\n((?:    .*\n|\n)+)", readme, re.M)
    assert blocks, "the README shows an example"
    sources = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*.py")}
    for block in blocks:
        code = "\n".join(line.removeprefix("    ") for line in block.splitlines()).strip()
        assert any(code in source for source in sources.values()), code


def test_readme_test_command_is_the_one_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    [command] = [line for line in ci.splitlines() if "pytest" in line and "pip install" in line]
    assert f"    {command}\n" in (ROOT / "README.rst").read_text(encoding="utf-8")


_CONSOLE = re.compile(r"^\.\. code-block:: console\n\n((?:    .*\n|\n)+)", re.M)


def _offline_commands() -> list[tuple[str, str, list[str]]]:
    """(page, command, the output shown) for each ``trio-stream-session`` command
    in the docs and the README that runs offline with no server."""
    found = []
    for page in [*_pages(), ROOT / "README.rst"]:
        for block in _CONSOLE.findall(page.read_text(encoding="utf-8")):
            lines = [line.removeprefix("    ") for line in block.rstrip().splitlines()]
            for index, line in enumerate(lines):
                offline = "--adapter mock" in line and "postgres" not in line  # no server here
                if line.startswith("$ trio-stream-session") and offline:
                    shown = []
                    for after in lines[index + 1 :]:
                        if after.startswith("$"):
                            break
                        shown.append(after)
                    found.append((page.name, line.removeprefix("$ "), shown))
    return found


@pytest.mark.parametrize(("page", "command", "shown"), _offline_commands())
def test_docs_command_line_examples_run(
    page: str, command: str, shown: list[str], tmp_path: Path
) -> None:
    import shlex

    argv = [sys.executable, "-m", "trio_stream_session", *shlex.split(command, comments=True)[1:]]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    if shown:
        assert done.stdout.splitlines() == shown
