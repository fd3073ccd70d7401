"""Conformance checks: ``begin_run``, a new run in an existing session."""

from __future__ import annotations

import trio

from .._errors import ErrorCode, SessionError
from .._models import Run, RunStatus, SessionStatus
from ._conformance import StoreFactory, check, make_session, raises

__all__: list[str] = []  # checks register in CHECKS


@check
async def check_begin_run_resumes_an_ended_session(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session().with_status("active")
        first = Run(session_id=session.id).with_status("running")
        await store.save_session(session)
        await store.save_run(first)
        await store.save_run(first.with_status("completed"))
        await store.save_session(session.with_status("completed"))
        second = Run(session_id=session.id)
        resumed = await store.begin_run(session.id, second)
        assert resumed.id == session.id and resumed.status is SessionStatus.ACTIVE
        assert (await store.get_session(session.id)).status is SessionStatus.ACTIVE
        assert (await store.get_run(second.id)).status is RunStatus.PENDING
        assert {r.id for r in await store.list_runs(session.id)} == {first.id, second.id}


@check
async def check_begin_run_unknown_session(open_store: StoreFactory) -> None:
    async with open_store() as store:
        run = Run(session_id="ses_missing")
        await raises(ErrorCode.SESSION_NOT_FOUND, store.begin_run("ses_missing", run))
        await raises(ErrorCode.RUN_NOT_FOUND, store.get_run(run.id))


@check
async def check_begin_run_refuses_a_busy_session(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session().with_status("active")
        await store.save_session(session)
        for status in ("pending", "running"):
            busy = Run(session_id=session.id)
            await store.save_run(busy if status == "pending" else busy.with_status(status))
            late = Run(session_id=session.id)
            await raises(ErrorCode.SESSION_BUSY, store.begin_run(session.id, late))
            await raises(ErrorCode.RUN_NOT_FOUND, store.get_run(late.id))
            await store.save_run(busy.with_status("cancelled"))
        assert (await store.get_session(session.id)).status is SessionStatus.ACTIVE


@check
async def check_begin_run_races_start_exactly_one(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session().with_status("active").with_status("completed")
        await store.save_session(session)
        outcomes: list[str] = []

        async def race() -> None:
            try:
                await store.begin_run(session.id, Run(session_id=session.id))
            except SessionError as exc:
                outcomes.append(exc.code.value)
            else:
                outcomes.append("started")

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(race)
        assert sorted(outcomes) == ["session_busy"] * 7 + ["started"], outcomes
        [run] = await store.list_runs(session.id)
        assert run.status is RunStatus.PENDING
