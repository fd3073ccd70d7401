"""``VerboseRenderer``: one bracketed line per event, text streamed raw.

Output follows the reference ``VerboseRenderer`` (``reference/rendering_spec.md``
§6). Deviations: a dict or list ``tool_output`` prints as compact JSON (the
reference raises on dicts and prints lists as chardata); costs print with
Python's ``str()`` after ``round(cost, 6)`` (``5e-05``, not ``5.0e-5``); a
non-number ``cost_usd`` is ignored; an event without ``data`` is treated as
having empty data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._ansi import BLUE, DIM, GREEN, RED, paint
from ._text import (
    EventView,
    cost_label,
    first,
    inspect_value,
    mapping_get,
    plain,
    to_json,
    to_string,
    view,
)
from ._text import truncate as _truncate

__all__ = ["VerboseRenderer"]

PREVIEW_LIMIT: Final = 120
RESULT_LIMIT: Final = 2000


class VerboseRenderer:
    """Render events as ``[type] key=value`` lines; streamed text is written raw.

    A plain synchronous object (``render(event) -> str``, ``finish() -> str``)
    with public ``event_count``, ``tool_count`` and ``in_text``. No I/O, nothing
    to close; cancellation cannot interrupt it.

    >>> VerboseRenderer(color=False).render({"type": "run_cancelled"})
    '[run_cancelled]\\n'
    """

    def __init__(self, *, color: bool = True) -> None:
        self.color: bool = color is True
        self.in_text: bool = False
        self.event_count: int = 0
        self.tool_count: int = 0

    def __repr__(self) -> str:
        return f"VerboseRenderer(color={self.color})"

    def _c(self, code: str, text: str) -> str:
        return paint(code, text, self.color)

    def render(self, event: Any) -> str:
        """The text for *event* (an ``Event`` or a mapping of any shape); never raises."""
        self.event_count += 1
        ev = view(event)
        if ev.type == "message_streamed":
            self.in_text = True
            return plain(first(ev.get("delta"), ev.get("content"), ""))
        head = "\n" if self.in_text else ""
        self.in_text = False
        handler = _HANDLERS.get(ev.type, VerboseRenderer._other)
        return head + handler(self, ev)

    def finish(self) -> str:
        """``--- N events, M tools ---`` (after a newline if text was streaming)."""
        head = "\n" if self.in_text else ""
        return head + self._c(DIM, f"--- {self.event_count} events, {self.tool_count} tools ---\n")

    def _run_started(self, ev: EventView) -> str:
        model = plain(first(ev.get("model"), "unknown"))
        session = plain(first(ev.session_id, ev.get("session_id"), ""))
        return self._c(BLUE, "[run_started]") + f" model={model} session_id={session}\n"

    def _tool_started(self, ev: EventView) -> str:
        self.tool_count += 1
        name = plain(first(ev.get("tool_name"), "unknown"))
        call_id = plain(first(ev.get("tool_call_id"), ""))
        tool_input = ev.get("tool_input")
        if tool_input is None or (isinstance(tool_input, Mapping) and not tool_input):
            shown = ""
        elif isinstance(tool_input, Mapping):
            shown = " input=" + _truncate(to_json(tool_input), PREVIEW_LIMIT)
        else:
            shown = " input=" + _truncate(inspect_value(tool_input), PREVIEW_LIMIT)
        return self._c(GREEN, "[tool_call_started]") + f" name={name} id={call_id}{shown}\n"

    def _tool_completed(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        output = ev.get("tool_output")
        shown = ""
        if output is not None and not (isinstance(output, str) and output == ""):
            shown = " output=" + _truncate(to_string(output), RESULT_LIMIT)
        return self._c(GREEN, "[tool_call_completed]") + f" name={name}{shown}\n"

    def _token_usage(self, ev: EventView) -> str:
        tokens_in = plain(first(ev.get("input_tokens"), 0))
        tokens_out = plain(first(ev.get("output_tokens"), 0))
        cost = cost_label(ev.get("cost_usd"), 6, " cost=$")
        return self._c(DIM, "[token_usage]") + f" input={tokens_in} output={tokens_out}{cost}\n"

    def _message_received(self, ev: EventView) -> str:
        role = plain(first(ev.get("role"), "assistant"))
        content = _truncate(first(ev.get("content"), ""), RESULT_LIMIT)
        return self._c(BLUE, "[message_received]") + f" role={role} content={content}\n"

    def _run_completed(self, ev: EventView) -> str:
        reason = plain(first(ev.get("stop_reason"), "end_turn"))
        usage = ev.get("token_usage")
        tokens = ""
        if isinstance(usage, Mapping):
            used_in = plain(first(mapping_get(usage, "input_tokens"), 0))
            used_out = plain(first(mapping_get(usage, "output_tokens"), 0))
            tokens = f" tokens={used_in}/{used_out}"
        cost = cost_label(ev.get("cost_usd"), 6, " cost=$")
        return self._c(BLUE, "[run_completed]") + f" stop_reason={reason}{tokens}{cost}\n"

    def _failure(self, tag: str, ev: EventView) -> str:
        code = plain(first(ev.get("error_code"), "unknown"))
        message = _truncate(first(ev.get("error_message"), "unknown error"), RESULT_LIMIT)
        return self._c(RED, tag) + f" error_code={code} error_message={message}\n"

    def _run_failed(self, ev: EventView) -> str:
        return self._failure("[run_failed]", ev)

    def _error_occurred(self, ev: EventView) -> str:
        return self._failure("[error]", ev)

    def _run_cancelled(self, ev: EventView) -> str:
        return self._c(RED, "[run_cancelled]") + "\n"

    def _other(self, ev: EventView) -> str:
        data = _truncate(inspect_value(ev.data), PREVIEW_LIMIT)
        return self._c(DIM, "[event]") + f" type={ev.type} data={data}\n"


_HANDLERS: Final = {
    "run_started": VerboseRenderer._run_started,
    "tool_call_started": VerboseRenderer._tool_started,
    "tool_call_completed": VerboseRenderer._tool_completed,
    "token_usage_updated": VerboseRenderer._token_usage,
    "message_received": VerboseRenderer._message_received,
    "run_completed": VerboseRenderer._run_completed,
    "run_failed": VerboseRenderer._run_failed,
    "error_occurred": VerboseRenderer._error_occurred,
    "run_cancelled": VerboseRenderer._run_cancelled,
}
