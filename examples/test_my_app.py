"""Testing an application offline: the mock adapter, a fake Claude API, a mock clock.

Run with ``pytest examples/test_my_app.py`` (needs ``pytest-trio``, and
``hypercorn`` for the fake API: both are in the ``test`` extra).
"""

import pytest
import trio
import trio.testing

from trio_stream_session import ProviderAdapter, open_stream_session
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse, MockAdapter

pytestmark = pytest.mark.trio


# -- the application under test ---------------------------------------------------
async def answer(adapter: ProviderAdapter, question: str) -> str:
    """Ask one question; the answer, or a line saying what went wrong."""
    async with open_stream_session(adapter=adapter, input=question, idle_timeout=60) as stream:
        async for event in stream:
            if event.type == "error_occurred":
                return f"sorry: {event.data['error_code']}"
    assert stream.result is not None
    content: str = stream.result.output["content"]
    return content


# -- tests ------------------------------------------------------------------------
async def test_answer_with_the_mock_adapter() -> None:
    adapter = MockAdapter("streaming", response={"content": "42"})
    assert await answer(adapter, "The answer?") == "42"
    [execution] = adapter.executions  # what the adapter was asked
    assert execution.input == {"prompt": "The answer?"}


async def test_a_provider_failure_is_an_answer_too() -> None:
    assert await answer(MockAdapter("failing"), "Hi") == "sorry: provider_error"


async def test_a_silent_provider_times_out(autojump_clock: trio.testing.MockClock) -> None:
    # The mock clock jumps ahead whenever every task is blocked: the 60 s idle
    # timeout passes at once, and the test takes milliseconds.
    start = trio.current_time()
    assert await answer(MockAdapter("timeout"), "Hi") == "sorry: timeout"
    assert 60 <= trio.current_time() - start <= 60 * 1.125


async def test_answer_with_claude_against_a_fake_api() -> None:
    async with FakeAnthropicServer() as server:
        server.enqueue(FakeResponse.text("Hello ", "there!"))
        adapter = ClaudeAdapter(base_url=server.url, api_key="sk-ant-test", max_retries=0)
        async with adapter:
            assert await answer(adapter, "Hi") == "Hello there!"
    [request] = server.requests  # what the model was sent
    assert request.json["messages"] == [{"role": "user", "content": "Hi"}]


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    await trio.lowlevel.checkpoint()
    return f"Sunny in {city}"


async def test_an_agent_uses_its_tool() -> None:
    async with FakeAnthropicServer() as server:
        server.script(  # the model's two turns: a tool call, then the answer
            FakeResponse.tool_use("get_weather", {"city": "Paris"}, tool_id="toolu_1"),
            FakeResponse.text("It is sunny."),
        )
        adapter = ClaudeAdapter(base_url=server.url, api_key="sk-ant-test", tools=[get_weather])
        async with adapter:
            assert await answer(adapter, "Weather in Paris?") == "It is sunny."
    second = server.requests[1].messages  # what the model saw on its second turn
    assert second[-1]["content"][0]["tool_use_id"] == "toolu_1"
    assert second[-1]["content"][0]["content"] == "Sunny in Paris"
