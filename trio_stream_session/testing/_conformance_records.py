"""Conformance checks: sessions and runs."""

from __future__ import annotations

from .._errors import ErrorCode
from .._models import Run, RunStatus, SessionStatus
from ._conformance import StoreFactory, check, make_session, raises

__all__: list[str] = []  # checks register in CHECKS


# -- sessions ---------------------------------------------------------------------------


@check
async def check_session_save_and_get(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        await store.save_session(session)
        got = await store.get_session(session.id)
        assert (got.id, got.agent_id, got.status) == (session.id, "agent", SessionStatus.PENDING)
        assert got == session


@check
async def check_session_not_found(open_store: StoreFactory) -> None:
    async with open_store() as store:
        await raises(ErrorCode.SESSION_NOT_FOUND, store.get_session("ses_missing"))


@check
async def check_session_update_and_repeat_saves(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        for _ in range(3):
            await store.save_session(session)
        await store.save_session(session.with_status("active"))
        assert (await store.get_session(session.id)).status == SessionStatus.ACTIVE
        assert len(await store.list_sessions()) == 1


@check
async def check_session_list_and_filters(open_store: StoreFactory) -> None:
    async with open_store() as store:
        pending = make_session("a")
        active = make_session("b").with_status("active")
        await store.save_session(pending)
        await store.save_session(active)
        assert {s.id for s in await store.list_sessions()} == {pending.id, active.id}
        assert [s.id for s in await store.list_sessions(status="pending")] == [pending.id]
        assert [s.id for s in await store.list_sessions(status=SessionStatus.ACTIVE)] == [active.id]
        assert [s.id for s in await store.list_sessions(agent_id="b")] == [active.id]
        assert len(await store.list_sessions(limit=1)) == 1


@check
async def check_session_delete_is_idempotent(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        await store.save_session(session)
        await store.delete_session(session.id)
        await raises(ErrorCode.SESSION_NOT_FOUND, store.get_session(session.id))
        await store.delete_session(session.id)


@check
async def check_session_records_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session(
            metadata={"user_id": "u-1", "nested": {"a": [1, 2]}},
            context={"system_prompt": "Be helpful"},
            tags=("test",),
        )
        await store.save_session(session)
        got = await store.get_session(session.id)
        assert got.metadata == {"user_id": "u-1", "nested": {"a": [1, 2]}}
        assert got.context == {"system_prompt": "Be helpful"}
        assert list(got.tags) == ["test"]
        assert got.created_at == session.created_at


# -- runs -------------------------------------------------------------------------------


@check
async def check_run_save_get_update(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        await store.save_session(session)
        run = Run(session_id=session.id, input={"prompt": "Hello"})
        await store.save_run(run)
        got = await store.get_run(run.id)
        assert (got.status, got.session_id, got.input) == (
            RunStatus.PENDING,
            session.id,
            {"prompt": "Hello"},
        )
        await store.save_run(run.with_status("running"))
        assert (await store.get_run(run.id)).status == RunStatus.RUNNING
        await raises(ErrorCode.RUN_NOT_FOUND, store.get_run("run_missing"))


@check
async def check_run_lists(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session, other = make_session(), make_session()
        runs = [Run(session_id=session.id), Run(session_id=session.id)]
        for run in runs:
            await store.save_run(run)
        assert [r.id for r in await store.list_runs(session.id)] == [r.id for r in runs]
        assert await store.list_runs(other.id) == []
        await store.save_run(runs[1].with_status("running"))
        assert [r.id for r in await store.list_runs(session.id, status="running")] == [runs[1].id]
        assert len(await store.list_runs(session.id, limit=1)) == 1


@check
async def check_active_run(open_store: StoreFactory) -> None:
    async with open_store() as store:
        session = make_session()
        run = Run(session_id=session.id)
        await store.save_run(run)
        assert await store.get_active_run(session.id) is None
        running = run.with_status("running")
        await store.save_run(running)
        active = await store.get_active_run(session.id)
        assert active is not None and active.id == run.id and active.status == RunStatus.RUNNING
        await store.save_run(running.with_status("completed"))
        assert await store.get_active_run(session.id) is None


@check
async def check_run_records_round_trip(open_store: StoreFactory) -> None:
    async with open_store() as store:
        run = Run(session_id="ses_x", input={"messages": [{"role": "user", "content": "hi"}]})
        run = run.with_status("running").with_status(
            "completed",
            output={"content": "ok"},
            token_usage={"input_tokens": 1},
            cost_usd=0.5,
            provider="mock",
        )
        await store.save_run(run)
        assert await store.get_run(run.id) == run
