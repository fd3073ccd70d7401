"""ClaudeAdapter cancellation, lifecycle, concurrency and the one-call stream, end to end."""

from __future__ import annotations

import gc

import anthropic
import pytest
import trio
from _claude_fixtures import API_KEY, Recorder, claude, run_for, stored_types

from trio_stream_session import (
    Event,
    InMemorySessionStore,
    SessionError,
    open_stream_session,
    run_once,
)
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing._fake_anthropic import (
    FakeAnthropicServer,
    FakeResponse,
    RecordedRequest,
)

PROMPT = {"prompt": "Tell me a long story"}


def slow_story(delay: float = 0.05) -> FakeResponse:
    return FakeResponse.text(*(f"word{i} " for i in range(40))).slowly(delay)


async def assert_disconnected(request: RecordedRequest) -> None:
    with trio.fail_after(2):
        await request.finished.wait()
    assert request.disconnected


async def test_outer_cancellation_closes_the_http_stream_at_once() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(slow_story())
        async with claude(server) as adapter:
            with trio.CancelScope() as scope:

                def stop_after_first_chunk(event: Event) -> None:
                    if event.type.value == "message_streamed":
                        scope.cancel()

                await run_once(store, adapter, PROMPT, event_callback=stop_after_first_chunk)
            assert scope.cancelled_caught
            await assert_disconnected(server.requests[0])
            # The client is fine afterwards: the next run on it succeeds.
            server.enqueue(FakeResponse.text("still here"))
            result = await run_once(store, adapter, PROMPT)
            assert result.output["content"] == "still here"
        (cancelled,) = [s for s in await store.list_sessions() if s.status.value == "cancelled"]
        types = await stored_types(store, cancelled.id)
        assert types[-4:] == [
            "run_started",
            "message_streamed",
            "run_cancelled",
            "session_cancelled",
        ]
    gc.collect()  # an abandoned async generator would warn here (warnings are errors)


async def test_cancel_while_waiting_for_headers() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.hang())
        async with claude(server) as adapter:
            run, session = run_for(PROMPT)
            with trio.move_on_after(0.1):
                await adapter.execute(run, session, emit=Recorder())
        await assert_disconnected(server.requests[0])


async def test_cancel_run_id_stops_the_stream_and_reports_cancelled() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(slow_story())
        async with claude(server) as adapter, trio.open_nursery() as nursery:
            first_chunk = trio.Event()
            run_ids: list[str] = []

            def watch(event: Event) -> None:
                if event.type.value == "message_streamed" and event.run_id:
                    run_ids.append(event.run_id)
                    first_chunk.set()

            async def cancel_it() -> None:
                await first_chunk.wait()
                await adapter.cancel(run_ids[0])

            nursery.start_soon(cancel_it)
            with pytest.raises(SessionError) as caught:
                await run_once(store, adapter, PROMPT, event_callback=watch)
        assert caught.value.code == "cancelled"
        assert caught.value.message == "Run was cancelled"
        await assert_disconnected(server.requests[0])
        (session,) = await store.list_sessions()
        types = await stored_types(store, session.id)
        assert types.count("message_streamed") >= 1 and "run_completed" not in types
        assert types[-2:] == ["run_cancelled", "session_cancelled"]
        assert types.count("run_cancelled") == 1


async def test_cancel_of_a_run_that_is_not_executing_is_run_not_found() -> None:
    adapter = ClaudeAdapter(api_key=API_KEY)
    with pytest.raises(SessionError) as caught:
        await adapter.cancel("run_unknown")
    assert caught.value.code == "run_not_found"


async def test_twenty_concurrent_runs_share_one_borrowed_adapter() -> None:
    def echo(request: RecordedRequest) -> FakeResponse:
        prompt = request.json["messages"][-1]["content"]
        return FakeResponse.text("echo: ", prompt).slowly(0.01)

    results: dict[int, str] = {}
    async with (
        FakeAnthropicServer(responder=echo) as server,
        InMemorySessionStore() as store,
        claude(server) as adapter,
    ):

        async def one(i: int) -> None:
            result = await run_once(store, adapter, {"prompt": f"run {i}"})
            results[i] = result.output["content"]

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(one, i)
        assert len(server.requests) == 20
        sessions = await store.list_sessions()
        assert len(sessions) == 20
        assert {s.status.value for s in sessions} == {"completed"}
    assert results == {i: f"echo: run {i}" for i in range(20)}


