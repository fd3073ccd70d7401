"""Real adapter runs whose events the rendering goldens are made of.

:func:`claude_agent_run` drives the real :class:`ClaudeAdapter` tool loop
through the real ``anthropic`` client against :class:`FakeAnthropicServer` on
loopback: thinking, two concurrent tools (one fails), an approval that denies
a third, then a server-side web search answered with citations.
:func:`cli_agent_run` runs a CLI agent's adapter on its fake executable, which
replays recorded real output (``fake_cli/``). The golden event sets
``agent_loop``, ``codex``, ``amp`` and ``claude_code`` are these runs' events
(``regenerate.py --record``); ``test_rendering_adapters.py`` runs them live.
"""

from __future__ import annotations

from typing import Any, Final

import trio
import trio.lowlevel
from fake_cli.helpers import fake_env, fake_executable

from trio_stream_session import Event, open_stream_session
from trio_stream_session.adapters import AmpAdapter, ClaudeAdapter, ClaudeCodeAdapter, CodexAdapter
from trio_stream_session.adapters._tools import ToolCall
from trio_stream_session.testing._fake_anthropic import FakeAnthropicServer, FakeResponse

API_KEY = "sk-ant-test-0123456789abcdefghijklmnop"
PROMPT = "What's the weather in Paris and Rome? Clean the build first."
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
RESULTS = [
    {
        "type": "web_search_result",
        "url": "https://meteo.example/paris",
        "title": "Paris forecast",
        "encrypted_content": "enc-1",
        "page_age": "1 hour ago",
    },
]
CITATION = {
    "type": "web_search_result_location",
    "url": "https://meteo.example/paris",
    "title": "Paris forecast",
    "encrypted_index": "idx-1",
    "cited_text": "Rain is likely in Paris this afternoon.",
}


async def get_weather(city: str) -> str:
    """Current weather for a city."""
    await trio.lowlevel.checkpoint()
    if city == "Paris":
        raise TimeoutError("weather service did not answer")
    return f"{city}: 24°C, sunny"


def clean_build(path: str) -> str:
    """Delete a build directory."""
    raise AssertionError("never approved, never run")


def read_only(call: ToolCall) -> bool:
    """The approval policy: nothing that deletes."""
    return call.name != "clean_build"


def _responses() -> list[FakeResponse]:
    first = FakeResponse.message(
        [
            {"type": "thinking", "thinking": ["Two cities: ", "call the tool twice."]},
            {"type": "text", "text": ["Checking both ", "cities."]},
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {
                "type": "tool_use",
                "id": "toolu_02",
                "name": "get_weather",
                "input": {"city": "Rome"},
            },
            {
                "type": "tool_use",
                "id": "toolu_03",
                "name": "clean_build",
                "input": {"path": "build"},
            },
        ],
        message_id="msg_01",
        input_tokens=412,
        output_tokens=96,
    )
    second = FakeResponse.message(
        [
            {
                "type": "server_tool_use",
                "id": "srvtoolu_01",
                "name": "web_search",
                "input": {"query": "Paris weather today"},
            },
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": RESULTS},
            {
                "type": "text",
                "text": ["Rome is sunny; ", "Paris is probably rainy."],
                "citations": [CITATION],
            },
        ],
        message_id="msg_02",
        input_tokens=655,
        output_tokens=41,
        usage={"server_tool_use": {"web_search_requests": 1}},
    )
    return [first, second]


#: Golden event set -> (adapter, fake executable, recorded scenario it replays).
CLI_RUNS: Final = {
    "codex": (CodexAdapter, "codex", "items"),
    "amp": (AmpAdapter, "amp", "tools"),
    "claude_code": (ClaudeCodeAdapter, "claude", "tools"),
}


async def cli_agent_run(event_set: str) -> list[Event]:
    """The events of one CLI agent run replaying the recording behind *event_set*."""
    adapter_class, fake, scenario = CLI_RUNS[event_set]
    adapter = adapter_class(executable=fake_executable(fake), env=fake_env(scenario))
    async with open_stream_session(adapter=adapter, input="list the files") as stream:
        return [event async for event in stream]


async def claude_agent_run() -> list[Event]:
    """The events of one real Claude tool-loop run, as a consumer of the stream sees them."""
    events: list[Event] = []
    async with FakeAnthropicServer() as server:
        for response in _responses():
            server.enqueue(response)
        adapter = ClaudeAdapter(
            base_url=server.url,
            api_key=API_KEY,
            max_retries=0,
            tools=[get_weather, clean_build, WEB_SEARCH],
            approve=read_only,
        )
        async with adapter, open_stream_session(adapter=adapter, input=PROMPT) as stream:
            async for event in stream:
                events.append(event)
    return events


def golden_events(events: list[Event]) -> list[dict[str, Any]]:
    """*events* as golden-file mappings, with fixed ids and timestamps."""
    found = []
    for index, event in enumerate(events):
        entry = event.to_dict()
        found.append(
            {
                "data": entry["data"],
                "provider": entry["provider"],
                "run_id": "run_test_456",
                "session_id": "ses_test_123",
                "timestamp": f"2026-11-30T12:00:{index // 10:02d}.{index % 10}00000Z",
                "type": entry["type"],
            }
        )
    return found
