"""Conformance checks: long-polling reads, closing, and concurrent calls."""

from __future__ import annotations

from functools import partial
from typing import Any

import trio

from .._errors import SessionError
from .._events import Event, EventType
from .._models import Run
from ._conformance import StoreFactory, check, make_event, make_session

__all__: list[str] = []  # checks register in CHECKS


# -- long-poll --------------------------------------------------------------------------


@check
async def check_wait_returns_at_once_when_events_exist(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await store.append_event(make_event("ses_a"))
        start = trio.current_time()
        found = await store.get_events("ses_a", after=0, wait=5)
        assert len(found) == 1
        assert trio.current_time() - start < 1


@check
async def check_wait_wakes_on_append(open_store: StoreFactory) -> None:
    async with open_store() as store:
        results: list[list[Event]] = []

        async def reader() -> None:
            results.append(await store.get_events("ses_a", wait=10))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(0.05)
            start = trio.current_time()
            await store.append_event(make_event("ses_a"))
        assert trio.current_time() - start < 5
        assert [e.type for e in results[0]] == [EventType.SESSION_CREATED]


@check
async def check_wait_times_out_empty(open_store: StoreFactory) -> None:
    async with open_store() as store:
        start = trio.current_time()
        assert await store.get_events("ses_a", wait=0.1) == []
        assert trio.current_time() - start >= 0.08
        start = trio.current_time()
        assert await store.get_events("ses_a") == []
        assert trio.current_time() - start < 0.1


@check
async def check_wait_ignores_other_sessions_types_and_runs(open_store: StoreFactory) -> None:
    async with open_store() as store:
        results: dict[str, list[Event]] = {}

        async def reader(name: str, **filters: Any) -> None:
            results[name] = await store.get_events("ses_a", wait=10, **filters)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader, "plain")
            nursery.start_soon(partial(reader, "typed", type=EventType.RUN_STARTED))
            nursery.start_soon(partial(reader, "run", run_id="run_2"))
            await trio.sleep(0.05)
            await store.append_event(make_event("ses_b"))
            await trio.sleep(0.05)
            assert results == {}
            await store.append_event(make_event("ses_a"))
            await trio.sleep(0.05)
            assert [e.session_id for e in results["plain"]] == ["ses_a"]
            assert "typed" not in results and "run" not in results
            await store.append_event(make_event("ses_a", EventType.RUN_STARTED, run_id="run_1"))
            await trio.sleep(0.05)
            assert [e.type for e in results["typed"]] == [EventType.RUN_STARTED]
            assert "run" not in results
            await store.append_event(make_event("ses_a", EventType.RUN_COMPLETED, run_id="run_2"))
        assert [e.run_id for e in results["run"]] == ["run_2"]


@check
async def check_wait_ends_when_store_closes(open_store: StoreFactory) -> None:
    results: list[list[Event]] = []
    async with open_store() as store:

        async def reader() -> None:
            results.append(await store.get_events("ses_a", wait=1000))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            await trio.sleep(0.05)
            start = trio.current_time()
            await store.aclose()
    assert results == [[]]
    assert trio.current_time() - start < 100


@check
async def check_closed_store_raises(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await store.aclose()
        await store.aclose()  # idempotent
        try:
            await store.get_session("ses_x")
        except SessionError as exc:
            assert exc.code.category.value == "storage", exc
        else:
            raise AssertionError("a closed store must refuse calls")


# -- concurrency ------------------------------------------------------------------------


@check
async def check_concurrent_session_saves_and_deletes(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sessions = [make_session(f"agent-{i}") for i in range(100)]
        async with trio.open_nursery() as nursery:
            for session in sessions:
                nursery.start_soon(store.save_session, session)
        assert len(await store.list_sessions()) == 100
        async with trio.open_nursery() as nursery:
            for session in sessions:
                nursery.start_soon(store.delete_session, session.id)
        assert await store.list_sessions() == []


@check
async def check_concurrent_mixed_session_access(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        await store.save_session(session)
        errors: list[BaseException] = []

        async def op(i: int) -> None:
            try:
                if i % 2:
                    await store.save_session(session)
                else:
                    assert (await store.get_session(session.id)).id == session.id
            except BaseException as exc:  # collected, then asserted empty
                errors.append(exc)
                raise

        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(op, i)
        assert errors == []
        assert (await store.get_session(session.id)).id == session.id


@check
async def check_concurrent_runs(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sessions = [make_session() for _ in range(100)]
        running = Run(session_id=sessions[0].id).with_status("running")
        await store.save_run(running)
        async with trio.open_nursery() as nursery:
            for session in sessions[1:]:
                nursery.start_soon(store.save_run, Run(session_id=session.id))
            for _ in range(20):
                nursery.start_soon(store.save_run, running)
        for session in sessions:
            assert len(await store.list_runs(session.id)) == 1
        seen: list[Run | None] = []

        async def active() -> None:
            seen.append(await store.get_active_run(sessions[0].id))

        async with trio.open_nursery() as nursery:
            for _ in range(100):
                nursery.start_soon(active)
        assert len(seen) == 100 and all(r is not None and r.id == running.id for r in seen)


@check
async def check_concurrent_appends_are_contiguous(open_store: StoreFactory) -> None:
    async with open_store() as store:
        events = [make_event("ses_a", data={"i": i}) for i in range(100)]
        async with trio.open_nursery() as nursery:
            for event in events:
                nursery.start_soon(store.append_event, event)
                nursery.start_soon(store.append_event, event)  # duplicates race too
        stored = await store.get_events("ses_a")
        assert [e.sequence_number for e in stored] == list(range(1, 101))
        assert {e.id for e in stored} == {e.id for e in events}


@check
async def check_concurrent_reads_and_writes(open_store: StoreFactory) -> None:
    async with open_store() as store:
        for i in range(50):
            await store.append_event(make_event("ses_a", data={"i": i}))
        counts: list[int] = []

        async def read() -> None:
            counts.append(len(await store.get_events("ses_a", before=51)))

        async with trio.open_nursery() as nursery:
            for i in range(100):
                nursery.start_soon(read)
                if i % 4 == 0:
                    nursery.start_soon(store.append_event, make_event("ses_a"))
        assert counts == [50] * 100
        assert await store.get_latest_sequence("ses_a") == 75
