"""MockAdapter checks its input as the core checks it for every adapter.

``run_once`` and the stream sessions refuse a bad input at the call, whatever
the adapter; ``MockAdapter.execute`` driven directly (as an adapter's own unit
test would) refuses the same inputs with the same ``SessionError``, so a test
written against the mock fails where a real provider's run would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import trio

from trio_stream_session import (
    ErrorCode,
    Event,
    InMemorySessionStore,
    Run,
    Session,
    SessionError,
    run_once,
)
from trio_stream_session.testing import MockAdapter

BAD_INPUTS: list[Any] = [
    None,
    42,
    {},
    {"prompt": ""},
    {"prompt": "   "},
    {"prompt": 7},
    {"messages": []},
    {"messages": "hello"},
    {"messages": [{"role": "user", "content": ""}]},
    {"messages": [{"role": "robot", "content": "hi"}]},
    {"messages": [{"role": "user", "content": []}]},
    {"messages": [{"role": "system", "content": "be brief"}]},
    {"messages": ["hello"]},
]


async def _never_emit(raw: Mapping[str, Any]) -> Event:
    raise AssertionError(f"nothing may be emitted for a bad input, got {raw!r}")


async def _direct_error(value: Any) -> SessionError:
    adapter = MockAdapter("streaming")
    session = Session(agent_id="agent")
    run = Run(session_id=session.id, input=value).with_status("running")
    with pytest.raises(SessionError) as caught:
        await adapter.execute(run, session, emit=_never_emit)
    assert adapter.executions == []
    return caught.value


async def _core_error(value: Any) -> SessionError:
    async with InMemorySessionStore() as store:
        with pytest.raises(SessionError) as caught:
            await run_once(store, MockAdapter(), value)
        assert await store.list_sessions() == []  # refused before anything was stored
    return caught.value


@pytest.mark.parametrize("value", BAD_INPUTS, ids=repr)
async def test_bad_input_is_the_same_validation_error_as_the_core_gives(value: Any) -> None:
    direct = await _direct_error(value)
    core = await _core_error(value)
    assert direct.code is ErrorCode.VALIDATION_ERROR
    assert (direct.code, direct.message) == (core.code, core.message)
    assert direct.message.startswith("input must be")


@pytest.mark.parametrize(
    "value",
    [
        "a prompt string",
        {"prompt": "hi"},
        {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
    ],
    ids=repr,
)
async def test_good_input_runs(value: Any) -> None:
    adapter = MockAdapter()
    session = Session(agent_id="agent")
    run = Run(session_id=session.id, input=value).with_status("running")
    emitted: list[str] = []

    async def emit(raw: Mapping[str, Any]) -> Event:
        await trio.lowlevel.checkpoint()
        emitted.append(str(raw["type"]))
        return Event(type=raw["type"], session_id=session.id, data=raw.get("data", {}))

    result = await adapter.execute(run, session, emit=emit)
    assert result["output"]["content"] == "Mock response"
    assert emitted == ["run_started", "message_received", "run_completed"]
