"""FakeAnthropicServer itself: routing, recording, scripting, shutdown."""

from __future__ import annotations

import json

import anthropic
import pytest
import trio
from _claude_fixtures import API_KEY, Recorder, claude, run_for

from trio_stream_session import SessionError
from trio_stream_session.testing._fake_anthropic import (
    FakeAnthropicServer,
    FakeResponse,
    RecordedRequest,
    SSEEvent,
    open_fake_anthropic_server,
)

PROMPT = {"prompt": "hi"}


async def test_url_is_loopback_with_an_ephemeral_port_and_only_while_running() -> None:
    server = FakeAnthropicServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    async with server:
        host, port = server.url.removeprefix("http://").split(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert repr(server).startswith("FakeAnthropicServer(url='http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = server.url


async def test_requests_are_recorded_with_credentials_redacted() -> None:
    async with open_fake_anthropic_server(default=FakeResponse.text("ok")) as server:
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            await adapter.execute(run, session, emit=Recorder())
        (request,) = await server.wait_for_requests(1)
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.json["stream"] is True
    assert json.loads(request.body) == request.json
    assert request.headers["authorization"] == "[REDACTED]"
    assert request.has_api_key(API_KEY) and not request.has_api_key("sk-ant-other")
    assert API_KEY not in repr(request) + repr(dict(request.headers))
    assert request.response is not None and request.response.events
    assert request.finished.is_set() and not request.disconnected


async def test_queue_then_responder_then_default_then_a_clear_500() -> None:
    seen: list[int] = []

    def responder(request: RecordedRequest) -> FakeResponse | None:
        seen.append(request.index)
        return FakeResponse.text("from responder") if request.index == 1 else None

    async with FakeAnthropicServer(responder=responder) as server:
        server.script(FakeResponse.text("dropped by script"))
        server.script(FakeResponse.text("queued"))
        assert server.pending == 1
        async with claude(server) as adapter:

            async def content() -> str:
                run, session = run_for(PROMPT)
                result = await adapter.execute(run, session, emit=Recorder())
                return str(result["output"]["content"])

            assert await content() == "queued"
            assert await content() == "from responder"
            with pytest.raises(SessionError) as caught:
                await content()
            server.default = FakeResponse.text("default")
            assert await content() == "default"
    assert seen == [1, 2, 3]
    assert caught.value.code == "provider_unavailable"
    assert "no scripted response for request #2" in caught.value.message
    # x-should-retry: false keeps the SDK from retrying the 500.
    assert len(server.requests) == 4


async def test_other_paths_and_bad_bodies_get_api_errors() -> None:
    async with (
        FakeAnthropicServer() as server,
        anthropic.DefaultAsyncHttpxClient(base_url=server.url) as http,
    ):
        missing = await http.get("/v1/models")
        not_json = await http.post("/v1/messages", content=b"{nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_request_error"
    assert [r.path for r in server.requests] == ["/v1/models", "/v1/messages"]


async def test_non_streaming_requests_get_the_stream_as_one_message() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.tool_use("f", {"x": [1, 2]}, tool_id="toolu_1", text="hm"))
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key=API_KEY) as client:
            message = await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
            )
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[1].input == {"x": [1, 2]}  # type: ignore[union-attr]
    assert message.usage.output_tokens == 15


