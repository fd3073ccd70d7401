"""What an adapter's ``emit`` mapping becomes before it is stored.

One function, :func:`normalize`, on the per-event path: the type resolved
(unknown types become ``error_occurred`` with ``data["original_type"]``),
private copies of ``data`` and ``metadata``, shape warnings in
``metadata["_validation_warnings"]``, an aware timestamp, and whether the type
can carry secrets (its data is redacted before it is stored). Common cases
(a plain dict, a canonical string type, no timestamp) take the fewest steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ._events import _BY_VALUE, _SHAPES, EventType, shape_warnings, utc_now

__all__ = ["normalize"]

#: Event types whose data is scanned for secrets before it is stored.
_REDACTED_TYPES: Final = frozenset(
    {
        EventType.ERROR_OCCURRED,
        EventType.RUN_FAILED,
        EventType.SESSION_FAILED,
        EventType.TOOL_CALL_STARTED,
        EventType.TOOL_CALL_COMPLETED,
        EventType.TOOL_CALL_FAILED,
        EventType.TOOL_APPROVAL_REQUESTED,
        EventType.POLICY_VIOLATION,
    }
)
#: Per event type: (shape rules, redact its data?), in one lookup.
_PLANS: Final = {t: (_SHAPES.get(t, ()), t in _REDACTED_TYPES) for t in EventType}
_now: Final = datetime.now


def _copy_mapping(value: object) -> dict[str, Any]:
    """A private copy of an adapter's ``data``/``metadata`` (``{}`` if not a mapping)."""
    if type(value) is dict:
        return value.copy()
    if value is None or not isinstance(value, Mapping):
        return {}
    return dict(value)


def normalize(
    raw: Mapping[str, Any],
) -> tuple[EventType, datetime, dict[str, Any], dict[str, Any], bool]:
    """``(type, timestamp, data, metadata, redact)`` of an adapter's event mapping;
    *redact* says whether *data* must go through redaction before it is stored
    (the caller does it: a large payload is redacted off the event loop).

    Raises ``TypeError`` if *raw* is not a mapping.
    """
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise TypeError(f"emit() takes an event mapping, got {type(raw).__name__}")
    get = raw.get
    raw_type = get("type")
    event_type = _BY_VALUE.get(raw_type) if type(raw_type) is str else EventType.resolve(raw_type)
    data = get("data")
    data = data.copy() if type(data) is dict else _copy_mapping(data)
    metadata = get("metadata")
    metadata = {} if metadata is None else _copy_mapping(metadata)
    if event_type is None:
        event_type = EventType.ERROR_OCCURRED
        if raw_type:
            data["original_type"] = str(raw_type)
    rules, redacted = _PLANS[event_type]
    if rules:
        for name, expected, _ in rules:
            if data.get(name).__class__ is not expected:
                warnings = shape_warnings(event_type, data)
                if warnings:
                    metadata["_validation_warnings"] = warnings
                break
    timestamp = get("timestamp")
    if timestamp is None:
        timestamp = _now(UTC)
    elif type(timestamp) is not datetime or timestamp.tzinfo is None:
        timestamp = (
            timestamp
            if isinstance(timestamp, datetime) and timestamp.tzinfo is not None
            else utc_now()
        )
    return event_type, timestamp, data, metadata, redacted
