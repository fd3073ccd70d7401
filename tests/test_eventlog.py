"""The in-memory store's columnar event log, read back through the store's queries."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest

from trio_stream_session import Event, EventType, InMemorySessionStore, SessionError
from trio_stream_session.stores._eventlog import EventLog
from trio_stream_session.stores._query import EventQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def filled() -> EventLog:
    """session events, two runs with different providers, session events between."""
    log = EventLog()
    session_ctx = (None, "p1", None, 1, "evt_" + "a" * 24)
    run_a = ("run_a", "p1", "corr", 1, None)  # ids given one by one
    run_b = ("run_b", "p2", None, 1, "evt_" + "b" * 24)
    plan = [session_ctx, session_ctx, run_a, run_a, run_a, session_ctx, run_b, run_b, session_ctx]
    for index, context in enumerate(plan):
        kind = EventType.MESSAGE_STREAMED if context[0] else EventType.SESSION_STARTED
        metadata = {"n": index} if index % 4 == 0 else {}
        event_id = None if context[4] else f"evt_custom_{index}"
        log.append(kind, T0 + timedelta(seconds=index), context, {"i": index}, metadata, event_id)
    return log


def test_round_trip_of_every_field() -> None:
    log = filled()
    events = log.query(EventQuery.build("ses"))
    assert [e.sequence_number for e in events] == list(range(1, 10))
    a, b = "run_a", "run_b"
    assert [e.run_id for e in events] == [None, None, a, a, a, None, b, b, None]
    assert [e.provider for e in events][6:8] == ["p2", "p2"]
    assert events[3].correlation_id == "corr" and events[6].correlation_id is None
    assert [e.metadata for e in events][:5] == [{"n": 0}, {}, {}, {}, {"n": 4}]
    assert all(e.session_id == "ses" and e.data == {"i": i} for i, e in enumerate(events))
    assert events[2].type is EventType.MESSAGE_STREAMED
    assert len(log._contexts) == 5  # one per stretch, not one per event
    assert [e.id for e in events] == [
        "evt_" + "a" * 24 + "1",
        "evt_" + "a" * 24 + "2",
        "evt_custom_2",
        "evt_custom_3",
        "evt_custom_4",
        "evt_" + "a" * 24 + "6",
        "evt_" + "b" * 24 + "7",
        "evt_" + "b" * 24 + "8",
        "evt_" + "a" * 24 + "9",
    ]
    assert log.ids() == [e.id for e in events]


def test_filters_and_bounds() -> None:
    log = filled()

    def seqs(**query: object) -> list[int | None]:
        return [e.sequence_number for e in log.query(EventQuery.build("ses", **query))]  # type: ignore[arg-type]

    assert seqs(run_id="run_b") == [7, 8]
    assert seqs(type="session_started") == [1, 2, 6, 9]
    assert seqs(after=2, before=8) == [3, 4, 5, 6, 7]
    assert seqs(after=6, limit=2) == [7, 8]
    assert seqs(after=50) == [] and seqs(before=1) == []
    assert seqs(since=T0 + timedelta(seconds=7)) == [8, 9]


def test_nothing_per_event_is_tracked_by_the_gc() -> None:
    log = filled()
    gc.collect()
    stored = [*log._times, *log._data]
    assert not any(gc.is_tracked(item) for item in stored)
    assert all(kind in EventType for kind in log._types)  # the shared enum members


async def test_duplicate_ids_via_the_store_index() -> None:
    async with InMemorySessionStore() as store:
        first = Event(type=EventType.RUN_STARTED, session_id="s", data={"x": 1})
        stored = await store.append_event(first)
        again = await store.append_event(first)
        assert again == stored and again.sequence_number == 1
        await store.delete_session("s")
        assert (await store.append_event(first)).sequence_number == 1


async def test_an_appender_outlives_delete_session() -> None:
    async with InMemorySessionStore() as store:
        append = store.appender("s", "r", provider="p")
        first = await append(EventType.MESSAGE_STREAMED, T0, {"i": 1}, {})
        await store.delete_session("s")
        again = await append(EventType.MESSAGE_STREAMED, T0, {"i": 2}, {"k": "v"})
        assert (first.sequence_number, again.sequence_number) == (1, 1)
        [stored] = await store.get_events("s")
        assert stored == again and stored.metadata == {"k": "v"} and stored.run_id == "r"


async def test_appending_to_a_closed_store_fails_clearly() -> None:
    store = InMemorySessionStore()
    append = store.appender("s", provider="p")
    await store.aclose()
    with pytest.raises(SessionError) as info:
        await append(EventType.SESSION_STARTED, T0, {}, {})
    assert info.value.code.value == "storage_connection_failed"
