"""Behaviour shared by the fake ``claude``, ``codex`` and ``amp`` CLIs of the tests.

The scripts are run with ``sys.executable``; the environment picks what they do:

* ``FAKE_CLI_SCENARIO``: a recording name (``recordings/<flavor>/<name>.jsonl``,
  replayed byte for byte; ``ok`` is ``tools``) or one of the behaviours in
  :func:`scenario` (default ``ok``);
* ``FAKE_CLI_RECORD``: a path where the script writes, before any output, a JSON
  record of its pid, process group, argv, cwd, stdin and environment;
* ``FAKE_CLI_DELAY``: seconds to sleep after each line;
* ``FAKE_CLI_TICKS`` / ``FAKE_CLI_TICK_DELAY``: for ``tick``, how many progress
  lines to print between the first and the rest of ``ok``, and how far apart;
* ``FAKE_CLI_EXIT_CODE``: the exit status of the ``exit`` scenario (default 2);
* ``FAKE_CLI_LINE_BYTES``: the length of the ``long_line`` scenario's line.

Where each recording comes from is listed in ``tests/test_cli_agents_behaviour.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDINGS = HERE / "recordings"
KEY_VARIABLES = (
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "AMP_API_KEY",
    "ANTHROPIC_API_KEY",
    "FAKE_EXTRA",
)
SECRET_LINE = "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
#: Recordings of a failed turn: the real CLIs exit 1 after printing them.
FAILED = frozenset({"fail", "rate_limited", "usage_limit", "auth_failed"})

START: dict[str, dict[str, object]] = {
    "codex": {"type": "thread.started", "thread_id": "thread-fake"},
    "amp": {"type": "system", "subtype": "init", "session_id": "T-fake", "tools": ["Bash"]},
    "claude_code": {"type": "system", "subtype": "init", "session_id": "fake-session"},
}


def emit(value: object) -> None:
    if isinstance(value, bytes):
        sys.stdout.buffer.write(value + b"\n")
    else:
        line = value if isinstance(value, str) else json.dumps(value)
        sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.flush()
    delay = float(os.environ.get("FAKE_CLI_DELAY", "0"))
    if delay:
        time.sleep(delay)


def warn(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def hang() -> None:
    while True:
        time.sleep(3600)


def record(**extra: object) -> None:
    path = os.environ.get("FAKE_CLI_RECORD")
    if not path:
        return
    data = {
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "env": {name: os.environ.get(name) for name in KEY_VARIABLES},
        "environ": dict(os.environ),
        **extra,
    }
    if "--mcp-config" in sys.argv:
        config = Path(sys.argv[sys.argv.index("--mcp-config") + 1])
        if config.is_file():
            data["mcp_config"] = {
                "mode": config.stat().st_mode & 0o777,
                "content": json.loads(config.read_text()),
            }
    temporary = f"{path}.tmp"
    Path(temporary).write_text(json.dumps(data))
    os.replace(temporary, path)


def recording(flavor: str, name: str) -> list[bytes] | None:
    """The lines of a recording, exactly as stored (None if there is none)."""
    path = RECORDINGS / flavor / f"{'tools' if name == 'ok' else name}.jsonl"
    if not path.is_file():
        return None
    return path.read_bytes().split(b"\n")[:-1]


def replay(flavor: str, name: str = "ok") -> None:
    for line in recording(flavor, name) or ():
        emit(line)


def echo_lines(flavor: str, prompt: str) -> list[dict[str, object]]:
    if flavor == "codex":
        return [
            START["codex"],
            {
                "type": "item.completed",
                "item": {"id": "m1", "type": "agent_message", "text": prompt},
            },
            {"type": "turn.completed", "usage": {"input_tokens": 3, "output_tokens": 4}},
        ]
    session = str(START[flavor]["session_id"])
    message = {"id": "m1", "content": [{"type": "text", "text": prompt}]}
    return [
        START[flavor],
        {"type": "assistant", "session_id": session, "message": message},
        {"type": "result", "subtype": "success", "session_id": session, "result": prompt},
    ]


def tick(flavor: str) -> None:
    """The first line of ``ok``, progress lines at a steady pace, then the rest."""
    first, *rest = recording(flavor, "ok") or []
    (progress,) = recording(flavor, "progress") or []
    emit(first)
    pause = float(os.environ.get("FAKE_CLI_TICK_DELAY", "1"))
    for _ in range(int(os.environ.get("FAKE_CLI_TICKS", "180"))):
        time.sleep(pause)
        emit(progress)
    for line in rest:
        emit(line)


def scenario(flavor: str, name: str, prompt: str) -> None:
    start = START[flavor]
    lines = recording(flavor, name)
    if lines is not None:
        for line in lines:
            emit(line)
        if name in FAILED:
            warn("turn failed")
            sys.exit(1)
    elif name == "grandchild_exit":
        replay(flavor)
    elif name == "echo":
        for value in echo_lines(flavor, prompt):
            emit(value)
    elif name == "tick":
        tick(flavor)
    elif name == "exit":
        emit(start)
        warn("Error: authentication failed")
        warn(SECRET_LINE)
        key = next((os.environ[k] for k in KEY_VARIABLES[:4] if os.environ.get(k)), "none")
        warn(f"the key in use was {key}")
        warn("permission denied")
        sys.exit(int(os.environ.get("FAKE_CLI_EXIT_CODE", "2")))
    elif name in ("hang", "grandchild"):
        emit(start)
        hang()
    elif name == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        emit(start)
        hang()
    elif name == "garbage":
        emit(start)
        emit("this is not json {")
        hang()
    elif name == "not_object":
        emit(start)
        emit("[1, 2, 3]")
        hang()
    elif name == "noise":
        first, *rest = recording(flavor, "ok") or []
        emit(first)
        emit("[SandboxDebug] Seccomp filtering not available")
        for line in rest:
            emit(line)
    elif name == "banner":
        emit("Fake CLI v1.0 -- welcome")
        emit("")
        replay(flavor)
    elif name == "long_line":
        emit(start)
        emit("x" * int(os.environ.get("FAKE_CLI_LINE_BYTES", str(2 * 1024 * 1024))))
        hang()
    elif name == "big_line":
        # A valid JSON line of exactly 1 MiB (the default limit) is accepted.
        replay_with_big_line(flavor)
    elif name == "error_event":
        emit(start)
        emit({"type": "error", "message": "Connection failed"})
        hang()
    elif name == "incomplete":
        emit(start)
        sys.exit(0)
    elif name == "signal":
        emit(start)
        os.kill(os.getpid(), signal.SIGKILL)
    elif name == "stderr_flood":
        emit(start)
        for index in range(6000):
            warn(f"log line {index}: " + "." * 40)
        warn(SECRET_LINE)
        warn("fatal: out of cheese")
        sys.exit(3)
    else:
        warn(f"unknown scenario {name!r}")
        sys.exit(99)


def replay_with_big_line(flavor: str) -> None:
    """``echo``'s lines with the answer padded so its line is exactly 1 MiB."""
    empty = echo_lines(flavor, "")[1]
    text = "y" * (1024 * 1024 - len(json.dumps(empty).encode("utf-8")))
    for line in echo_lines(flavor, text):
        emit(line)


def main(flavor: str) -> None:
    name = os.environ.get("FAKE_CLI_SCENARIO", "ok")
    prompt = sys.stdin.read()
    extra: dict[str, object] = {"stdin": prompt}
    if name.startswith("grandchild"):
        sleeper = "import time\nwhile True: time.sleep(3600)"
        extra["grandchild_pid"] = subprocess.Popen([sys.executable, "-c", sleeper]).pid
    record(**extra)
    scenario(flavor, name, prompt)
