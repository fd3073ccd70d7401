"""The event model: :class:`EventType` and the frozen :class:`Event`."""

from __future__ import annotations

import enum
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ._errors import SessionError

__all__ = ["Event", "EventType", "new_id"]


_random = random.Random()  # seeded from os.urandom
os.register_at_fork(after_in_child=_random.seed)  # a forked child must not repeat ids
_randbits = _random.getrandbits


def new_id(prefix: str) -> str:
    """A fresh identifier: *prefix*, an underscore and 32 random lowercase hex digits.

    Ids need to be unique, not secret: a process-private PRNG seeded from the
    OS (and re-seeded after ``fork``) is 2-3x cheaper than ``os.urandom``.
    """
    return prefix + "_" + _randbits(128).to_bytes(16, "big").hex()


class EventType(enum.StrEnum):
    """The 28 event types of the reference, in its ``all_types`` order."""

    SESSION_CREATED = "session_created"
    SESSION_STARTED = "session_started"
    SESSION_PAUSED = "session_paused"
    SESSION_RESUMED = "session_resumed"
    SESSION_COMPLETED = "session_completed"
    SESSION_FAILED = "session_failed"
    SESSION_CANCELLED = "session_cancelled"
    RUN_STARTED = "run_started"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_CANCELLED = "run_cancelled"
    RUN_TIMEOUT = "run_timeout"
    MESSAGE_SENT = "message_sent"
    MESSAGE_RECEIVED = "message_received"
    MESSAGE_STREAMED = "message_streamed"
    TOOL_CALL_STARTED = "tool_call_started"
    TOOL_CALL_COMPLETED = "tool_call_completed"
    TOOL_CALL_FAILED = "tool_call_failed"
    ERROR_OCCURRED = "error_occurred"
    ERROR_RECOVERED = "error_recovered"
    TOKEN_USAGE_UPDATED = "token_usage_updated"
    TURN_COMPLETED = "turn_completed"
    WORKSPACE_SNAPSHOT_TAKEN = "workspace_snapshot_taken"
    WORKSPACE_DIFF_COMPUTED = "workspace_diff_computed"
    POLICY_VIOLATION = "policy_violation"
    TOOL_APPROVAL_REQUESTED = "tool_approval_requested"
    TOOL_APPROVAL_GRANTED = "tool_approval_granted"
    TOOL_APPROVAL_DENIED = "tool_approval_denied"

    @property
    def category(self) -> str:
        """``session``, ``run``, ``message``, ``tool``, ``error``, ``usage``,
        ``workspace``, ``policy`` or ``approval``."""
        return _CATEGORY[self]

    @classmethod
    def resolve(cls, value: object) -> EventType | None:
        """The canonical type for *value* (an ``EventType`` or its string), else None.

        There are no aliases: ``"assistant_message"`` is not ``message_received``.
        """
        if isinstance(value, EventType):
            return value
        if isinstance(value, str):
            return _BY_VALUE.get(value)
        return None


_BY_VALUE: Final = {t.value: t for t in EventType}
_CATEGORY: Final = {
    t: (
        "usage"
        if t in (EventType.TOKEN_USAGE_UPDATED, EventType.TURN_COMPLETED)
        else "approval"
        if t.value.startswith("tool_approval")
        else t.value.split("_", 1)[0]
    )
    for t in EventType
}

# Advisory shape rules (reference EventValidator): field -> expected type.
_SHAPES: Final[dict[EventType, tuple[tuple[str, type, str], ...]]] = {
    EventType.MESSAGE_RECEIVED: (("content", str, "string"), ("role", str, "string")),
    EventType.MESSAGE_STREAMED: (("content", str, "string"),),
    EventType.TOOL_CALL_STARTED: (("tool_name", str, "string"),),
    EventType.TOOL_CALL_COMPLETED: (("tool_name", str, "string"),),
    EventType.TOOL_CALL_FAILED: (("tool_name", str, "string"),),
    EventType.TOKEN_USAGE_UPDATED: (
        ("input_tokens", int, "integer"),
        ("output_tokens", int, "integer"),
    ),
    EventType.RUN_COMPLETED: (("stop_reason", str, "string"),),
    EventType.ERROR_OCCURRED: (("error_message", str, "string"),),
    EventType.POLICY_VIOLATION: (("policy", str, "string"), ("kind", str, "string")),
    EventType.TOOL_APPROVAL_REQUESTED: (
        ("tool_name", str, "string"),
        ("policy_name", str, "string"),
    ),
    EventType.TOOL_APPROVAL_GRANTED: (("tool_name", str, "string"),),
    EventType.TOOL_APPROVAL_DENIED: (("tool_name", str, "string"),),
}


