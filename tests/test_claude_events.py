"""ClaudeAdapter event mapping, through the real anthropic client and a loopback fake API."""

from __future__ import annotations

import json

import pytest
from _claude_fixtures import API_KEY, Recorder, claude, run_for, stored_types

from trio_stream_session import InMemorySessionStore, Transcript, TranscriptMessage, run_once
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing._fake_anthropic import FakeAnthropicServer, FakeResponse

PROMPT = {"prompt": "What's the weather in Paris?"}
LEGACY_TOOL_KEYS = {"call_id", "arguments", "tool_use_id", "input", "output", "content"}


async def test_text_stream_maps_to_events_output_usage_and_cost() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(
            FakeResponse.text(
                "Hello! ",
                "How can I ",
                "help you today?",
                message_id="msg_01Fake",
                output_tokens=15,
            )
        )
        async with claude(server) as adapter:
            result = await run_once(store, adapter, PROMPT)

        assert await stored_types(store, result.session_id) == [
            "session_created",
            "session_started",
            "message_sent",
            "run_started",
            "message_streamed",
            "message_streamed",
            "message_streamed",
            "token_usage_updated",
            "message_received",
            "run_completed",
            "session_completed",
        ]
        events = await store.get_events(result.session_id)
        by_type = {e.type.value: e for e in events}
        assert all(e.provider == "claude" for e in events)
        assert by_type["run_started"].data == {
            "model": "claude-haiku-4-5-20251001",
            "provider_session_id": "msg_01Fake",
        }
        streamed = [dict(e.data) for e in events if e.type.value == "message_streamed"]
        assert streamed == [
            {"delta": "Hello! ", "content": "Hello! ", "kind": "text"},
            {"delta": "How can I ", "content": "How can I ", "kind": "text"},
            {"delta": "help you today?", "content": "help you today?", "kind": "text"},
        ]
        usage = {
            "input_tokens": 25,
            "output_tokens": 15,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        assert by_type["token_usage_updated"].data == {**usage, "turn": 1, "turn_usage": usage}
        text = "Hello! How can I help you today?"
        blocks = [{"type": "text", "text": text}]
        assert by_type["message_received"].data == {
            "content": text,
            "role": "assistant",
            "content_blocks": blocks,
            "message_id": "msg_01Fake",
            "model": "claude-haiku-4-5-20251001",
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "stop_details": None,
            "usage": {**usage, "output_tokens": 15},
            "turn": 1,
        }
        assert by_type["run_completed"].data == {
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "stop_details": None,
            "token_usage": usage,
            "turns": 1,
        }
        assert result.output == {
            "content": text,
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "stop_details": None,
            "tool_calls": [],
            "messages": [{"role": "assistant", "content": blocks}],
            "turns": 1,
        }
        assert result.token_usage == usage
        # claude-haiku-4-5 rates from _pricing.json, matched by prefix.
        assert result.cost_usd == pytest.approx(25 * 0.8e-6 + 15 * 4e-6, abs=1e-12)
        run = await store.get_run(result.run_id)
        assert run.provider_metadata["model"] == "claude-haiku-4-5-20251001"
        assert run.provider_metadata["provider_session_id"] == "msg_01Fake"


async def test_tool_use_block_gives_parsed_input_in_canonical_keys() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(
            FakeResponse.tool_use(
                "get_weather",
                {"location": "San Francisco", "unit": "c"},
                tool_id="toolu_01Tool",
                text="Let me check.",
            )
        )
        async with claude(server) as adapter:
            result = await run_once(store, adapter, PROMPT)

        events = await store.get_events(result.session_id)
        types = [e.type.value for e in events]
        assert types.index("message_streamed") < types.index("tool_call_started")
        # Without tools of its own the adapter runs nothing: the call is the caller's.
        assert "tool_call_completed" not in types and "tool_call_failed" not in types
        assert types[-2:] == ["run_completed", "session_completed"]
        expected = {
            "tool_call_id": "toolu_01Tool",
            "tool_name": "get_weather",
            "tool_input": {"location": "San Francisco", "unit": "c"},
        }
        (started,) = [e for e in events if e.type.value == "tool_call_started"]
        assert dict(started.data) == expected
        assert not LEGACY_TOOL_KEYS & set(started.data)
        assert result.output["content"] == "Let me check."
        assert result.output["stop_reason"] == "tool_use"
        assert result.output["tool_calls"] == [
            {"id": "toolu_01Tool", "name": "get_weather", "input": expected["tool_input"]}
        ]
        completed = [e for e in events if e.type.value == "run_completed"]
        assert len(completed) == 1 and completed[0].data["stop_reason"] == "tool_use"


async def test_tool_use_without_input_deltas_uses_empty_input() -> None:
    start = {"id": "msg_1", "model": "claude-x", "usage": {"input_tokens": 3, "output_tokens": 1}}
    tool = {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": tool}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.sse(events))
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            result = await adapter.execute(run, session, emit=recorder)
    assert recorder.data("tool_call_started") == [
        {"tool_call_id": "toolu_1", "tool_name": "now", "tool_input": {}}
    ]
    # No usage in message_delta: the usage of message_start stands.
    (usage,) = recorder.data("token_usage_updated")
    assert usage["input_tokens"] == 3 and usage["output_tokens"] == 1
    assert result["token_usage"]["input_tokens"] == 3
    assert result["output"]["stop_reason"] == "tool_use"


async def test_thinking_deltas_are_distinguishable_from_text() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.thinking(["Let me ", "think."], text="42"))
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            result = await adapter.execute(run, session, emit=recorder)
    assert recorder.data("message_streamed") == [
        {"delta": "Let me ", "content": "Let me ", "kind": "thinking"},
        {"delta": "think.", "content": "think.", "kind": "thinking"},
        {"delta": "42", "content": "42", "kind": "text"},
    ]
    (received,) = recorder.data("message_received")
    assert received["content"] == "42"
    assert received["content_blocks"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": FakeResponse.SIGNATURE},
        {"type": "text", "text": "42"},
    ]
    assert result["output"]["content"] == "42"
    assert result["events"] == []


async def test_cache_tokens_are_reported_and_priced() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(
            FakeResponse.text(
                "cached",
                model="claude-opus-4-6",
                input_tokens=1000,
                output_tokens=500,
                cache_read_input_tokens=800,
                cache_creation_input_tokens=200,
            )
        )
        async with claude(server, model="claude-opus-4-6") as adapter:
            result = await run_once(store, adapter, PROMPT)
    assert result.token_usage == {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
    }
    expected = 1000 * 15e-6 + 500 * 75e-6 + 800 * 1.5e-6 + 200 * 18.75e-6
    assert result.cost_usd == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("size", [1, 7, 37])
async def test_events_split_across_chunks_parse_the_same(size: int) -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(
            FakeResponse.tool_use("lookup", {"q": "ünïcødé ✓"}, text="Sure").chunked(size)
        )
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            result = await adapter.execute(run, session, emit=recorder)
    assert result["output"]["content"] == "Sure"
    assert result["output"]["tool_calls"][0]["input"] == {"q": "ünïcødé ✓"}
    assert recorder.types[0] == "run_started" and recorder.types[-1] == "run_completed"


async def test_unknown_and_ping_events_are_ignored() -> None:
    events = [
        *FakeResponse.text("hi").events[:2],
        ("future_event", {"type": "future_event", "x": 1}),
        ("ping", {"type": "ping"}),
        *FakeResponse.text("hi").events[2:],
    ]
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.sse(events))
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            await adapter.execute(run, session, emit=recorder)
    assert recorder.types == [
        "run_started",
        "message_streamed",
        "token_usage_updated",
        "message_received",
        "run_completed",
    ]


