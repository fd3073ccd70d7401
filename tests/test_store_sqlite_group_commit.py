"""SQLiteSessionStore group commit on a real file: batching, failures, cancellation, closing.

A second ``sqlite3`` connection holding the file's write lock keeps a commit
in flight (its ``BEGIN IMMEDIATE`` waits), so the writes made meanwhile
queue into the next batch: each batch's membership is exact, and every wait
is for readiness (``wait_all_tasks_blocked``), not for a guessed delay. The
statements the store runs are observed through its connection's trace
callback. These run on the real clock: worker-thread time confuses an
autojump MockClock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import (
    ErrorCode,
    Event,
    EventType,
    SessionError,
    SQLiteSessionStore,
    open_stream_session,
)
from trio_stream_session.testing import MockAdapter

Outcome = Event | SessionError | str


@contextmanager
def _write_locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the file's write lock until its ``COMMIT``."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def _traced(store: SQLiteSessionStore) -> list[str]:
    statements: list[str] = []
    assert store._conn is not None
    store._conn.set_trace_callback(statements.append)
    return statements


def _event(name: str, type: EventType = EventType.MESSAGE_STREAMED) -> Event:
    return Event(type=type, session_id="ses_g", data={"name": name})


class Appends:
    """Appends started one by one, each once the previous is blocked (queued or committing)."""

    def __init__(self, store: SQLiteSessionStore, nursery: trio.Nursery) -> None:
        self.store = store
        self.nursery = nursery
        self.outcomes: dict[str, Outcome] = {}
        self.scopes: dict[str, trio.CancelScope] = {}

    async def start(self, name: str, type: EventType = EventType.MESSAGE_STREAMED) -> None:
        self.scopes[name] = scope = trio.CancelScope()
        self.nursery.start_soon(self._append, name, type, scope)
        await trio.testing.wait_all_tasks_blocked()

    async def _append(self, name: str, type: EventType, scope: trio.CancelScope) -> None:
        self.outcomes[name] = "cancelled"
        with scope:
            try:
                self.outcomes[name] = await self.store.append_event(_event(name, type))
            except SessionError as exc:
                self.outcomes[name] = exc

    def event(self, name: str) -> Event:
        outcome = self.outcomes[name]
        assert isinstance(outcome, Event), outcome
        return outcome

    def error(self, name: str) -> SessionError:
        outcome = self.outcomes[name]
        assert isinstance(outcome, SessionError), outcome
        return outcome


async def test_concurrent_appends_share_transactions(tmp_path: Path) -> None:
    producers, count = 32, 10
    async with SQLiteSessionStore(tmp_path / "g.sqlite3") as store:
        statements = _traced(store)

        async def produce(index: int) -> None:
            append = store.appender(f"ses_{index % 4}", f"run_{index}")
            for n in range(count):
                await append(EventType.MESSAGE_STREAMED, datetime.now(UTC), {"n": n}, {})

        async with trio.open_nursery() as nursery:
            for index in range(producers):
                nursery.start_soon(produce, index)
        transactions = statements.count("BEGIN IMMEDIATE")
        assert transactions <= producers * count // 4, transactions
        for session in range(4):
            stored = await store.get_events(f"ses_{session}")
            assert [e.sequence_number for e in stored] == list(range(1, 8 * count + 1))


async def test_a_failing_write_fails_only_its_caller(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    async with SQLiteSessionStore(path, busy_timeout=60) as store:
        statements = _traced(store)
        with _write_locked(path) as other:
            other.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'error_occurred'"
                " BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"
            )
            async with trio.open_nursery() as nursery:
                appends = Appends(store, nursery)
                await appends.start("a")  # commits first, waiting for the lock
                await appends.start("b")
                await appends.start("c", EventType.ERROR_OCCURRED)
                await appends.start("d")
                other.execute("COMMIT")
        error = appends.error("c")
        assert error.code is ErrorCode.STORAGE_WRITE_FAILED
        assert "refused by a trigger" in str(error)
        assert isinstance(error.__cause__, sqlite3.IntegrityError)
        stored = await store.get_events("ses_g")
        assert stored == [appends.event(name) for name in "abd"]
        assert [e.sequence_number for e in stored] == [1, 2, 3]
        # a alone; b, c and d together, rolled back; then each alone.
        assert statements.count("BEGIN IMMEDIATE") == 5


async def test_a_busy_file_fails_every_write_of_the_batch(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    async with SQLiteSessionStore(path, busy_timeout=0.2) as store:
        statements = _traced(store)
        with _write_locked(path):
            outcomes: list[Outcome] = []

            async def append(name: str) -> None:
                try:
                    outcomes.append(await store.append_event(_event(name)))
                except SessionError as exc:
                    outcomes.append(exc)

            async with trio.open_nursery() as nursery:
                for name in "abc":  # started together: one batch
                    nursery.start_soon(append, name)
        assert len(outcomes) == 3
        for outcome in outcomes:
            assert isinstance(outcome, SessionError), outcome
            assert outcome.code is ErrorCode.STORAGE_WRITE_FAILED
            assert outcome.details["sqlite_error"].startswith("SQLITE_BUSY"), outcome.details
        assert len({id(outcome) for outcome in outcomes}) == 3
        # One transaction that could not begin: a failure to begin is not retried per write.
        assert statements.count("BEGIN IMMEDIATE") == 1
        assert (await store.append_event(_event("later"))).sequence_number == 1


async def test_cancelled_while_queued_is_withdrawn_while_committing_completes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.sqlite3"
    async with SQLiteSessionStore(path, busy_timeout=60) as store:
        with _write_locked(path) as other:
            async with trio.open_nursery() as nursery:
                appends = Appends(store, nursery)
                await appends.start("a")  # committing, waiting for the lock
                await appends.start("b")  # queued
                appends.scopes["a"].cancel()
                appends.scopes["b"].cancel()
                await trio.testing.wait_all_tasks_blocked()
                assert appends.outcomes == {"a": "cancelled", "b": "cancelled"}
                other.execute("COMMIT")
        assert appends.outcomes["b"] == "cancelled"
        committed = appends.event("a")  # returned normally although cancelled
        assert appends.scopes["a"].cancelled_caught is False
        assert await store.get_events("ses_g") == [committed]
        assert (await store.append_event(_event("later"))).sequence_number == 2


async def test_writes_queued_when_the_store_closes_fail_as_closed(tmp_path: Path) -> None:
    path = tmp_path / "closing.sqlite3"
    store = SQLiteSessionStore(path, busy_timeout=60)
    async with store:
        with _write_locked(path) as other:
            async with trio.open_nursery() as nursery:
                appends = Appends(store, nursery)
                await appends.start("a")  # committing, waiting for the lock
                await appends.start("b")  # queued
                nursery.start_soon(store.aclose)
                await trio.testing.wait_all_tasks_blocked()
                other.execute("COMMIT")
    assert appends.event("a").sequence_number == 1
    assert appends.error("b").code is ErrorCode.STORAGE_CONNECTION_FAILED
    async with SQLiteSessionStore(path) as reopened:
        assert await reopened.get_events("ses_g") == [appends.event("a")]


async def test_concurrent_sessions_on_one_store_keep_their_own_sequences(tmp_path: Path) -> None:
    async with SQLiteSessionStore(tmp_path / "sessions.sqlite3") as store:
        yielded: dict[str, list[Event]] = {}

        async def one() -> None:
            adapter = MockAdapter("burst", burst_events=20)
            async with open_stream_session(adapter=adapter, input=USER_INPUT, store=store) as s:
                events = [event async for event in s]
            assert s.session_id is not None
            yielded[s.session_id] = events

        async with trio.open_nursery() as nursery:
            for _ in range(16):
                nursery.start_soon(one)
        assert len(yielded) == 16
        for session_id, events in yielded.items():
            stored = await store.get_events(session_id)
            assert [e.sequence_number for e in stored] == list(range(1, len(stored) + 1))
            seen = {e.id for e in events}
            assert [e.id for e in events] == [e.id for e in stored if e.id in seen]  # in order
            streamed = [e for e in stored if e.type is EventType.MESSAGE_STREAMED]
            assert len(streamed) == 20