async def test_borrowed_client_is_used_and_never_closed() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("one"), FakeResponse.text("two"))
        client = anthropic.AsyncAnthropic(base_url=server.url, api_key=API_KEY, max_retries=0)
        async with client:
            async with ClaudeAdapter(client=client, api_key="sk-ant-test-ignored") as adapter:
                assert "borrowed" in repr(adapter)
                run, session = run_for(PROMPT)
                first = await adapter.execute(run, session, emit=Recorder())
            assert not client.is_closed()
            second = await client.messages.create(
                model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        assert first["output"]["content"] == "one"
        assert second.content[0].text == "two"
        assert server.requests[0].has_api_key(API_KEY)


async def test_owned_client_is_closed_on_exit_and_reentry_is_refused() -> None:
    async with FakeAnthropicServer() as server:
        adapter = ClaudeAdapter(base_url=server.url, api_key=API_KEY)
        async with adapter:
            client = adapter._client
            assert client is not None and not client.is_closed()
            with pytest.raises(RuntimeError, match="already open"):
                await adapter.__aenter__()
        assert client.is_closed()


async def test_adapter_used_without_async_with_opens_a_client_per_run() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(FakeResponse.text("a"), FakeResponse.text("b"))
        adapter = ClaudeAdapter(base_url=server.url, api_key=API_KEY, max_retries=0)
        contents = [(await run_once(store, adapter, PROMPT)).output["content"] for _ in range(2)]
    assert contents == ["a", "b"]


async def test_open_stream_session_end_to_end() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Hello ", "from ", "the fake."))
        spec = (
            ClaudeAdapter,
            {"base_url": server.url, "api_key": API_KEY, "model": "claude-haiku-4-5"},
        )
        async with open_stream_session(adapter=spec, input={"prompt": "Hi"}) as stream:
            events = [event async for event in stream]
        assert stream.meta["adapter"] is ClaudeAdapter
        assert [e.type.value for e in events] == [
            "run_started",
            "message_streamed",
            "message_streamed",
            "message_streamed",
            "token_usage_updated",
            "message_received",
            "run_completed",
        ]
        assert stream.result is not None
        assert stream.result.output["content"] == "Hello from the fake."
        assert stream.result.cost_usd == pytest.approx(25 * 0.8e-6 + 15 * 4e-6, abs=1e-12)
        assert server.requests[0].json["model"] == "claude-haiku-4-5"


async def test_open_stream_session_turns_a_provider_error_into_one_terminal_event() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.error(401))
        spec = (ClaudeAdapter, {"base_url": server.url, "api_key": API_KEY, "max_retries": 0})
        async with open_stream_session(adapter=spec, input={"prompt": "Hi"}) as stream:
            events = [event async for event in stream]
    (event,) = events
    assert event.type.value == "error_occurred"
    assert event.data["error_code"] == "provider_authentication_failed"
    assert event.data["provider_error"]["provider"] == "claude"
    assert event.data["provider_error"]["kind"] == "http_error"
    assert API_KEY not in repr(event.to_dict())


async def test_closing_the_stream_early_closes_the_connection() -> None:
    async with FakeAnthropicServer() as server, InMemorySessionStore() as store:
        server.enqueue(slow_story())
        spec = (ClaudeAdapter, {"base_url": server.url, "api_key": API_KEY})
        async with open_stream_session(adapter=spec, input=PROMPT, store=store) as stream:
            async for event in stream:
                if event.type.value == "message_streamed":
                    break
        await assert_disconnected(server.requests[0])
        (session,) = await store.list_sessions()
        assert session.status.value == "cancelled"
        assert "run_cancelled" in await stored_types(store, session.id)
    gc.collect()
