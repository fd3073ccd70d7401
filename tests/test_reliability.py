"""Promises that broke under attack (issue 16), each over real parts.

Stores are real (in-memory, or SQLite on a real file); a full disk is
``RLIMIT_FSIZE`` in a real child process. Tests with SQLite run on the real
clock: worker-thread time confuses an autojump ``MockClock``.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import (
    Event,
    InMemorySessionStore,
    Run,
    RunStatus,
    Session,
    SessionError,
    SessionStatus,
    SQLiteSessionStore,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import ClaudeAdapter, CodexAdapter
from trio_stream_session.testing import MockAdapter


class ChildTaskAdapter(MockAdapter):
    """Emits from a task of its own nursery, as a tool loop does."""

    async def execute(self, run: Run, session: Session, *, emit: Any, **opts: Any) -> Any:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(emit, {"type": "run_started", "data": {}})
        await emit({"type": "message_streamed", "data": {"delta": "x"}})
        await trio.sleep_forever()


# -- 1. aclose() from the session's own task tree -----------------------------------------


@pytest.mark.parametrize("adapter", [MockAdapter("streaming", chunk_delay=1), ChildTaskAdapter()])
async def test_aclose_from_an_event_callback_closes_without_deadlock(
    autojump_clock: trio.testing.MockClock, adapter: MockAdapter
) -> None:
    # Before the fix this hung for good: the callback runs in the session's
    # task (or a task it started), and aclose() waited, shielded, for that task.
    store = InMemorySessionStore()
    streams: list[Any] = []
    seen: list[str] = []

    async def close_on_first(event: Event) -> None:
        seen.append(event.type)
        await streams[0].aclose()

    async with open_stream_session(
        adapter=adapter, input=USER_INPUT, store=store, run_opts={"event_callback": close_on_first}
    ) as stream:
        streams.append(stream)
        events = [event async for event in stream]
    assert seen == ["run_started"]
    assert [e.type for e in events] in ([], ["run_started"])
    assert stream.statistics().state == "closed"
    run = await store.get_run(stream.run_id or "")
    assert run.status is RunStatus.CANCELLED
    session = await store.get_session(stream.session_id or "")
    assert session.status is SessionStatus.CANCELLED


# -- 3. a store failure in the final flush is recorded ------------------------------------


class FlushFailingStore(SQLiteSessionStore):
    """A real SQLite store whose run-completing flush fails once."""

    async def flush(self, session: Session, run: Run, events: Sequence[Event] = ()) -> None:
        if run.status is RunStatus.COMPLETED:
            await trio.lowlevel.checkpoint()
            raise SessionError("storage_write_failed", "the completing flush failed")
        await super().flush(session, run, events)


async def test_a_failed_final_flush_records_the_run_and_session_as_failed(tmp_path: Path) -> None:
    async with FlushFailingStore(tmp_path / "s.db") as store:
        async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, store=store) as s:
            events = [event async for event in s]
        assert events[-1].type == "error_occurred"
        assert events[-1].data["error_code"] == "storage_write_failed"
        run = await store.get_run(s.run_id or "")
        assert run.status is RunStatus.FAILED
        assert run.error is not None and run.error["code"] == "storage_write_failed"
        session = await store.get_session(s.session_id or "")
        assert session.status is SessionStatus.FAILED
        stored = [e.type for e in await store.get_events(s.session_id or "")]
        assert stored[-2:] == ["run_failed", "session_failed"]


# -- 7. the outcome is recorded whatever shutdown_timeout is ------------------------------


@pytest.mark.parametrize("shutdown_timeout", [0, 0.001])
async def test_closing_records_the_outcome_even_with_no_shutdown_budget(
    tmp_path: Path, shutdown_timeout: float
) -> None:
    async with SQLiteSessionStore(tmp_path / "s.db") as store:
        async with open_stream_session(
            adapter=MockAdapter("streaming", chunk_delay=3600),
            input=USER_INPUT,
            store=store,
            shutdown_timeout=shutdown_timeout,
        ) as stream:
            first = await stream.receive()
        assert first.type == "run_started"
        run = await store.get_run(stream.run_id or "")
        assert run.status is RunStatus.CANCELLED
        session = await store.get_session(stream.session_id or "")
        assert session.status is SessionStatus.CANCELLED


# -- 8. bad arguments raise at the call, the same for every adapter -----------------------

ADAPTERS = [
    pytest.param(lambda: MockAdapter(), id="mock"),
    pytest.param(lambda: ClaudeAdapter(api_key="sk-ant-test"), id="claude"),
    pytest.param(lambda: CodexAdapter(executable="/nonexistent/codex"), id="codex"),
]
BAD_INPUTS: list[object] = [
    {},
    "",
    "   ",
    {"messages": "hi"},
    {"messages": []},
    {"messages": [{"role": "user", "content": ""}]},
    {"messages": [{"role": "robot", "content": "hi"}]},
    {"messages": [{"role": "system", "content": "be brief"}]},
    {"messages": ["hi"]},
    {"prompt": 5},
    {"prompt": ""},
]
BAD_RUN_OPTS: list[Mapping[str, Any]] = [
    {"agent_id": 5},
    {"agent_id": ""},
    {"adapter_opts": {"timeout": "x"}},
    {"adapter_opts": {"timeout": -1}},
    {"adapter_opts": {"timeout": 0}},
    {"adapter_opts": []},
    {"tags": "one-string"},
    {"metadata": "nope"},
    {"required_capabilities": ["no-such-capability"]},
    {"continuation": True},
    {"event_callback": 3},
]


@pytest.mark.parametrize("make_adapter", ADAPTERS)
@pytest.mark.parametrize("bad_input", BAD_INPUTS)
async def test_bad_input_raises_at_the_call_for_every_adapter(
    make_adapter: Any, bad_input: object
) -> None:
    store = InMemorySessionStore()
    with pytest.raises((TypeError, ValueError), match="input"):
        open_stream_session(adapter=make_adapter(), input=bad_input, store=store)  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="input") as info:
        await run_once(store, make_adapter(), bad_input)  # type: ignore[arg-type]
    assert info.value.code == "validation_error"
    assert await store.list_sessions() == []


@pytest.mark.parametrize("make_adapter", ADAPTERS)
@pytest.mark.parametrize("run_opts", BAD_RUN_OPTS)
async def test_bad_run_options_raise_at_the_call_for_every_adapter(
    make_adapter: Any, run_opts: Mapping[str, Any]
) -> None:
    name = next(iter(run_opts))
    store = InMemorySessionStore()
    with pytest.raises((TypeError, ValueError), match=name.split("_")[0]):
        open_stream_session(adapter=make_adapter(), input=USER_INPUT, run_opts=run_opts)
    with pytest.raises(SessionError) as info:
        await run_once(store, make_adapter(), USER_INPUT, **run_opts)
    assert info.value.code == "validation_error"
    assert await store.list_sessions() == []


async def test_agent_id_keyword_is_checked_at_the_call() -> None:
    with pytest.raises(TypeError, match="agent_id must be a string"):
        open_stream_session(adapter=MockAdapter(), input=USER_INPUT, agent_id=5)  # type: ignore[arg-type]


# -- 10. a full disk ends the stream with a storage error, nothing acknowledged lost -----

_FULL_DISK_CHILD = textwrap.dedent(
    """
    import json, resource, signal, sys, trio
    from trio_stream_session import SQLiteSessionStore, open_stream_session
    from trio_stream_session.testing import MockAdapter

    async def main(path, limit):
        async with SQLiteSessionStore(path) as store:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
            adapter = MockAdapter("streaming", chunk_delay=0, response={"content": "x" * 40_000})
            delivered = []
            async with open_stream_session(
                adapter=adapter, input={"prompt": "hi"}, store=store
            ) as stream:
                async for event in stream:
                    delivered.append({"id": event.id, "type": event.type.value,
                                      "seq": event.sequence_number, "data": event.data})
            print(json.dumps({"delivered": delivered, "session_id": stream.session_id,
                              "run_id": stream.run_id}), flush=True)

    trio.run(main, sys.argv[1], int(sys.argv[2]))
    """
)


async def test_a_full_disk_ends_the_stream_with_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"
    with trio.fail_after(120):
        done = await trio.run_process(
            [sys.executable, "-c", _FULL_DISK_CHILD, str(path), str(256 * 1024)],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout)
    delivered = report["delivered"]
    terminal = delivered[-1]
    assert terminal["type"] == "error_occurred"
    assert terminal["data"]["error_code"] == "storage_write_failed"
    streamed = [e for e in delivered[:-1] if e["type"] == "message_streamed"]
    assert 0 < len(streamed) < 4000  # the disk filled up part way
    # Every delivered event was acknowledged by the store, and is there.
    async with SQLiteSessionStore(path, read_only=True) as store:
        stored = {e.id for e in await store.get_events(report["session_id"])}
        assert {e["id"] for e in delivered[:-1]} <= stored
        run = await store.get_run(report["run_id"])
        # The outcome is recorded as far as the full disk allows: failed, or
        # still running when even that write could not be made.
        assert run.status in (RunStatus.FAILED, RunStatus.RUNNING)
