"""Arbitrary JSON events into the Claude Code, Codex and Amp translators: a normalised event,
a CLIFailure (which becomes a provider error), or nothing; never a crash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session import Event, EventType
from trio_stream_session.adapters._amp import _AmpTranslator
from trio_stream_session.adapters._claude_code import _ClaudeCodeTranslator
from trio_stream_session.adapters._cli_process import CLIFailure
from trio_stream_session.adapters._codex import _CodexTranslator

CODEX_TYPES = [
    "thread.started",
    "turn.started",
    "item.started",
    "item.updated",
    "item.completed",
    "turn.completed",
    "turn.failed",
    "error",
]
AMP_TYPES = ["system", "assistant", "user", "result"]
CLAUDE_CODE_TYPES = [*AMP_TYPES, "stream_event", "rate_limit_event"]
ITEM_TYPES = [
    "agent_message",
    "reasoning",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "todo_list",
    "error",
]

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "id",
                    "text",
                    "item",
                    "usage",
                    "message",
                    "content",
                    "status",
                    "name",
                    "input",
                    "tool_use_id",
                    "is_error",
                    "subtype",
                    "result",
                    "command",
                    "exit_code",
                    "aggregated_output",
                    "input_tokens",
                    "error",
                    "event",
                    "delta",
                    "rate_limit_info",
                ]
            )
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=15,
)


def events(types: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    item = st.fixed_dictionaries({"type": st.sampled_from(ITEM_TYPES)}, optional={"id": values})
    return st.fixed_dictionaries(
        {"type": st.sampled_from(types) | scalars},
        optional={
            "item": item | values,
            "usage": values,
            "message": values,
            "subtype": values,
            "result": values,
            "error": values,
            "event": values,
            "rate_limit_info": values,
        },
    )


async def translate(translator_type: Any, stream: Sequence[Mapping[str, Any]]) -> None:
    emitted: list[Mapping[str, Any]] = []

    async def emit(raw: Mapping[str, Any]) -> Event:
        emitted.append(raw)
        return Event(type=EventType(raw["type"]), session_id="ses_x", data=raw.get("data", {}))

    translator = translator_type(emit, [], None)
    try:
        for event in stream:
            await translator.handle(event)
        result = await translator.finish()
    except CLIFailure:
        return
    assert isinstance(result, Mapping)
    assert all(isinstance(raw["data"], Mapping) for raw in emitted)


@given(stream=st.lists(events(CODEX_TYPES), max_size=8))
async def test_codex_translator_never_crashes(stream: list[dict[str, Any]]) -> None:
    await translate(_CodexTranslator, stream)


@given(stream=st.lists(events(AMP_TYPES), max_size=8))
async def test_amp_translator_never_crashes(stream: list[dict[str, Any]]) -> None:
    await translate(_AmpTranslator, stream)


@given(stream=st.lists(events(CLAUDE_CODE_TYPES), max_size=8))
async def test_claude_code_translator_never_crashes(stream: list[dict[str, Any]]) -> None:
    await translate(_ClaudeCodeTranslator, stream)