async def test_request_carries_settings_and_the_key_only_in_its_header() -> None:
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}]
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(FakeResponse.text("ok"))
        options = {"system": "Be brief.", "tools": tools, "max_tokens": 256, "temperature": 0.2}
        async with claude(server, model="claude-opus-4-6", **options) as adapter:
            assert API_KEY not in repr(adapter)
            result = await run_once(store, adapter, PROMPT)
        request = server.requests[0]
        assert request.method == "POST" and request.path == "/v1/messages"
        assert request.json == {
            "model": "claude-opus-4-6",
            "max_tokens": 256,
            "system": "Be brief.",
            "tools": tools,
            "temperature": 0.2,
            "messages": [{"role": "user", "content": PROMPT["prompt"]}],
            "stream": True,
        }
        assert request.has_api_key(API_KEY)
        assert request.headers["x-stainless-async"] == "async:trio"
        assert API_KEY not in json.dumps(dict(request.headers)) + repr(request)
        stored = [e.to_dict() for e in await store.get_events(result.session_id)]
        run = await store.get_run(result.run_id)
        assert API_KEY not in json.dumps(stored, default=str) + repr(run)


async def test_run_options_override_the_adapter_settings() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(FakeResponse.text("ok"))
        async with claude(server, system="Adapter prompt", request_options={"top_k": 5}) as adapter:
            await run_once(
                store,
                adapter,
                PROMPT,
                adapter_opts={
                    "model": "claude-opus-4-6",
                    "max_tokens": 99,
                    "system": "Run prompt",
                    "request_options": {"metadata": {"user_id": "u1"}},
                    "unknown_option": object(),
                },
            )
    body = server.requests[0].json
    assert body["model"] == "claude-opus-4-6"
    assert body["max_tokens"] == 99
    assert body["system"] == "Run prompt"
    assert body["top_k"] == 5 and body["metadata"] == {"user_id": "u1"}


