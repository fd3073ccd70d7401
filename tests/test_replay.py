"""replay_session: stored events as a receive channel."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    replay_session,
    run_once,
)
from trio_stream_session.testing import MockAdapter


async def test_replays_everything_in_order_across_pages() -> None:
    store = InMemorySessionStore()
    result = await run_once(store, MockAdapter("burst", burst_events=1200), USER_INPUT)
    stream = replay_session(store, result.session_id)
    replayed = [e async for e in stream]
    stored = await store.get_events(result.session_id)
    assert replayed == stored
    assert len(replayed) == 1207
    with pytest.raises(trio.EndOfChannel):
        await stream.receive()


async def test_filters_by_type_and_run() -> None:
    store = InMemorySessionStore()
    result = await run_once(store, MockAdapter("streaming", chunk_delay=0), USER_INPUT)
    streamed = [
        e.type async for e in replay_session(store, result.session_id, type="message_streamed")
    ]
    assert streamed == [EventType.MESSAGE_STREAMED] * 2
    in_run = [e async for e in replay_session(store, result.session_id, run_id=result.run_id)]
    assert all(e.run_id == result.run_id for e in in_run) and len(in_run) == 7


async def test_follow_tails_new_events_until_closed(autojump_clock: trio.testing.MockClock) -> None:
    store = InMemorySessionStore()
    seen: list[Event] = []
    stream = replay_session(store, "ses_live", follow=True)

    async def tail() -> None:
        async for event in stream:
            seen.append(event)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tail)
        for _ in range(3):
            await trio.sleep(10)
            await store.append_event(Event(type=EventType.MESSAGE_STREAMED, session_id="ses_live"))
        await trio.sleep(10)
        assert [e.sequence_number for e in seen] == [1, 2, 3]
        nursery.cancel_scope.cancel()
    await stream.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await stream.receive()
