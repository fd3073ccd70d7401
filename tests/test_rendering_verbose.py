"""VerboseRenderer: the reference's verbose_renderer_test, ported (spec §12.3)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from trio_stream_session.rendering import VerboseRenderer

_SETS = json.loads((Path(__file__).parent / "rendering" / "golden_renderers.json").read_text())[
    "event_sets"
]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_test_123", "run_id": "run_test_456"}


def render(event: dict[str, Any]) -> str:
    return SGR.sub("", VerboseRenderer().render(event))


def test_init() -> None:
    r = VerboseRenderer()
    assert (r.color, r.in_text, r.event_count, r.tool_count) == (True, False, 0, 0)


def test_run_started_full_model() -> None:
    out = render(ev("run_started", model="claude-sonnet-4-5-20250929"))
    assert "[run_started]" in out
    assert "claude-sonnet-4-5-20250929" in out


def test_run_started_session_id() -> None:
    assert "ses_test_123" in render(ev("run_started", model="m"))


def test_single_chunk_is_raw() -> None:
    assert VerboseRenderer().render(ev("message_streamed", delta="Hello")) == "Hello"


def test_chunks_are_raw() -> None:
    r = VerboseRenderer()
    assert r.render(ev("message_streamed", delta="Hello")) == "Hello"
    assert r.render(ev("message_streamed", delta=" world")) == " world"


def test_text_then_run_completed() -> None:
    r = VerboseRenderer()
    out = SGR.sub(
        "", r.render(ev("message_streamed", delta="Hello")) + r.render(ev("run_completed"))
    )
    assert "Hello\n" in out
    assert "[run_completed]" in out


def test_tool_started() -> None:
    out = render(
        ev("tool_call_started", tool_name="Read", tool_call_id="tu_001", tool_input={"path": "/a"})
    )
    assert "[tool_call_started]" in out
    assert "Read" in out
    assert "tu_001" in out


def test_tool_input_path() -> None:
    out = render(ev("tool_call_started", tool_name="Read", tool_input={"path": "/foo/bar.ex"}))
    assert "/foo/bar.ex" in out


def test_tool_use_id_not_printed() -> None:
    out = render(ev("tool_call_started", tool_name="Read", tool_use_id="tu_legacy_999"))
    assert "tu_legacy_999" not in out


def test_tool_completed() -> None:
    out = render(ev("tool_call_completed", tool_name="Read", tool_output="x"))
    assert "[tool_call_completed]" in out
    assert "Read" in out


def test_tool_output_preview() -> None:
    out = render(ev("tool_call_completed", tool_name="Read", tool_output="defmodule Foo do\nend"))
    assert "defmodule Foo" in out


def test_nil_output_does_not_crash() -> None:
    out = render(ev("tool_call_completed", tool_name="Read", tool_output=None))
    assert out == "[tool_call_completed] name=Read\n"


def test_token_usage() -> None:
    out = render(ev("token_usage_updated", input_tokens=100, output_tokens=50))
    assert "[token_usage]" in out
    assert "100" in out
    assert "50" in out


def test_token_usage_cost() -> None:
    out = render(ev("token_usage_updated", input_tokens=1, output_tokens=2, cost_usd=0.012345))
    assert "cost=$0.012345" in out


def test_message_received() -> None:
    out = render(ev("message_received", content="Hello world", role="assistant"))
    assert "[message_received]" in out
    assert "Hello world" in out


def test_run_completed_stop_reason() -> None:
    out = render(ev("run_completed", stop_reason="end_turn"))
    assert "[run_completed]" in out
    assert "end_turn" in out


def test_run_completed_tokens() -> None:
    out = render(ev("run_completed", token_usage={"input_tokens": 200, "output_tokens": 100}))
    assert "200" in out
    assert "100" in out


def test_run_completed_cost() -> None:
    assert "cost=$0.111111" in render(ev("run_completed", cost_usd=0.111111))


def test_run_failed() -> None:
    out = render(ev("run_failed", error_code="provider_error", error_message="boom"))
    assert "[run_failed]" in out
    assert "boom" in out


def test_run_cancelled() -> None:
    assert "[run_cancelled]" in render({"type": "run_cancelled"})


def test_error_occurred() -> None:
    out = render(ev("error_occurred", error_message="rate limited"))
    assert "[error]" in out
    assert "rate limited" in out


def test_unknown_event() -> None:
    out = render(ev("unknown_type", foo="bar"))
    assert "[event]" in out
    assert "unknown_type" in out


def test_simple_session() -> None:
    r = VerboseRenderer()
    out = SGR.sub("", "".join(r.render(e) for e in _SETS["simple"]))
    for piece in ("[run_started]", "Hello world", "[run_completed]"):
        assert piece in out


def test_tool_session() -> None:
    r = VerboseRenderer()
    out = SGR.sub("", "".join(r.render(e) for e in _SETS["tool"]))
    for piece in ("[run_started]", "[tool_call_started]", "[tool_call_completed]", "Read"):
        assert piece in out
    for piece in ("[message_received]", "[token_usage]", "[run_completed]"):
        assert piece in out


def test_summary() -> None:
    r = VerboseRenderer()
    r.render(ev("run_started"))
    assert r.finish() == "\x1b[2m--- 1 event, 0 tools ---\n\x1b[0m"


# Beyond the reference suite: the documented deviations.


def test_dict_output_is_json() -> None:
    out = render(ev("tool_call_completed", tool_name="Bash", tool_output={"output": "a", "n": 1}))
    assert out == '[tool_call_completed] name=Bash output={"n":1,"output":"a"}\n'


def test_list_output_is_json() -> None:
    out = render(ev("tool_call_completed", tool_name="X", tool_output=[1, "two"]))
    assert out == '[tool_call_completed] name=X output=[1,"two"]\n'


def test_small_cost_uses_python_formatting() -> None:
    out = render(ev("token_usage_updated", input_tokens=1, output_tokens=2, cost_usd=5e-05))
    assert out.endswith("cost=$5e-05\n")
