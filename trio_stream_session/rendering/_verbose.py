"""``VerboseRenderer``: one bracketed line per event, text streamed raw.

Output follows the reference ``VerboseRenderer`` (``reference/rendering_spec.md``
§6) for the events the reference knows. Every other event type has a line of
its own: ``[tool_call_failed] name=Read id=t1 error=...``, the three
``[tool_approval_*]`` lines, ``[turn_completed] turn=2 stop_reason=tool_use``;
session, workspace, policy, timeout and recovery events print their data as
``key=value`` pairs. Streamed thinking is dimmed after a ``[thinking]`` tag,
on its own line. Anything else prints as ``[event] type=... data={...}``, the
data in Python's ``repr`` form.

Deviations: a dict or list ``tool_output`` prints as compact JSON (the
reference raises on dicts and prints lists as chardata); costs print with
Python's ``str()`` after ``round(cost, 6)`` (``5e-05``, not ``5.0e-5``); a
non-number ``cost_usd`` is ignored; values that are not text print in their
Python form (``'ls -la'``, ``None``), never Elixir's; the summary uses
singulars (``1 event``); an event without ``data`` is treated as having
empty data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .._events import EventType
from ._ansi import BLUE, DIM, GREEN, MAGENTA, RED, paint
from ._fields import (
    error_text,
    message_text,
    sent_text,
    sources,
    stream_kind,
    streamed_text,
    usage_tokens,
)
from ._text import (
    EventView,
    cost_label,
    first,
    inspect_value,
    plain,
    plural,
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
    with public ``event_count``, ``tool_count``, ``streaming`` (``None``,
    ``"text"`` or ``"thinking"``) and ``in_text``. No I/O, nothing to close;
    cancellation cannot interrupt it.

    >>> VerboseRenderer(color=False).render({"type": "run_cancelled"})
    '[run_cancelled]\\n'
    >>> VerboseRenderer(color=False).render({"type": "odd", "data": {"n": None}})
    "[event] type=odd data={'n': None}\\n"
    """

    def __init__(self, *, color: bool = True) -> None:
        self.color: bool = color is True
        self.streaming: str | None = None
        self.event_count: int = 0
        self.tool_count: int = 0

    def __repr__(self) -> str:
        return f"VerboseRenderer(color={self.color})"

    @property
    def in_text(self) -> bool:
        """True while streamed text (or thinking) is open on the current line."""
        return self.streaming is not None

    def _c(self, code: str, text: str) -> str:
        return paint(code, text, self.color)

    def render(self, event: Any) -> str:
        """The text for *event* (an ``Event`` or a mapping of any shape); never raises."""
        self.event_count += 1
        ev = view(event)
        if ev.type == "message_streamed":
            return self._streamed(ev)
        head = "\n" if self.streaming else ""
        self.streaming = None
        handler = _HANDLERS.get(ev.type, VerboseRenderer._other)
        return head + handler(self, ev)

    def finish(self) -> str:
        """``--- N events, M tools ---`` (after a newline if text was streaming)."""
        head = "\n" if self.streaming else ""
        counts = f"{plural(self.event_count, 'event')}, {plural(self.tool_count, 'tool')}"
        return head + self._c(DIM, f"--- {counts} ---\n")

    def _streamed(self, ev: EventView) -> str:
        kind = stream_kind(ev)
        text = streamed_text(ev)
        head = ""
        if self.streaming != kind:
            head = "\n" if self.streaming else ""
            if kind == "thinking":
                head += self._c(DIM, "[thinking]") + " "
            self.streaming = kind
        if kind == "thinking" and text:
            text = self._c(DIM, text)
        return head + text

    def _line(self, code: str, tag: str, fields: str) -> str:
        return self._c(code, f"[{tag}]") + fields + "\n"

    def _run_started(self, ev: EventView) -> str:
        model = plain(first(ev.get("model"), "unknown"))
        session = plain(first(ev.session_id, ev.get("session_id"), ""))
        return self._c(BLUE, "[run_started]") + f" model={model} session_id={session}\n"

    def _message_sent(self, ev: EventView) -> str:
        role = plain(first(ev.get("role"), "user"))
        content = _truncate(sent_text(ev), RESULT_LIMIT)
        extra = _optional(ev, "kind", "turn")
        return self._line(BLUE, "message_sent", f" role={role}{extra} content={content}")

    def _tool_started(self, ev: EventView) -> str:
        self.tool_count += 1
        name = plain(first(ev.get("tool_name"), "unknown"))
        call_id = plain(first(ev.get("tool_call_id"), ""))
        return self._c(GREEN, "[tool_call_started]") + f" name={name} id={call_id}{_input(ev)}\n"

    def _tool_completed(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        call_id = ev.get("tool_call_id")
        shown_id = "" if call_id is None else f" id={plain(call_id)}"
        return self._c(GREEN, "[tool_call_completed]") + f" name={name}{shown_id}{_output(ev)}\n"

    def _tool_failed(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        call_id = plain(first(ev.get("tool_call_id"), ""))
        error = error_text(ev, "")
        shown = f" error={_truncate(error, RESULT_LIMIT)}" if error else ""
        fields = f" name={name} id={call_id}{shown}{_output(ev)}"
        return self._line(RED, "tool_call_failed", fields)

    def _approval(self, ev: EventView) -> str:
        name = plain(first(ev.get("tool_name"), "unknown"))
        call_id = plain(first(ev.get("tool_call_id"), ""))
        fields = f" name={name} id={call_id}"
        if ev.type == "tool_approval_requested":
            fields += _input(ev)
        for key, label in (("policy_name", "policy"), ("reason", "reason")):
            value = ev.get(key)
            if value is not None:
                fields += f" {label}={_truncate(value, PREVIEW_LIMIT)}"
        return self._line(_TAGS[ev.type], ev.type, fields)

    def _token_usage(self, ev: EventView) -> str:
        tokens_in = plain(first(ev.get("input_tokens"), 0))
        tokens_out = plain(first(ev.get("output_tokens"), 0))
        cost = cost_label(ev.get("cost_usd"), 6, " cost=$")
        return self._c(DIM, "[token_usage]") + f" input={tokens_in} output={tokens_out}{cost}\n"

    def _turn_completed(self, ev: EventView) -> str:
        fields = _optional(ev, "turn", "turn_number", "stop_reason")
        return self._line(BLUE, "turn_completed", fields + _tokens(ev))

    def _message_received(self, ev: EventView) -> str:
        role = plain(first(ev.get("role"), "assistant"))
        extra = _optional(ev, "turn", "stop_reason")
        content = _truncate(message_text(ev.get("content")), RESULT_LIMIT)
        cited = sources(ev)
        shown = " sources=" + _truncate(", ".join(cited), RESULT_LIMIT) if cited else ""
        return self._line(BLUE, "message_received", f" role={role}{extra} content={content}{shown}")

    def _run_completed(self, ev: EventView) -> str:
        reason = plain(first(ev.get("stop_reason"), "end_turn"))
        cost = cost_label(ev.get("cost_usd"), 6, " cost=$")
        return self._c(BLUE, "[run_completed]") + f" stop_reason={reason}{_tokens(ev)}{cost}\n"

    def _failure(self, tag: str, ev: EventView) -> str:
        code = plain(first(ev.get("error_code"), "unknown"))
        message = _truncate(error_text(ev), RESULT_LIMIT)
        return self._c(RED, tag) + f" error_code={code} error_message={message}\n"

    def _run_failed(self, ev: EventView) -> str:
        return self._failure("[run_failed]", ev)

    def _error_occurred(self, ev: EventView) -> str:
        return self._failure("[error]", ev)

    def _run_cancelled(self, ev: EventView) -> str:
        return self._c(RED, "[run_cancelled]") + "\n"

    def _fields(self, ev: EventView) -> str:
        """``[type] key=value ...`` for every data item, in the data's order."""
        try:
            items = list(ev.data.items())
        except Exception:
            items = []
        fields = "".join(f" {plain(k)}={_truncate(plain(v), PREVIEW_LIMIT)}" for k, v in items)
        return self._line(_TAGS.get(ev.type, DIM), ev.type, fields)

    def _other(self, ev: EventView) -> str:
        data = _truncate(inspect_value(ev.data), PREVIEW_LIMIT)
        return self._c(DIM, "[event]") + f" type={ev.type} data={data}\n"


def _input(ev: EventView) -> str:
    """`` input=...`` for a non-empty ``tool_input`` (JSON for a mapping)."""
    tool_input = ev.get("tool_input")
    if tool_input is None or (isinstance(tool_input, Mapping) and not tool_input):
        return ""
    if isinstance(tool_input, Mapping):
        return " input=" + _truncate(to_json(tool_input), PREVIEW_LIMIT)
    return " input=" + _truncate(inspect_value(tool_input), PREVIEW_LIMIT)


def _output(ev: EventView) -> str:
    """`` output=...`` for a non-empty ``tool_output`` (JSON for containers)."""
    output = ev.get("tool_output")
    if output is None or (isinstance(output, str) and output == ""):
        return ""
    return " output=" + _truncate(to_string(output), RESULT_LIMIT)


def _optional(ev: EventView, *keys: str) -> str:
    """`` key=value`` for each of *keys* the data has (not None)."""
    values = ((key, ev.get(key)) for key in keys)
    return "".join(
        f" {key}={_truncate(plain(value), PREVIEW_LIMIT)}"
        for key, value in values
        if value is not None
    )


def _tokens(ev: EventView) -> str:
    """`` tokens=IN/OUT`` from a ``token_usage`` mapping, else ``""``."""
    tokens = usage_tokens(ev.get("token_usage"))
    return "" if tokens is None else f" tokens={tokens[0]}/{tokens[1]}"


_APPROVALS: Final = ("tool_approval_requested", "tool_approval_granted", "tool_approval_denied")
#: Tag colours other than dim, of the events shown by ``_approval`` and ``_fields``.
_TAGS: Final = {
    "tool_approval_requested": MAGENTA,
    "tool_approval_granted": GREEN,
    "tool_approval_denied": RED,
    "run_timeout": RED,
    "policy_violation": RED,
    "session_failed": RED,
    "session_cancelled": RED,
    "error_recovered": GREEN,
}
_V = VerboseRenderer
_HANDLERS: Final[dict[str, Callable[[VerboseRenderer, EventView], str]]] = {
    "run_started": _V._run_started,
    "message_sent": _V._message_sent,
    "tool_call_started": _V._tool_started,
    "tool_call_completed": _V._tool_completed,
    "tool_call_failed": _V._tool_failed,
    **dict.fromkeys(_APPROVALS, _V._approval),
    "token_usage_updated": _V._token_usage,
    "turn_completed": _V._turn_completed,
    "message_received": _V._message_received,
    "run_completed": _V._run_completed,
    "run_failed": _V._run_failed,
    "error_occurred": _V._error_occurred,
    "run_cancelled": _V._run_cancelled,
    "run_timeout": _V._fields,
    "error_recovered": _V._fields,
    **{t.value: _V._fields for t in EventType if t.category in ("session", "workspace", "policy")},
}
