"""PostgresSessionStore: the shared conformance suite against a real server, plus what
only this store has (jsonb text, migrations, the pool, the DSN kept secret).

These run on the real clock: worker-thread time confuses an autojump MockClock.
"""

from __future__ import annotations

import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import trio

from trio_stream_session import (
    ErrorCode,
    Event,
    EventType,
    PostgresSessionStore,
    Run,
    Session,
    SessionError,
    open_stream_session,
)
from trio_stream_session.stores._postgres import describe_dsn
from trio_stream_session.stores._postgres_schema import SCHEMA_VERSION
from trio_stream_session.testing import MockAdapter, store_conformance

CHECKS = store_conformance.CHECKS
NewStore = Callable[..., PostgresSessionStore]


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
async def test_conformance(check: store_conformance.Check, new_postgres_store: NewStore) -> None:
    await check(new_postgres_store)


def _event(session_id: str = "ses_a", **kw: Any) -> Event:
    return Event(type=EventType.TOOL_CALL_COMPLETED, session_id=session_id, **kw)


def _sql(dsn: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


# -- text and jsonb ------------------------------------------------------------------------


async def test_text_jsonb_cannot_hold_round_trips(new_postgres_store: NewStore) -> None:
    awkward = {
        "nul": "a\x00b",
        "lone": "caf\udce9 \ud83d",
        "mark": "\ue000 starts with the mark",
        "\x00key\ud800": ["\ue000", 1e300, -1e16, 2.5e-300, 12345678901234567890],
        "emoji": "😀 é",
    }
    async with new_postgres_store() as store:
        stored = await store.append_event(_event(data=awkward, metadata={"m": "\x00"}))
        [got] = await store.get_events("ses_a")
    assert got == stored
    assert got.data == awkward and got.metadata == {"m": "\x00"}
    assert type(got.data["\x00key\ud800"][1]) is float
    assert type(got.data["\x00key\ud800"][4]) is int


async def test_payloads_are_queryable_jsonb(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    async with new_postgres_store() as store:
        await store.append_event(_event(run_id="run_1", data={"tool_name": "bash", "n": 2}))
        schema = store.schema
    rows = _sql(
        postgres_dsn,
        f"SELECT run_id, type, seq, record->'data'->>'tool_name', (record->'data'->>'n')::int,"
        f" jsonb_typeof(record), (record->>'sequence_number')::int FROM {schema}.events",
    )
    assert rows == [("run_1", "tool_call_completed", 1, "bash", 2, "object", 1)]


# -- schema and migrations -----------------------------------------------------------------


async def test_schema_is_versioned_and_a_newer_one_refused(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    async with new_postgres_store() as store:
        schema = store.schema
        await store.append_event(_event())
    assert _sql(postgres_dsn, f"SELECT version FROM {schema}.schema_version") == [(SCHEMA_VERSION,)]
    async with new_postgres_store(schema=schema) as again:  # reopening changes nothing
        assert await again.get_latest_sequence("ses_a") == 1
    _sql(postgres_dsn, f"UPDATE {schema}.schema_version SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SessionError) as refused:
        async with new_postgres_store(schema=schema):
            pass
    assert refused.value.code is ErrorCode.MIGRATION_REQUIRED
    assert "upgrade" in refused.value.message


async def test_processes_opening_a_new_schema_at_once_agree(new_postgres_store: NewStore) -> None:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    stores = [new_postgres_store(schema=schema) for _ in range(6)]
    async with trio.open_nursery() as nursery:
        for store in stores:
            nursery.start_soon(store.__aenter__)
    try:
        for i, store in enumerate(stores):
            assert (await store.append_event(_event())).sequence_number == i + 1
    finally:
        for store in stores:
            await store.aclose()


def test_schema_name_is_checked() -> None:
    for bad in ("Upper", "semi;colon", "", "x" * 49, 3):
        with pytest.raises(ValueError, match="schema must be"):
            PostgresSessionStore("postgresql://u@h/db", schema=bad)  # type: ignore[arg-type]


# -- group commit, bounds, cancellation ----------------------------------------------------


async def test_concurrent_appends_share_transactions(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    async with new_postgres_store() as store:
        async with trio.open_nursery() as nursery:
            for i in range(200):
                nursery.start_soon(store.append_event, _event(f"ses_{i % 3}"))
        schema = store.schema
        for i in range(3):
            seqs = [e.sequence_number for e in await store.get_events(f"ses_{i}")]
            assert seqs == list(range(1, len(seqs) + 1))
    # Each row's xmin is the transaction that inserted it: far fewer than one per event.
    [(events, transactions)] = _sql(
        postgres_dsn, f"SELECT count(*), count(DISTINCT xmin::text) FROM {schema}.events"
    )
    assert events == 200
    assert transactions < 100, transactions


async def test_a_blocked_statement_is_bounded(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    import psycopg

    async with new_postgres_store(lock_timeout=0.2) as store:
        with psycopg.connect(postgres_dsn) as blocker:
            blocker.execute(f"LOCK TABLE {store.schema}.sessions IN ACCESS EXCLUSIVE MODE")
            with trio.fail_after(20), pytest.raises(SessionError) as failed:
                await store.save_session(Session(agent_id="a"))
            blocker.rollback()
        assert failed.value.code is ErrorCode.STORAGE_WRITE_FAILED
        assert failed.value.details == {"sqlstate": "55P03"}  # lock_not_available
        await store.save_session(Session(agent_id="a"))  # the pool recovered


async def test_cancelled_callers_leave_no_transaction_open(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    application = f"tss-cancel-{uuid.uuid4().hex[:8]}"
    async with new_postgres_store(dsn=f"{postgres_dsn}?application_name={application}") as store:
        session = Session(agent_id="a")
        run = Run(session_id=session.id)
        for i in range(60):
            with trio.move_on_after(0.0005 * (i % 12)):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(store.append_event, _event())
                    nursery.start_soon(store.flush, session, run, [_event()])
                    nursery.start_soon(partial(store.get_events, "ses_a", wait=5))
        events = await store.get_events("ses_a")
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
        busy = _sql(
            postgres_dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state <> 'idle'",
            (application,),
        )
        assert busy == [(0,)]
        await store.append_event(_event())


async def test_a_closed_store_refuses_calls_and_closes_its_connections(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    application = f"tss-close-{uuid.uuid4().hex[:8]}"
    store = new_postgres_store(dsn=f"{postgres_dsn}?application_name={application}")
    async with store:
        await store.append_event(_event())
        assert await store.get_events("ses_a", after=1, wait=0.05) == []  # opens the listener
    assert store.closed and "closed" in repr(store)
    with pytest.raises(SessionError) as refused:
        await store.append_event(_event())
    assert refused.value.code is ErrorCode.STORAGE_CONNECTION_FAILED
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    with trio.fail_after(20):
        # The server's own view, which has no event to wait on.
        while _sql(postgres_dsn, query, (application,)) != [(0,)]:  # noqa: ASYNC110
            await trio.sleep(0.02)


# -- the DSN and its password ----------------------------------------------------------------

PASSWORD = "s3cr3t-Pa55"


def _no_password(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text), text


async def test_a_wrong_dsn_fails_fast_without_showing_the_password(postgres_dsn: str) -> None:
    from _postgres import free_port

    wrong = [
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/postgres",  # nothing there
        postgres_dsn.replace("postgres@", f"postgres:{PASSWORD}@").rsplit("/", 1)[0]
        + "/no_such_db",
        f"host=127.0.0.1 port={free_port()} user=postgres password={PASSWORD} dbname=x",
    ]
    for dsn in wrong:
        store = PostgresSessionStore(dsn, connect_timeout=2)
        _no_password(repr(store))
        start = trio.current_time()
        with pytest.raises(SessionError) as failed:
            async with store:
                pass
        assert trio.current_time() - start < 10
        assert failed.value.code is ErrorCode.STORAGE_CONNECTION_FAILED
        assert "postgresql://postgres@127.0.0.1:" in failed.value.message
        _no_password(
            failed.value,
            repr(failed.value),
            failed.value.details,
            "".join(traceback.format_exception(failed.value)),
            repr(store),
        )


async def test_the_password_stays_out_of_a_session_stream(postgres_dsn: str) -> None:
    from _postgres import free_port

    dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(SessionError) as failed:  # owned: opening fails
        async with open_stream_session(
            adapter=MockAdapter(), input="hi", store=(PostgresSessionStore, {"dsn": dsn})
        ):
            pass
    assert failed.value.code is ErrorCode.STORAGE_CONNECTION_FAILED
    _no_password("".join(traceback.format_exception(failed.value)))
    borrowed = PostgresSessionStore(dsn, connect_timeout=2)
    async with open_stream_session(adapter=MockAdapter(), input="hi", store=borrowed) as stream:
        events = [e async for e in stream]
    assert events[-1].type is EventType.ERROR_OCCURRED
    assert events[-1].data["error_code"] == "storage_connection_failed"
    _no_password(*(e.to_dict() for e in events))


def test_a_malformed_dsn_is_a_value_error_that_does_not_quote_it() -> None:
    for dsn in (f"postgresql:/u:{PASSWORD}@h nonsense", f"password={PASSWORD} port"):
        with pytest.raises(ValueError, match="not a valid PostgreSQL connection string") as bad:
            PostgresSessionStore(dsn)
        _no_password(bad.value)
    assert describe_dsn(f"postgresql://bob:{PASSWORD}@db.example:5433/app?sslmode=require") == (
        "postgresql://bob@db.example:5433/app"
    )


def test_without_psycopg_import_works_and_construction_names_the_extra() -> None:
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import trio_stream_session as t\n"
        "assert t.PostgresSessionStore is t.stores.PostgresSessionStore\n"
        "try:\n"
        "    t.PostgresSessionStore('postgresql://u@h/db')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "trio_stream_session[postgres]" in done.stdout, done


async def _until_listening_again(dsn: str, query: str, application: str, old: int) -> None:
    """The server's own view, which has no event to wait on: a new LISTEN backend."""
    while [row[0] for row in _sql(dsn, query, (application,))] in ([], [old]):  # noqa: ASYNC110
        await trio.sleep(0.02)


async def test_a_lost_listening_connection_is_replaced(
    new_postgres_store: NewStore, postgres_dsn: str
) -> None:
    application = f"tss-listen-{uuid.uuid4().hex[:8]}"
    listening = (
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND query LIKE 'LISTEN%%'"
    )
    # A one-minute fallback poll: only a NOTIFY wakes the reader in time.
    reader = new_postgres_store(
        dsn=f"{postgres_dsn}?application_name={application}", poll_interval=60
    )
    async with reader, new_postgres_store(schema=reader.schema) as writer:
        assert await reader.get_events("ses_l", wait=0.01) == []  # now listening
        [(first,)] = _sql(postgres_dsn, listening, (application,))
        _sql(postgres_dsn, "SELECT pg_terminate_backend(%s)", (first,))
        found: list[Event] = []

        async def read() -> None:
            found.extend(await reader.get_events("ses_l", wait=120))

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read)
                await _until_listening_again(postgres_dsn, listening, application, first)
                stored = await writer.append_event(_event("ses_l"))
        assert found == [stored]
