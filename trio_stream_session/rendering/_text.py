"""Event normalisation and text helpers shared by every renderer.

Renderers accept :class:`~trio_stream_session.Event` objects and plain
mappings (``{"type": ..., "data": {...}}``) of any shape; :func:`view` reads
both and never raises. Missing or non-mapping ``data`` becomes ``{}``; a
missing type reads as ``"unknown"``.

Deliberate deviations from the reference, decided here once:

* numbers print in Python's natural form (``str()``, after ``round()``):
  ``$2`` for an integer cost of 2, ``5e-05`` rather than Elixir's ``5.0e-5``;
* text is Unicode code points (the reference counts grapheme clusters);
* where the reference shows a value in Elixir syntax (``inspect``:
  ``%{foo: "bar", n: 1}``, ``nil``, ``:atom``), the renderers show it in
  Python's (:func:`inspect_value`: ``{'foo': 'bar', 'n': 1}``, ``None``).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .._events import Event, EventType

__all__ = [
    "EventView",
    "first",
    "inspect_value",
    "is_number",
    "jsonable",
    "mapping_get",
    "number_text",
    "one_line",
    "plain",
    "plural",
    "round_number",
    "safe_str",
    "short_model",
    "short_reason",
    "to_json",
    "to_string",
    "truncate",
    "view",
]

_EMPTY: Final[Mapping[str, Any]] = {}
_MAX_DEPTH: Final = 32
_MAX_NODES: Final = 5000
_HUGE: Final = 10**4000  # ints this long cannot become text (sys.set_int_max_str_digits)


class EventView:
    """What a renderer reads from one event, whatever its shape (read-only by convention).

    A plain slotted class rather than a frozen dataclass: one is built per
    rendered event, and a frozen dataclass's ``__init__`` costs three times as much.
    """

    __slots__ = ("data", "provider", "run_id", "session_id", "timestamp", "type")

    def __init__(
        self,
        type: str,
        data: Mapping[Any, Any],
        session_id: Any = None,
        run_id: Any = None,
        timestamp: Any = None,
        provider: Any = None,
    ) -> None:
        self.type = type
        self.data = data
        self.session_id = session_id
        self.run_id = run_id
        self.timestamp = timestamp
        self.provider = provider

    def __repr__(self) -> str:
        return f"EventView(type={self.type!r}, data={inspect_value(self.data)})"

    def get(self, key: str) -> Any:
        """``data[key]``, or None when missing (or when the mapping misbehaves)."""
        data = self.data
        if type(data) is dict:
            return data.get(key)  # a plain dict cannot misbehave: the common, fast case
        return mapping_get(data, key)


def mapping_get(mapping: Any, key: str) -> Any:
    """``mapping.get(key)`` for a mapping, else None; never raises."""
    if not isinstance(mapping, Mapping):
        return None
    try:
        return mapping.get(key)
    except Exception:
        return None


def type_name(value: Any) -> str:
    """An event type as text: the enum value, the string itself, or ``"unknown"``."""
    if value is None:
        return "unknown"
    if isinstance(value, enum.Enum):
        value = value.value
    return value if isinstance(value, str) else safe_str(value)


def view(event: Any) -> EventView:
    """Normalise an :class:`Event` or a mapping into an :class:`EventView`."""
    if isinstance(event, Event):
        data = event.data
        if type(data) is not dict and not isinstance(data, Mapping):
            data = _EMPTY
        kind = event.type
        return EventView(
            kind.value if type(kind) is EventType else type_name(kind),
            data,
            event.session_id,
            event.run_id,
            event.timestamp,
            event.provider,
        )
    if isinstance(event, Mapping):
        data = mapping_get(event, "data")
        return EventView(
            type=type_name(mapping_get(event, "type")),
            data=data if isinstance(data, Mapping) else _EMPTY,
            session_id=mapping_get(event, "session_id"),
            run_id=mapping_get(event, "run_id"),
            timestamp=mapping_get(event, "timestamp"),
            provider=mapping_get(event, "provider"),
        )
    return EventView(type="unknown", data=_EMPTY)


def first(*values: Any) -> Any:
    """The first value that is neither None nor False (Elixir's ``a || b``).

    Unlike Python's ``or``, ``""``, ``0`` and ``{}`` count as present.
    """
    for value in values:
        if value is not None and value is not False:
            return value
    return None


def safe_str(value: Any) -> str:
    """``str(value)``, or a placeholder if that raises (huge ints, odd objects)."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


def is_number(value: Any) -> bool:
    """True for ints and floats, never for booleans."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def round_number(value: int | float, digits: int) -> int | float:
    """Python's ``round`` (ints stay ints); never raises."""
    try:
        return round(value, digits)
    except (OverflowError, ValueError):
        return value


def number_text(value: int | float) -> str:
    """A number in Python's natural text form (``2``, ``0.0123``, ``5e-05``)."""
    return safe_str(value)


def to_json(value: Any) -> str:
    """Compact JSON: no spaces, sorted keys, non-ASCII kept; never raises."""
    try:
        return json.dumps(
            jsonable(value), separators=(",", ":"), ensure_ascii=False, sort_keys=True
        )
    except Exception:
        return _safe_repr(value)


class _Walk:
    """Bounds a walk over user data: cycles are cut, at most ``_MAX_NODES`` visited.

    Without both, a self-referencing or widely shared structure costs
    exponential time.
    """

    __slots__ = ("active", "budget")

    def __init__(self) -> None:
        self.active: set[int] = set()
        self.budget = _MAX_NODES

    def enter(self, value: Any) -> bool:
        self.budget -= 1
        if self.budget < 0 or id(value) in self.active or len(self.active) >= _MAX_DEPTH:
            return False
        self.active.add(id(value))
        return True

    def leave(self, value: Any) -> None:
        self.active.discard(id(value))


def jsonable(value: Any) -> Any:
    """*value* as JSON-serialisable data (like the core's ``json_safe``), never raising.

    Mappings get string keys, sequences become lists, datetimes ISO strings,
    enums their value, non-finite floats and other objects their ``repr``;
    cycles and very large structures are cut short with ``"..."``.
    """
    return _jsonable(value, _Walk())


def _jsonable(value: Any, walk: _Walk) -> Any:
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < _HUGE else safe_str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if not isinstance(value, Mapping | list | tuple | set | frozenset):
        return _safe_repr(value)
    if not walk.enter(value):
        return "..."
    try:
        if isinstance(value, Mapping):
            return {_key(k): _jsonable(v, walk) for k, v in value.items()}
        return [_jsonable(v, walk) for v in value]
    except Exception:
        return _safe_repr(value)
    finally:
        walk.leave(value)


def _key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    return key if isinstance(key, str) else safe_str(key)


def inspect_value(value: Any) -> str:
    """*value* in a short, readable Python form for previews; never raises.

    ``repr`` style: ``None``, ``True``, ``'text'``, ``5e-05``, ``[1, 'two']``,
    ``(1,)``, ``{'foo': 'bar', 'n': 1}`` (insertion order). Enums show their
    value, datetimes their ISO form; a cycle or a very large structure is cut
    short with ``...``; an object whose ``repr`` raises shows as ``<TypeName>``.

    >>> inspect_value({"foo": "bar", "n": [1, None, True]})
    "{'foo': 'bar', 'n': [1, None, True]}"
    """
    return _inspect(value, _Walk())


def _inspect(value: Any, walk: _Walk) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if not isinstance(value, Mapping | list | tuple | set | frozenset):
        return _safe_repr(value)
    if not walk.enter(value):
        return "..."
    try:
        if isinstance(value, Mapping):
            items = ", ".join(f"{_inspect(k, walk)}: {_inspect(v, walk)}" for k, v in value.items())
            return "{" + items + "}"
        body = ", ".join(_inspect(v, walk) for v in value)
        if isinstance(value, list):
            return "[" + body + "]"
        if isinstance(value, tuple):
            return "(" + body + ("," if len(value) == 1 else "") + ")"
        return "{" + body + "}" if body else "set()"
    except Exception:
        return _safe_repr(value)
    finally:
        walk.leave(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def plain(value: Any) -> str:
    """A value interpolated into text: strings as-is, everything else inspected."""
    return value if isinstance(value, str) else inspect_value(value)


def to_string(value: Any) -> str:
    """Elixir ``to_string`` with the JSON deviation for containers.

    Strings as-is, ``None`` -> ``""``, mappings/lists as compact JSON (the
    reference crashes on maps and prints lists as chardata), scalars as text.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return to_json(value)
    return inspect_value(value)


def truncate(value: Any, limit: int) -> str:
    """Text of *value* cut to *limit* code points plus ``"..."`` when longer.

    ``None`` -> ``""``; non-strings are inspected first.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else inspect_value(value)
    return text[:limit] + "..." if len(text) > limit else text


def short_model(model: Any) -> str:
    """``claude-sonnet-4-5-20250929`` -> ``sonnet-4-5`` (at most three dash parts)."""
    if model is None:
        return ""
    text = to_string(model)
    text = text.removeprefix("claude-").removeprefix("anthropic.")
    return "-".join([part for part in text.split("-") if part][:3])


def short_reason(reason: Any) -> str:
    """Lower-cased stop reason with ``tool_use`` -> ``tool``, ``end_turn`` -> ``end``."""
    if reason is None:
        return ""
    text = to_string(reason).lower()
    return {"tool_use": "tool", "end_turn": "end"}.get(text, text)


def cost_label(cost: Any, digits: int, prefix: str) -> str:
    """``prefix + rounded cost`` for a number, ``""`` otherwise (None or not a number)."""
    if not is_number(cost):
        return ""
    return prefix + number_text(round_number(cost, digits))


def plural(count: int, word: str) -> str:
    """``1 event``, ``2 events``, ``0 tools``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def one_line(value: Any, limit: int) -> str:
    """The first line of *value*'s text, cut to *limit* code points.

    ``...`` marks a cut; `` ...`` marks lines left out. ``None`` -> ``""``.
    """
    text = "" if value is None else plain(value).strip()
    line, more, _ = text.partition("\n")
    line = line.rstrip()
    if len(line) > limit:
        return line[:limit] + "..."
    return line + (" ..." if more else "")