async def test_messages_input_moves_system_turns_and_merges_repeated_roles() -> None:
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "AA=="},
    }
    messages = [
        {"role": "system", "content": "Input system"},
        {"role": "USER", "content": "first"},
        {"role": "user", "content": [image]},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "again"},
        {"role": "user", "content": ""},
    ]
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("ok"))
        async with claude(server, system="Adapter system") as adapter:
            run, session = run_for({"messages": messages})
            await adapter.execute(run, session, emit=Recorder())
    body = server.requests[0].json
    assert body["system"] == "Adapter system\n\nInput system"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "first"}, image]},
        {"role": "assistant", "content": "reply"},
        {"role": "user", "content": "again"},
    ]


async def test_transcript_is_replayed_before_the_new_input() -> None:
    transcript = Transcript(
        session_id="ses_x",
        messages=(
            TranscriptMessage(role="system", content="Earlier system"),
            TranscriptMessage(role="user", content="What is the weather?"),
            TranscriptMessage(
                role="assistant",
                tool_call_id="toolu_9",
                tool_name="get_weather",
                tool_input={"city": "Oslo"},
            ),
            TranscriptMessage(
                role="tool", tool_call_id="toolu_9", tool_name="get_weather", tool_output="-3C"
            ),
            TranscriptMessage(role="assistant", content="It is -3C."),
        ),
    )
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("ok"))
        async with claude(server) as adapter:
            run, session = run_for({"prompt": "And tomorrow?"}, context={"transcript": transcript})
            await adapter.execute(run, session, emit=Recorder())
    body = server.requests[0].json
    assert body["system"] == "Earlier system"
    assert body["messages"] == [
        {
            "role": "user",
            "content": "What is the weather?",
        },
        {"role": "assistant", "content": 'tool_call(toolu_9): get_weather {"city": "Oslo"}'},
        {"role": "user", "content": "tool_result(toolu_9): get_weather -3C"},
        {"role": "assistant", "content": "It is -3C."},
        {"role": "user", "content": "And tomorrow?"},
    ]


async def test_capabilities_and_name() -> None:
    adapter = ClaudeAdapter(api_key=API_KEY)
    assert adapter.name == "claude"
    caps = {(c.name, c.type.value) for c in await adapter.capabilities()}
    assert caps == {
        ("streaming", "sampling"),
        ("tool_use", "tool"),
        ("vision", "resource"),
        ("system_prompts", "prompt"),
        ("interrupt", "sampling"),
    }
