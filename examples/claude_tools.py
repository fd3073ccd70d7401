"""Claude as an agent: two tools, an approval policy, and every event printed.

    python examples/claude_tools.py            # offline, against a scripted fake API
    python examples/claude_tools.py --live     # the real API (needs ANTHROPIC_API_KEY)

Offline, the fake Messages API on 127.0.0.1 plays the model: it asks for both tools
at once, then answers. The tools run for real, concurrently, inside the session's
cancel scope; closing the stream early would cancel them. (The offline mode needs
``hypercorn``, a test dependency: ``pip install 'trio_stream_session[test]'``.)
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from typing import Any

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.adapters import ClaudeAdapter, ToolCall


async def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    await trio.sleep(0.2)  # an API call would go here
    return f"Sunny and 21C in {city}"


def local_time(zone: str) -> str:
    """Current local time in an IANA time zone (a sync tool: it runs in a worker thread).

    Args:
        zone: The time zone, e.g. "Europe/Paris".
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(zone)).strftime("%H:%M")


def approve(call: ToolCall) -> bool:
    """Allow every call except weather for places we promised not to look up."""
    return call.input.get("city") != "Atlantis"


async def main(live: bool) -> None:
    async with AsyncExitStack() as stack:
        options: dict[str, Any] = {
            "tools": [get_weather, local_time],
            "approve": approve,
            "max_turns": 5,
            "tool_timeout": 30,
        }
        if not live:
            from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

            server = await stack.enter_async_context(FakeAnthropicServer())
            server.script(
                FakeResponse.tool_uses(
                    [("get_weather", {"city": "Paris"}), ("local_time", {"zone": "Europe/Paris"})],
                    text="Let me look both up.",
                ),
                FakeResponse.text("It is sunny and 21C ", "in Paris right now."),
            )
            options.update(base_url=server.url, api_key="sk-ant-offline-example")
        adapter = await stack.enter_async_context(ClaudeAdapter(**options))
        prompt = "What's the weather and the local time in Paris?"
        async with open_stream_session(adapter=adapter, input=prompt) as stream:
            async for event in stream:
                data = {k: v for k, v in event.data.items() if k != "content_blocks"}
                print(f"{event.sequence_number:>3} {event.type.value:<24} {data}")
        if stream.result is not None:
            print("\nanswer:", stream.result.output["content"])
            print("cost:  ", stream.result.cost_usd)


if __name__ == "__main__":
    trio.run(main, "--live" in sys.argv[1:])
