"""replay_session: stored events as a receive channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    SessionStore,
    SQLiteSessionStore,
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


async def _aclose_wakes_a_blocked_follower(store: SessionStore) -> None:
    """A reader blocked in ``receive()`` of a ``follow=True`` replay (so in the
    store's long poll) gets ``ClosedResourceError`` at once when another task
    closes the stream, as a Trio channel's receiver does."""
    await store.append_event(Event(type=EventType.MESSAGE_STREAMED, session_id="ses_tail"))
    stream = replay_session(store, "ses_tail", follow=True)
    assert (await stream.receive()).sequence_number == 1
    woken_at: list[float] = []

    async def follow() -> None:
        with pytest.raises(trio.ClosedResourceError):
            await stream.receive()
        woken_at.append(trio.current_time())

    with trio.move_on_after(30) as guard:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await trio.testing.wait_all_tasks_blocked()  # the follower is in get_events(wait=...)
            closed_at = trio.current_time()
            await stream.aclose()
    assert not guard.cancelled_caught, "aclose() left the follower blocked in the long poll"
    assert woken_at[0] - closed_at < 5.0
    assert [e async for e in stream] == []  # and iteration over the closed stream ends


async def test_aclose_wakes_a_follower_of_the_memory_store(
    autojump_clock: trio.testing.MockClock,
) -> None:
    await _aclose_wakes_a_blocked_follower(InMemorySessionStore())


async def test_aclose_wakes_a_follower_of_a_sqlite_store(tmp_path: Path) -> None:
    # The real clock: worker-thread time confuses an autojump MockClock.
    async with SQLiteSessionStore(tmp_path / "tail.sqlite3") as store:
        await _aclose_wakes_a_blocked_follower(store)
