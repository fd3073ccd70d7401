"""CompactRenderer: the reference's compact_renderer_test, ported (spec §12.2)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from trio_stream_session import Event, EventType
from trio_stream_session.rendering import CompactRenderer

_SETS = json.loads((Path(__file__).parent / "rendering" / "golden_renderers.json").read_text())[
    "event_sets"
]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_test_123", "run_id": "run_test_456"}


def strip(text: str) -> str:
    return SGR.sub("", text)


def render_all(renderer: CompactRenderer, events: list[dict[str, Any]]) -> str:
    return "".join(renderer.render(e) for e in events)


def plain() -> CompactRenderer:
    return CompactRenderer(color=False)


def test_default_init() -> None:
    r = CompactRenderer()
    assert r.color is True
    assert (r.event_count, r.tool_count, r.current_tool, r.current_tool_id) == (0, 0, None, None)


def test_color_false_is_stored() -> None:
    assert CompactRenderer(color=False).color is False


def test_run_started_shows_short_model() -> None:
    out = strip(plain().render(ev("run_started", model="claude-sonnet-4-5-20250929")))
    assert "r+" in out
    assert "sonnet" in out


def test_run_started_opus_model() -> None:
    out = strip(plain().render(ev("run_started", model="claude-opus-4-6-20250801")))
    assert "opus" in out


def test_first_text_chunk_has_marker() -> None:
    out = plain().render(ev("message_streamed", delta="Hello", content="Hello"))
    assert ">>" in out
    assert "Hello" in out


def test_second_chunk_has_no_marker() -> None:
    r = plain()
    r.render(ev("message_streamed", delta="Hello"))
    out = r.render(ev("message_streamed", delta=" world"))
    assert ">>" not in out
    assert " world" in out


def test_text_then_run_completed() -> None:
    r = plain()
    out = r.render(ev("message_streamed", delta="Hello")) + r.render(
        ev("run_completed", stop_reason="end_turn")
    )
    assert "Hello" in out
    assert "r-" in out


def test_tool_start_token() -> None:
    out = plain().render(ev("tool_call_started", tool_name="Read", tool_call_id="tu_001"))
    assert "t+" in out
    assert "Read" in out


def test_tool_start_state() -> None:
    r = plain()
    r.render(ev("tool_call_started", tool_name="Read", tool_call_id="tu_001"))
    assert r.current_tool == "Read"
    assert r.current_tool_id == "tu_001"
    assert r.tool_count == 1


def test_tool_use_id_alias_is_ignored() -> None:
    r = plain()
    r.render(ev("tool_call_started", tool_name="Read", tool_use_id="tu_legacy"))
    assert r.current_tool_id is None


def test_tool_completion_token() -> None:
    out = plain().render(ev("tool_call_completed", tool_name="Read", tool_output="x"))
    assert "t-" in out
    assert "Read" in out


def test_tool_output_preview() -> None:
    out = plain().render(
        ev("tool_call_completed", tool_name="Read", tool_output="defmodule Foo do\nend")
    )
    assert "defmodule Foo" in out


def test_completion_clears_current_tool() -> None:
    r = plain()
    r.render(ev("tool_call_started", tool_name="Read", tool_call_id="tu_001"))
    r.render(ev("tool_call_completed", tool_name="Read", tool_output="x"))
    assert r.current_tool is None
    assert r.current_tool_id is None


def test_token_usage() -> None:
    out = plain().render(ev("token_usage_updated", input_tokens=100, output_tokens=50))
    assert "100" in out
    assert "50" in out


def test_token_usage_cost_four_decimals() -> None:
    out = plain().render(
        ev("token_usage_updated", input_tokens=1, output_tokens=2, cost_usd=0.01234)
    )
    assert "$0.0123" in out


def test_message_received_renders() -> None:
    assert plain().render(ev("message_received", content="Hello", role="assistant")) != ""


def test_run_completed() -> None:
    assert "r-" in plain().render(ev("run_completed", stop_reason="end_turn"))


def test_stop_reason_tool_use_abbreviated() -> None:
    assert "tool" in plain().render(ev("run_completed", stop_reason="tool_use"))


def test_stop_reason_end_turn_abbreviated() -> None:
    assert "end" in plain().render(ev("run_completed", stop_reason="end_turn"))


def test_run_completed_cost() -> None:
    out = plain().render(ev("run_completed", stop_reason="end_turn", cost_usd=0.11111))
    assert "$0.1111" in out


def test_run_failed() -> None:
    out = plain().render(ev("run_failed", error_code="provider_error", error_message="boom"))
    assert "!" in out
    assert "boom" in out


def test_run_cancelled() -> None:
    out = plain().render({"type": "run_cancelled"})
    assert "!" in out
    assert "cancelled" in out


def test_error_occurred() -> None:
    out = plain().render(ev("error_occurred", error_message="rate limited"))
    assert "!" in out
    assert "rate limited" in out


def test_unknown_type() -> None:
    assert plain().render(ev("unknown_type", foo="bar")) == "?:unknown_type"


def test_simple_session() -> None:
    r = plain()
    out = strip(render_all(r, _SETS["simple"]))
    for piece in ("r+", "Hello", " world", "r-"):
        assert piece in out
    assert r.event_count == 6


def test_tool_session() -> None:
    r = plain()
    out = strip(render_all(r, _SETS["tool"]))
    for piece in ("r+", "t+", "Read", "t-", "r-"):
        assert piece in out
    assert r.tool_count == 1


def test_finish_after_run_started_has_newline() -> None:
    r = plain()
    r.render(ev("run_started", model="m"))
    assert "\n" in r.finish()


def test_finish_summary() -> None:
    r = plain()
    r.render(ev("run_started"))
    assert r.finish() == "\n1 event, 0 tools\n"


def test_default_output_is_coloured() -> None:
    assert "\x1b[" in CompactRenderer().render(ev("run_started", model="claude-sonnet-4-5"))


def test_plain_output_has_no_escape_codes() -> None:
    r = plain()
    out = render_all(r, _SETS["tool"]) + r.finish()
    assert "\x1b[" not in out


def test_event_count() -> None:
    r = plain()
    render_all(r, [ev("run_started"), ev("message_streamed", delta="x"), ev("run_completed")])
    assert r.event_count == 3


def test_two_tool_pairs() -> None:
    r = plain()
    for name in ("Read", "Write"):
        r.render(ev("tool_call_started", tool_name=name))
        r.render(ev("tool_call_completed", tool_name=name, tool_output="ok"))
    assert r.tool_count == 2


# Beyond the reference suite: Event objects, odd shapes, deviations.


def test_event_objects_render_like_mappings() -> None:
    event = Event(
        type=EventType.RUN_STARTED, session_id="ses_1", data={"model": "claude-opus-4-6-2025"}
    )
    assert plain().render(event) == "r+ opus-4-6"
    assert plain().render(Event(type=EventType.SESSION_CREATED, session_id="s")) == "s:created"


def test_non_number_cost_is_ignored() -> None:
    out = plain().render(ev("token_usage_updated", input_tokens=1, output_tokens=2, cost_usd="x"))
    assert out == "tk:1/2"


def test_integer_cost_uses_python_formatting() -> None:
    assert plain().render(ev("run_completed", cost_usd=2)) == "r- $2"


def test_missing_data_is_empty_data() -> None:
    assert plain().render({"type": "tool_call_started"}) == "t+unknown"
    assert plain().render({"type": "message_received", "data": ["not", "a", "dict"]}) == "msg "
