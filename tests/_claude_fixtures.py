"""Helpers for the ClaudeAdapter tests: a fake API, an adapter pointed at it, an emit recorder."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from trio_stream_session import Event, EventType, InMemorySessionStore, Run, Session
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing._fake_anthropic import FakeAnthropicServer

#: Shaped like a real key, so the redaction patterns would catch a leak of it too.
API_KEY = "sk-ant-test-0123456789abcdefghijklmnop"


@asynccontextmanager
async def claude(server: FakeAnthropicServer, **options: Any) -> AsyncIterator[ClaudeAdapter]:
    """An entered adapter on the fake server; no SDK retries unless asked for."""
    options.setdefault("max_retries", 0)
    async with ClaudeAdapter(base_url=server.url, api_key=API_KEY, **options) as adapter:
        yield adapter


class Recorder:
    """An ``emit`` for direct ``execute`` calls: keeps every event mapping."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def __call__(self, raw: Mapping[str, Any]) -> Event:
        self.events.append(dict(raw))
        return Event(type=EventType(raw["type"]), session_id="ses_test", data=raw.get("data", {}))

    @property
    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def data(self, type: str) -> list[Mapping[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == type]


def run_for(input: Any, **session_fields: Any) -> tuple[Run, Session]:
    session = Session(agent_id="claude-test", **session_fields)
    return Run(session_id=session.id, input=input), session


def work_until_cancelled(done: threading.Event) -> None:
    """The body of a sync tool: small steps in its worker thread, each followed by a
    check for the run's cancellation; sets *done* when the thread finishes."""
    try:
        while True:
            time.sleep(0.005)
            trio.from_thread.check_cancelled()
    finally:
        done.set()


async def stored_types(store: InMemorySessionStore, session_id: str) -> list[str]:
    return [e.type.value for e in await store.get_events(session_id)]
