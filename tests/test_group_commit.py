"""GroupCommit and write_batch: how concurrent writes are batched, cancelled and failed.

The commit side here is a gate the test opens, so each batch's membership is
exact; ``write_batch`` runs on a real SQLite connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import trio
import trio.testing

from trio_stream_session import ErrorCode, SessionError
from trio_stream_session.stores._group_commit import GroupCommit, Write, write_batch
from trio_stream_session.stores._sqlite_file import WriteTransaction


class Gate:
    """The commit side: records each batch's writes and holds it until opened."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.open = trio.Event()
        self.fail_with: BaseException | None = None

    async def commit(self, writes: Sequence[Write[None, Any]]) -> None:
        self.batches.append([write.apply(None) for write in writes])
        await self.open.wait()
        self.open = trio.Event()
        if self.fail_with is not None:
            raise self.fail_with
        for write in writes:
            write.succeed(write.apply(None))


def _label(name: str) -> Any:
    return lambda _conn: name


async def test_a_lone_write_commits_at_once() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    gate.open.set()
    with trio.testing.assert_checkpoints():
        assert await group.submit(_label("a")) == "a"
    assert gate.batches == [["a"]]


async def test_writes_started_together_share_one_commit() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    gate.open.set()
    results: dict[str, str] = {}

    async def submit(name: str) -> None:
        results[name] = await group.submit(_label(name))

    async with trio.open_nursery() as nursery:
        for name in "abcd":
            nursery.start_soon(submit, name)
    assert results == {name: name for name in "abcd"}
    assert [sorted(batch) for batch in gate.batches] == [list("abcd")]


async def test_writes_queued_during_a_commit_share_the_next_one() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    results: dict[str, str] = {}

    async def submit(name: str) -> None:
        results[name] = await group.submit(_label(name))

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c", "d"):
            nursery.start_soon(submit, name)
            await trio.testing.wait_all_tasks_blocked()
        assert gate.batches == [["a"]]  # b, c, d queue while a commits
        gate.open.set()
        await trio.testing.wait_all_tasks_blocked()
        assert results == {"a": "a"}
        assert gate.batches == [["a"], ["b", "c", "d"]]
        gate.open.set()
    assert results == {name: name for name in "abcd"}


async def test_a_write_cancelled_while_queued_is_withdrawn() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    outcomes: dict[str, str] = {}

    async def submit(name: str, scope: trio.CancelScope) -> None:
        with scope:
            outcomes[name] = await group.submit(_label(name))
            return
        outcomes[name] = "cancelled"

    scopes = {name: trio.CancelScope() for name in ("a", "b", "c")}
    async with trio.open_nursery() as nursery:
        for name, scope in scopes.items():
            nursery.start_soon(submit, name, scope)
            await trio.testing.wait_all_tasks_blocked()
        scopes["b"].cancel()  # queued: withdrawn at once
        await trio.testing.wait_all_tasks_blocked()
        assert outcomes == {"b": "cancelled"}
        gate.open.set()
        await trio.testing.wait_all_tasks_blocked()
        gate.open.set()
    assert gate.batches == [["a"], ["c"]]
    assert outcomes == {"a": "a", "b": "cancelled", "c": "c"}


async def test_a_write_cancelled_while_committing_completes_and_returns() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    outcomes: dict[str, object] = {}
    uncancelled: list[str] = []

    async def submit(name: str, scope: trio.CancelScope) -> None:
        with scope:
            outcomes[name] = await group.submit(_label(name))
            await trio.lowlevel.checkpoint()  # a cancellation lands here
            uncancelled.append(name)

    scopes = {name: trio.CancelScope() for name in ("a", "b", "c")}
    async with trio.open_nursery() as nursery:
        for name, scope in scopes.items():
            nursery.start_soon(submit, name, scope)
            await trio.testing.wait_all_tasks_blocked()
        gate.open.set()  # a's commit ends; b and c's batch starts
        await trio.testing.wait_all_tasks_blocked()
        assert gate.batches == [["a"], ["b", "c"]]
        scopes["b"].cancel()  # b leads or follows: either way its write is in flight
        scopes["c"].cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert "b" not in outcomes and "c" not in outcomes
        gate.open.set()
    assert outcomes == {"a": "a", "b": "b", "c": "c"}
    assert uncancelled == ["a"]


