"""Property tests: no event of any shape crashes a renderer or the JSONL encoder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session import Event, EventType
from trio_stream_session.rendering import (
    CompactRenderer,
    PassthroughRenderer,
    StudioRenderer,
    VerboseRenderer,
)
from trio_stream_session.rendering._jsonl import _dumps, compact_entry, full_entry
from trio_stream_session.rendering._pipeline import Renderer

FIELDS = [
    "model",
    "session_id",
    "delta",
    "content",
    "role",
    "tool_name",
    "tool_call_id",
    "tool_input",
    "tool_output",
    "exit_code",
    "status",
    "duration_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "stop_reason",
    "token_usage",
    "error_code",
    "error_message",
    "output",
    "command",
    "file_path",
    "path",
    "pattern",
    "url",
]
TOOLS = ["bash", "Bash", "Read", "Write", "Edit", "Glob", "Grep", "Task", "WebFetch", "WebSearch"]


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class HostileMapping(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no items")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from([*TOOLS, "failed", "completed", "end_turn", "tool_use", "https://x.io:1/"]),
    st.builds(Unprintable),
    st.builds(HostileMapping),
    st.sampled_from([b"bytes", (1, 2), frozenset({3, 4})]),
)
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=10))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=12,
)
data = st.one_of(st.dictionaries(keys, values, max_size=8), values)
types = st.one_of(
    st.sampled_from([t.value for t in EventType] + ["unknown_type"]),
    st.text(max_size=12),
    scalars,
)
mapping_events = st.fixed_dictionaries(
    {},
    optional={
        "type": types,
        "data": data,
        "session_id": values,
        "run_id": values,
        "timestamp": values,
    },
)
object_events = st.builds(
    lambda t, d: Event(type=t, session_id="ses_1", data=d),
    st.sampled_from(list(EventType)),
    st.dictionaries(keys, values, max_size=8),
)
events = st.one_of(mapping_events, object_events, values)


def renderers() -> list[Renderer]:
    found: list[Renderer] = [
        CompactRenderer(color=True),
        CompactRenderer(color=False),
        VerboseRenderer(color=True),
        PassthroughRenderer(),
    ]
    for mode in ("summary", "preview", "full"):
        for tty in (True, False):
            found.append(StudioRenderer(tool_output=mode, tty=tty, show_spinner=tty))
    return found


@given(st.lists(events, max_size=12))
def test_no_event_shape_crashes_a_renderer(batch: list[Any]) -> None:
    for renderer in renderers():
        for event in batch:
            assert isinstance(renderer.render(event), str)
        assert isinstance(renderer.finish(), str)


@given(events)
def test_jsonl_lines_are_json_objects(event: Any) -> None:
    full = json.loads(_dumps(full_entry(event)))
    assert isinstance(full.get("type", ""), str)  # "" is dropped, as in the reference
    assert isinstance(full["ts"], str)
    compact = json.loads(_dumps(compact_entry(event)))
    assert isinstance(compact["t"], int)
    assert isinstance(compact["e"]["t"], str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
json_events = st.builds(
    lambda t, d, m, run: Event(type=t, session_id="ses_1", run_id=run, data=d, metadata=m),
    st.sampled_from(list(EventType)),
    st.dictionaries(keys, json_values, max_size=6),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    st.none() | st.text(min_size=1, max_size=8),
)


@given(json_events)
def test_jsonl_full_round_trips_any_event(event: Event) -> None:
    assert Event.from_dict(json.loads(_dumps(full_entry(event)))) == Event.from_dict(
        event.to_dict()
    )


def test_cyclic_data_does_not_crash() -> None:
    loop: dict[str, Any] = {"tool_name": "Bash"}
    loop["tool_output"] = loop
    loop["output"] = loop
    loop["tool_input"] = loop
    for type_ in ("tool_call_started", "tool_call_completed", "weird"):
        for renderer in renderers():
            assert isinstance(renderer.render({"type": type_, "data": loop}), str)
        json.loads(_dumps(full_entry({"type": type_, "data": loop})))


# Values in Python's form, never Elixir's: no `%{`, `nil` or ` => ` for any data
# (whose own text cannot contain them).
safe_text = st.text(alphabet="abcxyz _-.:/'\"\n", max_size=8)
python_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | safe_text,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.sampled_from(FIELDS) | safe_text, inner, max_size=4)
    ),
    max_leaves=10,
)
typed_events = st.fixed_dictionaries(
    {
        "type": st.sampled_from([t.value for t in EventType] + ["custom_event"]),
        "data": st.dictionaries(st.sampled_from(FIELDS) | safe_text, python_values, max_size=6),
    }
)
ELIXIR = re.compile(r"%\{|\bnil\b|\s=>\s")


@given(st.lists(typed_events, max_size=8))
def test_no_renderer_shows_elixir_terms(batch: list[dict[str, Any]]) -> None:
    text_renderers: list[Renderer] = [
        CompactRenderer(color=False),
        VerboseRenderer(color=False),
        StudioRenderer(color=False, tty=True, tool_output="full"),
    ]
    for renderer in text_renderers:
        text = "".join(renderer.render(event) for event in batch) + renderer.finish()
        assert not ELIXIR.search(text), text
