"""One streamed reply of *n* text deltas in each peer system, with its own test model.

Every function here runs one session (one agent run or one streamed call) and
returns how many stream events the caller received. The peers are
asyncio-only; ``_peers`` runs them in their own asyncio event loop in a
child process. Imports are inside the functions: a peer that is not
installed is only an error when it is asked for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

Stream = Callable[[int], Awaitable[int]]


def _words(n: int) -> list[str]:
    return [f"w{i} " for i in range(n)]


async def openai_agents(n: int) -> int:
    """``Runner.run_streamed`` with a fake ``Model`` yielding *n* text deltas."""
    from agents import Agent, Runner, set_tracing_disabled
    from agents.models.interface import Model
    from openai.types.responses import (
        Response,
        ResponseCompletedEvent,
        ResponseOutputMessage,
        ResponseOutputText,
        ResponseTextDeltaEvent,
    )

    set_tracing_disabled(True)
    text = "".join(_words(n))
    message = ResponseOutputMessage(
        id="msg_1",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )
    response = Response(
        id="resp_1",
        created_at=0,
        model="fake",
        object="response",
        output=[message],
        parallel_tool_calls=False,
        tool_choice="auto",
        tools=[],
    )

    class FakeModel(Model):
        async def get_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            for index, word in enumerate(_words(n)):
                yield ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    delta=word,
                    item_id="msg_1",
                    output_index=0,
                    content_index=0,
                    logprobs=[],
                    sequence_number=index,
                )
            yield ResponseCompletedEvent(
                type="response.completed", response=response, sequence_number=n
            )

    agent = Agent(name="bench", model=FakeModel())
    result = Runner.run_streamed(agent, input="benchmark")
    count = 0
    async for _event in result.stream_events():
        count += 1
    return count


async def langchain_core(n: int) -> int:
    """``astream`` of ``GenericFakeChatModel`` (it streams one chunk per word and space)."""
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    model = GenericFakeChatModel(messages=iter([AIMessage(content="".join(_words(n)))]))
    count = 0
    async for _chunk in model.astream("benchmark"):
        count += 1
    return count


async def pydantic_ai(n: int) -> int:
    """``Agent.run_stream`` over a ``FunctionModel`` streaming *n* deltas."""
    from pydantic_ai import Agent
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    async def deltas(messages: list[Any], info: AgentInfo) -> AsyncIterator[str]:
        for word in _words(n):
            yield word

    agent = Agent(FunctionModel(stream_function=deltas))
    count = 0
    async with agent.run_stream("benchmark") as result:
        async for _text in result.stream_text(delta=True, debounce_by=None):
            count += 1
    return count


def anthropic_sdk(client: Any) -> Stream:
    """``messages.stream()`` with *client* (an ``AsyncAnthropic`` pointed at
    ``FakeAnthropicServer``, which is asked for a reply of *n* deltas through
    ``max_tokens``: see ``_peers.serve``)."""

    async def stream(n: int) -> int:
        from ._claude import REQUEST

        count = 0
        async with client.messages.stream(**{**REQUEST, "max_tokens": n}) as events:
            async for _event in events:
                count += 1
        return count

    return stream


# system name -> (module to import to tell whether it is installed, the stream)
PEERS: dict[str, str] = {
    "openai-agents": "agents",
    "langchain-core": "langchain_core",
    "pydantic-ai": "pydantic_ai",
    "anthropic": "anthropic",
}

LOCAL: dict[str, Stream] = {
    "openai-agents": openai_agents,
    "langchain-core": langchain_core,
    "pydantic-ai": pydantic_ai,
}
