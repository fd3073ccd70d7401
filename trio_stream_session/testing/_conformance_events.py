"""Conformance checks: appending and reading events, and flush."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from .._errors import ErrorCode
from .._events import EventType
from .._models import Run, RunStatus
from ._conformance import StoreFactory, check, make_event, make_session, raises

__all__: list[str] = []  # checks register in CHECKS


# -- events -----------------------------------------------------------------------------


@check
async def check_append_assigns_contiguous_sequence(open_store: StoreFactory) -> None:
    async with open_store() as store:
        assert await store.get_latest_sequence("ses_a") == 0
        first = await store.append_event(make_event("ses_a"))
        second = await store.append_event(make_event("ses_a", EventType.SESSION_STARTED))
        other = await store.append_event(make_event("ses_b"))
        assert (first.sequence_number, second.sequence_number, other.sequence_number) == (1, 2, 1)
        assert await store.get_latest_sequence("ses_a") == 2
        # A preset sequence number is overwritten.
        preset = await store.append_event(make_event("ses_a", sequence_number=99))
        assert preset.sequence_number == 3


@check
async def check_append_returns_the_stored_event(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = make_event("ses_a", EventType.RUN_STARTED, run_id="run_1", data={"model": "m"})
        stored = await store.append_event(event)
        assert (stored.id, stored.type, stored.session_id, stored.data) == (
            event.id,
            EventType.RUN_STARTED,
            "ses_a",
            {"model": "m"},
        )
        [got] = await store.get_events("ses_a")
        assert got == stored


@check
async def check_append_dedups_by_id(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = make_event("ses_a")
        first = await store.append_event(event)
        again = await store.append_event(event)
        assert (again.id, again.sequence_number) == (first.id, first.sequence_number)
        assert len(await store.get_events("ses_a")) == 1
        assert await store.get_latest_sequence("ses_a") == 1


@check
async def check_append_events_batch(open_store: StoreFactory) -> None:
    async with open_store() as store:
        e1, e2 = make_event("ses_a"), make_event("ses_a")
        stored = await store.append_events([e1, e2])
        assert [e.sequence_number for e in stored] == [1, 2]
        same = make_event("ses_b")
        twice = await store.append_events([same, same])
        assert [e.sequence_number for e in twice] == [1, 1]
        assert await store.get_latest_sequence("ses_b") == 1


@check
async def check_append_events_is_all_or_nothing(open_store: StoreFactory) -> None:
    async with open_store() as store:
        bad: list[Any] = [make_event("ses_a"), {"type": "session_created"}]
        await raises(ErrorCode.VALIDATION_ERROR, store.append_events(bad))
        assert await store.get_events("ses_a") == []


@check
async def check_events_in_append_order_with_filters(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sid = "ses_a"
        created = await store.append_event(make_event(sid))
        await store.append_event(make_event(sid, EventType.SESSION_STARTED))
        await store.append_event(make_event(sid, EventType.RUN_STARTED, run_id="run_1"))
        await store.append_event(make_event(sid))
        types = [e.type for e in await store.get_events(sid)]
        assert types == [
            EventType.SESSION_CREATED,
            EventType.SESSION_STARTED,
            EventType.RUN_STARTED,
            EventType.SESSION_CREATED,
        ]
        assert len(await store.get_events(sid, run_id="run_1")) == 1
        assert len(await store.get_events(sid, type="session_created")) == 2
        both = {EventType.SESSION_STARTED, EventType.RUN_STARTED}
        assert len(await store.get_events(sid, type=both)) == 2
        assert [e.sequence_number for e in await store.get_events(sid, after=1, before=4)] == [2, 3]
        assert [e.sequence_number for e in await store.get_events(sid, after=2)] == [3, 4]
        assert [e.sequence_number for e in await store.get_events(sid, before=3)] == [1, 2]
        assert [e.sequence_number for e in await store.get_events(sid, limit=2)] == [1, 2]
        later = created.timestamp + timedelta(days=1)
        assert await store.get_events(sid, since=later) == []
        assert len(await store.get_events(sid, since=created.timestamp)) == 4
        assert await store.get_events("ses_unknown") == []


@check
async def check_filters_combine(open_store: StoreFactory) -> None:
    async with open_store() as store:
        sid = "ses_a"
        msg = EventType.MESSAGE_RECEIVED
        e1 = await store.append_event(make_event(sid, msg, run_id="run1"))
        e2 = await store.append_event(make_event(sid, msg, run_id="run1"))
        await store.append_event(make_event(sid, msg, run_id="run2"))
        e4 = await store.append_event(make_event(sid, msg, run_id="run1"))
        await store.append_event(make_event(sid, msg, run_id="run1"))
        found = await store.get_events(
            sid, after=e1.sequence_number, run_id="run1", type=msg, limit=2
        )
        assert [e.sequence_number for e in found] == [e2.sequence_number, e4.sequence_number]


@check
async def check_bad_filters_are_rejected(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", limit=0))
        await raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", after=-1))
        await raises(ErrorCode.INVALID_EVENT_TYPE, store.get_events("ses_a", type="nope"))
        await raises(ErrorCode.VALIDATION_ERROR, store.get_events("ses_a", wait=-1))


@check
async def check_event_fields_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        event = make_event(
            "ses_a",
            EventType.TOOL_CALL_COMPLETED,
            run_id="run_1",
            provider="mock",
            correlation_id="corr",
            data={"tool_name": "bash", "tool_output": {"lines": ["a", "é"]}, "n": 1.5},
            metadata={"latency_ms": 42},
        )
        stored = await store.append_event(event)
        [got] = await store.get_events("ses_a")
        assert got == stored
        assert got.timestamp == event.timestamp


#: Text with lone surrogates: what ``json.loads`` makes of a ``"\\ud83d"`` escape in
#: tool or CLI output, and what ``os.fsdecode`` makes of a file name's stray byte.
_LONE_SURROGATES: Final = "tool said \ud83d, file caf\udce9.txt"


@check
async def check_lone_surrogates_round_trip(open_store: StoreFactory) -> None:
    text = _LONE_SURROGATES
    async with open_store() as store:
        session = make_session(
            f"agent {text}",
            id=f"ses {text}",
            metadata={text: text},
            context={"cwd": text},
            tags=(text,),
        )
        await store.save_session(session)
        assert await store.get_session(session.id) == session
        assert await store.list_sessions(agent_id=session.agent_id) == [session]
        run = Run(id=f"run {text}", session_id=session.id, input={"prompt": text})
        run = run.with_status("running")
        await store.save_run(run)
        assert await store.get_active_run(session.id) == run
        done = run.with_status("completed", output={"content": text})
        await store.flush(session, done, [make_event(session.id, run_id=run.id, data={"n": 1})])
        assert await store.get_run(run.id) == done
        assert await store.list_runs(session.id) == [done]
        event = make_event(
            session.id,
            EventType.TOOL_CALL_COMPLETED,
            id=f"evt {text}",
            run_id=run.id,
            provider=text,
            correlation_id=text,
            data={"tool_name": "bash", "tool_output": text, text: [text, {text: text}]},
            metadata={"path": text},
        )
        stored = await store.append_event(event)
        assert (stored.data, stored.metadata) == (event.data, event.metadata)
        assert (await store.append_event(event)).sequence_number == 2  # deduplicated
        assert await store.get_events(session.id, run_id=run.id, after=1) == [stored]
        assert await store.get_latest_sequence(session.id) == 2
        await store.delete_session(session.id)
        assert await store.get_events(session.id) == []


# -- flush ------------------------------------------------------------------------------


@check
async def check_flush_stores_everything(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        run = Run(session_id=session.id).with_status("running")
        events = [
            make_event(session.id, EventType.RUN_STARTED, run_id=run.id),
            make_event(session.id, EventType.RUN_COMPLETED, run_id=run.id),
        ]
        await store.flush(session, run, events)
        assert (await store.get_session(session.id)).id == session.id
        assert (await store.get_run(run.id)).status == RunStatus.RUNNING
        types = [e.type for e in await store.get_events(session.id, run_id=run.id)]
        assert types == [EventType.RUN_STARTED, EventType.RUN_COMPLETED]


@check
async def check_flush_is_atomic(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        run = Run(session_id=session.id)
        bad: list[Any] = [make_event(session.id), "not an event"]
        await raises(ErrorCode.VALIDATION_ERROR, store.flush(session, run, bad))
        await raises(ErrorCode.SESSION_NOT_FOUND, store.get_session(session.id))
        await raises(ErrorCode.RUN_NOT_FOUND, store.get_run(run.id))
        assert await store.get_events(session.id) == []
