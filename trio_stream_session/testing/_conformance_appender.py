"""Conformance checks: ``store.appender(...)``, the per-event path of every run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

import trio

from .._errors import SessionError
from .._events import Event, EventType
from .._ports import EventAppender
from ._conformance import StoreFactory, check, make_event

__all__: list[str] = []  # checks register in CHECKS

_WHEN: Final = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
_STREAMED: Final = EventType.MESSAGE_STREAMED


async def _append(append: EventAppender, index: int) -> Event:
    return await append(_STREAMED, _WHEN, {"i": index}, {})


@check
async def check_appender_stores_new_events(open_store: StoreFactory) -> None:
    async with open_store() as store:
        existing = await store.append_event(make_event("ses_a"))
        append = store.appender("ses_a", "run_1", provider="mock", correlation_id="corr")
        data = {"model": "m", "nested": {"a": [1, "é", None]}}
        first = await append(EventType.RUN_STARTED, _WHEN, data, {"latency_ms": 3})
        later = _WHEN + timedelta(seconds=1)
        second = await append(_STREAMED, later, {"delta": "x"}, {})
        assert [first.sequence_number, second.sequence_number] == [2, 3]
        ids = {existing.id, first.id, second.id}
        assert len(ids) == 3 and all(isinstance(i, str) and i for i in ids), ids
        for event in (first, second):
            fixed = (event.session_id, event.run_id, event.provider, event.correlation_id)
            assert fixed == ("ses_a", "run_1", "mock", "corr"), event
        assert (first.type, first.timestamp, first.data, first.metadata) == (
            EventType.RUN_STARTED,
            _WHEN,
            {"model": "m", "nested": {"a": [1, "é", None]}},
            {"latency_ms": 3},
        )
        assert (second.type, second.timestamp, second.data, second.metadata) == (
            _STREAMED,
            later,
            {"delta": "x"},
            {},
        )
        assert await store.get_events("ses_a", after=1) == [first, second]
        assert await store.get_latest_sequence("ses_a") == 3
        lone = await store.appender("ses_b")(EventType.SESSION_CREATED, _WHEN, {}, {})
        assert (lone.sequence_number, lone.run_id, lone.provider, lone.correlation_id) == (
            1,
            None,
            None,
            None,
        )
        assert await store.get_events("ses_b") == [lone]


@check
async def check_appenders_of_one_session_share_its_sequence(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session_append = store.appender("ses_a")
        run_1 = store.appender("ses_a", "run_1", provider="p1")
        run_2 = store.appender("ses_a", "run_2", provider="p2")
        order = [session_append, run_1, run_2, run_1, run_2, run_2, session_append, run_1]
        stored = [await _append(append, i) for i, append in enumerate(order)]
        assert [e.sequence_number for e in stored] == list(range(1, 9))
        assert await store.get_events("ses_a") == stored
        assert [e.data["i"] for e in await store.get_events("ses_a", run_id="run_2")] == [2, 4, 5]
        assert {(e.run_id, e.provider) for e in stored} == {
            (None, None),
            ("run_1", "p1"),
            ("run_2", "p2"),
        }
        other = await _append(store.appender("ses_b", "run_1"), 0)
        assert other.sequence_number == 1  # sequences are per session
        assert await store.get_latest_sequence("ses_a") == 8


@check
async def check_concurrent_appenders_are_all_stored(open_store: StoreFactory) -> None:
    sessions, runs, count = ("ses_a", "ses_b", "ses_c"), ("run_1", "run_2", "run_3"), 15
    async with open_store() as store:
        acknowledged: dict[tuple[str, str], list[Event]] = {}

        async def produce(session_id: str, run_id: str) -> None:
            append = store.appender(session_id, f"{session_id}/{run_id}")
            acks = acknowledged.setdefault((session_id, run_id), [])
            for i in range(count):
                acks.append(await _append(append, i))

        async with trio.open_nursery() as nursery:
            for session_id in sessions:
                for run_id in runs:
                    nursery.start_soon(produce, session_id, run_id)
        all_ids = {e.id for acks in acknowledged.values() for e in acks}
        assert len(all_ids) == len(sessions) * len(runs) * count
        for session_id in sessions:
            stored = await store.get_events(session_id)
            assert [e.sequence_number for e in stored] == list(range(1, len(runs) * count + 1))
            acks = [
                e for (sid, _), events in acknowledged.items() if sid == session_id for e in events
            ]
            assert sorted(acks, key=lambda e: e.sequence_number or 0) == stored
            for run_id in runs:  # each producer's events in its order
                mine = [e.data["i"] for e in stored if e.run_id == f"{session_id}/{run_id}"]
                assert mine == list(range(count)), (session_id, run_id, mine)


@check
async def check_cancelled_append_is_stored_whole_or_not_at_all(open_store: StoreFactory) -> None:
    async with open_store() as store:
        acknowledged: list[Event] = []

        async def produce(append: EventAppender) -> None:
            while True:  # until cancelled; an append that returns was stored
                acknowledged.append(await _append(append, len(acknowledged)))
                await trio.lowlevel.checkpoint()  # an append need not be a schedule point

        with trio.CancelScope() as scope:
            scope.cancel()
            try:
                await _append(store.appender("ses_a", "run_0"), 0)
            except trio.Cancelled:
                pass
            else:
                raise AssertionError("an append in a cancelled scope must raise Cancelled")
        for steps in range(10):  # cancel at different points of the appends in flight
            async with trio.open_nursery() as nursery:
                for task in range(4):
                    nursery.start_soon(produce, store.appender("ses_a", f"run_{steps}.{task}"))
                for _ in range(steps):
                    await trio.lowlevel.checkpoint()
                nursery.cancel_scope.cancel()
        stored = await store.get_events("ses_a")
        assert [e.sequence_number for e in stored] == list(range(1, len(stored) + 1))
        assert sorted(acknowledged, key=lambda e: e.sequence_number or 0) == stored
        later = await _append(store.appender("ses_a", "run_later"), 0)
        assert later.sequence_number == len(stored) + 1


@check
async def check_wait_wakes_on_appender_append(open_store: StoreFactory) -> None:
    async with open_store() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("ses_a", run_id="run_1", wait=10))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(0.05)
            start = trio.current_time()
            stored = await _append(store.appender("ses_a", "run_1"), 0)
        assert trio.current_time() - start < 5
        assert results == [[stored]]


@check
async def check_append_after_close_raises(open_store: StoreFactory) -> None:
    async with open_store() as store:
        before = store.appender("ses_a", "run_1")
        await _append(before, 0)
        await store.aclose()
        for append in (before, store.appender("ses_a", "run_2")):
            try:
                await _append(append, 1)
            except SessionError as exc:
                assert exc.code.category.value == "storage", exc
            else:
                raise AssertionError("a closed store must refuse appends")
