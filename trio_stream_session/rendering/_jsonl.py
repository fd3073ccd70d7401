"""``JSONLSink``: one JSON object per event, one event per line.

Two line formats, both serialised compactly with sorted keys and non-ASCII
kept as UTF-8 (the reference double-encodes it — not ported). A lone
surrogate, which UTF-8 cannot encode, is written as its JSON escape
(``\\ud83d``), so ``json.loads`` gives back the same string (a high surrogate
directly followed by a low one reads back as the one character they encode
together, as JSON defines):

``mode="full"`` (default)
    The reference's fields ``ts`` (ISO-8601, ``Z`` suffix), ``type``, ``data``,
    ``session_id``, ``run_id``. For an :class:`~trio_stream_session.Event` the
    line is ``Event.to_dict()`` plus ``ts``, so ``Event.from_dict(json.loads(line))``
    rebuilds the event. Top-level keys whose value is ``None`` or ``""`` are
    dropped, as in the reference. A ``ts`` that is already a string is kept as
    is; a missing or empty one is the current time.

``mode="compact"``
    ``{"t": <wall-clock ms at write time>, "e": {"t": <abbrev>, ...}}`` with the
    reference's abbreviations (``rs ms ts tc tu mr rc rf rx er``, else the type)
    and fields (``m`` model, ``l`` UTF-8 byte length, ``n`` tool name, ``i``/``o``
    tokens, ``$`` cost, ``sr`` stop reason, ``x`` error message). A non-string
    error message is converted to text (the reference raises).

Events reach the sink already redacted by the core; nothing here adds data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

import trio

from .._events import Event
from ._sinks import FileTarget, _FileSinkBase
from ._text import (
    EventView,
    first,
    inspect_value,
    is_number,
    jsonable,
    short_model,
    short_reason,
    view,
)
from ._text import to_string as _to_string
from ._text import truncate as _truncate

__all__ = ["JSONLSink", "compact_entry", "full_entry"]

JSONLMode = Literal["full", "compact"]

_ABBREVIATIONS: Final = {
    "run_started": "rs",
    "message_streamed": "ms",
    "tool_call_started": "ts",
    "tool_call_completed": "tc",
    "token_usage_updated": "tu",
    "message_received": "mr",
    "run_completed": "rc",
    "run_failed": "rf",
    "run_cancelled": "rx",
    "error_occurred": "er",
}


def _iso(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value):
        value = datetime.now(UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()
        text: str = value.astimezone(UTC).isoformat()
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, str):
        return value
    return inspect_value(value)


def _event_dict(event: Event) -> dict[str, Any]:
    try:
        return event.to_dict()
    except Exception:
        # Data to_dict cannot serialise is written in its bounded, never-raising form.
        entry = {name: jsonable(getattr(event, name)) for name in _EVENT_FIELDS}
        entry["timestamp"] = _iso(event.timestamp)
        return entry


_EVENT_FIELDS: Final = tuple(Event.__dataclass_fields__)


def full_entry(event: Any) -> dict[str, Any]:
    """The ``mode="full"`` object for *event* (JSON-safe, empty values dropped)."""
    if isinstance(event, Event):
        entry = _event_dict(event)
        entry["ts"] = _iso(event.timestamp)
    else:
        ev = view(event)
        entry = {
            "ts": _iso(ev.timestamp),
            "type": ev.type,
            "data": jsonable(ev.data),
            "session_id": jsonable(ev.session_id),
            "run_id": jsonable(ev.run_id),
        }
    return {k: v for k, v in entry.items() if v is not None and not _is_empty_str(v)}


def _is_empty_str(value: Any) -> bool:
    return isinstance(value, str) and value == ""


def _byte_length(value: Any) -> int:
    text = value if isinstance(value, str) else inspect_value(value)
    return len(text.encode("utf-8", "surrogatepass"))


def _run_started(ev: EventView, entry: dict[str, Any]) -> None:
    model = short_model(ev.get("model"))
    if model:
        entry["m"] = model


def _message_streamed(ev: EventView, entry: dict[str, Any]) -> None:
    entry["l"] = _byte_length(_to_string(first(ev.get("delta"), ev.get("content"), "")))


def _tool_started(ev: EventView, entry: dict[str, Any]) -> None:
    name = ev.get("tool_name")
    if name is not None and not _is_empty_str(name):
        entry["n"] = name


def _tool_completed(ev: EventView, entry: dict[str, Any]) -> None:
    _tool_started(ev, entry)
    output = ev.get("tool_output")
    if output is not None and not _is_empty_str(output):
        entry["l"] = _byte_length(output)


def _token_usage(ev: EventView, entry: dict[str, Any]) -> None:
    entry["i"] = ev.get("input_tokens")
    entry["o"] = ev.get("output_tokens")
    cost = ev.get("cost_usd")
    if is_number(cost):
        entry["$"] = cost


def _run_completed(ev: EventView, entry: dict[str, Any]) -> None:
    reason = ev.get("stop_reason")
    if reason is not None:
        entry["sr"] = short_reason(reason)


def _failure(ev: EventView, entry: dict[str, Any]) -> None:
    message = ev.get("error_message")
    if message is not None:
        entry["x"] = _truncate(_to_string(message), 120)


_FIELDS: Final[dict[str, Callable[[EventView, dict[str, Any]], None]]] = {
    "run_started": _run_started,
    "message_streamed": _message_streamed,
    "tool_call_started": _tool_started,
    "tool_call_completed": _tool_completed,
    "token_usage_updated": _token_usage,
    "run_completed": _run_completed,
    "run_failed": _failure,
    "error_occurred": _failure,
}


def compact_entry(event: Any, *, now_ms: int | None = None) -> dict[str, Any]:
    """The ``mode="compact"`` object for *event*; ``t`` is *now_ms* or the wall clock."""
    ev = view(event)
    body: dict[str, Any] = {"t": _ABBREVIATIONS.get(ev.type, ev.type)}
    fields = _FIELDS.get(ev.type)
    if fields is not None:
        fields(ev, body)
    t = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return {"t": t, "e": jsonable(body)}


def _dumps(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class JSONLSink(_FileSinkBase):
    """Append one JSON line per event to a file (rendered text is ignored).

    ``target`` is a path (opened on :meth:`open` as UTF-8, created or
    truncated, closed by :meth:`aclose`) or an open text file (borrowed:
    flushed, never closed), as for :class:`FileSink`. ``mode`` is ``"full"``
    or ``"compact"`` (see the module docs); anything else is a ``ValueError``.
    ``write()`` writes nothing: the renderer's closing text is not an event.
    File I/O runs in worker threads. Text with lone surrogates is written
    with their JSON escapes and reads back exactly (see the module docs).

    >>> sink = JSONLSink("events.jsonl", mode="compact")
    """

    def __init__(self, target: FileTarget, *, mode: JSONLMode = "full") -> None:
        if mode not in ("full", "compact"):
            raise ValueError(f"mode must be 'full' or 'compact', got {mode!r}")
        super().__init__(target)
        self.mode: JSONLMode = mode

    def __repr__(self) -> str:
        return f"JSONLSink({self._target_repr()}, mode={self.mode!r})"

    def line(self, event: Any) -> str:
        """The JSON text written for *event* (without the newline; a lone
        surrogate in it is written as its escape ``\\udXXX``)."""
        entry = full_entry(event) if self.mode == "full" else compact_entry(event)
        return _dumps(entry)

    async def _write_event(self, event: Any, text: str) -> None:
        await self._write_line(self.line(event) + "\n")

    async def _write(self, text: str) -> None:
        await trio.lowlevel.checkpoint()
