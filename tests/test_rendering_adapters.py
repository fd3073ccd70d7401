"""The renderers over real adapter runs: every event they emit has a rendering.

The Claude tool loop runs through the real ``anthropic`` client against
``FakeAnthropicServer`` on loopback, the CLI agents on fake executables that
replay recorded real output (``rendering/scenarios.py``), the mock adapter
through ``open_stream_session``. No output may fall back to the unknown-event
form or show Elixir terms, and the golden event sets must hold exactly what
the adapters emit.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import pytest
import trio
from rendering.regenerate import load
from rendering.scenarios import CLI_RUNS, claude_agent_run, cli_agent_run, golden_events

from trio_stream_session import Event, SessionError, open_stream_session
from trio_stream_session.rendering import CompactRenderer, StudioRenderer, VerboseRenderer
from trio_stream_session.testing import MockAdapter

GOLDEN = load()
ELIXIR = re.compile(r"%\{|\bnil\b|\s=>\s|\x01")
FALLBACKS = {"compact": re.compile(r"(^| )\?:"), "verbose": re.compile(r"^\[event\]", re.M)}
FALLBACKS["studio"] = re.compile(r"^ *\? (?!Approval)", re.M)
RERECORD = (
    "the adapter's events changed: re-record the goldens with "
    "`.venv/bin/python tests/rendering/regenerate.py --record` and review the diff"
)


def renderings(events: list[Event]) -> dict[str, str]:
    found = {}
    for name, renderer in (
        ("compact", CompactRenderer(color=False)),
        ("verbose", VerboseRenderer(color=False)),
        ("studio", StudioRenderer(color=False, tty=True, tool_output="preview")),
    ):
        found[name] = "".join(renderer.render(e) for e in events) + renderer.finish()
    return found


def assert_spoken(events: list[Event]) -> dict[str, str]:
    out = renderings(events)
    for name, text in out.items():
        assert not FALLBACKS[name].search(text), (name, text)
        assert not ELIXIR.search(text), (name, text)
    return out


def shapes(events: list[dict[str, Any]]) -> set[tuple[str, Any]]:
    return {(e["type"], e["data"].get("kind")) for e in events}


def canonical(events: list[dict[str, Any]]) -> list[str]:
    """The events without timestamps, in an order concurrent tools cannot change."""
    return sorted(json.dumps({**e, "timestamp": None}, sort_keys=True) for e in events)


async def test_the_claude_tool_loop_is_rendered_in_full() -> None:
    # Real clock: the adapter talks HTTP to a server on loopback.
    with trio.fail_after(60):
        events = await claude_agent_run()
    out = assert_spoken(events)
    studio = out["studio"]
    for line in (
        "thinking: Two cities: call the tool twice.",
        "? Approval requested: clean_build(path='build')",
        "✗ Denied: clean_build(path='build')",
        "✗ get_weather(city='Paris') failed — TimeoutError: weather service did not answer",
        "✓ get_weather(city='Rome') complete (17 chars)",
        "● Turn 1: 3 tool results sent back",
        '✓ Searched: "Paris weather today" (1 result)',
        "[1] Paris forecast — https://meteo.example/paris",
        "● Session complete (end_turn) — 1067/137 tokens, 4 tools",
    ):
        assert line in studio
    assert "t!get_weather TimeoutError: weather service did not answer" in out["compact"]
    assert "[message_received] role=assistant turn=1 stop_reason=tool_use" in out["verbose"]

    # The goldens hold exactly what the loop emits (concurrent tools may reorder).
    recorded = golden_events(events)
    assert canonical(recorded) == canonical(GOLDEN["event_sets"]["agent_loop"]), RERECORD


@pytest.mark.parametrize("event_set", sorted(CLI_RUNS))
async def test_cli_agent_runs_are_rendered_in_full(event_set: str) -> None:
    # Real clock: the fake CLI is a real subprocess.
    with trio.fail_after(60):
        events = await cli_agent_run(event_set)
    out = assert_spoken(events)
    assert "✗" in out["studio"] and "t!" in out["compact"]  # each recording has a failed tool
    assert golden_events(events) == GOLDEN["event_sets"][event_set], RERECORD


@pytest.mark.parametrize("mode", ["streaming", "failing", "instant"])
async def test_mock_adapter_runs_are_rendered_in_full(
    mode: Literal["streaming", "failing", "instant"], autojump_clock: trio.testing.MockClock
) -> None:
    failure = SessionError("provider_error", "no luck") if mode == "failing" else None
    adapter = MockAdapter(mode=mode, fail_with=failure)
    events: list[Event] = []
    async with open_stream_session(adapter=adapter, input={"prompt": "hi"}) as stream:
        async for event in stream:
            events.append(event)
    out = assert_spoken(events)
    covered = set().union(*(shapes(e) for e in GOLDEN["event_sets"].values()))
    assert shapes([e.to_dict() for e in events]) <= covered
    if mode == "failing":
        assert "✗ no luck" in out["studio"]
    else:
        assert "Session complete (end_turn)" in out["studio"]
