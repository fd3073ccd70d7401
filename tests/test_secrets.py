"""Known fake secrets through every error path: none may reach an event, the
store (the SQLite file itself), a JSONL file, a log file, the terminal or the logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from _support import USER_INPUT, ScriptedAdapter
from fake_cli.helpers import fake_env, fake_executable

from trio_stream_session import SessionError, SQLiteSessionStore, open_stream_session
from trio_stream_session.adapters import AmpAdapter, CodexAdapter
from trio_stream_session.rendering import (
    CompactRenderer,
    FileSink,
    JSONLSink,
    TTYSink,
    VerboseRenderer,
    render_stream,
)
from trio_stream_session.testing import MockAdapter

API_KEY = "sk-proj-FAKEKEYabcdefghijklmnopqrstuvwxyz0123"
ANTHROPIC_KEY = "sk-ant-api03-FAKEKEYabcdefghijklmnopqrstuvwx"
BEARER = "FAKEBEARERabcdefghijklmnopqrstuvwxyz123456"
PASSWORD = "hunter2FAKEPASSWORD"
SECRETS = (
    API_KEY,
    ANTHROPIC_KEY,
    BEARER,
    PASSWORD,
    "abcdefghijklmnopqrstuvwxyz0123456789",  # the fake CLI's OPENAI_API_KEY line
)


def adapters() -> dict[str, Any]:
    message = (
        f"request failed: Authorization: Bearer {BEARER} "
        f"postgres://admin:{PASSWORD}@db.internal/prod ANTHROPIC_API_KEY={ANTHROPIC_KEY}"
    )
    return {
        "codex_exit": CodexAdapter(
            executable=fake_executable("codex"), env=fake_env("exit"), api_key=API_KEY
        ),
        "amp_exit": AmpAdapter(
            executable=fake_executable("amp"), env=fake_env("exit"), api_key=API_KEY
        ),
        "session_error": MockAdapter(
            fail_with=SessionError(
                "provider_error",
                message,
                details={"request": message},
                provider_error={"provider": "claude", "stderr": message},
            )
        ),
        "adapter_crash": ScriptedAdapter(raises=RuntimeError(message)),
        "tool_output": ScriptedAdapter(
            [
                {
                    "type": "tool_call_completed",
                    "data": {
                        "tool_name": "bash",
                        "tool_input": {"command": f"export OPENAI_API_KEY={API_KEY}"},
                        "tool_output": f"DATABASE_PASSWORD={PASSWORD}\n{message}",
                    },
                },
                {"type": "error_occurred", "data": {"error_message": message}},
            ]
        ),
    }


def read_outputs(directory: Path) -> list[str]:
    """The log and JSONL files, and the SQLite files' raw bytes (WAL included)."""
    found = [(directory / name).read_text("utf-8") for name in ("run.log", "run.jsonl")]
    found += [p.read_bytes().decode("utf-8", "replace") for p in directory.glob("sessions.db*")]
    return found


@pytest.mark.parametrize("case", list(adapters()))
async def test_no_secret_reaches_any_output(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = adapters()[case]
    db = tmp_path / "sessions.db"
    tty = io.StringIO()
    texts: list[str] = []
    async with open_stream_session(
        adapter=adapter, input=USER_INPUT, store=(SQLiteSessionStore, {"path": db})
    ) as stream:
        events = []

        async def keep(event: Any) -> Any:
            events.append(event)
            return event

        async def tee() -> Any:
            async for event in stream:
                yield await keep(event)

        for renderer in (CompactRenderer(color=True),):
            await render_stream(
                tee(),
                renderer=renderer,
                sinks=[
                    TTYSink(tty),
                    FileSink(tmp_path / "run.log"),
                    JSONLSink(tmp_path / "run.jsonl"),
                ],
            )
    assert events and events[-1].type in ("error_occurred", "run_completed")
    texts.append(json.dumps([e.to_dict() for e in events]))
    texts.append(VerboseRenderer(color=False).render(events[-1]))
    texts.append(tty.getvalue())
    texts.extend(read_outputs(tmp_path))
    async with SQLiteSessionStore(db) as store:
        [session] = await store.list_sessions()
        stored = await store.get_events(session.id)
        texts.append(json.dumps([e.to_dict() for e in stored]))
        texts.extend(repr(r) for r in await store.list_runs(session.id))
    texts.append(caplog.text)
    texts.append(repr(adapter))
    blob = "\n".join(texts)
    for secret in SECRETS:
        assert secret not in blob, f"{case}: {secret[:12]}... leaked"
    assert "[REDACTED]" in blob
