"""``StudioRenderer``: a human-readable transcript with tool spinners and summaries.

Output follows the reference ``StudioRenderer`` (``reference/rendering_spec.md``
§8) for the events the reference knows, and speaks every other type::

      ● claude-haiku-4-5 session started

      thinking: Two cities: call the tool twice.

      Checking both cities.
      ◐ Using get_weather(city='Paris')
      ? Approval requested: get_weather(city='Paris')
      ✓ Approved: get_weather(city='Paris')
      ✗ get_weather(city='Paris') failed — TimeoutError: no answer
      ● Turn 1: 1 tool result sent back
      ✓ Searched: "Paris weather" (1 result)

      Paris is probably rainy.
      [1] Paris forecast — https://meteo.example/paris

      ● Session complete (end_turn) — 1067/137 tokens, 2 tools

``run_timeout``, ``policy_violation``, ``error_recovered`` and
``turn_completed`` get a line of their own, a prompt (``message_sent``) a
``> prompt`` line, ``session_paused``/``resumed`` and workspace events a dim
● line. Session bookkeeping (the run's own events say it), token usage and
``message_received`` (its text was streamed; only the sources it cites are
shown) print nothing. Any other type prints ``? <type> {data}``, the data in
Python's ``repr`` form.

Tool calls may overlap (an agent runs a turn's tools concurrently): each
completion finds its start by ``tool_call_id``. On a TTY the spinner line of
the latest tool is overwritten by its summary; anything printed while it is
open first ends that line. (The reference appended errors to an open spinner
line, erased text streamed while a tool ran, and let an empty first text chunk
swallow the next chunk's indent: fixed.) Kept for parity: an empty
``tool_input`` (``{}``) on the completion event hides the start event's input
(``Read file (2 lines)``); ``tty=None`` looks at the process's stdout.

Deviations: numbers print with Python's ``round``/``str``; ``tool_output``
and ``indent`` are validated (``ValueError``); singulars (``1 tool``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from . import _ansi
from ._fields import (
    error_text,
    message_text,
    policy_text,
    sent_text,
    sources,
    stream_kind,
    streamed_text,
    turn_label,
    usage_tokens,
)
from ._text import (
    EventView,
    first,
    inspect_value,
    mapping_get,
    one_line,
    plain,
    plural,
    truncate,
    view,
)
from ._tool_summary import (
    failure_line,
    normalize_output,
    preview_lines,
    spinner_text,
    summary_line,
    tool_info,
    tool_label,
)

__all__ = ["StudioRenderer", "ToolOutput"]

ToolOutput = Literal["summary", "preview", "full"]
_TOOL_OUTPUTS: Final = ("summary", "preview", "full")
_PREVIEW_LINES: Final = 3
_LINE_LIMIT: Final = 120
#: ``_spinner`` when no spinner line is open.
_CLOSED: Final = object()


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

    A plain synchronous object with public state (``phase``: ``"idle"``,
    ``"text"``, ``"thinking"`` or ``"tool"``; ``current_tool``, the latest
    started tool; ``running``, the started tools not finished yet, by
    ``tool_call_id``; ``tool_count``, ``event_count``, ``total_input_tokens``,
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
        self.phase: Literal["idle", "text", "thinking", "tool"] = "idle"
        self.current_tool: dict[str, Any] | None = None
        self.running: dict[Any, dict[str, Any]] = {}
        self.tool_count: int = 0
        self.event_count: int = 0
        self.total_input_tokens: Any = 0
        self.total_output_tokens: Any = 0
        self._spinner: Any = _CLOSED

    def __repr__(self) -> str:
        return (
            f"StudioRenderer(color={self.color}, tool_output={self.tool_output!r}, "
            f"indent={self.indent}, tty={self.tty})"
        )

    @property
    def _pad(self) -> str:
        return " " * self.indent

    def _close_line(self) -> str:
        """End an open text block or spinner line; the phase is ``idle`` after."""
        is_open = self.phase in ("text", "thinking") or self._spinner is not _CLOSED
        self.phase = "idle"
        self._spinner = _CLOSED
        return "\n" if is_open else ""

    def _mark(self, paint: Callable[[str, bool], str], symbol: str, text: str) -> str:
        """``<pad><symbol> <text>\\n`` after ending whatever line is open."""
        return f"{self._close_line()}{self._pad}{paint(symbol, self.color)} {text}\n"

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
        head = self._close_line()
        model = plain(first(ev.get("model"), ev.provider, "unknown"))
        return f"{head}\n{self._pad}{_ansi.blue(_ansi.INFO, self.color)} {model} session started\n"

    def _message_streamed(self, ev: EventView) -> str:
        kind = stream_kind(ev)
        text = streamed_text(ev)
        if text == "":
            return ""
        if kind == "thinking":
            text = _ansi.dim(text, self.color)
        if self.phase == kind:
            return text
        head = self._close_line()
        self.phase = "text" if kind == "text" else "thinking"
        label = _ansi.dim("thinking: ", self.color) if kind == "thinking" else ""
        return f"{head}\n{self._pad}{label}{text}"

    def _message_sent(self, ev: EventView) -> str:
        if ev.get("kind") == "tool_results":
            text = turn_label(ev).capitalize() + ": " + sent_text(ev) + " sent back"
            return self._mark(_ansi.dim, _ansi.INFO, _ansi.dim(text, self.color))
        shown = one_line(message_text(ev.get("content")), _LINE_LIMIT)
        return f"{self._close_line()}\n{self._pad}{_ansi.dim('>', self.color)} {shown}\n"

    def _tool_started(self, ev: EventView) -> str:
        head = self._close_line()
        name = first(ev.get("tool_name"), "tool")
        tool_input = first(ev.get("tool_input"), {})
        call_id = ev.get("tool_call_id")
        self.current_tool = {"name": name, "id": call_id, "input": tool_input}
        self.running[_key(call_id)] = self.current_tool
        self.tool_count += 1
        self.phase = "tool"
        if self.show_spinner:
            symbol = _ansi.cyan(_ansi.RUNNING, self.color)
        else:
            symbol = _ansi.blue(_ansi.INFO, self.color)
        text = spinner_text({"name": name, "input": tool_input})
        if self.tty:
            self._spinner = _key(call_id)
            return f"{head}{self._pad}{symbol} {text}"
        return f"{head}{self._pad}{symbol} {text}\n"

    def _finish_tool(self, ev: EventView) -> tuple[str, dict[str, Any]]:
        """The head of a tool's closing line, and what is known of the call.

        The head overwrites the call's own spinner line when that is the open
        line (on a TTY), else ends whatever line is open.
        """
        call_id = ev.get("tool_call_id")
        started = self.running.pop(_key(call_id), None)
        latest = self.current_tool
        if started is None and latest is not None and None in (call_id, latest["id"]):
            started = latest  # as the reference: an unmatched completion is the latest start's
            self.running.pop(_key(latest["id"]), None)
        if started is not None and self._spinner == _key(started["id"]):
            self._spinner = _CLOSED
            head = _ansi.clear_line()
        else:
            head = self._close_line()
        self.current_tool = None
        self.phase = "idle"
        return head, tool_info(started, ev.get)

    def _tool_completed(self, ev: EventView) -> str:
        head, info = self._finish_tool(ev)
        if info["status"] == "failed":
            icon = _ansi.red(_ansi.FAILURE, self.color)
        else:
            icon = _ansi.green(_ansi.SUCCESS, self.color)
        return f"{head}{self._pad}{icon} {summary_line(info)}\n" + self._extras(info)

    def _tool_failed(self, ev: EventView) -> str:
        head, info = self._finish_tool(ev)
        if ev.get("denied") is True:
            return head  # the tool_approval_denied line said it
        info["status"] = "failed"
        error = first(ev.get("error_message"), info["output"])
        cross = _ansi.red(_ansi.FAILURE, self.color)
        return f"{head}{self._pad}{cross} {failure_line(info, error)}\n" + self._extras(info)

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

    def _approval_label(self, ev: EventView) -> str:
        started = self.running.get(_key(ev.get("tool_call_id")), {})
        info = {
            "name": first(ev.get("tool_name"), started.get("name"), "tool"),
            "input": first(ev.get("tool_input"), started.get("input"), {}),
        }
        return tool_label(info)

    def _approval(self, ev: EventView) -> str:
        """``? Approval requested: ...``, ``✓ Approved: ...``, ``✗ Denied: ... — reason``."""
        paint, symbol, verb = _APPROVALS[ev.type]
        text = verb + self._approval_label(ev)
        reason = one_line(ev.get("reason"), _LINE_LIMIT)
        return self._mark(paint, symbol, text + (" — " + reason if reason else ""))

    def _message_received(self, ev: EventView) -> str:
        """Nothing (the text was streamed), except the sources its text cites."""
        cited = sources(ev)
        if not cited:
            return ""
        head = self._close_line()
        return head + "".join(
            f"{self._pad}{_ansi.dim(f'[{n}]', self.color)} {truncate(source, _LINE_LIMIT)}\n"
            for n, source in enumerate(cited, 1)
        )

    def _token_usage(self, ev: EventView) -> str:
        self.total_input_tokens = first(ev.get("input_tokens"), 0)
        self.total_output_tokens = first(ev.get("output_tokens"), 0)
        return ""

    def _silent(self, ev: EventView) -> str:
        return ""

    def _turn_completed(self, ev: EventView) -> str:
        text = turn_label(ev).capitalize() + " complete"
        reason = ev.get("stop_reason")
        text += "" if reason is None else f" ({plain(reason)})"
        tokens = usage_tokens(ev.get("token_usage"))
        text += "" if tokens is None else f" — {tokens[0]}/{tokens[1]} tokens"
        return self._mark(_ansi.dim, _ansi.INFO, _ansi.dim(text, self.color))

    def _run_completed(self, ev: EventView) -> str:
        head = self._close_line()
        tokens_in, tokens_out = self.total_input_tokens, self.total_output_tokens
        if _is_zero(tokens_in) and _is_zero(tokens_out):
            usage = ev.get("token_usage")
            tokens_in = first(mapping_get(usage, "input_tokens"), 0)
            tokens_out = first(mapping_get(usage, "output_tokens"), 0)
        reason = plain(first(ev.get("stop_reason"), "unknown"))
        dot = _ansi.blue(_ansi.INFO, self.color)
        return (
            f"{head}\n{self._pad}{dot} Session complete ({reason}) — "
            f"{plain(tokens_in)}/{plain(tokens_out)} tokens, {plural(self.tool_count, 'tool')}\n"
        )

    def _ending(self, text: str) -> str:
        """A blank line, then ``✗ text``: how a run that did not complete ends."""
        head = self._close_line()
        return f"{head}\n{self._pad}{_ansi.red(_ansi.FAILURE, self.color)} {text}\n"

    def _run_failed(self, ev: EventView) -> str:
        return self._ending(error_text(ev))

    def _run_cancelled(self, ev: EventView) -> str:
        return self._ending("cancelled")

    def _run_timeout(self, ev: EventView) -> str:
        return self._ending("timed out")

    def _error_occurred(self, ev: EventView) -> str:
        return self._mark(_ansi.red, _ansi.FAILURE, error_text(ev))

    def _error_recovered(self, ev: EventView) -> str:
        message = one_line(error_text(ev, ""), _LINE_LIMIT)
        text = "Recovered: " + message if message else "Recovered"
        return self._mark(_ansi.green, _ansi.SUCCESS, text)

    def _policy_violation(self, ev: EventView) -> str:
        text = "Policy violation: " + one_line(policy_text(ev), _LINE_LIMIT)
        return self._mark(_ansi.red, _ansi.FAILURE, text)

    def _notice(self, ev: EventView) -> str:
        """A dim ``● session paused`` line for lifecycle news worth a line."""
        text = ev.type.replace("_", " ")
        return self._mark(_ansi.dim, _ansi.INFO, _ansi.dim(text, self.color))

    def _other(self, ev: EventView) -> str:
        text = "? " + ev.type
        data = inspect_value(ev.data)
        if data != "{}":
            text += " " + truncate(data, _LINE_LIMIT)
        return f"{self._close_line()}{self._pad}{_ansi.dim(text, self.color)}\n"


def _key(call_id: Any) -> Any:
    """A hashable key for a ``tool_call_id`` of any type."""
    try:
        hash(call_id)
    except TypeError:
        return inspect_value(call_id)
    return call_id


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


#: Per approval event: colour, symbol, and the words before the tool's label.
_APPROVALS: Final[dict[str, tuple[Callable[[str, bool], str], str, str]]] = {
    "tool_approval_requested": (_ansi.magenta, "?", "Approval requested: "),
    "tool_approval_granted": (_ansi.green, _ansi.SUCCESS, "Approved: "),
    "tool_approval_denied": (_ansi.red, _ansi.FAILURE, "Denied: "),
}
#: Session bookkeeping: the run's own events already said it.
_SILENT_SESSION: Final = [
    f"session_{state}" for state in ("created", "started", "completed", "failed", "cancelled")
]
_NOTICES: Final = [
    "session_paused",
    "session_resumed",
    "workspace_snapshot_taken",
    "workspace_diff_computed",
]
_S = StudioRenderer
_HANDLERS: Final[dict[str, Callable[[StudioRenderer, EventView], str]]] = {
    "run_started": _S._run_started,
    "message_streamed": _S._message_streamed,
    "message_sent": _S._message_sent,
    "tool_call_started": _S._tool_started,
    "tool_call_completed": _S._tool_completed,
    "tool_call_failed": _S._tool_failed,
    **dict.fromkeys(_APPROVALS, _S._approval),
    "token_usage_updated": _S._token_usage,
    "turn_completed": _S._turn_completed,
    "message_received": _S._message_received,
    "run_completed": _S._run_completed,
    "run_failed": _S._run_failed,
    "run_cancelled": _S._run_cancelled,
    "run_timeout": _S._run_timeout,
    "error_occurred": _S._error_occurred,
    "error_recovered": _S._error_recovered,
    "policy_violation": _S._policy_violation,
    **dict.fromkeys(_SILENT_SESSION, _S._silent),
    **dict.fromkeys(_NOTICES, _S._notice),
}
