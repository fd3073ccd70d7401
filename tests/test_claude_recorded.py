"""Recorded Messages-API streams through ClaudeAdapter: nothing the API returns is dropped.

Each recorded stream (``_claude_recorded``: the ``anthropic`` SDK's own streaming fixtures,
and the API documentation's thinking stream) is served verbatim by the fake API. The
oracle is the SDK itself: the same bytes go through ``client.messages.stream(...)`` and
its accumulated final message must equal, block for block, what the adapter keeps and
sends back. Streams the SDK's fixtures do not cover (redacted thinking, web search with
citations, ``pause_turn``) are built in the API's documented wire shape by
``FakeResponse`` and checked against the SDK in the same way.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from _claude_fixtures import API_KEY, Recorder, claude, run_for
from _claude_recorded import (
    BASIC,
    COMPACTION,
    MESSAGE_DELTA_FIELDS,
    REFUSAL,
    SERVER_TOOL_RESULT,
    SERVER_TOOL_USE,
    STOP_DETAILS,
    THINKING,
    TOOL_USE,
)

from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

PROMPT = {"prompt": "x"}
SDK_FIXTURES = {
    "basic": BASIC,
    "tool_use": TOOL_USE,
    "server_tool_use": SERVER_TOOL_USE,
    "server_tool_result": SERVER_TOOL_RESULT,
    "refusal": REFUSAL,
    "stop_details": STOP_DETAILS,
    "message_delta_fields": MESSAGE_DELTA_FIELDS,
    "compaction": COMPACTION,
}


def recorded(text: str) -> FakeResponse:
    """The recorded stream, served event by event with its data lines verbatim."""
    pairs = []
    for block in text.strip().split("\n\n"):
        event, data = block.split("\n")
        pairs.append((event.removeprefix("event: "), data.removeprefix("data: ")))
    return FakeResponse.sse(pairs)


async def through_adapter_and_sdk(
    response: FakeResponse, *, beta: bool = False, then: tuple[FakeResponse, ...] = ()
) -> tuple[Recorder, dict[str, Any], dict[str, Any]]:
    """``(events, execute result, the SDK's accumulated message as JSON)`` for *response*
    (the adapter gets *then* after it: the turns that follow)."""
    async with FakeAnthropicServer() as server:
        server.enqueue(response, *then, response)
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            result = dict(await adapter.execute(run, session, emit=recorder))
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key=API_KEY) as client:
            api: Any = client.beta.messages if beta else client.messages
            request = {
                "model": "claude-haiku-4-5",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x"}],
            }
            async with api.stream(**request) as stream:
                message = await stream.get_final_message()
    return recorder, result, message.to_dict(mode="json")


@pytest.mark.parametrize("name", sorted(SDK_FIXTURES))
async def test_sdk_fixtures_map_with_nothing_dropped(name: str) -> None:
    recorder, result, sdk = await through_adapter_and_sdk(
        recorded(SDK_FIXTURES[name]), beta=name == "compaction"
    )
    (received,) = recorder.data("message_received")
    assert received["content_blocks"] == sdk["content"]
    assert received["usage"] == sdk["usage"]
    assert received["message_id"] == sdk["id"] and received["model"] == sdk["model"]
    for field in ("stop_reason", "stop_sequence", "stop_details", "container"):
        assert received.get(field) == sdk.get(field), field
    (completed,) = recorder.data("run_completed")
    assert completed["stop_reason"] == sdk["stop_reason"]
    assert completed["stop_details"] == sdk.get("stop_details")
    assert result["output"]["stop_reason"] == sdk["stop_reason"]
    text = "".join(b["text"] for b in sdk["content"] if b["type"] == "text")
    assert received["content"] == text == result["output"]["content"]
    streamed = "".join(d["delta"] for d in recorder.data("message_streamed") if d["kind"] == "text")
    assert streamed == text


async def test_tool_use_fixture_events_keep_the_caller_and_the_parsed_input() -> None:
    recorder, result, _ = await through_adapter_and_sdk(recorded(TOOL_USE))
    assert recorder.data("tool_call_started") == [
        {
            "tool_call_id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
            "tool_name": "get_weather",
            "tool_input": {"location": "Paris"},
        }
    ]
    assert result["output"]["messages"][0]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn",
        "name": "get_weather",
        "caller": {"type": "direct"},
        "input": {"location": "Paris"},
    }
    assert result["token_usage"] == {
        "input_tokens": 377,
        "output_tokens": 65,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }


async def test_server_tool_results_become_tool_events() -> None:
    recorder, _, _ = await through_adapter_and_sdk(recorded(SERVER_TOOL_RESULT))
    started = recorder.data("tool_call_started")
    assert [(s["tool_call_id"], s.get("server_tool", False)) for s in started] == [
        ("svu_web_001", True),
        ("tu_client_001", False),
    ]
    completed = recorder.data("tool_call_completed")
    assert completed == [
        {
            "tool_call_id": "svu_web_001",
            "tool_name": "web_search",
            "server_tool": True,
            "tool_output": [
                {
                    "type": "web_search_result",
                    "url": "https://example.com",
                    "title": "Example Result",
                    "encrypted_content": "enc_abc123",
                    "page_age": None,
                }
            ],
        },
        {
            "tool_call_id": "svu_code_001",
            "tool_name": "code_execution",
            "server_tool": True,
            "tool_output": {
                "type": "code_execution_result",
                "return_code": 0,
                "stdout": "hello",
                "stderr": "",
                "content": [],
            },
        },
    ]


async def test_refusal_keeps_stop_details_and_thinking_token_counts() -> None:
    recorder, result, _ = await through_adapter_and_sdk(recorded(REFUSAL))
    details = {
        "type": "refusal",
        "category": "cyber",
        "explanation": "This request was refused due to policy.",
    }
    assert result["output"]["stop_details"] == details
    assert recorder.data("run_completed")[0]["stop_details"] == details
    assert recorder.data("message_received")[0]["usage"]["output_tokens_details"] == {
        "thinking_tokens": 67
    }
    # The empty text block of a refusal is not sent back (the API refuses empty text).
    assert result["output"]["messages"] == []


async def test_usage_with_cache_and_server_tool_counts_is_priced() -> None:
    recorder, result, _ = await through_adapter_and_sdk(recorded(MESSAGE_DELTA_FIELDS))
    usage = {
        "input_tokens": 40,
        "output_tokens": 8,
        "cache_read_input_tokens": 7,
        "cache_creation_input_tokens": 12,
        "web_search_requests": 1,
        "web_fetch_requests": 0,
        "ephemeral_5m_input_tokens": 10,
        "ephemeral_1h_input_tokens": 0,
    }
    assert result["token_usage"] == usage
    assert recorder.data("token_usage_updated")[0]["turn_usage"] == usage
    assert recorder.data("message_received")[0]["container"] == {
        "id": "container_01AbCdEfGh",
        "expires_at": "2025-01-01T00:00:00Z",
    }


async def test_documented_thinking_stream_keeps_text_and_signature() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(recorded(THINKING))
        recorder = Recorder()
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            result = await adapter.execute(run, session, emit=recorder)
    thinking = (
        "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n"
        "1071 = 2 \u00d7 462 + 147\n462 = 3 \u00d7 147 + 21\n147 = 7 \u00d7 21 + 0\n"
        "The remainder is 0, so GCD(1071, 462) = 21."
    )
    answer = "The greatest common divisor of 1071 and 462 is **21**."
    assert recorder.data("message_received")[0]["content_blocks"] == [
        {
            "type": "thinking",
            "thinking": thinking,
            "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...",
        },
        {"type": "text", "text": answer},
    ]
    kinds = [d["kind"] for d in recorder.data("message_streamed")]
    assert kinds == ["thinking"] * 4 + ["text"]
    assert result["output"]["content"] == answer
    # No usage anywhere in this stream: zeros, and still one usage event for the turn.
    assert result["token_usage"]["input_tokens"] == 0
    assert len(recorder.data("token_usage_updated")) == 1


CITATION = {
    "type": "web_search_result_location",
    "url": "https://example.com/paris",
    "title": "Paris weather",
    "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm",
    "cited_text": "Sunny, 21°C in Paris today.",
}
SYNTHESIZED = {
    "redacted_thinking": FakeResponse.message(
        [
            {"type": "thinking", "thinking": "Let me think.", "signature": "EuYBCkQYAiJA"},
            {
                "type": "redacted_thinking",
                "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw",
            },
            {"type": "text", "text": "Done."},
        ]
    ),
    "web_search_with_citations": FakeResponse.web_search(
        "weather paris",
        [
            {
                "type": "web_search_result",
                "url": "https://example.com/paris",
                "title": "Paris weather",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5",
                "page_age": "April 30, 2025",
            }
        ],
        "It is sunny in Paris.",
        citations=[CITATION],
    ),
    "pause_turn": FakeResponse.message(
        [
            {
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {"query": "q"},
            }
        ],
        stop_reason="pause_turn",
    ),
    "stop_sequence": FakeResponse.text(
        "Counting: 1, 2", stop_reason="stop_sequence", stop_sequence="3"
    ),
}


@pytest.mark.parametrize("name", sorted(SYNTHESIZED))
async def test_documented_shapes_map_with_nothing_dropped(name: str) -> None:
    then = (FakeResponse.text("Continued."),) if name == "pause_turn" else ()
    recorder, result, sdk = await through_adapter_and_sdk(SYNTHESIZED[name], then=then)
    received = recorder.data("message_received")[0]
    assert received["content_blocks"] == sdk["content"]
    assert received["usage"] == sdk["usage"]
    for field in ("stop_reason", "stop_sequence"):
        assert received[field] == sdk[field]
    assert result["output"]["messages"][0]["content"][: len(sdk["content"])] == sdk["content"]


async def test_citations_reach_the_message_and_web_searches_the_cost() -> None:
    recorder, result, _ = await through_adapter_and_sdk(SYNTHESIZED["web_search_with_citations"])
    blocks = recorder.data("message_received")[0]["content_blocks"]
    assert blocks[2] == {"type": "text", "text": "It is sunny in Paris.", "citations": [CITATION]}
    assert result["token_usage"]["web_search_requests"] == 1
    started, completed = recorder.data("tool_call_started"), recorder.data("tool_call_completed")
    assert started[0]["tool_input"] == {"query": "weather paris"} and started[0]["server_tool"]
    assert completed[0]["tool_output"][0]["title"] == "Paris weather"


async def test_signed_and_redacted_thinking_go_back_unchanged_within_the_loop() -> None:
    blocks = [
        {"type": "thinking", "thinking": "I should look it up.", "signature": "EuYBCkQYAiJAsig"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "é ✓"}},
    ]
    first = FakeResponse.message(blocks)

    def lookup(q: str) -> str:
        """Look something up."""
        return q.upper()

    async with FakeAnthropicServer() as server:
        server.script(first, FakeResponse.text("É ✓"), first)
        async with claude(server, tools=[lookup]) as adapter:
            run, session = run_for(PROMPT)
            await adapter.execute(run, session, emit=Recorder())
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key=API_KEY) as client:
            request = {
                "model": "m",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x"}],
            }
            async with client.messages.stream(**request) as stream:
                sdk = (await stream.get_final_message()).to_dict(mode="json")
    echoed = server.requests[1].json["messages"][1]
    assert echoed == {"role": "assistant", "content": sdk["content"]}
    assert echoed["content"] == blocks
