"""StudioRenderer, PassthroughRenderer and the ANSI helpers (spec §12.4-12.6)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from trio_stream_session.rendering import PassthroughRenderer, StudioRenderer
from trio_stream_session.rendering import _ansi as ansi

_SETS = json.loads((Path(__file__).parent / "rendering" / "golden_renderers.json").read_text())[
    "event_sets"
]
SGR = re.compile(r"\x1b\[[0-9;]*m")


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_test_123", "run_id": "run_test_456"}


def text(chunk: str) -> dict[str, Any]:
    return ev("message_streamed", delta=chunk, content=chunk)


def read_start() -> dict[str, Any]:
    return ev(
        "tool_call_started",
        tool_name="Read",
        tool_call_id="t1",
        tool_input={"file_path": "lib/sink.ex"},
    )


def read_done() -> dict[str, Any]:
    return ev(
        "tool_call_completed",
        tool_name="Read",
        tool_call_id="t1",
        tool_input={"file_path": "lib/sink.ex"},
        tool_output="line1\nline2\n",
    )


def bash_start(command: str = "mix test") -> dict[str, Any]:
    return ev("tool_call_started", tool_name="bash", tool_input={"command": command})


def bash_done(output: str, **extra: Any) -> dict[str, Any]:
    return ev("tool_call_completed", tool_name="bash", tool_output=output, **extra)


def studio(**opts: Any) -> StudioRenderer:
    opts.setdefault("tty", True)
    return StudioRenderer(**opts)


def plain(out: str) -> str:
    return SGR.sub("", out)


# PassthroughRenderer (§12.4)


def test_passthrough_init() -> None:
    assert repr(PassthroughRenderer()) == "PassthroughRenderer()"


def test_passthrough_renders_nothing() -> None:
    r = PassthroughRenderer()
    for type_ in ("run_started", "message_streamed", "tool_call_started", "run_completed"):
        assert r.render(ev(type_)) == ""


def test_passthrough_state_survives_calls() -> None:
    r = PassthroughRenderer()
    for event in _SETS["tool"]:
        r.render(event)
    assert r.render(ev("run_started")) == ""


def test_passthrough_finish_empty() -> None:
    assert PassthroughRenderer().finish() == ""


# StudioRenderer (§12.5)


def test_defaults() -> None:
    r = StudioRenderer()
    assert r.color is True
    assert r.tool_output == "summary"
    assert r.show_spinner is True
    assert r.indent == 2


def test_options_stored() -> None:
    r = StudioRenderer(color=False, tool_output="preview")
    assert (r.color, r.tool_output) == (False, "preview")


def test_run_started_tty() -> None:
    out = studio().render(ev("run_started", model="claude-sonnet-4-5-20250929"))
    assert "●" in out
    assert "session started" in out
    assert "claude-sonnet-4-5-20250929" in out


def test_single_chunk_indented() -> None:
    assert "\n  Hello" in studio().render(text("Hello"))


def test_chunks() -> None:
    r = studio()
    assert "\n  Hello" in r.render(text("Hello"))
    assert r.render(text(" world")) == " world"


def test_text_then_tool_start() -> None:
    r = studio(tty=False, color=False)
    out = r.render(text("Thinking...")) + r.render(read_start())
    assert "\n  Thinking...\n" in out
    assert "◐ Reading lib/sink.ex" in out


def test_tool_start_after_text_tty() -> None:
    r = studio()
    r.render(text("Thinking..."))
    out = r.render(read_start())
    assert out.startswith("\n")
    assert "◐" in out
    assert "Reading" in out
    assert not out.endswith("\n")


def test_bash_completion_tty() -> None:
    r = studio()
    r.render(bash_start())
    out = r.render(bash_done("x" * 156, exit_code=0))
    assert out.startswith("\r\x1b[2K")
    assert "✓" in out
    assert "Ran: mix test (exit 0, 156 chars)" in out
    assert out.endswith("\n")


def test_failed_bash_completion() -> None:
    r = studio()
    r.render(bash_start("mix compile"))
    out = r.render(bash_done("error", exit_code=1, status="failed"))
    assert "✗" in out
    assert "Bash failed: mix compile" in out


def test_preview_mode() -> None:
    r = studio(tool_output="preview")
    r.render(bash_start())
    out = plain(r.render(bash_done("line1\nline2\nline3\nline4\n", exit_code=0)))
    for piece in ("Ran: mix test", "│ line2", "│ line3", "│ line4"):
        assert piece in out
    assert "│ line1" not in out


def test_full_mode() -> None:
    r = studio(tool_output="full")
    r.render(bash_start())
    out = plain(r.render(bash_done("line1\nline2\n", exit_code=0)))
    assert "┊ line1" in out
    assert "┊ line2" in out


def test_token_usage_is_silent_but_tracked() -> None:
    r = studio()
    assert r.render(ev("token_usage_updated", input_tokens=847, output_tokens=312)) == ""
    assert (r.total_input_tokens, r.total_output_tokens) == (847, 312)


def test_message_received_is_silent() -> None:
    assert studio().render(ev("message_received", content="hi", role="assistant")) == ""


def test_session_complete_line() -> None:
    r = studio()
    r.render(read_start())
    r.render(read_done())
    r.render(ev("token_usage_updated", input_tokens=847, output_tokens=312))
    out = r.render(ev("run_completed", stop_reason="end_turn"))
    assert "●" in out
    assert "Session complete (end_turn)" in out
    assert "847/312 tokens, 1 tool\n" in out


def test_run_failed() -> None:
    out = studio().render(ev("run_failed", error_message="fatal thing"))
    assert "✗" in out
    assert "fatal thing" in out


def test_finish_empty() -> None:
    assert studio().finish() == ""


def test_simple_session_non_tty() -> None:
    r = studio(tty=False)
    out = "".join(r.render(e) for e in _SETS["simple"])
    assert "session started" in out
    assert "\n  Hello" in out
    assert "Session complete" in out


def test_tool_session_non_tty() -> None:
    r = studio(tty=False)
    out = "".join(r.render(e) for e in _SETS["tool"])
    for piece in ("◐", "Read", "✓", "Session complete"):
        assert piece in out


def test_text_tool_text() -> None:
    r = studio(tty=False, color=False)
    events = [text("First block"), read_start(), read_done(), text("Second block")]
    out = "".join(r.render(e) for e in events)
    assert "First block\n" in out
    assert "✓ Read lib/sink.ex" in out
    assert "\n\n  Second block" in out


def test_non_tty_lines() -> None:
    r = studio(tty=False, color=False)
    start = r.render(read_start())
    done = r.render(read_done())
    assert start.endswith("\n")
    assert "\r\x1b[2K" not in done
    assert "◐ Reading lib/sink.ex" in start
    assert "✓ Read lib/sink.ex" in done


def test_plain_non_tty_has_no_sgr() -> None:
    r = studio(color=False, tty=False)
    out = "".join(r.render(e) for e in _SETS["studio_tools"] + _SETS["studio_edge"])
    assert not SGR.search(out)


# Beyond the reference suite


def test_invalid_options_raise() -> None:
    with pytest.raises(ValueError, match="tool_output"):
        StudioRenderer(tool_output="everything")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="indent"):
        StudioRenderer(indent=-1)


def test_tty_none_asks_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    # Under capsys stdout is not a terminal.
    assert StudioRenderer().tty is False


# Studio.ANSI (§12.6)

COLORS = {
    "green": "\x1b[0;32m",
    "red": "\x1b[0;31m",
    "blue": "\x1b[0;34m",
    "cyan": "\x1b[0;36m",
    "magenta": "\x1b[0;35m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}


@pytest.mark.parametrize(("name", "code"), COLORS.items())
def test_ansi_wraps(name: str, code: str) -> None:
    assert getattr(ansi, name)("text") == f"{code}text\x1b[0m"


@pytest.mark.parametrize("name", COLORS)
def test_ansi_disabled(name: str) -> None:
    assert getattr(ansi, name)("text", False) == "text"


@pytest.mark.parametrize("name", COLORS)
def test_ansi_empty(name: str) -> None:
    assert getattr(ansi, name)("") == ""
    assert getattr(ansi, name)("", False) == ""


def test_ansi_symbols() -> None:
    assert (ansi.SUCCESS, ansi.FAILURE, ansi.INFO, ansi.RUNNING) == ("✓", "✗", "●", "◐")


def test_clear_line() -> None:
    assert ansi.clear_line() == "\r\x1b[2K"


def test_cursor_up() -> None:
    assert ansi.cursor_up(3) == "\x1b[3A"
