"""Helpers for the subprocess adapter tests: fake CLI commands and process checks."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from trio_stream_session import Event, EventType, Run, Session

FAKE_DIR = Path(__file__).resolve().parent


def fake_executable(flavor: str) -> list[str]:
    """``[sys.executable, ".../fake_cli/<flavor>.py"]``: the ``executable=`` of an adapter."""
    return [sys.executable, str(FAKE_DIR / f"{flavor}.py")]


def fake_env(scenario: str, record: Path | None = None, **extra: str) -> dict[str, str]:
    env = {"FAKE_CLI_SCENARIO": scenario, **extra}
    if record is not None:
        env["FAKE_CLI_RECORD"] = str(record)
    return env


def read_record(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def process_gone(pid: int) -> bool:
    """True once *pid* no longer runs: reaped, or a zombie nobody reaps (the
    container's init here does not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return True
    state = stat[stat.rfind(b")") + 2 :].split()[0]
    return state in (b"Z", b"X")


async def wait_gone(pid: int, limit: float = 5.0) -> bool:
    """Poll (real time) until *pid* is gone; False if it still runs after *limit*."""
    with trio.move_on_after(limit):
        # Another process's exit has no event we could wait on: poll.
        while not process_gone(pid):  # noqa: ASYNC110
            await trio.sleep(0.02)
        return True
    return False


async def wait_for_record(path: Path, limit: float = 10.0) -> dict[str, Any]:
    with trio.fail_after(limit):
        while not await trio.Path(path).exists():  # noqa: ASYNC110 (written by another process)
            await trio.sleep(0.01)
    return read_record(path)


def kill_quietly(pid: int) -> None:
    """Last-resort cleanup so a failing test does not leave a sleeper behind."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


class Recorder:
    """An ``emit`` for calling an adapter's ``execute`` directly: keeps the events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = trio.Event()

    async def __call__(self, raw: Mapping[str, Any]) -> Event:
        await trio.lowlevel.checkpoint()
        self.events.append(dict(raw))
        self._changed.set()
        self._changed = trio.Event()
        event_type = EventType.resolve(raw.get("type")) or EventType.ERROR_OCCURRED
        return Event(type=event_type, session_id="ses_test", data=dict(raw.get("data") or {}))

    async def wait_for(self, event_type: str) -> None:
        """Return once an event of *event_type* was emitted."""
        while event_type not in self.types:
            await self._changed.wait()

    @property
    def types(self) -> list[str]:
        return [str(event["type"]) for event in self.events]

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [event["data"] for event in self.events if event["type"] == event_type]


def run_and_session(
    run_input: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> tuple[Run, Session]:
    session = Session(agent_id="test", context=dict(context or {}))
    return Run(session_id=session.id, input=dict(run_input)), session
