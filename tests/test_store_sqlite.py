"""SQLiteSessionStore: the conformance suite on a real file, plus durability.

These run on the real clock: worker-thread time confuses an autojump MockClock.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
from _support import USER_INPUT, ScriptedAdapter

from trio_stream_session import (
    Event,
    EventType,
    Run,
    RunStatus,
    SessionError,
    SessionStatus,
    SQLiteSessionStore,
    open_stream_session,
    run_once,
)
from trio_stream_session.testing import MockAdapter, store_conformance

CHECKS = store_conformance.CHECKS


@pytest.fixture
def new_store(tmp_path: Path) -> Callable[[], SQLiteSessionStore]:
    counter = iter(range(1_000_000))
    return lambda: SQLiteSessionStore(tmp_path / f"store-{next(counter)}.sqlite3")


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
async def test_conformance(
    check: store_conformance.Check, new_store: Callable[[], SQLiteSessionStore]
) -> None:
    await check(new_store)


async def test_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    async with SQLiteSessionStore(path) as store:
        result = await run_once(store, MockAdapter("streaming", chunk_delay=0), USER_INPUT)
    async with SQLiteSessionStore(path) as store:
        session = await store.get_session(result.session_id)
        assert session.status is SessionStatus.COMPLETED
        events = await store.get_events(session.id)
        assert [e.sequence_number for e in events] == list(range(1, 11))
        assert (await store.get_run(result.run_id)).status is RunStatus.COMPLETED
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


async def test_owned_sqlite_store_in_a_stream_session(tmp_path: Path) -> None:
    path = tmp_path / "owned.sqlite3"
    async with open_stream_session(
        adapter=MockAdapter(), input=USER_INPUT, store=(SQLiteSessionStore, {"path": path})
    ) as stream:
        yielded = [e async for e in stream]
    assert [e.sequence_number for e in yielded] == [4, 5, 6]
    async with SQLiteSessionStore(path) as store:
        assert len(await store.get_events(stream.session_id or "")) == 7


async def test_old_schema_requires_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id TEXT)")
    conn.commit()
    conn.close()
    store = SQLiteSessionStore(path)
    with pytest.raises(SessionError) as info:
        await store.get_session("ses_x")
    assert info.value.code == "migration_required"
    assert "schema version 0" in info.value.message


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    async with SQLiteSessionStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(SessionError, match="newer"):
        async with SQLiteSessionStore(path):
            pass


async def test_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SessionError) as info:
        async with SQLiteSessionStore(tmp_path / "missing-dir" / "x.sqlite3"):
            pass
    assert info.value.code == "storage_connection_failed"


async def test_lone_surrogates_in_a_stream_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "surrogates.sqlite3"
    escaped = json.loads('"chunk \\ud83d"')  # a split emoji in a tool's JSON output
    file_name = os.fsdecode(b"caf\xe9.txt")  # a Latin-1 file name on a UTF-8 system
    assert "\ud83d" in escaped and "\udce9" in file_name
    emitted = [
        {"type": "tool_call_completed", "data": {"tool_name": "cat", "tool_output": escaped}},
        {"type": "message_streamed", "data": {"content": file_name, "delta": file_name}},
    ]
    prompt = {"prompt": f"summarise {file_name}"}
    async with SQLiteSessionStore(path) as store:
        adapter = ScriptedAdapter(emitted)
        async with open_stream_session(adapter=adapter, input=prompt, store=store) as stream:
            yielded = [e async for e in stream]
    types = [EventType.TOOL_CALL_COMPLETED, EventType.MESSAGE_STREAMED]
    assert [e.type for e in yielded] == types  # no error_occurred
    assert stream.result is not None
    async with SQLiteSessionStore(path) as store:
        run: Run = await store.get_run(stream.run_id or "")
        assert run.status is RunStatus.COMPLETED
        assert run.input == prompt
        stored = await store.get_events(run.session_id, run_id=run.id)
    assert {e.id for e in yielded} < {e.id for e in stored}
    tool = next(e for e in stored if e.type is EventType.TOOL_CALL_COMPLETED)
    assert tool.data["tool_output"] == escaped
    message = next(e for e in stored if e.type is EventType.MESSAGE_STREAMED)
    assert (message.data["content"], message.data["delta"]) == (file_name, file_name)


_APPENDER = textwrap.dedent(
    """
    import sys, trio
    from trio_stream_session import Event, EventType, SQLiteSessionStore

    async def main(path, tag, count):
        async with SQLiteSessionStore(path) as store:
            for i in range(count):
                await store.append_event(Event(
                    type=EventType.MESSAGE_STREAMED, session_id="ses_shared",
                    data={"tag": tag, "i": i}))
                print(i, flush=True)

    trio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
    """
)


async def test_two_processes_append_without_collisions(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    async with SQLiteSessionStore(path):
        pass  # create the schema once
    async with trio.open_nursery() as nursery:
        for tag in ("a", "b"):
            nursery.start_soon(
                trio.run_process,
                [sys.executable, "-c", _APPENDER, str(path), tag, "150"],
            )
    async with SQLiteSessionStore(path) as store:
        events = await store.get_events("ses_shared")
    assert [e.sequence_number for e in events] == list(range(1, 301))
    for tag in ("a", "b"):
        assert [e.data["i"] for e in events if e.data["tag"] == tag] == list(range(150))


async def test_long_poll_sees_another_process(tmp_path: Path) -> None:
    path = tmp_path / "poll.sqlite3"
    async with SQLiteSessionStore(path) as store:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                trio.run_process, [sys.executable, "-c", _APPENDER, str(path), "x", "1"]
            )
            found = await store.get_events("ses_shared", wait=30)
        assert [e.data["tag"] for e in found] == ["x"]


async def test_kill_9_mid_run_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite3"
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", _APPENDER, str(path), "k", "100000"], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    acknowledged = -1
    buffer = b""
    while acknowledged < 200:
        chunk = await process.stdout.receive_some()
        assert chunk, "the appender died early"
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        if lines:
            acknowledged = int(lines[-1])
    os.kill(process.pid, signal.SIGKILL)
    await process.wait()
    await process.stdout.aclose()
    assert process.returncode == -signal.SIGKILL
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    async with SQLiteSessionStore(path) as store:
        events = await store.get_events("ses_shared")
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(events) >= acknowledged + 1
    assert [e.data["i"] for e in events] == list(range(len(events)))


async def test_append_is_atomic_under_cancellation(tmp_path: Path) -> None:
    async with SQLiteSessionStore(tmp_path / "c.sqlite3") as store:
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="s"))
        # Either written whole or not at all; the file stays consistent.
        events = await store.get_events("s")
        assert [e.sequence_number for e in events] in ([], [1])
