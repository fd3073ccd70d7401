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

from trio_stream_session import SessionError, SQLiteSessionStore, open_stream_session, run_once
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


# -- secrets the reference patterns missed (issue 16, item 4) ----------------------------

SVCACCT_KEY = "sk-svcacct-FAKEsvcacct_abcdefghijklmnopqrstuvwxyz-0123456789"
ADMIN_KEY = "sk-admin-FAKEadmin_ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789"
#: (secret, the tool event that carries it): values that match no key shape, so
#: only the quoted-assignment pattern or the secret-named key can catch them.
MISSED: dict[str, tuple[str, dict[str, Any]]] = {
    "openai_service_account_key": (
        SVCACCT_KEY,
        {
            "type": "tool_call_completed",
            "data": {"tool_name": "bash", "tool_output": f"created key {SVCACCT_KEY}\n"},
        },
    ),
    "openai_admin_key": (
        ADMIN_KEY,
        {
            "type": "tool_call_started",
            "data": {"tool_name": "bash", "tool_input": {"command": f"export K={ADMIN_KEY}"}},
        },
    ),
    "json_quoted_anthropic_key": (
        "anthropic value from a config file",
        {
            "type": "tool_call_completed",
            "data": {
                "tool_name": "read",
                "tool_output": '{"ANTHROPIC_API_KEY": "anthropic value from a config file"}',
            },
        },
    ),
    "json_quoted_password": (
        "json quoted pass phrase",
        {
            "type": "tool_call_completed",
            "data": {
                "tool_name": "read",
                "tool_output": '{"user": "bob", "password": "json quoted pass phrase"}',
            },
        },
    ),
    "aws_secret_mapping_key": (
        "aws mapping secret value",
        {
            "type": "tool_call_started",
            "data": {
                "tool_name": "deploy",
                "tool_input": {"env": {"AWS_SECRET_ACCESS_KEY": "aws mapping secret value"}},
            },
        },
    ),
    "password_mapping_key": (
        "mapping password value",
        {
            "type": "tool_call_failed",
            "data": {
                "tool_name": "login",
                "tool_input": {"user": "bob", "password": "mapping password value"},
                "error_message": "login refused",
            },
        },
    ),
}


def sqlite_files(db: Path) -> list[bytes]:
    """The raw bytes of the database file and its WAL and shared-memory files."""
    return [p.read_bytes() for p in db.parent.glob(db.name + "*")]


@pytest.mark.parametrize("case", list(MISSED))
async def test_missed_secret_never_reaches_the_sqlite_file(case: str, tmp_path: Path) -> None:
    secret, event = MISSED[case]
    async with SQLiteSessionStore(tmp_path / "x.db") as store:
        result = await run_once(store, ScriptedAdapter([event]), USER_INPUT)
        stored = await store.get_events(result.session_id, type=event["type"])
    [tool_event] = stored
    assert secret not in json.dumps(tool_event.to_dict())
    assert "[REDACTED]" in json.dumps(tool_event.to_dict())
    files = sqlite_files(tmp_path / "x.db")
    assert files
    for raw in files:
        assert secret.encode() not in raw, f"{case} leaked into the SQLite file"