async def test_response_builders_shape_the_stream() -> None:
    text = FakeResponse.text("a", "b")
    names = [e.name for e in text.events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_delta") == 2
    dropped = text.then_drop(after=3)
    assert len(dropped.events) == 3 and dropped.ending == "drop"
    stalled = text.then_stall()
    assert stalled.events[-1].name == "content_block_stop" and stalled.ending == "stall"
    errored = text.then_error("api_error", "boom", after=1)
    assert [e.name for e in errored.events] == ["message_start", "error"]
    assert json.loads(errored.events[-1].data)["error"] == {"type": "api_error", "message": "boom"}
    assert SSEEvent("x", "{}").encode() == b"event: x\ndata: {}\n\n"
    with pytest.raises(ValueError, match="positive"):
        text.chunked(0)
    with pytest.raises(ValueError, match="unsupported content block"):
        FakeResponse.message([{"type": "image"}])
    error = FakeResponse.error(429, retry_after=1.5, retry_after_ms=10, should_retry=True)
    assert ("retry-after", "1.5") in error.headers
    assert ("retry-after-ms", "10") in error.headers
    assert ("x-should-retry", "true") in error.headers


async def test_closing_the_server_ends_stalled_and_hanging_replies() -> None:
    failures: list[SessionError] = []

    async def client(adapter_server: FakeAnthropicServer) -> None:
        async with claude(adapter_server) as adapter:
            run, session = run_for(PROMPT)
            try:
                await adapter.execute(run, session, emit=Recorder())
            except SessionError as error:
                failures.append(error)

    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        async with FakeAnthropicServer() as server:
            server.enqueue(FakeResponse.text("a", "b").then_stall(), FakeResponse.hang())
            nursery.start_soon(client, server)
            nursery.start_soon(client, server)
            await server.wait_for_requests(2)
            await trio.sleep(0.05)
        assert trio.current_time() - start < 1.5
    kinds = sorted(e.provider_error["kind"] for e in failures if e.provider_error)
    # The stalled stream is cut mid-body; the hanging request loses its connection.
    assert kinds == ["transport_exit", "transport_exit"]
    assert all(r.finished.is_set() for r in server.requests)


async def test_the_server_notices_a_client_that_goes_away() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text(*"abcdefghij").slowly(0.05))
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key=API_KEY) as client:
            stream = await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
                stream=True,
            )
            await stream.close()
        (request,) = server.requests
        with trio.fail_after(2):
            await request.finished.wait()
    assert request.disconnected


async def test_agent_replies_fold_into_the_message_a_non_streaming_request_gets() -> None:
    citation = {"type": "char_location", "cited_text": "1 + 1 = 2", "document_index": 0}
    reply = FakeResponse.message(
        [
            {"type": "thinking", "thinking": ["a", "b"], "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": ["1 + 1", " = 2"], "citations": [citation]},
            {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"q": 1}},
            {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
        ],
        stop_reason="stop_sequence",
        stop_sequence="END",
        stop_details={"type": "refusal"},
        usage={"server_tool_use": {"web_search_requests": 1}},
    )
    names = [e.name for e in reply.events]
    assert names.count("content_block_start") == 5
    assert names.count("content_block_delta") == 2 + 1 + 1 + 2 + 4  # citations go first
    message = json.loads(reply.message_json() or b"{}")
    assert message["content"] == [
        {"type": "thinking", "thinking": "ab", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "1 + 1 = 2", "citations": [citation]},
        {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"q": 1}},
        {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
    ]
    assert message["stop_reason"] == "stop_sequence" and message["stop_sequence"] == "END"
    assert message["stop_details"] == {"type": "refusal"}
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 1}
    calls = FakeResponse.tool_uses([("a", {"x": 1}, "t1"), ("b", {})], text="Both.")
    folded = json.loads(calls.message_json() or b"{}")
    assert [b["type"] for b in folded["content"]] == ["text", "tool_use", "tool_use"]
    assert folded["content"][1] == {"type": "tool_use", "id": "t1", "name": "a", "input": {"x": 1}}
    assert folded["content"][2]["id"].startswith("toolu_") and folded["stop_reason"] == "tool_use"


async def test_recorded_requests_expose_their_messages() -> None:
    async with FakeAnthropicServer(default=FakeResponse.text("ok")) as server:
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            await adapter.execute(run, session, emit=Recorder())
        async with anthropic.DefaultAsyncHttpxClient(base_url=server.url) as http:
            await http.post("/v1/messages", content=b"[]")
    assert server.requests[0].messages == [{"role": "user", "content": "hi"}]
    assert server.requests[1].messages == []
