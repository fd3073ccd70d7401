"""A Claude conversation over several runs: the history is rebuilt block for block from the
events of the earlier runs (``session.context["history"]``), never flattened to text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _claude_fixtures import claude

from trio_stream_session import (
    Event,
    EventType,
    InMemorySessionStore,
    SessionError,
    SQLiteSessionStore,
    run_once,
)
from trio_stream_session.adapters._claude_history import NOT_COMPLETED, history_turns
from trio_stream_session.adapters._claude_request import build_messages
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

SIGNATURE = "EuYBCkQYAiJAk7Vg2bR1signed-in-run-1"
THINKING = {"type": "thinking", "thinking": "They want the weather.", "signature": SIGNATURE}
TOOL_USE = {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Paris"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_w", "content": "Sunny, 21C"}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5"}


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    return "Sunny, 21C"


@pytest.mark.parametrize("durable", [False, True], ids=["memory", "sqlite"])
async def test_three_runs_send_the_whole_conversation_block_for_block(
    durable: bool, tmp_path: Path
) -> None:
    store: Any = SQLiteSessionStore(tmp_path / "s.db") if durable else InMemorySessionStore()
    async with FakeAnthropicServer() as server, store:
        server.script(
            FakeResponse.message([THINKING, TOOL_USE]),
            FakeResponse.text("It is sunny in Paris."),
            FakeResponse.message([REDACTED, {"type": "text", "text": "Rain tomorrow."}]),
            FakeResponse.text("You're welcome!"),
        )
        session_id: str | None = None
        async with claude(server, tools=[get_weather]) as adapter:
            for prompt in ("Weather in Paris?", "And tomorrow?", "Thanks!"):
                # One session, three runs: each run continues it (session_id=), and the
                # core hands the adapter the earlier runs' events as context["history"].
                result = await run_once(store, adapter, {"prompt": prompt}, session_id=session_id)
                assert session_id in (None, result.session_id)
                session_id = result.session_id
            runs = await store.list_runs(session_id)
            assert len(runs) == 3 and all(r.status == "completed" for r in runs)
            events = await store.get_events(session_id)
            assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))

    run_1 = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [THINKING, TOOL_USE]},
        {"role": "user", "content": [RESULT]},
        {"role": "assistant", "content": [{"type": "text", "text": "It is sunny in Paris."}]},
    ]
    run_2 = [
        {"role": "user", "content": "And tomorrow?"},
        {"role": "assistant", "content": [REDACTED, {"type": "text", "text": "Rain tomorrow."}]},
    ]
    bodies = [r.json["messages"] for r in server.requests]
    assert bodies[0] == run_1[:1]
    assert bodies[1] == run_1[:3]  # the tool round trip inside run 1
    assert bodies[2] == [*run_1, run_2[0]]
    assert bodies[3] == [*run_1, *run_2, {"role": "user", "content": "Thanks!"}]
    # The signature of run 1's thinking block reaches run 3's request unchanged.
    assert bodies[3][1]["content"][0]["signature"] == SIGNATURE
    assert result.output["content"] == "You're welcome!"


def event(kind: EventType, **data: Any) -> Event:
    return Event(type=kind, session_id="ses_1", data=data)


def test_a_tool_call_left_open_is_answered_and_empty_text_left_out() -> None:
    events = [
        event(EventType.MESSAGE_SENT, role="system", content="Be brief."),
        event(EventType.MESSAGE_SENT, role="user", content="Delete it"),
        event(EventType.TOOL_CALL_STARTED, tool_call_id="toolu_x", tool_name="rm"),
        event(
            EventType.MESSAGE_RECEIVED,
            content="",
            content_blocks=[{"type": "text", "text": ""}, {**TOOL_USE, "id": "toolu_x"}],
        ),
        # the run was cancelled while the tool ran: no tool_result went back
        event(EventType.RUN_CANCELLED, reason="cancelled"),
        event(EventType.MESSAGE_SENT, role="user", content="Never mind"),
        event(
            EventType.MESSAGE_RECEIVED, content="", content_blocks=[{"type": "text", "text": ""}]
        ),
        event(EventType.MESSAGE_RECEIVED, content="Plain text from an older adapter"),
    ]
    turns, system = history_turns(events)
    assert system == ["Be brief."]
    messages, system_parts = build_messages({"prompt": "Go on"}, history=events)
    assert system_parts == ["Be brief."]
    assert messages == [
        {"role": "user", "content": "Delete it"},
        {"role": "assistant", "content": [{**TOOL_USE, "id": "toolu_x"}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_x",
                    "content": NOT_COMPLETED,
                    "is_error": True,
                },
                {"type": "text", "text": "Never mind"},
            ],
        },
        {"role": "assistant", "content": "Plain text from an older adapter"},
        {"role": "user", "content": "Go on"},
    ]
    assert len(turns) == 4  # the empty refusal-like reply adds nothing


def test_a_tool_call_left_open_at_the_end_is_answered_before_the_new_input() -> None:
    events = [
        event(EventType.MESSAGE_SENT, role="user", content="Run it"),
        event(EventType.MESSAGE_RECEIVED, content="", content_blocks=[TOOL_USE]),
    ]
    messages, _ = build_messages(
        {"messages": [{"role": "user", "content": [RESULT]}]}, history=events
    )
    # The caller answered the call itself (a pass-through tool): nothing is added.
    assert messages == [
        {"role": "user", "content": "Run it"},
        {"role": "assistant", "content": [TOOL_USE]},
        {"role": "user", "content": [RESULT]},
    ]
    messages, _ = build_messages({"prompt": "What happened?"}, history=events)
    assert messages[-1] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_w",
                "content": NOT_COMPLETED,
                "is_error": True,
            },
            {"type": "text", "text": "What happened?"},
        ],
    }


def test_history_wins_over_a_flattened_transcript() -> None:
    events = [event(EventType.MESSAGE_SENT, role="user", content="First")]
    messages, _ = build_messages({"prompt": "Second"}, transcript=object(), history=events)
    assert messages == [{"role": "user", "content": "First\n\nSecond"}]


def test_a_history_that_cannot_be_read_is_an_error_not_an_empty_conversation() -> None:
    with pytest.raises(SessionError, match="must hold Event objects or their to_dict"):
        build_messages({"prompt": "x"}, history=["Event(id='evt_1', ...)"])
    with pytest.raises(SessionError, match="must be a list of events, got str"):
        build_messages({"prompt": "x"}, history="not events")
