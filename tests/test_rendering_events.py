"""Every event type has a rendering of its own, in Python's terms (issue 19, item 4).

Beyond the goldens: the behaviour each rendering promises (a tool failure closes
its spinner line, overlapping tools find their own start, thinking is its own
stream, ...), checked event by event.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from trio_stream_session import Event, EventType
from trio_stream_session.rendering import CompactRenderer, StudioRenderer, VerboseRenderer
from trio_stream_session.rendering._text import inspect_value, one_line, plural

SGR = re.compile(r"\x1b\[[0-9;]*m")
CLEAR = "\r\x1b[2K"


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_1", "run_id": "run_1"}


def text(chunk: str, kind: str = "text") -> dict[str, Any]:
    return ev("message_streamed", delta=chunk, content=chunk, kind=kind)


def start(call_id: str, name: str = "get_weather", **tool_input: Any) -> dict[str, Any]:
    return ev("tool_call_started", tool_call_id=call_id, tool_name=name, tool_input=tool_input)


def render(renderer: Any, *events: dict[str, Any]) -> list[str]:
    return [renderer.render(e) for e in events]


def studio(tty: bool = True) -> StudioRenderer:
    return StudioRenderer(color=False, tty=tty)


# -- every type --------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_has_its_own_rendering(event_type: EventType) -> None:
    event = Event(type=event_type, session_id="ses_1", data={})
    compact = CompactRenderer(color=False).render(event)
    verbose = VerboseRenderer(color=False).render(event)
    studio_text = studio().render(event)
    assert not compact.startswith("?:")
    assert not verbose.startswith("[event]")
    assert "? " + event_type.value not in studio_text


def test_unknown_types_fall_back_to_python_forms() -> None:
    odd = ev("custom_event", flag=True, missing=None, items=(1, "two"), nested={"k": [1.5]})
    assert CompactRenderer(color=False).render(odd) == "?:custom_event"
    data = "{'flag': True, 'missing': None, 'items': (1, 'two'), 'nested': {'k': [1.5]}}"
    assert VerboseRenderer(color=False).render(odd) == f"[event] type=custom_event data={data}\n"
    assert studio().render(odd) == f"  ? custom_event {data}\n"
    assert studio().render(ev("bare")) == "  ? bare\n"


# -- tool failures -----------------------------------------------------------------------


def test_studio_tool_failure_closes_its_spinner_line() -> None:
    r = studio()
    spinner, failed = render(
        r,
        start("t1", "Read", file_path="lib/a.py"),
        ev("tool_call_failed", tool_call_id="t1", tool_name="Read", error_message="ENOENT\nat x"),
    )
    assert spinner == "  ◐ Reading lib/a.py"
    assert failed == f"{CLEAR}  ✗ Read failed: lib/a.py — ENOENT ...\n"
    assert r.running == {}
    assert r.current_tool is None


def test_studio_tool_failure_output_in_preview_mode() -> None:
    r = StudioRenderer(color=False, tty=False, tool_output="preview")
    _, failed = render(
        r,
        start("t1", "Bash", command="cat x"),
        ev(
            "tool_call_failed",
            tool_call_id="t1",
            tool_name="Bash",
            tool_output="cat: x: No such file",
            is_error=True,
        ),
    )
    assert failed == ("  ✗ Bash failed: cat x — cat: x: No such file\n    │ cat: x: No such file\n")


def test_compact_and_verbose_tool_failure() -> None:
    failed = ev("tool_call_failed", tool_call_id="t1", tool_name="Read", error_message="gone\nx")
    compact = CompactRenderer(color=False)
    assert render(compact, start("t1", "Read"), failed) == ["t+Read", " t!Read gone ..."]
    assert compact.current_tool is None
    assert VerboseRenderer(color=False).render(failed) == (
        "[tool_call_failed] name=Read id=t1 error=gone\nx\n"
    )
    amp_style = ev("tool_call_failed", tool_name="Read", tool_output="ENOENT", is_error=True)
    assert CompactRenderer(color=False).render(amp_style) == "t!Read ENOENT"
    assert VerboseRenderer(color=False).render(amp_style) == (
        "[tool_call_failed] name=Read id= output=ENOENT\n"
    )


def test_coloured_failure_is_red() -> None:
    failed = ev("tool_call_failed", tool_name="X", error_message="no")
    assert CompactRenderer().render(failed) == "\x1b[0;31mt!X\x1b[0m \x1b[2mno\x1b[0m"
    assert StudioRenderer(tty=False).render(failed) == "  \x1b[0;31m✗\x1b[0m X failed — no\n"


# -- overlapping tools on a terminal -----------------------------------------------------


def test_overlapping_tools_each_find_their_own_start() -> None:
    r = studio()
    out = render(
        r,
        start("a", city="Paris"),
        start("b", city="Rome"),
        ev("tool_call_completed", tool_call_id="a", tool_name="get_weather", tool_output="rain"),
        ev("tool_call_completed", tool_call_id="b", tool_name="get_weather", tool_output="sun"),
    )
    assert out == [
        "  ◐ Using get_weather(city='Paris')",
        "\n  ◐ Using get_weather(city='Rome')",  # a's spinner line is ended, not overwritten
        "\n  ✓ get_weather(city='Paris') complete (4 chars)\n",  # b's line is not erased
        "  ✓ get_weather(city='Rome') complete (3 chars)\n",
    ]
    assert r.tool_count == 2
    assert r.running == {}


def test_the_latest_spinner_is_overwritten_by_its_own_result() -> None:
    r = studio()
    out = render(
        r,
        start("a", city="Paris"),
        start("b", city="Rome"),
        ev("tool_call_completed", tool_call_id="b", tool_name="get_weather", tool_output="sun"),
    )
    assert out[2] == f"{CLEAR}  ✓ get_weather(city='Rome') complete (3 chars)\n"
    assert list(r.running) == ["a"]


def test_text_streamed_while_a_tool_runs_is_not_erased() -> None:
    r = studio()
    out = render(
        r,
        start("a", "Read", file_path="x.py"),
        text("Meanwhile..."),
        ev("tool_call_completed", tool_call_id="a", tool_name="Read", tool_output="1\n2"),
    )
    assert out == [
        "  ◐ Reading x.py",
        "\n\n  Meanwhile...",
        "\n  ✓ Read x.py (2 lines)\n",
    ]
    assert CLEAR not in "".join(out)


def test_an_error_while_a_spinner_is_open_goes_on_a_line_of_its_own() -> None:
    r = studio()
    out = render(r, start("a", "Read", file_path="x.py"), ev("error_occurred", error_message="e"))
    assert out[1] == "\n  ✗ e\n"


def test_an_empty_first_chunk_does_not_swallow_the_indent() -> None:
    r = studio(tty=False)
    assert render(r, text(""), text("Hello")) == ["", "\n  Hello"]


# -- thinking ----------------------------------------------------------------------------


def test_thinking_is_a_stream_of_its_own() -> None:
    events = [text("Let me ", "thinking"), text("think.", "thinking"), text("Hi"), text("!")]
    assert render(CompactRenderer(color=False), *events) == [
        "~~ Let me ",
        "think.",
        "\n>> Hi",
        "!",
    ]
    assert render(VerboseRenderer(color=False), *events) == [
        "[thinking] Let me ",
        "think.",
        "\nHi",
        "!",
    ]
    assert render(studio(), *events) == ["\n  thinking: Let me ", "think.", "\n\n  Hi", "!"]


def test_thinking_is_dimmed_in_colour() -> None:
    chunk = text("hmm", "thinking")
    assert CompactRenderer().render(chunk) == "\x1b[2m~~\x1b[0m \x1b[2mhmm\x1b[0m"
    assert VerboseRenderer().render(chunk) == "\x1b[2m[thinking]\x1b[0m \x1b[2mhmm\x1b[0m"
    assert StudioRenderer(tty=False).render(chunk) == (
        "\n  \x1b[2mthinking: \x1b[0m\x1b[2mhmm\x1b[0m"
    )


def test_verbose_ends_streamed_thinking_before_the_next_line() -> None:
    r = VerboseRenderer(color=False)
    assert r.render(text("hmm", "thinking")) == "[thinking] hmm"
    assert r.in_text
    assert r.render(ev("run_completed")) == "\n[run_completed] stop_reason=end_turn\n"
    assert not r.in_text


# -- approvals ---------------------------------------------------------------------------

REQUESTED = ev(
    "tool_approval_requested",
    tool_call_id="t3",
    tool_name="clean_build",
    tool_input={"path": "build"},
    policy_name="read_only",
)
GRANTED = ev("tool_approval_granted", tool_call_id="t3", tool_name="clean_build")
DENIED = ev("tool_approval_denied", tool_call_id="t3", tool_name="clean_build", reason="no\nway")


def test_approvals_compact() -> None:
    assert render(CompactRenderer(color=False), REQUESTED, GRANTED, DENIED) == [
        "a?clean_build",
        " a+clean_build",
        " a-clean_build no ...",
    ]


def test_approvals_verbose() -> None:
    assert render(VerboseRenderer(color=False), REQUESTED, GRANTED, DENIED) == [
        "[tool_approval_requested] name=clean_build id=t3"
        ' input={"path":"build"} policy=read_only\n',
        "[tool_approval_granted] name=clean_build id=t3\n",
        "[tool_approval_denied] name=clean_build id=t3 reason=no\nway\n",
    ]


def test_approvals_studio_use_the_started_call_input() -> None:
    r = studio(tty=False)
    out = render(
        r,
        start("t3", "clean_build", path="build"),
        {**GRANTED, "type": "tool_approval_requested"},
        GRANTED,
        DENIED,
    )
    assert out[1:] == [
        "  ? Approval requested: clean_build(path='build')\n",
        "  ✓ Approved: clean_build(path='build')\n",
        "  ✗ Denied: clean_build(path='build') — no ...\n",
    ]


def test_a_denied_call_is_not_reported_twice_by_studio() -> None:
    r = studio(tty=False)
    denied_call = ev(
        "tool_call_failed",
        tool_call_id="t3",
        tool_name="clean_build",
        error_message="Permission to run this tool was denied",
        denied=True,
    )
    out = render(r, start("t3", "clean_build"), DENIED, denied_call)
    assert out[2] == ""
    assert r.running == {}
    compact = CompactRenderer(color=False).render(denied_call)
    assert compact == "t!clean_build Permission to run this tool was denied"


# -- turns, tool results sent back, sources ----------------------------------------------

TOOL_RESULTS = ev(
    "message_sent",
    role="user",
    kind="tool_results",
    turn=1,
    content=[{"type": "tool_result", "tool_use_id": "a", "content": "sun"}] * 2,
)
CITED = ev(
    "message_received",
    role="assistant",
    content="Paris is rainy.",
    turn=2,
    stop_reason="end_turn",
    content_blocks=[
        {
            "type": "text",
            "text": "Paris is rainy.",
            "citations": [
                {"type": "web_search_result_location", "title": "Forecast", "url": "https://m.x/p"},
                {"type": "web_search_result_location", "title": "Forecast", "url": "https://m.x/p"},
                {"type": "char_location", "document_title": "notes.txt", "cited_text": "rain"},
            ],
        }
    ],
)


def test_tool_results_sent_back_mark_the_turn() -> None:
    assert CompactRenderer(color=False).render(TOOL_RESULTS) == "<< 2 tool results"
    assert VerboseRenderer(color=False).render(TOOL_RESULTS) == (
        "[message_sent] role=user kind=tool_results turn=1 content=2 tool results\n"
    )
    assert studio().render(TOOL_RESULTS) == "  ● Turn 1: 2 tool results sent back\n"


def test_a_prompt_is_shown_on_one_line() -> None:
    prompt = ev("message_sent", role="user", content="Plan it.\nThen do it.")
    assert CompactRenderer(color=False).render(prompt) == "<< Plan it. ..."
    assert VerboseRenderer(color=False).render(prompt) == (
        "[message_sent] role=user content=Plan it.\nThen do it.\n"
    )
    assert studio().render(prompt) == "\n  > Plan it. ...\n"


def test_cited_sources_are_listed_once_each() -> None:
    assert CompactRenderer(color=False).render(CITED) == "msg Paris is rainy. [2 sources]"
    assert VerboseRenderer(color=False).render(CITED) == (
        "[message_received] role=assistant turn=2 stop_reason=end_turn content=Paris is rainy."
        " sources=Forecast — https://m.x/p, notes.txt\n"
    )
    r = studio(tty=False)
    assert render(r, text("Paris is rainy."), CITED) == [
        "\n  Paris is rainy.",
        "\n  [1] Forecast — https://m.x/p\n  [2] notes.txt\n",
    ]
    assert studio().render(ev("message_received", content="hi", role="assistant")) == ""


def test_turn_completed() -> None:
    turn = ev("turn_completed", turn=2, stop_reason="tool_use", token_usage={"input_tokens": 5})
    assert CompactRenderer(color=False).render(turn) == "turn:2:tool"
    assert VerboseRenderer(color=False).render(turn) == (
        "[turn_completed] turn=2 stop_reason=tool_use tokens=5/0\n"
    )
    assert studio().render(turn) == "  ● Turn 2 complete (tool_use) — 5/0 tokens\n"
    assert CompactRenderer(color=False).render(ev("turn_completed")) == "turn"


# -- run endings, errors, policies, sessions ---------------------------------------------


def test_run_timeout() -> None:
    timeout = ev("run_timeout", reason="timeout")
    assert CompactRenderer(color=False).render(timeout) == "! timed out"
    assert VerboseRenderer(color=False).render(timeout) == "[run_timeout] reason=timeout\n"
    assert studio().render(timeout) == "\n  ✗ timed out\n"


def test_error_recovered_and_policy_violation() -> None:
    recovered = ev("error_recovered", error_code="provider_rate_limited", error_message="retried")
    policy = ev("policy_violation", policy="max_cost", kind="budget_exceeded", message="over")
    compact = CompactRenderer(color=False)
    assert render(compact, recovered, policy) == [
        "!ok retried",
        " !policy max_cost (budget_exceeded) — over",
    ]
    assert render(VerboseRenderer(color=False), recovered, policy) == [
        "[error_recovered] error_code=provider_rate_limited error_message=retried\n",
        "[policy_violation] policy=max_cost kind=budget_exceeded message=over\n",
    ]
    assert render(studio(), recovered, policy) == [
        "  ✓ Recovered: retried\n",
        "  ✗ Policy violation: max_cost (budget_exceeded) — over\n",
    ]


def test_session_events() -> None:
    failed = ev("session_failed", error_code="timeout", error_message="the run timed out")
    assert CompactRenderer(color=False).render(failed) == "s:failed the run timed out"
    assert VerboseRenderer(color=False).render(failed) == (
        "[session_failed] error_code=timeout error_message=the run timed out\n"
    )
    assert studio().render(failed) == ""
    assert studio().render(ev("session_paused")) == "  ● session paused\n"


def test_verbose_fields_are_python_forms() -> None:
    snapshot = ev("workspace_snapshot_taken", files=12, clean=False, paths=["a", None])
    assert VerboseRenderer(color=False).render(snapshot) == (
        "[workspace_snapshot_taken] files=12 clean=False paths=['a', None]\n"
    )
    assert CompactRenderer(color=False).render(snapshot) == "ws:snapshot"


def test_singular_summaries() -> None:
    compact, verbose = CompactRenderer(color=False), VerboseRenderer(color=False)
    for r in (compact, verbose):
        r.render(start("a"))
    assert compact.finish() == "\n1 event, 1 tool\n"
    assert verbose.finish() == "--- 1 event, 1 tool ---\n"


# -- text helpers ------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"


class NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_inspect_value_python_forms() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert inspect_value(None) == "None"
    assert inspect_value("it's") == '"it\'s"'
    assert inspect_value((1,)) == "(1,)"
    assert inspect_value(set()) == "set()"
    assert inspect_value(frozenset({3})) == "{3}"
    assert inspect_value({Color.RED: Color.RED}) == "{'red': 'red'}"
    assert inspect_value(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00+00:00"
    assert inspect_value(loop) == "[1, ...]"
    assert inspect_value(NoRepr()) == "<NoRepr>"
    assert inspect_value(10**5000) == "<int>"


def test_one_line_and_plural() -> None:
    assert one_line("  first\nsecond", 10) == "first ..."
    assert one_line("x" * 12, 10) == "x" * 10 + "..."
    assert one_line(None, 5) == ""
    assert one_line({"a": 1}, 20) == "{'a': 1}"
    assert (plural(0, "tool"), plural(1, "tool"), plural(2, "tool")) == (
        "0 tools",
        "1 tool",
        "2 tools",
    )


def test_studio_names_the_provider_when_the_model_is_unknown() -> None:
    codex = Event(type=EventType.RUN_STARTED, session_id="s", provider="codex", data={})
    assert studio().render(codex) == "\n  ● codex session started\n"
    assert studio().render(ev("run_started")) == "\n  ● unknown session started\n"
