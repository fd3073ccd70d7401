"""The fake API drops the connection at arbitrary byte offsets of a stream."""

from __future__ import annotations

import random

import pytest
from _claude_fixtures import API_KEY

from trio_stream_session import EventType, InMemorySessionStore, RunStatus, open_stream_session
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

REPLY = FakeResponse.tool_use("lookup", {"q": "grüße"}, text="Hello wörld, let me look that up. ")
TOTAL = sum(len(event.encode()) for event in REPLY.events)


async def run_with_drop(server: FakeAnthropicServer, offset: int) -> None:
    server.enqueue(REPLY.then_drop_at_byte(offset))
    store = InMemorySessionStore()
    spec = (ClaudeAdapter, {"base_url": server.url, "api_key": API_KEY, "max_retries": 0})
    async with open_stream_session(adapter=spec, input={"prompt": "Hi"}, store=store) as stream:
        events = [e async for e in stream]
    last = events[-1]
    run = await store.get_run(stream.run_id or "")
    if last.type is EventType.RUN_COMPLETED:
        assert run.status is RunStatus.COMPLETED  # message_stop made it before the drop
    else:
        assert last.type is EventType.ERROR_OCCURRED, last
        pe = last.data["provider_error"]
        assert pe["provider"] == "claude"
        assert pe["kind"] in ("transport_exit", "parse_error", "protocol_error"), pe
        assert run.status is RunStatus.FAILED
    delivered = [e.id for e in events if e.sequence_number is not None]
    stored = [e.id for e in await store.get_events(run.session_id, run_id=run.id)]
    assert delivered == [i for i in stored if i in set(delivered)]  # nothing lost, in order
    assert len(stored) >= len(delivered)


async def test_drops_at_seeded_random_offsets() -> None:
    rng = random.Random(20261125)
    offsets = sorted({0, 1, TOTAL - 1, TOTAL, *rng.sample(range(TOTAL), 40)})
    async with FakeAnthropicServer() as server:
        for offset in offsets:
            await run_with_drop(server, offset)


@pytest.mark.stress
async def test_drops_at_every_offset() -> None:
    async with FakeAnthropicServer() as server:
        for offset in range(TOTAL + 1):
            await run_with_drop(server, offset)
