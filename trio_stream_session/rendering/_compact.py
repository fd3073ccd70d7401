"""``CompactRenderer``: one token per event, text streamed inline.

Output follows the reference ``CompactRenderer`` (``reference/rendering_spec.md``
§5) for the events the reference knows: tokens are space-separated on one
line, a structured event after streamed text starts a new line, ``finish()``
ends with an ``N events, M tools`` summary.

Every other event type has a token of its own (the reference shows them all
as ``?:<type>``)::

    ~~ <thinking>       streamed thinking (dim), its own stream like ``>>`` text
    << <prompt>         message_sent
    t!Read <error>      tool_call_failed
    a?Bash a+Bash a-Bash <reason>
                        tool approval requested, granted, denied
    turn:2:tool         turn_completed (turn number, short stop reason)
    ! timed out         run_timeout
    !ok <message>       error_recovered
    !policy <policy> (<kind>) — <message>
                        policy_violation
    s:created ... s:failed <message>
                        session lifecycle
    ws:snapshot ws:diff workspace events
    ?:<type>            anything else

Deviations (documented in the package docstring): costs print with Python's
``str()`` after ``round(cost, 4)``; a non-number ``cost_usd`` is ignored (the
reference raises); values that are not text print in Python's ``repr`` form;
the summary uses singulars (``1 event``); an event without ``data`` is treated
as having empty data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .._events import EventType
from ._ansi import BLUE, DIM, GREEN, MAGENTA, RED, paint
from ._fields import (
    error_text,
    message_text,
    policy_text,
    sent_text,
    sources,
    stream_kind,
    streamed_text,
)
from ._text import (
    EventView,
    cost_label,
    first,
    inspect_value,
    one_line,
    plain,
    plural,
    short_model,
    short_reason,
    to_json,
    truncate,
    view,
)

__all__ = ["CompactRenderer"]

TOOL_PREVIEW_LIMIT: Final = 120
RESULT_PREVIEW_LIMIT: Final = 2000
_MARKERS: Final = {"text": (MAGENTA, ">>"), "thinking": (DIM, "~~")}


class CompactRenderer:
    """Render events as compact tokens: ``r+ sonnet-4-5 >> Hello t+Read ... r-:end``.

    A plain synchronous object: :meth:`render` returns the text for one event
    (possibly ``""``), :meth:`finish` the closing summary. It keeps public
    state (``event_count``, ``tool_count``, ``current_tool``,
    ``current_tool_id``, ``line_open``, and ``streaming``: ``None``,
    ``"text"`` or ``"thinking"``) and does no I/O, so it needs no closing and
    cancellation cannot leave it half-updated.

    >>> r = CompactRenderer(color=False)
    >>> r.render({"type": "run_started", "data": {"model": "claude-sonnet-4-5-20250929"}})
    'r+ sonnet-4-5'
    >>> r.render({"type": "tool_call_failed", "data": {"tool_name": "Read", "error_message": "no"}})
    ' t!Read no'
    """

    def __init__(self, *, color: bool = True) -> None:
        self.color: bool = color is True
        self.streaming: str | None = None
        self.line_open: bool = False
        self.in_text: bool = False
        self.event_count: int = 0
        self.tool_count: int = 0
        self.current_tool: str | None = None
        self.current_tool_id: Any = None

    def __repr__(self) -> str:
        return f"CompactRenderer(color={self.color})"

    def _c(self, code: str, text: str) -> str:
        return paint(code, text, self.color)

    def _end_stream(self) -> str:
        if self.streaming is None:
            return ""
        out = "\n" if self.line_open else ""
        self.streaming = None
        self.line_open = False
        return out

    def _token(self, content: str) -> str:
        head = self._end_stream()
        sep = " " if self.line_open else ""
        self.line_open = True
        return head + sep + content

    def _note(self, code: str, tag: str, detail: str = "") -> str:
        """A coloured tag, then *detail* dimmed (when there is one)."""
        return self._token(self._c(code, tag) + (" " + self._c(DIM, detail) if detail else ""))

    def render(self, event: Any) -> str:
        """The text for *event* (an ``Event`` or a mapping of any shape); never raises."""
        self.event_count += 1
        ev = view(event)
        handler = _HANDLERS.get(ev.type)
        if handler is None:
            return self._token(self._c(DIM, "?") + self._c(DIM, truncate(":" + ev.type, 120)))
        return handler(self, ev)

    def finish(self) -> str:
        """The closing text: ends an open text line, then ``N events, M tools``."""
        summary = f"{plural(self.event_count, 'event')}, {plural(self.tool_count, 'tool')}\n"
        return self._end_stream() + "\n" + self._c(DIM, summary)

    def _run_started(self, ev: EventView) -> str:
        model = short_model(ev.get("model"))
        suffix = " " + self._c(MAGENTA, model) if model else ""
        return self._token(self._c(BLUE, "r+") + suffix)

    def _message_streamed(self, ev: EventView) -> str:
        kind = stream_kind(ev)
        text = streamed_text(ev)
        self.in_text = True
        if kind == "thinking" and text:
            text = self._c(DIM, text)
        if self.streaming == kind:
            self.line_open = True
            return text
        code, marker = _MARKERS[kind]
        out = self._token(self._c(code, marker) + " " + text)
        self.streaming = kind
        return out

    def _message_sent(self, ev: EventView) -> str:
        content = one_line(sent_text(ev), TOOL_PREVIEW_LIMIT)
        return self._token(self._c(BLUE, "<<") + " " + self._c(DIM, content))

    def _tool_started(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        self.tool_count += 1
        self.current_tool = name
        self.current_tool_id = ev.get("tool_call_id")
        return self._token(self._c(GREEN, "t+" + name))

    def _tool_completed(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        output = ev.get("tool_output")
        result = ""
        if output is not None and not (isinstance(output, str) and output == ""):
            preview = _preview(output, RESULT_PREVIEW_LIMIT)
            result = " " + self._c(GREEN, "tr:") + self._c(DIM, preview)
        self.current_tool = None
        self.current_tool_id = None
        return self._token(self._c(GREEN, "t-" + name) + result)

    def _tool_failed(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        error = first(ev.get("error_message"), ev.get("tool_output"), "failed")
        self.current_tool = None
        self.current_tool_id = None
        return self._note(RED, "t!" + name, one_line(_preview(error, 2000), TOOL_PREVIEW_LIMIT))

    def _approval(self, ev: EventView) -> str:
        code, mark = _APPROVALS[ev.type]
        name = plain(first(ev.get("tool_name"), "unknown"))
        return self._note(code, mark + name, one_line(ev.get("reason"), TOOL_PREVIEW_LIMIT))

    def _token_usage(self, ev: EventView) -> str:
        tokens_in = plain(first(ev.get("input_tokens"), 0))
        tokens_out = plain(first(ev.get("output_tokens"), 0))
        cost = cost_label(ev.get("cost_usd"), 4, " $")
        return self._token(self._c(DIM, f"tk:{tokens_in}/{tokens_out}{cost}"))

    def _turn_completed(self, ev: EventView) -> str:
        number = first(ev.get("turn"), ev.get("turn_number"))
        reason = short_reason(ev.get("stop_reason"))
        label = "turn" + ("" if number is None else ":" + plain(number))
        return self._token(self._c(BLUE, label + (":" + reason if reason else "")))

    def _message_received(self, ev: EventView) -> str:
        self.in_text = False
        content = truncate(message_text(ev.get("content")), TOOL_PREVIEW_LIMIT)
        cited = sources(ev)
        if cited:
            content += f" [{plural(len(cited), 'source')}]"
        return self._token(self._c(BLUE, "msg") + " " + self._c(DIM, content))

    def _run_completed(self, ev: EventView) -> str:
        self.in_text = False
        reason = short_reason(ev.get("stop_reason"))
        label = "r-:" + reason if reason else "r-"
        return self._token(self._c(BLUE, label + cost_label(ev.get("cost_usd"), 4, " $")))

    def _error(self, ev: EventView) -> str:
        return self._note(RED, "!", truncate(error_text(ev), 120))

    def _cancelled(self, ev: EventView) -> str:
        return self._note(RED, "!", "cancelled")

    def _timeout(self, ev: EventView) -> str:
        return self._note(RED, "!", "timed out")

    def _recovered(self, ev: EventView) -> str:
        return self._note(GREEN, "!ok", one_line(error_text(ev, ""), TOOL_PREVIEW_LIMIT))

    def _policy(self, ev: EventView) -> str:
        return self._note(RED, "!policy", one_line(policy_text(ev), TOOL_PREVIEW_LIMIT))

    def _session(self, ev: EventView) -> str:
        state = ev.type.removeprefix("session_")
        detail = error_text(ev, "") if state == "failed" else ""
        return self._note(BLUE, "s:" + state, one_line(detail, TOOL_PREVIEW_LIMIT))

    def _workspace(self, ev: EventView) -> str:
        return self._token(self._c(DIM, _WORKSPACE[ev.type]))


def _preview(output: Any, limit: int) -> str:
    if isinstance(output, str):
        return truncate(output, limit)
    if isinstance(output, Mapping | list | tuple):
        return truncate(to_json(output), limit)
    return truncate(inspect_value(output), limit)


_WORKSPACE: Final = {
    "workspace_snapshot_taken": "ws:snapshot",
    "workspace_diff_computed": "ws:diff",
}
_APPROVALS: Final = {
    "tool_approval_requested": (MAGENTA, "a?"),
    "tool_approval_granted": (GREEN, "a+"),
    "tool_approval_denied": (RED, "a-"),
}
_R = CompactRenderer
_HANDLERS: Final[dict[str, Callable[[CompactRenderer, EventView], str]]] = {
    "run_started": _R._run_started,
    "message_streamed": _R._message_streamed,
    "message_sent": _R._message_sent,
    "tool_call_started": _R._tool_started,
    "tool_call_completed": _R._tool_completed,
    "tool_call_failed": _R._tool_failed,
    **dict.fromkeys(_APPROVALS, _R._approval),
    "token_usage_updated": _R._token_usage,
    "turn_completed": _R._turn_completed,
    "message_received": _R._message_received,
    "run_completed": _R._run_completed,
    "run_failed": _R._error,
    "error_occurred": _R._error,
    "run_cancelled": _R._cancelled,
    "run_timeout": _R._timeout,
    "error_recovered": _R._recovered,
    "policy_violation": _R._policy,
    **{t.value: _R._session for t in EventType if t.category == "session"},
    **dict.fromkeys(_WORKSPACE, _R._workspace),
}
