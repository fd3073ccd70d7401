"""``StudioRenderer``: a human-readable transcript with tool spinners and summaries.

Output follows the reference ``StudioRenderer`` (``reference/rendering_spec.md``
§8), including its quirks, kept for parity:

1. on a TTY, ``error_occurred`` or an unknown event while a spinner line is
   open is appended to that line;
2. on a TTY, text streamed between a tool's start and completion is erased by
   the completion's ``\\r\\x1b[2K``;
3. an empty first text chunk still opens the text block, so the next chunk
   is not indented;
4. an empty ``tool_input`` (``{}``) on the completion event hides the start
   event's input (``Read file (2 lines)``);
5. ``tty=None`` looks at the process's stdout, not at the sinks.

Deviations: numbers print with Python's ``round``/``str``; ``tool_output``
and ``indent`` are validated (``ValueError``) instead of silently falling back.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Final, Literal

from . import _ansi
from ._text import EventView, first, mapping_get, plain, view
from ._tool_summary import is_failed, normalize_output, preview_lines, spinner_text, summary_line

__all__ = ["StudioRenderer", "ToolOutput"]

ToolOutput = Literal["summary", "preview", "full"]
_TOOL_OUTPUTS: Final = ("summary", "preview", "full")
_PREVIEW_LINES: Final = 3


def _stdout_is_tty() -> bool:
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class StudioRenderer:
    """Render a session like a terminal IDE transcript.

    ``tool_output`` chooses what follows a finished tool's summary line:
    ``"summary"`` (nothing), ``"preview"`` (its last 3 output lines, ``│``) or
    ``"full"`` (every non-empty output line, ``┊``). ``indent`` spaces start
    every line. With ``tty=True`` the spinner line (``◐ Running: ...``) is
    overwritten by the tool's summary; ``tty=None`` asks ``sys.stdout.isatty()``
    once, here. ``show_spinner=False`` shows a blue ``●`` instead of ``◐``.

    A plain synchronous object with public state (``phase``, ``current_tool``,
    ``tool_count``, ``event_count``, ``total_input_tokens``,
    ``total_output_tokens``); no I/O after construction, nothing to close.
    Raises ``ValueError`` for an unknown ``tool_output`` or a negative ``indent``.
    """

    def __init__(
        self,
        *,
        color: bool = True,
        tool_output: ToolOutput = "summary",
        indent: int = 2,
        tty: bool | None = None,
        show_spinner: bool = True,
    ) -> None:
        if tool_output not in _TOOL_OUTPUTS:
            raise ValueError(f"tool_output must be one of {_TOOL_OUTPUTS}, got {tool_output!r}")
        if not isinstance(indent, int) or isinstance(indent, bool) or indent < 0:
            raise ValueError(f"indent must be a non-negative int, got {indent!r}")
        self.color: bool = bool(color)
        self.tool_output: ToolOutput = tool_output
        self.indent: int = indent
        self.tty: bool = _stdout_is_tty() if tty is None else bool(tty)
        self.show_spinner: bool = bool(show_spinner)
        self.phase: Literal["idle", "text", "tool"] = "idle"
        self.current_tool: dict[str, Any] | None = None
        self.tool_count: int = 0
        self.event_count: int = 0
        self.total_input_tokens: Any = 0
        self.total_output_tokens: Any = 0

    def __repr__(self) -> str:
        return (
            f"StudioRenderer(color={self.color}, tool_output={self.tool_output!r}, "
            f"indent={self.indent}, tty={self.tty})"
        )

    @property
    def _pad(self) -> str:
        return " " * self.indent

    def _close_text(self) -> str:
        """End an open text block; every caller leaves the phase ``idle``."""
        was_text = self.phase == "text"
        self.phase = "idle"
        return "\n" if was_text else ""

    def render(self, event: Any) -> str:
        """The text for *event* (an ``Event`` or a mapping of any shape); never raises."""
        self.event_count += 1
        ev = view(event)
        handler = _HANDLERS.get(ev.type, StudioRenderer._other)
        return handler(self, ev)

    def finish(self) -> str:
        """Always ``""``: ``run_completed`` already printed the closing line."""
        return ""

    def _run_started(self, ev: EventView) -> str:
        self.phase = "idle"
        model = plain(first(ev.get("model"), "unknown"))
        return f"\n{self._pad}{_ansi.blue(_ansi.INFO, self.color)} {model} session started\n"

    def _message_streamed(self, ev: EventView) -> str:
        text = plain(first(ev.get("delta"), ev.get("content"), ""))
        was_text = self.phase == "text"
        self.phase = "text"
        if text == "":
            return ""
        return text if was_text else f"\n{self._pad}{text}"

    def _tool_started(self, ev: EventView) -> str:
        head = self._close_text()
        name = first(ev.get("tool_name"), "tool")
        tool_input = first(ev.get("tool_input"), {})
        self.current_tool = {"name": name, "id": ev.get("tool_call_id"), "input": tool_input}
        self.tool_count += 1
        self.phase = "tool"
        if self.show_spinner:
            symbol = _ansi.cyan(_ansi.RUNNING, self.color)
        else:
            symbol = _ansi.blue(_ansi.INFO, self.color)
        text = spinner_text({"name": name, "input": tool_input})
        return f"{head}{self._pad}{symbol} {text}" + ("" if self.tty else "\n")

    def _tool_completed(self, ev: EventView) -> str:
        info = _tool_info(self.current_tool, ev)
        self.current_tool = None
        self.phase = "idle"
        if info["status"] == "failed":
            icon = _ansi.red(_ansi.FAILURE, self.color)
        else:
            icon = _ansi.green(_ansi.SUCCESS, self.color)
        head = _ansi.clear_line() if self.tty else ""
        return f"{head}{self._pad}{icon} {summary_line(info)}\n" + self._extras(info)

    def _extras(self, info: Mapping[str, Any]) -> str:
        if self.tool_output == "preview":
            lines = preview_lines(info, _PREVIEW_LINES)
            bar = "│"
        elif self.tool_output == "full":
            lines = [line for line in normalize_output(info.get("output")).split("\n") if line]
            bar = "┊"
        else:
            return ""
        pad = " " * (self.indent + 2)
        bar = _ansi.dim(bar, self.color)
        return "".join(f"{pad}{bar} {_ansi.dim(line, self.color)}\n" for line in lines)

    def _token_usage(self, ev: EventView) -> str:
        self.total_input_tokens = first(ev.get("input_tokens"), 0)
        self.total_output_tokens = first(ev.get("output_tokens"), 0)
        return ""

    def _message_received(self, ev: EventView) -> str:
        return ""

    def _run_completed(self, ev: EventView) -> str:
        head = self._close_text()
        tokens_in, tokens_out = self.total_input_tokens, self.total_output_tokens
        if _is_zero(tokens_in) and _is_zero(tokens_out):
            usage = ev.get("token_usage")
            tokens_in = first(mapping_get(usage, "input_tokens"), 0)
            tokens_out = first(mapping_get(usage, "output_tokens"), 0)
        reason = plain(first(ev.get("stop_reason"), "unknown"))
        dot = _ansi.blue(_ansi.INFO, self.color)
        return (
            f"{head}\n{self._pad}{dot} Session complete ({reason}) — "
            f"{plain(tokens_in)}/{plain(tokens_out)} tokens, {self.tool_count} tools\n"
        )

    def _message(self, ev: EventView) -> str:
        return plain(first(ev.get("error_message"), "unknown error"))

    def _run_failed(self, ev: EventView) -> str:
        head = self._close_text()
        cross = _ansi.red(_ansi.FAILURE, self.color)
        return f"{head}\n{self._pad}{cross} {self._message(ev)}\n"

    def _run_cancelled(self, ev: EventView) -> str:
        head = self._close_text()
        return f"{head}\n{self._pad}{_ansi.red(_ansi.FAILURE, self.color)} cancelled\n"

    def _error_occurred(self, ev: EventView) -> str:
        head = self._close_text()
        cross = _ansi.red(_ansi.FAILURE, self.color)
        return f"{head}{self._pad}{cross} {self._message(ev)}\n"

    def _other(self, ev: EventView) -> str:
        head = self._close_text()
        return f"{head}{self._pad}{_ansi.dim('? ' + ev.type, self.color)}\n"


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _tool_info(current: Mapping[str, Any] | None, ev: EventView) -> dict[str, Any]:
    current = current or {}
    output = ev.get("tool_output")

    def from_output(key: str) -> Any:
        return mapping_get(output, key) if isinstance(output, Mapping) else None

    info: dict[str, Any] = {
        "name": first(ev.get("tool_name"), current.get("name"), "tool"),
        "input": first(ev.get("tool_input"), current.get("input"), {}),
        "output": output,
        "exit_code": first(ev.get("exit_code"), from_output("exit_code")),
        "duration_ms": first(ev.get("duration_ms"), from_output("duration_ms")),
        "status": first(ev.get("status"), from_output("status")),
    }
    info["status"] = "failed" if is_failed(info) else "completed"
    return info


_HANDLERS: Final = {
    "run_started": StudioRenderer._run_started,
    "message_streamed": StudioRenderer._message_streamed,
    "tool_call_started": StudioRenderer._tool_started,
    "tool_call_completed": StudioRenderer._tool_completed,
    "token_usage_updated": StudioRenderer._token_usage,
    "message_received": StudioRenderer._message_received,
    "run_completed": StudioRenderer._run_completed,
    "run_failed": StudioRenderer._run_failed,
    "run_cancelled": StudioRenderer._run_cancelled,
    "error_occurred": StudioRenderer._error_occurred,
}