_MISSING: Final = object()
#: The types :func:`shape_warnings` has rules for.
_SHAPED_TYPES: Final = frozenset(_SHAPES)


def shape_warnings(type: EventType, data: Mapping[str, Any]) -> list[str]:
    """Advisory warnings for *data* of an event of *type* (never an error).

    >>> shape_warnings(EventType.MESSAGE_RECEIVED, {"content": "hi"})
    ["missing required field 'role' for shape validation"]
    """
    rules = _SHAPES.get(type)
    if not rules:
        return []
    warnings = []
    for name, expected, label in rules:
        value = data.get(name, _MISSING)
        if value.__class__ is expected:
            continue
        if value is _MISSING:
            warnings.append(f"missing required field '{name}' for shape validation")
        elif not isinstance(value, expected) or isinstance(value, bool):
            warnings.append(f"field '{name}' expected {label}, got {value!r}")
    return warnings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One normalised, immutable session event.

    ``sequence_number`` is None until a store assigns it (1, 2, 3, ... per
    session); ``run_id`` is None for session-level events; ``timestamp`` is an
    aware UTC datetime. ``data`` and ``metadata`` are plain mappings and must
    not be mutated once the event is shared.

    >>> e = Event(type=EventType.RUN_STARTED, session_id="ses_1", data={"model": "m"})
    >>> Event.from_dict(e.to_dict()) == e
    True
    """

    id: str = field(default_factory=lambda: new_id("evt"))
    type: EventType
    timestamp: datetime = field(default_factory=utc_now)
    session_id: str | None
    run_id: str | None = None
    sequence_number: int | None = None
    provider: str | None = None
    correlation_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 1

    def with_sequence(self, sequence_number: int) -> Event:
        """A copy of this event carrying *sequence_number* (what stores return)."""
        return build_event(
            self.id,
            self.type,
            self.timestamp,
            self.session_id,
            self.run_id,
            sequence_number,
            self.provider,
            self.correlation_id,
            self.data,
            self.metadata,
            self.schema_version,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict with string keys; ``from_dict`` reverses it."""
        return {
            "id": self.id,
            "type": self.type.value,
            "timestamp": self.timestamp.isoformat(),
            "session_id": self.session_id,
            "run_id": self.run_id,
            "sequence_number": self.sequence_number,
            "provider": self.provider,
            "correlation_id": self.correlation_id,
            "data": json_safe(self.data),
            "metadata": json_safe(self.metadata),
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output.

        Raises :class:`SessionError` (``validation_error`` or
        ``invalid_event_type``) naming the offending field.
        """
        if not isinstance(value, Mapping):
            raise SessionError(
                "validation_error", f"event must be a mapping, got {type(value).__name__}"
            )
        for key in ("id", "type", "session_id", "timestamp"):
            if value.get(key) is None:
                raise SessionError("validation_error", f"{key} is required")
        event_type = EventType.resolve(value["type"])
        if event_type is None:
            raise SessionError("invalid_event_type", f"Invalid event type: {value['type']!r}")
        schema_version = value.get("schema_version")
        if schema_version is None:
            raise SessionError("validation_error", "schema_version is required")
        if type(schema_version) is not int or schema_version < 1:
            raise SessionError("validation_error", "schema_version must be an integer >= 1")
        return cls(
            id=_str_field(value, "id"),
            type=event_type,
            timestamp=_parse_timestamp(value["timestamp"]),
            session_id=_str_field(value, "session_id"),
            run_id=_optional_str(value, "run_id"),
            sequence_number=_optional_int(value, "sequence_number"),
            provider=_optional_str(value, "provider"),
            correlation_id=_optional_str(value, "correlation_id"),
            data=_mapping_field(value, "data"),
            metadata=_mapping_field(value, "metadata"),
            schema_version=schema_version,
        )


class _EventParts:
    """:class:`Event`'s slot layout without its frozen ``__setattr__``.

    :func:`build_event` fills one of these with plain (fast) attribute stores
    and then turns it into an ``Event`` by ``__class__`` assignment, which
    CPython allows between classes with identical slots. Going through
    ``object.__setattr__`` for each of the 11 fields, as the frozen dataclass's
    ``__init__`` does, costs about three times as much on the per-event path.
    """

    __slots__ = Event.__slots__


_new = object.__new__


def build_event(
    id: str,
    type: EventType,
    timestamp: datetime,
    session_id: str | None,
    run_id: str | None,
    sequence_number: int | None,
    provider: str | None,
    correlation_id: str | None,
    data: Mapping[str, Any],
    metadata: Mapping[str, Any],
    schema_version: int = 1,
) -> Event:
    """Build an :class:`Event` from already-valid parts, without the dataclass
    ``__init__`` (no keyword parsing, no default factories, no per-field
    ``object.__setattr__``): the library's per-event path uses it."""
    parts: Any = _new(_EventParts)
    parts.id = id
    parts.type = type
    parts.timestamp = timestamp
    parts.session_id = session_id
    parts.run_id = run_id
    parts.sequence_number = sequence_number
    parts.provider = provider
    parts.correlation_id = correlation_id
    parts.data = data
    parts.metadata = metadata
    parts.schema_version = schema_version
    parts.__class__ = Event
    event: Event = parts
    return event


def _str_field(value: Mapping[str, Any], key: str) -> str:
    item = value[key]
    if not isinstance(item, str) or not item:
        raise SessionError("validation_error", f"{key} must be a non-empty string")
    return item


def _optional_str(value: Mapping[str, Any], key: str) -> str | None:
    item = value.get(key)
    if item is not None and not isinstance(item, str):
        raise SessionError("validation_error", f"{key} must be a string or None")
    return item


def _optional_int(value: Mapping[str, Any], key: str) -> int | None:
    item = value.get(key)
    if item is not None and (type(item) is not int or item < 1):
        raise SessionError("validation_error", f"{key} must be a positive integer or None")
    return item


def _mapping_field(value: Mapping[str, Any], key: str) -> dict[str, Any]:
    item = value.get(key)
    if item is None:
        return {}
    if not isinstance(item, Mapping):
        raise SessionError("validation_error", f"{key} must be a mapping")
    return dict(item)


def _parse_timestamp(item: object) -> datetime:
    if isinstance(item, datetime):
        parsed = item
    elif isinstance(item, str):
        try:
            parsed = datetime.fromisoformat(item)
        except ValueError:
            raise SessionError("validation_error", f"timestamp is not ISO-8601: {item!r}") from None
    else:
        raise SessionError("validation_error", "timestamp must be an ISO-8601 string")
    if parsed.tzinfo is None:
        raise SessionError("validation_error", "timestamp must carry a UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise SessionError("validation_error", f"timestamp is out of range: {item!r}") from None


#: Containers nested deeper than this become a placeholder in :func:`json_safe`.
MAX_JSON_DEPTH: Final = 64
#: :func:`json_safe` visits at most this many containers of one value.
MAX_JSON_NODES: Final = 100_000


def json_safe(value: Any) -> Any:
    """*value* made JSON-serialisable: str keys, lists for tuples/sets,
    ISO strings for datetimes, enum values, ``repr`` for anything else.

    Always terminates quickly: a container that contains itself becomes
    ``"<cycle>"``, one nested deeper than 64 levels ``"<too deep>"``, and
    after 100,000 containers the rest is ``"..."``.
    """
    return _json_safe(value, 0, set(), [MAX_JSON_NODES])


def _json_safe(value: Any, depth: int, path: set[int], budget: list[int]) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _json_safe(value.value, depth, path, budget)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if not isinstance(value, Mapping | list | tuple | set | frozenset):
        try:
            return repr(value)
        except Exception:
            return f"<unrepresentable {type(value).__name__}>"
    budget[0] -= 1
    if budget[0] < 0:
        return "..."
    if depth >= MAX_JSON_DEPTH:
        return "<too deep>"
    key = id(value)
    if key in path:
        return "<cycle>"
    path.add(key)
    try:
        if isinstance(value, Mapping):
            return {_json_key(k): _json_safe(v, depth + 1, path, budget) for k, v in value.items()}
        return [_json_safe(v, depth + 1, path, budget) for v in value]
    finally:
        path.discard(key)


def _json_key(key: object) -> str:
    if isinstance(key, enum.Enum):
        return str(key.value)
    return key if isinstance(key, str) else str(key)