async def test_a_woken_leader_cancelled_hands_the_lead_on() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    outcomes: dict[str, str] = {}
    scopes = {name: trio.CancelScope() for name in ("a", "b", "c")}

    async def submit(name: str) -> None:
        with scopes[name]:
            outcomes[name] = await group.submit(_label(name))
            if name == "a":
                # b was woken to lead the next batch but has not run yet.
                scopes["b"].cancel()
            return
        outcomes[name] = "cancelled"

    async with trio.open_nursery() as nursery:
        for name in scopes:
            nursery.start_soon(submit, name)
            await trio.testing.wait_all_tasks_blocked()
        gate.open.set()
        await trio.testing.wait_all_tasks_blocked()
        assert gate.batches == [["a"], ["c"]]  # c leads in b's place
        gate.open.set()
    assert outcomes == {"a": "a", "b": "cancelled", "c": "c"}


async def test_a_failed_commit_fails_its_batch_only() -> None:
    gate = Gate()
    group: GroupCommit[None] = GroupCommit(gate.commit)
    outcomes: dict[str, object] = {}

    async def submit(name: str) -> None:
        try:
            outcomes[name] = await group.submit(_label(name))
        except RuntimeError as exc:
            outcomes[name] = exc

    boom = RuntimeError("commit failed")
    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c"):
            nursery.start_soon(submit, name)
            await trio.testing.wait_all_tasks_blocked()
        gate.open.set()
        await trio.testing.wait_all_tasks_blocked()
        gate.fail_with = boom  # b and c's commit raises
        gate.open.set()
    assert outcomes == {"a": "a", "b": boom, "c": boom}
    gate.fail_with = None
    gate.open.set()
    assert await group.submit(_label("d")) == "d"


# -- write_batch on a real SQLite connection ---------------------------------------------


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    connection.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    yield connection
    connection.close()


def _insert(value: int) -> Write[sqlite3.Connection, int]:
    def apply(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t VALUES (?)", (value,))
        return value

    return Write(apply)


def _rows(conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute("SELECT x FROM t ORDER BY x")]


def test_write_batch_commits_every_write_together(conn: sqlite3.Connection) -> None:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    writes = [_insert(i) for i in (1, 2, 3)]
    write_batch(conn, writes, WriteTransaction("mem"))
    assert [w.unwrap() for w in writes] == [1, 2, 3]
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1
    assert _rows(conn) == [1, 2, 3]


def test_a_failing_write_fails_alone(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO t VALUES (2)")
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    writes = [_insert(1), _insert(2), _insert(3)]  # 2 breaks the UNIQUE constraint
    write_batch(conn, writes, WriteTransaction("mem"))
    assert writes[0].unwrap() == 1 and writes[2].unwrap() == 3
    with pytest.raises(SessionError) as info:
        writes[1].unwrap()
    assert info.value.code is ErrorCode.STORAGE_WRITE_FAILED
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert _rows(conn) == [1, 2, 3]
    # The shared attempt, then each write in its own transaction.
    assert statements.count("BEGIN IMMEDIATE") == 4
    assert not conn.in_transaction


def test_a_transaction_that_cannot_begin_fails_every_write(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")  # BEGIN IMMEDIATE inside a transaction fails
    writes = [_insert(1), _insert(2)]
    write_batch(conn, writes, WriteTransaction("mem"))
    errors = [w.error for w in writes]
    assert all(isinstance(e, SessionError) for e in errors)
    assert errors[0] is not errors[1]  # each caller raises its own exception
    assert _rows(conn) == []


def test_a_non_database_error_in_a_write_is_its_own(conn: sqlite3.Connection) -> None:
    def broken(conn: sqlite3.Connection) -> int:
        raise ValueError("cannot encode")

    writes = [_insert(1), Write(broken), _insert(3)]
    write_batch(conn, writes, WriteTransaction("mem"))
    assert isinstance(writes[1].error, ValueError)
    assert [writes[0].unwrap(), writes[2].unwrap()] == [1, 3]
    assert _rows(conn) == [1, 3]
