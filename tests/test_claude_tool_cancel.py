"""Cancelling a Claude run while a tool runs: nothing outlives the stream, the store says so."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import trio
from _claude_fixtures import claude, stored_types, work_until_cancelled

from trio_stream_session import (
    EventType,
    InMemorySessionStore,
    RunStatus,
    SessionError,
    open_stream_session,
    run_once,
)
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

PROMPT = {"prompt": "Do the slow thing"}


def task_names() -> list[str]:
    """The name of every task alive in this Trio run."""
    names: list[str] = []

    def walk(task: trio.lowlevel.Task) -> None:
        names.append(task.name)
        for nursery in task.child_nurseries:
            for child in nursery.child_tasks:
                walk(child)

    walk(trio.lowlevel.current_root_task())
    return names


def sleeping_tools() -> tuple[list[Callable[..., Any]], dict[str, trio.Event], threading.Event]:
    """An async tool and a sync tool that both block until cancelled, and the
    events they set once they are blocked."""
    sleeping = {"slow_async": trio.Event(), "slow_sync": trio.Event()}
    thread_done = threading.Event()

    async def slow_async() -> str:  # pragma: no cover - never returns
        """Sleeps until cancelled."""
        sleeping["slow_async"].set()
        await trio.sleep_forever()
        return "never"

    def slow_sync() -> str:
        """Polls until cancelled, in a worker thread."""
        trio.from_thread.run_sync(sleeping["slow_sync"].set)
        work_until_cancelled(thread_done)
        return "never"

    return [slow_async, slow_sync], sleeping, thread_done


@pytest.mark.parametrize("tool", ["slow_async", "slow_sync"])
async def test_closing_the_stream_while_a_tool_sleeps(tool: str) -> None:
    tools, sleeping, thread_done = sleeping_tools()
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(FakeResponse.tool_use(tool, {}, tool_id="toolu_slow"))
        async with claude(server, tools=tools) as adapter:
            async with open_stream_session(adapter=adapter, input=PROMPT, store=store) as stream:
                async for event in stream:
                    if event.type is EventType.MESSAGE_RECEIVED:
                        await sleeping[tool].wait()
                        assert any(n.startswith(f"tool:{tool}") for n in task_names())
                        break
            assert not [n for n in task_names() if n.startswith("tool:")]
            if tool == "slow_sync":
                assert thread_done.is_set()  # the thread was waited for, not abandoned
            run = await store.get_run(stream.run_id or "")
            session = await store.get_session(run.session_id)
            types = await stored_types(store, run.session_id)
    assert run.status is RunStatus.CANCELLED
    assert session.status.value == "cancelled"
    assert types[-2:] == ["run_cancelled", "session_cancelled"]
    assert "tool_call_started" in types
    assert "tool_call_completed" not in types and "tool_call_failed" not in types
    assert len(server.requests) == 1  # no second turn was started


async def test_adapter_cancel_stops_the_running_tools() -> None:
    tools, sleeping, thread_done = sleeping_tools()
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(FakeResponse.tool_uses([("slow_async", {}, "t1"), ("slow_sync", {}, "t2")]))
        async with claude(server, tools=tools) as adapter, trio.open_nursery() as nursery:
            run_ids: list[str] = []

            def note(event: Any) -> None:
                if event.run_id and not run_ids:
                    run_ids.append(event.run_id)

            async def cancel_when_sleeping() -> None:
                for event in sleeping.values():
                    await event.wait()
                await adapter.cancel(run_ids[0])

            nursery.start_soon(cancel_when_sleeping)
            with pytest.raises(SessionError) as caught:
                await run_once(store, adapter, PROMPT, event_callback=note)
            assert thread_done.is_set()
            assert not [n for n in task_names() if n.startswith("tool:")]
        (session,) = await store.list_sessions()
        types = await stored_types(store, session.id)
    assert caught.value.code == "cancelled"
    assert types[-2:] == ["run_cancelled", "session_cancelled"]
    assert types.count("tool_call_started") == 2
