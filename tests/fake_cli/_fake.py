"""Behaviour shared by the fake ``codex`` and ``amp`` CLIs used in the tests.

The scripts are run with ``sys.executable``; the environment picks what they do:

* ``FAKE_CLI_SCENARIO``: one of the functions in ``SCENARIOS`` (default ``ok``);
* ``FAKE_CLI_RECORD``: a path where the script writes, before any output, a JSON
  record of its pid, process group, argv, cwd, stdin and API-key variables;
* ``FAKE_CLI_DELAY``: seconds to sleep between replayed lines;
* ``FAKE_CLI_EXIT_CODE``: the exit status of the ``exit`` scenario (default 2);
* ``FAKE_CLI_LINE_BYTES``: the length of the ``long_line`` scenario's line.
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
KEY_VARIABLES = ("CODEX_API_KEY", "OPENAI_API_KEY", "AMP_API_KEY", "FAKE_EXTRA")
SECRET_LINE = "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"

START: dict[str, dict[str, object]] = {
    "codex": {"type": "thread.started", "thread_id": "thread-fake"},
    "amp": {"type": "system", "subtype": "init", "session_id": "T-fake", "tools": ["Bash"]},
}


def emit(value: object) -> None:
    line = value if isinstance(value, str) else json.dumps(value)
    sys.stdout.write(line + "\n")
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
        **extra,
    }
    temporary = f"{path}.tmp"
    Path(temporary).write_text(json.dumps(data))
    os.replace(temporary, path)


def replay(flavor: str) -> None:
    for line in (HERE / "recordings" / f"{flavor}_tools.jsonl").read_text().splitlines():
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
    message = {"id": "m1", "content": [{"type": "text", "text": prompt}]}
    return [
        START["amp"],
        {"type": "assistant", "session_id": "T-fake", "message": message},
        {"type": "result", "subtype": "success", "session_id": "T-fake", "result": prompt},
    ]


def failure_line(flavor: str) -> dict[str, object]:
    if flavor == "codex":
        return {
            "type": "turn.failed",
            "error": {"message": "stream disconnected before completion"},
        }
    return {
        "type": "result",
        "subtype": "error_during_execution",
        "session_id": "T-fake",
        "is_error": True,
        "error": "something failed",
        "permission_denials": ["file_write", "bash_exec"],
    }


def scenario(flavor: str, name: str, prompt: str) -> None:
    start = START[flavor]
    if name in ("ok", "grandchild_exit"):
        replay(flavor)
    elif name == "echo":
        for line in echo_lines(flavor, prompt):
            emit(line)
    elif name == "exit":
        emit(start)
        warn("Error: authentication failed")
        warn(SECRET_LINE)
        key = os.environ.get("CODEX_API_KEY") or os.environ.get("AMP_API_KEY") or "none"
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
    elif name == "banner":
        emit("Fake CLI v1.0 -- welcome")
        emit("")
        replay(flavor)
    elif name == "long_line":
        emit(start)
        emit("x" * int(os.environ.get("FAKE_CLI_LINE_BYTES", str(2 * 1024 * 1024))))
        hang()
    elif name == "fail":
        emit(start)
        emit(failure_line(flavor))
        warn("turn failed")
        sys.exit(1)
    elif name == "rate_limited":
        emit(start)
        error = {
            "message": "Azure OpenAI rate limit hit",
            "type": "rate_limit_error",
            "code": "rate_limit_exceeded",
            "status": 429,
            "retry_after": 15,
        }
        emit({"type": "turn.failed", "error": error})
        sys.exit(1)
    elif name == "error_event":
        emit(start)
        emit({"type": "error", "message": "Connection failed"})
        hang()
    elif name == "reconnect":
        emit(start)
        emit({"type": "error", "message": "Reconnecting... 1/5 (stream disconnected)"})
        for line in echo_lines(flavor, "recovered")[1:]:
            emit(line)
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


def main(flavor: str) -> None:
    name = os.environ.get("FAKE_CLI_SCENARIO", "ok")
    prompt = sys.stdin.read()
    extra: dict[str, object] = {"stdin": prompt}
    if name.startswith("grandchild"):
        sleeper = "import time\nwhile True: time.sleep(3600)"
        extra["grandchild_pid"] = subprocess.Popen([sys.executable, "-c", sleeper]).pid
    record(**extra)
    scenario(flavor, name, prompt)
