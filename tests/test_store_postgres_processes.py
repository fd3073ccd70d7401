"""PostgresSessionStore across real processes: concurrent writers, a reader woken by
another process's append, a writer killed with SIGKILL, a server restarted mid-session.

Child processes run ``tests/_postgres_child.py``; every test waits for what a child
says (or for the server's own view, ``pg_stat_activity``), never for a guessed delay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from _postgres import drop_schemas, throwaway_server

from trio_stream_session import Event, EventType, PostgresSessionStore, SessionError

CHILD = str(Path(__file__).with_name("_postgres_child.py"))
NewStore = Callable[..., PostgresSessionStore]


class Child:
    """A child process whose stdout is read line by line."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self._buffer = b""

    async def line(self) -> str:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                raise AssertionError(f"the child ended early (exit {self.process.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    async def words(self) -> list[str]:
        return (await self.line()).split()


@asynccontextmanager
async def child(*args: str) -> AsyncIterator[Child]:
    process = await trio.lowlevel.open_process(
        [sys.executable, CHILD, *args], stdout=subprocess.PIPE
    )
    try:
        yield Child(process)
    finally:
        if process.poll() is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            assert process.stdout is not None
            await process.stdout.aclose()


async def _new_schema(new_postgres_store: NewStore) -> str:
    async with new_postgres_store() as store:  # creates the schema once
        return store.schema


async def test_four_processes_append_gap_free(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    schema = await _new_schema(new_postgres_store)
    sessions = ["ses_shared_a", "ses_shared_b"]
    acks: list[list[str]] = []

    async def writer() -> None:
        async with child("write", postgres_dsn, schema, "200", "4", *sessions) as proc:
            while (words := await proc.words()) != ["done"]:
                acks.append(words)
            assert await proc.process.wait() == 0

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(writer)
    assert len(acks) == 800
    async with new_postgres_store(schema=schema) as store:
        for session_id in sessions:
            events = await store.get_events(session_id)
            assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
            acked = {(w[1], int(w[3])) for w in acks if w[2] == session_id}
            assert {(e.id, e.sequence_number) for e in events} == acked
            assert await store.get_latest_sequence(session_id) == len(events) == 400


async def _wait_for_reader(dsn: str, application: str) -> None:
    """Until the reader's store LISTENs and its reader has fetched once: its long poll
    is then waiting (or about to), and any later append must wake it."""
    import psycopg

    query = (
        "SELECT count(*) FILTER (WHERE query LIKE 'LISTEN%%'),"
        " count(*) FILTER (WHERE query LIKE 'SELECT seq, record%%')"
        " FROM pg_stat_activity WHERE application_name = %s"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(query, (application,)).fetchone()
            if row is not None and row[0] >= 1 and row[1] >= 1:
                return
            await trio.sleep(0.02)


async def test_long_poll_woken_by_another_process(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    schema = await _new_schema(new_postgres_store)
    application = f"tss-reader-{uuid.uuid4().hex[:8]}"
    reader_dsn = f"{postgres_dsn}?application_name={application}"
    # A 60 s fallback poll: only a NOTIFY wakes the reader in time.
    async with child("tail", reader_dsn, schema, "ses_tail", "2", "60") as reader:
        assert await reader.line() == "ready"
        with trio.fail_after(60):
            await _wait_for_reader(postgres_dsn, application)
        for expected in (1, 2):
            start = trio.current_time()
            async with child("write", postgres_dsn, schema, "1", "1", "ses_tail") as writer:
                ack = await writer.words()
                assert await writer.process.wait() == 0
            with trio.fail_after(20):
                got = await reader.words()
            assert got == ["got", ack[1], str(expected)]
            assert trio.current_time() - start < 20
        assert await reader.process.wait() == 0


async def test_kill_9_keeps_every_acknowledged_event(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    schema = await _new_schema(new_postgres_store)
    acked: dict[str, int] = {}
    async with child("stream", postgres_dsn, schema, "ses_killed") as writer:
        with trio.fail_after(60):
            while len(acked) < 100:
                words = await writer.words()
                acked[words[1]] = int(words[3])
        os.kill(writer.process.pid, signal.SIGKILL)
        assert await writer.process.wait() == -signal.SIGKILL
    async with new_postgres_store(schema=schema) as store:
        events = await store.get_events("ses_killed")
    stored = {e.id: e.sequence_number for e in events}
    assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
    assert {k: stored.get(k) for k in acked} == acked  # every acknowledged event, as acked


def _event(session_id: str = "ses_r") -> Event:
    return Event(type=EventType.MESSAGE_STREAMED, session_id=session_id)


async def test_server_restart_mid_session() -> None:
    server = throwaway_server()  # a private one: this test stops it
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        store = PostgresSessionStore(server.dsn, schema=schema, connect_timeout=2)
        async with store:
            assert (await store.append_event(_event())).sequence_number == 1
            outcome: list[object] = []

            async def reader() -> None:
                try:
                    outcome.append(await store.get_events("ses_r", after=1, wait=120))
                except SessionError as exc:
                    outcome.append(exc.code.value)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(reader)
                await trio.to_thread.run_sync(server.stop)
                with trio.fail_after(30):  # a clear error, never a hang
                    with pytest.raises(SessionError) as failed:
                        await store.append_event(_event())
                    assert failed.value.code.value == "storage_connection_failed"
                    await trio.to_thread.run_sync(server.start)
                    stored = await store.append_event(_event())  # reconnected
            assert stored.sequence_number == 2
            # The reader either saw the append or failed clearly: it did not hang.
            assert outcome in ([[stored]], ["storage_connection_failed"]), outcome
            events = await store.get_events("ses_r")
            assert [e.sequence_number for e in events] == [1, 2]
    finally:
        await trio.to_thread.run_sync(server.destroy)


@pytest.mark.stress
async def test_eight_processes_long_run(new_postgres_store: NewStore, postgres_dsn: str) -> None:
    schema = await _new_schema(new_postgres_store)
    sessions = [f"ses_{i}" for i in range(4)]

    async def writer() -> None:
        async with child("write", postgres_dsn, schema, "2000", "8", *sessions) as proc:
            while await proc.line() != "done":
                pass
            assert await proc.process.wait() == 0

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(writer)
    async with new_postgres_store(schema=schema) as store:
        for session_id in sessions:
            events = await store.get_events(session_id)
            assert [e.sequence_number for e in events] == list(range(1, 4001))


async def test_the_workers_example_runs_as_written(postgres_dsn: str) -> None:
    example = Path(__file__).parent.parent / "examples" / "postgres_workers.py"
    try:
        with trio.fail_after(120):
            done = await trio.run_process(
                [sys.executable, str(example), "demo", postgres_dsn], capture_stdout=True
            )
    finally:
        drop_schemas(postgres_dsn, ["workers_demo"])
    lines = done.stdout.decode().splitlines()
    assert lines[-1] == "3 workers done"
    ended = [line.split()[0] for line in lines if line.endswith("session_completed")]
    assert len(ended) == len(set(ended)) == 9  # 3 workers x 3 sessions, each tailed to its end
