"""ClaudeAdapter's tool loop end to end: the real ``anthropic`` client, real loopback HTTP,
the fake Messages API, real stores. Every request body the model would see is checked."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from _claude_fixtures import API_KEY, claude, stored_types

from trio_stream_session import InMemorySessionStore, SessionError, run_once
from trio_stream_session.adapters import Tool, ToolCall
from trio_stream_session.adapters._claude_loop import DENIED
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

PROMPT = {"prompt": "Plan my day in Paris"}
USER = {"role": "user", "content": PROMPT["prompt"]}


class Rendezvous:
    """Two tools that can only finish together: proof that they run concurrently."""

    def __init__(self) -> None:
        self.arrived = {"weather": trio.Event(), "time": trio.Event()}

    async def meet(self, me: str, other: str) -> None:
        self.arrived[me].set()
        with trio.fail_after(10):
            await self.arrived[other].wait()


def make_tools(meeting: Rendezvous) -> list[Any]:
    async def get_weather(city: str) -> str:
        """Current weather for a city."""
        await meeting.meet("weather", "time")
        return f"Sunny in {city}"

    async def get_time(zone: str) -> dict[str, str]:
        """Current time in a time zone."""
        await meeting.meet("time", "weather")
        return {"zone": zone, "time": "09:30"}

    def convert(amount: float, currency: str) -> float:
        """Convert euros (runs in a worker thread)."""
        return round(amount * 1.1, 2) if currency == "USD" else amount

    async def flaky() -> str:
        """Always fails."""
        raise ConnectionError("upstream said no")

    async def delete_file(path: str) -> str:  # pragma: no cover - never approved
        """Delete a file."""
        raise AssertionError("a denied tool must not run")

    return [get_weather, get_time, convert, flaky, delete_file]


def policy(call: ToolCall) -> bool:
    return call.name != "delete_file"


TURN_1 = [
    {"type": "text", "text": "Let me check."},
    {"type": "tool_use", "id": "toolu_w", "name": "get_weather", "input": {"city": "Paris"}},
    {"type": "tool_use", "id": "toolu_t", "name": "get_time", "input": {"zone": "Europe/Paris"}},
]
TURN_2 = [
    {"type": "tool_use", "id": "toolu_f", "name": "flaky", "input": {}},
    {"type": "tool_use", "id": "toolu_d", "name": "delete_file", "input": {"path": "/tmp/x"}},
    {
        "type": "tool_use",
        "id": "toolu_c",
        "name": "convert",
        "input": {"amount": 10, "currency": "USD"},
    },
]
RESULTS_1 = [
    {"type": "tool_result", "tool_use_id": "toolu_w", "content": "Sunny in Paris"},
    {
        "type": "tool_result",
        "tool_use_id": "toolu_t",
        "content": '{"zone": "Europe/Paris", "time": "09:30"}',
    },
]
RESULTS_2 = [
    {
        "type": "tool_result",
        "tool_use_id": "toolu_f",
        "content": "ConnectionError: upstream said no",
        "is_error": True,
    },
    {"type": "tool_result", "tool_use_id": "toolu_d", "content": DENIED, "is_error": True},
    {"type": "tool_result", "tool_use_id": "toolu_c", "content": "11.0"},
]


async def test_three_turns_two_concurrent_tools_a_failure_and_a_denial() -> None:
    meeting = Rendezvous()
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.script(
            FakeResponse.message(TURN_1, message_id="msg_1"),
            FakeResponse.message(TURN_2, message_id="msg_2"),
            FakeResponse.text("Sunny, ", "09:30, $11.", message_id="msg_3"),
        )
        async with claude(server, tools=make_tools(meeting), approve=policy) as adapter:
            result = await run_once(store, adapter, PROMPT)
        events = await store.get_events(result.session_id)

    # -- every request body, block by block ---------------------------------------------------
    bodies = [r.json for r in server.requests]
    assert len(bodies) == 3
    assert [t["name"] for t in bodies[0]["tools"]] == [
        "get_weather",
        "get_time",
        "convert",
        "flaky",
        "delete_file",
    ]
    assert bodies[0]["tools"][0] == {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {
            "additionalProperties": False,
            "properties": {"city": {"title": "City", "type": "string"}},
            "required": ["city"],
            "type": "object",
        },
    }
    assert all(b["tools"] == bodies[0]["tools"] and b["stream"] is True for b in bodies)
    assert bodies[0]["messages"] == [USER]
    assert bodies[1]["messages"] == [
        USER,
        {"role": "assistant", "content": TURN_1},
        {"role": "user", "content": RESULTS_1},
    ]
    assert bodies[2]["messages"] == [
        *bodies[1]["messages"],
        {"role": "assistant", "content": TURN_2},
        {"role": "user", "content": RESULTS_2},
    ]

    # -- the events ---------------------------------------------------------------------------
    types = [e.type.value for e in events]
    assert types[:4] == ["session_created", "session_started", "message_sent", "run_started"]
    assert types[-2:] == ["run_completed", "session_completed"]
    assert types.count("run_started") == 1 and types.count("message_received") == 3
    assert types.count("token_usage_updated") == 3
    started = [e.data["tool_call_id"] for e in events if e.type.value == "tool_call_started"]
    assert started == ["toolu_w", "toolu_t", "toolu_f", "toolu_d", "toolu_c"]
    ended = {
        e.data["tool_call_id"]: e
        for e in events
        if e.type.value in ("tool_call_completed", "tool_call_failed")
    }
    assert set(ended) == set(started)  # every started call ends exactly once
    assert ended["toolu_w"].data == {
        "tool_call_id": "toolu_w",
        "tool_name": "get_weather",
        "tool_output": "Sunny in Paris",
    }
    assert ended["toolu_t"].data["tool_output"] == {"zone": "Europe/Paris", "time": "09:30"}
    assert ended["toolu_c"].data["tool_output"] == 11.0
    assert ended["toolu_f"].type.value == "tool_call_failed"
    assert ended["toolu_f"].data["error_message"] == "ConnectionError: upstream said no"
    assert ended["toolu_d"].data == {
        "tool_call_id": "toolu_d",
        "tool_name": "delete_file",
        "error_message": DENIED,
        "denied": True,
    }
    position = {e.id: i for i, e in enumerate(events)}
    for event in events:  # each call ends after it started
        if event.type.value == "tool_call_started":
            assert position[ended[event.data["tool_call_id"]].id] > position[event.id]
    approvals = [
        (e.type.value, e.data["tool_call_id"]) for e in events if "approval" in e.type.value
    ]
    assert sorted(approvals) == sorted(
        [("tool_approval_requested", i) for i in started]
        + [("tool_approval_granted", i) for i in started if i != "toolu_d"]
        + [("tool_approval_denied", "toolu_d")]
    )
    requested = next(e for e in events if e.type.value == "tool_approval_requested")
    assert requested.data["policy_name"] == "policy"
    sent = [e.data for e in events if e.type.value == "message_sent"]
    assert sent[0] == {"role": "user", "content": PROMPT["prompt"]}
    assert [s["content"] for s in sent[1:]] == [RESULTS_1, RESULTS_2]
    assert [s["turn"] for s in sent[1:]] == [1, 2]
    received = [e.data for e in events if e.type.value == "message_received"]
    assert [r["content_blocks"] for r in received[:2]] == [TURN_1, TURN_2]
    assert [r["message_id"] for r in received] == ["msg_1", "msg_2", "msg_3"]

    # -- the result: output, usage over three turns, cost -------------------------------------
    usage = {
        "input_tokens": 75,
        "output_tokens": 45,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    completed = next(e for e in events if e.type.value == "run_completed")
    assert completed.data == {
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "token_usage": usage,
        "turns": 3,
    }
    assert result.token_usage == usage
    assert result.cost_usd == pytest.approx(75 * 0.8e-6 + 45 * 4e-6)
    assert result.output["content"] == "Sunny, 09:30, $11."
    assert result.output["turns"] == 3
    assert [(c["id"], c["status"]) for c in result.output["tool_calls"]] == [
        ("toolu_w", "completed"),
        ("toolu_t", "completed"),
        ("toolu_f", "failed"),
        ("toolu_d", "denied"),
        ("toolu_c", "completed"),
    ]
    assert result.output["messages"] == [
        *bodies[2]["messages"][1:],
        {"role": "assistant", "content": [{"type": "text", "text": "Sunny, 09:30, $11."}]},
    ]


async def test_invalid_arguments_and_unknown_tools_are_told_to_the_model() -> None:
    async def get_weather(city: str) -> str:
        """Current weather for a city."""
        return city

    async with FakeAnthropicServer() as server:
        server.script(
            FakeResponse.tool_uses([("get_weather", {"town": "Oslo"}, "t1"), ("nope", {}, "t2")]),
            FakeResponse.text("Sorry."),
        )
        async with claude(server, tools=[get_weather]) as adapter, InMemorySessionStore() as store:
            result = await run_once(store, adapter, PROMPT)
    results = server.requests[1].json["messages"][-1]["content"]
    assert results == [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": "Invalid arguments for tool get_weather: missing required argument(s): city",
            "is_error": True,
        },
        {
            "type": "tool_result",
            "tool_use_id": "t2",
            "content": "Unknown tool 'nope' (available: get_weather)",
            "is_error": True,
        },
    ]
    assert result.output["content"] == "Sorry."


async def test_async_approval_and_an_approval_that_raises() -> None:
    asked: list[str] = []

    async def approve(call: ToolCall) -> bool:
        asked.append(call.name)
        await trio.lowlevel.checkpoint()
        if call.name == "b":
            raise RuntimeError("policy store unreachable")
        return True

    tools = [
        Tool(name=n, description=n, input_schema={"type": "object"}, handler=lambda n=n: n)
        for n in ("a", "b")
    ]
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.script(
            FakeResponse.tool_uses([("a", {}, "ta"), ("b", {}, "tb")]), FakeResponse.text("ok")
        )
        async with claude(server, tools=tools, approve=approve) as adapter:
            result = await run_once(store, adapter, PROMPT)
        denied = await store.get_events(result.session_id, type="tool_approval_denied")
    assert sorted(asked) == ["a", "b"]
    results = server.requests[1].json["messages"][-1]["content"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "ta", "content": "a"}
    reason = "the approval check raised RuntimeError: policy store unreachable"
    assert results[1]["content"] == f"{DENIED}: {reason}" and results[1]["is_error"] is True
    assert [e.data["reason"] for e in denied] == [reason]


async def test_max_turns_is_one_clear_terminal_error() -> None:
    async def ping() -> str:
        """Ping."""
        return "pong"

    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.default = FakeResponse.tool_use("ping", {}, tool_id="toolu_p")
        async with claude(server, tools=[ping], max_turns=2) as adapter:
            with pytest.raises(SessionError) as caught:
                await run_once(store, adapter, PROMPT)
        (session,) = await store.list_sessions()
        events = await store.get_events(session.id)
    error = caught.value
    assert error.code == "policy_violation"
    assert error.message == (
        "Claude still wanted to continue after max_turns=2 model turns; "
        "raise max_turns to let the run go on"
    )
    assert error.details == {"limit": "max_turns", "max_turns": 2, "turns": 2}
    assert len(server.requests) == 2
    types = [e.type.value for e in events]
    assert types[-2:] == ["run_failed", "session_failed"]
    assert types.count("tool_call_completed") == 1  # the first turn's call ran
    failed = [e.data for e in events if e.type.value == "tool_call_failed"]
    assert failed == [
        {
            "tool_call_id": "toolu_p",
            "tool_name": "ping",
            "error_message": "Not run: the run reached max_turns=2",
        }
    ]
    assert events[-2].data["error_code"] == "policy_violation"


async def test_pause_turn_is_continued_with_the_paused_content() -> None:
    search = FakeResponse.message(
        [
            {
                "type": "server_tool_use",
                "id": "srv_1",
                "name": "web_search",
                "input": {"query": "q"},
            },
            {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
        ],
        stop_reason="pause_turn",
        usage={"server_tool_use": {"web_search_requests": 1}},
    )
    web_search = {"type": "web_search_20250305", "name": "web_search"}
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.script(search, FakeResponse.text("Found nothing."))
        async with claude(server, tools=[web_search]) as adapter:
            result = await run_once(store, adapter, PROMPT)
    paused = json.loads(search.message_json() or b"{}")["content"]
    assert server.requests[1].json["messages"] == [USER, {"role": "assistant", "content": paused}]
    assert result.output["messages"] == [
        {"role": "assistant", "content": [*paused, {"type": "text", "text": "Found nothing."}]}
    ]
    assert result.output["turns"] == 2 and result.output["stop_reason"] == "end_turn"
    assert result.token_usage["web_search_requests"] == 1
    assert result.cost_usd == pytest.approx(50 * 0.8e-6 + 30 * 4e-6 + 0.01)


async def test_a_call_to_a_pass_through_tool_ends_the_run_for_the_caller() -> None:
    async def local() -> str:  # pragma: no cover - not called in this turn
        """Runs here."""
        return "x"

    external = {
        "name": "external",
        "description": "Run by the caller",
        "input_schema": {"type": "object"},
    }
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.script(FakeResponse.tool_uses([("local", {}, "t1"), ("external", {"a": 1}, "t2")]))
        async with claude(server, tools=[local, external]) as adapter:
            result = await run_once(store, adapter, PROMPT)
        types = await stored_types(store, result.session_id)
    assert len(server.requests) == 1
    assert result.output["stop_reason"] == "tool_use"
    assert result.output["tool_calls"] == [
        {"id": "t1", "name": "local", "input": {}},
        {"id": "t2", "name": "external", "input": {"a": 1}},
    ]
    assert "tool_call_completed" not in types and "tool_call_failed" not in types


async def test_run_options_replace_the_tools_and_limits() -> None:
    def two() -> int:
        """Two."""
        return 2

    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.default = FakeResponse.tool_use("two", {})
        async with claude(server) as adapter:
            with pytest.raises(SessionError) as caught:
                await run_once(
                    store, adapter, PROMPT, adapter_opts={"tools": [two], "max_turns": 1}
                )
            with pytest.raises(SessionError) as bad:
                await run_once(store, adapter, PROMPT, adapter_opts={"tools": [two, two]})
    assert caught.value.code == "policy_violation"
    assert server.requests[0].json["tools"][0]["name"] == "two"
    assert bad.value.code == "validation_error"
    assert "duplicate tool name 'two'" in bad.value.message
    assert API_KEY not in repr(bad.value)
