"""Conversations: a session continued by new runs (``session_id=``), over real stores,
a real fake-Codex executable, and two real processes racing for one SQLite session."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio
from _support import USER_INPUT
from fake_cli.helpers import fake_env, fake_executable, read_record

from trio_stream_session import (
    EventType,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    SessionStatus,
    SQLiteSessionStore,
    open_session_supervisor,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import CodexAdapter
from trio_stream_session.testing import MockAdapter


def types(events: Any) -> list[str]:
    return [e.type.value for e in events]


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
async def test_three_runs_continue_one_session(durable: bool, tmp_path: Path) -> None:
    store: Any = SQLiteSessionStore(tmp_path / "s.db") if durable else InMemorySessionStore()
    adapter = MockAdapter("instant")
    async with store:
        first = await run_once(store, adapter, "Plan it")
        second = await run_once(store, adapter, "Now do it", session_id=first.session_id)
        async with open_stream_session(
            adapter=adapter, input="Fix the test", store=store, session_id=first.session_id
        ) as stream:
            streamed = [e async for e in stream]
        sid = first.session_id
        assert second.session_id == stream.session_id == sid
        runs = await store.list_runs(sid)
        assert len(runs) == 3 and all(r.status is RunStatus.COMPLETED for r in runs)
        assert (await store.get_session(sid)).status is SessionStatus.COMPLETED
        events = await store.get_events(sid)
        # One gap-free sequence across the runs; each run's events separately queryable.
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
        assert types(events).count("session_created") == 1
        assert types(events).count("session_resumed") == 2
        assert types(events).count("session_completed") == 3
        for run_id in (first.run_id, second.run_id, stream.run_id):
            mine = await store.get_events(sid, run_id=run_id)
            assert types(mine)[0] == "message_sent" and types(mine)[-1] == "run_completed"
        assert types(streamed) == ["run_started", "message_received", "run_completed"]
        # Each run has its own usage.
        assert all(r.token_usage == {"input_tokens": 10, "output_tokens": 20} for r in runs)
    # The adapter saw the conversation so far, as the session's earlier events.
    histories = [e.session.context.get("history") for e in adapter.executions]
    assert histories[0] is None
    assert types(histories[1])[:3] == ["session_created", "session_started", "message_sent"]
    assert [e.data.get("content") for e in histories[2] if e.type == "message_sent"] == [
        "Plan it",
        "Now do it",
    ]


async def test_failed_and_cancelled_sessions_can_be_continued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    with pytest.raises(SessionError):
        await run_once(store, MockAdapter("failing"), USER_INPUT)
    [session] = await store.list_sessions()
    assert session.status is SessionStatus.FAILED
    with trio.move_on_after(1):
        await run_once(store, MockAdapter("timeout"), USER_INPUT, session_id=session.id)
    assert (await store.get_session(session.id)).status is SessionStatus.CANCELLED
    await run_once(store, MockAdapter(), USER_INPUT, session_id=session.id)
    assert (await store.get_session(session.id)).status is SessionStatus.COMPLETED
    statuses = [r.status for r in await store.list_runs(session.id)]
    assert statuses == [RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.COMPLETED]


async def test_an_unknown_session_is_one_terminal_error() -> None:
    store = InMemorySessionStore()
    async with open_stream_session(
        adapter=MockAdapter(), input=USER_INPUT, store=store, session_id="ses_nope"
    ) as stream:
        events = [e async for e in stream]
    assert types(events) == ["error_occurred"]
    assert events[0].data["error_code"] == "session_not_found"
    assert await store.list_sessions() == []
    with pytest.raises(SessionError) as info:
        await run_once(store, MockAdapter(), USER_INPUT, session_id="ses_nope")
    assert info.value.code == "session_not_found"


async def test_a_busy_session_is_refused_and_the_running_one_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = InMemorySessionStore()
    first = await run_once(store, MockAdapter(), USER_INPUT)
    async with open_session_supervisor() as supervisor:
        running = await supervisor.start(
            adapter=MockAdapter("streaming", chunk_delay=1),
            input=USER_INPUT,
            store=store,
            session_id=first.session_id,
        )
        assert (await running.receive()).type == EventType.RUN_STARTED
        refused = await supervisor.start(
            adapter=MockAdapter(), input=USER_INPUT, store=store, session_id=first.session_id
        )
        [error] = [e async for e in refused]
        assert error.data["error_code"] == "session_busy"
        rest = [e async for e in running]
    assert types(rest)[-1] == "run_completed"
    runs = await store.list_runs(first.session_id)
    assert [r.status for r in runs] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    assert (await store.get_session(first.session_id)).status is SessionStatus.COMPLETED


async def test_session_id_is_checked_at_the_call() -> None:
    with pytest.raises(TypeError, match="session_id"):
        open_stream_session(adapter=MockAdapter(), input=USER_INPUT, session_id=5)  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="session_id cannot be empty"):
        await run_once(InMemorySessionStore(), MockAdapter(), USER_INPUT, session_id=" ")


async def test_codex_resumes_its_thread_natively_with_its_own_usage(tmp_path: Path) -> None:
    # Run 1 starts a Codex thread; run 2 continues the session: the adapter resumes
    # that thread (`codex exec ... resume <id>`), replays no text, and the run's usage
    # is its share of the thread's running total.
    thread = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    record = tmp_path / "record.json"
    store = SQLiteSessionStore(tmp_path / "s.db")
    async with store:
        first = CodexAdapter(executable=fake_executable("codex"), env=fake_env("ok"))
        done = await run_once(store, first, "list the files")
        again = CodexAdapter(executable=fake_executable("codex"), env=fake_env("resumed", record))
        later = await run_once(store, again, "and now the tests", session_id=done.session_id)
        session = await store.get_session(done.session_id)
    assert session.metadata["provider_sessions"]["codex"]["provider_session_id"] == thread
    argv = read_record(record)["argv"]
    assert argv[:2] == ["exec", "--json"] and argv[argv.index("resume") + 1] == thread
    assert read_record(record)["stdin"] == "and now the tests"
    total = session.metadata["provider_sessions"]["codex"]["usage_total"]
    assert (
        later.token_usage["input_tokens"]
        == total["input_tokens"] - (done.token_usage["input_tokens"])
    )


_RACER = textwrap.dedent(
    """
    import sys, trio
    from trio_stream_session import SQLiteSessionStore, open_stream_session
    from trio_stream_session.testing import MockAdapter

    async def main(path, session_id):
        async with SQLiteSessionStore(path) as store:
            print("ready", flush=True)
            await trio.to_thread.run_sync(sys.stdin.readline)  # "go"
            adapter = MockAdapter("streaming", chunk_delay=3600)
            async with open_stream_session(
                adapter=adapter, input="go on", store=store, session_id=session_id
            ) as stream:
                first = await stream.receive()
                if first.type == "error_occurred":
                    print(first.data["error_code"], flush=True)
                    return
                print("started", flush=True)
                await trio.to_thread.run_sync(sys.stdin.readline)  # "stop"

    trio.run(main, sys.argv[1], sys.argv[2])
    """
)


async def test_two_processes_racing_to_continue_a_session_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    async with SQLiteSessionStore(path) as store:
        first = await run_once(store, MockAdapter(), USER_INPUT)
    # Plain Popen driven line by line through pipes from worker threads.
    children = [
        subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-c", _RACER, str(path), first.session_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        with trio.fail_after(60):
            for child in children:
                line = await trio.to_thread.run_sync(child.stdout.readline)  # type: ignore[union-attr]
                assert line.strip() == "ready"
            for child in children:
                child.stdin.write("go\n")  # type: ignore[union-attr]
                child.stdin.flush()  # type: ignore[union-attr]
            outcomes = [
                (await trio.to_thread.run_sync(c.stdout.readline)).strip()  # type: ignore[union-attr]
                for c in children
            ]
            assert sorted(outcomes) == ["session_busy", "started"]
            for child in children:
                child.stdin.close()  # type: ignore[union-attr]  # "stop" (EOF) for the winner
            for child in children:
                assert await trio.to_thread.run_sync(child.wait) == 0
    finally:
        for child in children:
            child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()
    async with SQLiteSessionStore(path) as store:
        runs = await store.list_runs(first.session_id)
        # The first run, and the winner's (closed by the stop): never two at once.
        assert [r.status for r in runs] == [RunStatus.COMPLETED, RunStatus.CANCELLED]
        events = await store.get_events(first.session_id)
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
