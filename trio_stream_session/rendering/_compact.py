"""``CompactRenderer``: one token per event, text streamed inline.

Output follows the reference ``CompactRenderer`` (``reference/rendering_spec.md``
§5): tokens are space-separated on one line, a structured event after streamed
text starts a new line, ``finish()`` ends with an ``N events, M tools`` summary.

Deviations (documented in the package docstring): costs print with Python's
``str()`` after ``round(cost, 4)``; a non-number ``cost_usd`` is ignored (the
reference raises); an unknown type prints as ``?:<type>`` for every type (the
reference shows Elixir ``inspect`` of it); an event without ``data`` is treated
as having empty data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._ansi import BLUE, DIM, GREEN, MAGENTA, RED, paint
from ._text import (
    EventView,
    cost_label,
    first,
    inspect_value,
    plain,
    short_model,
    short_reason,
    to_json,
    truncate,
    view,
)

__all__ = ["CompactRenderer"]

TOOL_PREVIEW_LIMIT: Final = 120
RESULT_PREVIEW_LIMIT: Final = 2000


class CompactRenderer:
    """Render events as compact tokens: ``r+ sonnet-4-5 >> Hello t+Read ... r-:end``.

    A plain synchronous object: :meth:`render` returns the text for one event
    (possibly ``""``), :meth:`finish` the closing summary. It keeps public
    state (``event_count``, ``tool_count``, ``current_tool``,
    ``current_tool_id``, ``line_open``, ``streaming``) and does no I/O, so it
    needs no closing and cancellation cannot leave it half-updated.

    >>> r = CompactRenderer(color=False)
    >>> r.render({"type": "run_started", "data": {"model": "claude-sonnet-4-5-20250929"}})
    'r+ sonnet-4-5'
    """

    def __init__(self, *, color: bool = True) -> None:
        self.color: bool = color is True
        self.streaming: bool = False
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
        if not self.streaming:
            return ""
        out = "\n" if self.line_open else ""
        self.streaming = False
        self.line_open = False
        return out

    def _token(self, content: str) -> str:
        head = self._end_stream()
        sep = " " if self.line_open else ""
        self.line_open = True
        return head + sep + content

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
        summary = f"{self.event_count} events, {self.tool_count} tools\n"
        return self._end_stream() + "\n" + self._c(DIM, summary)

    def _run_started(self, ev: EventView) -> str:
        model = short_model(ev.get("model"))
        suffix = " " + self._c(MAGENTA, model) if model else ""
        return self._token(self._c(BLUE, "r+") + suffix)

    def _message_streamed(self, ev: EventView) -> str:
        text = plain(first(ev.get("delta"), ev.get("content"), ""))
        self.in_text = True
        if self.streaming:
            self.line_open = True
            return text
        out = self._token(self._c(MAGENTA, ">>") + " " + text)
        self.streaming = True
        return out

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

    def _token_usage(self, ev: EventView) -> str:
        tokens_in = plain(first(ev.get("input_tokens"), 0))
        tokens_out = plain(first(ev.get("output_tokens"), 0))
        cost = cost_label(ev.get("cost_usd"), 4, " $")
        return self._token(self._c(DIM, f"tk:{tokens_in}/{tokens_out}{cost}"))

    def _message_received(self, ev: EventView) -> str:
        self.in_text = False
        content = truncate(first(ev.get("content"), ""), TOOL_PREVIEW_LIMIT)
        return self._token(self._c(BLUE, "msg") + " " + self._c(DIM, content))

    def _run_completed(self, ev: EventView) -> str:
        self.in_text = False
        reason = short_reason(ev.get("stop_reason"))
        label = "r-:" + reason if reason else "r-"
        return self._token(self._c(BLUE, label + cost_label(ev.get("cost_usd"), 4, " $")))

    def _error(self, ev: EventView) -> str:
        message = truncate(first(ev.get("error_message"), "unknown error"), 120)
        return self._token(self._c(RED, "!") + " " + self._c(DIM, message))

    def _cancelled(self, ev: EventView) -> str:
        return self._token(self._c(RED, "!") + " " + self._c(DIM, "cancelled"))


def _preview(output: Any, limit: int) -> str:
    if isinstance(output, str):
        return truncate(output, limit)
    if isinstance(output, Mapping | list | tuple):
        return truncate(to_json(output), limit)
    return truncate(inspect_value(output), limit)


_HANDLERS: Final = {
    "run_started": CompactRenderer._run_started,
    "message_streamed": CompactRenderer._message_streamed,
    "tool_call_started": CompactRenderer._tool_started,
    "tool_call_completed": CompactRenderer._tool_completed,
    "token_usage_updated": CompactRenderer._token_usage,
    "message_received": CompactRenderer._message_received,
    "run_completed": CompactRenderer._run_completed,
    "run_failed": CompactRenderer._error,
    "error_occurred": CompactRenderer._error,
    "run_cancelled": CompactRenderer._cancelled,
}
