"""ClaudeAdapter failures: every HTTP and mid-stream error row, with real sockets.

Timeouts use real, short durations: trio's MockClock cannot drive the
kernel's socket reads, so an autojump clock would not make these faster.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from _claude_fixtures import API_KEY, Recorder, claude, run_for, stored_types

from trio_stream_session import InMemorySessionStore, SessionError, run_once
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing._fake_anthropic import FakeAnthropicServer, FakeResponse

PROMPT = {"prompt": "hi"}
PROVIDER_ERROR_KEYS = {"provider", "kind", "message", "exit_code", "stderr", "truncated"}


async def failure(
    response: FakeResponse, **options: Any
) -> tuple[SessionError, list[str], FakeAnthropicServer]:
    """Run once against *response*; return the error, the stored event types, the server."""
    run_opts = options.pop("adapter_opts", None)
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(response)
        async with claude(server, **options) as adapter:
            with pytest.raises(SessionError) as caught:
                await run_once(store, adapter, PROMPT, adapter_opts=run_opts)
        (session,) = await store.list_sessions()
        types = await stored_types(store, session.id)
        failed = await store.get_events(session.id, type="run_failed")
    error = caught.value
    assert error.provider_error is not None
    assert set(error.provider_error) == PROVIDER_ERROR_KEYS
    assert error.provider_error["provider"] == "claude"
    assert failed[0].data["error_code"] == error.code.value
    assert failed[0].data["provider_error"]["kind"] == error.provider_error["kind"]
    assert API_KEY not in json.dumps([error.to_dict(), failed[0].to_dict()], default=str)
    return error, types, server


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (401, "provider_authentication_failed", "authentication_error"),
        (403, "provider_authentication_failed", "permission_error"),
        (429, "provider_rate_limited", "rate_limit_error"),
        (500, "provider_unavailable", "api_error"),
        (503, "provider_unavailable", "api_error"),
        (529, "provider_unavailable", "overloaded_error"),
        (402, "provider_quota_exceeded", "billing_error"),
        (504, "provider_timeout", "timeout_error"),
        (400, "provider_error", "invalid_request_error"),
    ],
)
async def test_http_errors_map_to_provider_codes(status: int, code: str, error_type: str) -> None:
    response = FakeResponse.error(status, "nope", request_id="req_01Fake", retry_after=7)
    error, types, server = await failure(response)
    assert error.code == code
    assert error.message == f"Claude API error {status} {error_type}: nope"
    assert error.provider_error is not None and error.provider_error["kind"] == "http_error"
    assert error.details == {
        "status_code": status,
        "error_type": error_type,
        "request_id": "req_01Fake",
        "retry_after": "7",
    }
    # Nothing streamed: the run fails without adapter events.
    assert types == [
        "session_created",
        "session_started",
        "message_sent",
        "run_failed",
        "session_failed",
    ]
    assert len(server.requests) == 1


async def test_rate_limit_is_retried_honouring_retry_after() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(
            FakeResponse.error(429, retry_after_ms=10),
            FakeResponse.error(529, retry_after=0.01),
            FakeResponse.text("finally"),
        )
        async with claude(server, max_retries=2) as adapter:
            start = trio.current_time()
            result = await run_once(store, adapter, PROMPT)
            elapsed = trio.current_time() - start
    assert result.output["content"] == "finally"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1", "2"]
    # The SDK's own backoff would be >= 0.375 s per retry; the headers made it quick.
    assert elapsed < 0.5


async def test_rate_limit_after_exhausted_retries() -> None:
    response = FakeResponse.error(429, retry_after_ms=5)
    async with (
        FakeAnthropicServer(default=response) as server,
        claude(server, max_retries=1) as adapter,
    ):
        run, session = run_for(PROMPT)
        with pytest.raises(SessionError) as caught:
            await adapter.execute(run, session, emit=Recorder())
    assert caught.value.code == "provider_rate_limited"
    assert caught.value.retryable
    assert caught.value.details["retry_after"] == "5"
    assert len(server.requests) == 2


async def test_no_response_before_the_timeout_is_provider_timeout() -> None:
    error, types, server = await failure(FakeResponse.hang(), adapter_opts={"timeout": 0.3})
    assert error.code == "provider_timeout"
    assert error.provider_error is not None and error.provider_error["kind"] == "timeout"
    assert error.details["timeout_s"] == 0.3
    assert "run_started" not in types
    await server.requests[0].finished.wait()
    assert server.requests[0].disconnected


async def test_stall_mid_stream_is_provider_timeout_and_keeps_earlier_events() -> None:
    response = FakeResponse.text("partial ", "answer").then_stall()
    error, types, server = await failure(response, timeout=0.3)
    assert error.code == "provider_timeout"
    assert error.provider_error is not None and error.provider_error["kind"] == "timeout"
    assert error.message == "Claude API stream stalled: no data before the read timeout"
    assert types == [
        "session_created",
        "session_started",
        "message_sent",
        "run_started",
        "message_streamed",
        "message_streamed",
        "run_failed",
        "session_failed",
    ]
    await server.requests[0].finished.wait()
    assert server.requests[0].disconnected


async def test_dropped_connection_mid_stream_is_transport_exit() -> None:
    error, types, _ = await failure(FakeResponse.text("a ", "b").then_drop())
    assert error.code == "provider_error"
    assert error.provider_error is not None and error.provider_error["kind"] == "transport_exit"
    assert error.message.startswith("Claude API connection ended mid-stream: ")
    assert types.count("message_streamed") == 2
    assert "run_completed" not in types


async def test_error_event_mid_stream_is_protocol_error() -> None:
    error, types, _ = await failure(FakeResponse.text("a ", "b").then_error("overloaded_error"))
    assert error.code == "provider_unavailable"
    assert error.retryable
    assert error.provider_error is not None and error.provider_error["kind"] == "protocol_error"
    assert error.message == "Claude API stream error overloaded_error: Overloaded"
    assert error.details == {"error_type": "overloaded_error"}
    assert types[3:6] == ["run_started", "message_streamed", "message_streamed"]


async def test_unclassified_error_event_is_provider_error() -> None:
    response = FakeResponse.text("a").then_error("invalid_request_error", "bad turn", after=1)
    error, types, _ = await failure(response)
    assert error.code == "provider_error"
    assert error.provider_error is not None and error.provider_error["kind"] == "protocol_error"
    assert error.message == "Claude API stream error invalid_request_error: bad turn"
    assert "message_streamed" not in types


async def test_malformed_json_is_parse_error() -> None:
    error, types, _ = await failure(FakeResponse.malformed(after_text="Hel"))
    assert error.code == "provider_error"
    assert error.provider_error is not None and error.provider_error["kind"] == "parse_error"
    assert error.details["event"] == "content_block_delta"
    assert types.count("message_streamed") == 1


async def test_tool_input_that_is_not_json_is_parse_error() -> None:
    start = FakeResponse.text("x").events[:2]
    tool = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    delta = {"type": "input_json_delta", "partial_json": '{"a": '}
    events = [
        *start,
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": tool}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    error, types, _ = await failure(FakeResponse.sse(events))
    assert error.provider_error is not None and error.provider_error["kind"] == "parse_error"
    assert "tool_call_started" not in types


async def test_stream_that_ends_before_message_stop_is_protocol_error() -> None:
    cut = FakeResponse.text("all but the end")
    error, types, _ = await failure(FakeResponse.sse(cut.events[:-1]))
    assert error.code == "provider_error"
    assert error.provider_error is not None and error.provider_error["kind"] == "protocol_error"
    assert error.message == "Claude API stream ended before message_stop"
    # Usage is reported once the message is complete: never for a cut one.
    assert "token_usage_updated" not in types and "run_completed" not in types
    assert "message_streamed" in types


async def test_unreachable_api_is_provider_unavailable() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there any more: connection refused
    adapter = ClaudeAdapter(base_url=f"http://127.0.0.1:{port}", api_key=API_KEY, max_retries=0)
    async with adapter:
        run, session = run_for(PROMPT)
        with pytest.raises(SessionError) as caught:
            await adapter.execute(run, session, emit=Recorder())
    assert caught.value.code == "provider_unavailable"
    assert caught.value.provider_error is not None
    assert caught.value.provider_error["kind"] == "transport_exit"
    assert caught.value.message.startswith("Could not reach the Claude API")


async def test_missing_api_key_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    # "api_key=" itself would be redacted as a secret assignment, hence the wording.
    expected = (
        "ANTHROPIC_API_KEY is not set: "
        "pass api_key to ClaudeAdapter or set the environment variable"
    )
    with pytest.raises(SessionError) as entering:
        async with ClaudeAdapter(base_url="http://127.0.0.1:9"):
            pass  # pragma: no cover
    assert entering.value.code == "provider_authentication_failed"
    assert entering.value.message == expected
    run, session = run_for(PROMPT)
    with pytest.raises(SessionError) as executing:
        await ClaudeAdapter(base_url="http://127.0.0.1:9").execute(run, session, emit=Recorder())
    assert executing.value.message == expected


async def test_api_key_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env_key = "sk-ant-test-from-the-environment-0123"
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("ok"))
        async with ClaudeAdapter(base_url=server.url, max_retries=0) as adapter:
            assert env_key not in repr(adapter)
            run, session = run_for(PROMPT)
            await adapter.execute(run, session, emit=Recorder())
    assert server.requests[0].has_api_key(env_key)


async def test_input_without_a_user_message_is_invalid_input() -> None:
    adapter = ClaudeAdapter(api_key=API_KEY, base_url="http://127.0.0.1:9")
    for bad in ({}, {"messages": []}, {"messages": [{"role": "system", "content": "only"}]}):
        run, session = run_for(bad)
        with pytest.raises(SessionError) as caught:
            await adapter.execute(run, session, emit=Recorder())
        assert caught.value.code == "invalid_input"
