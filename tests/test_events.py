"""Event, EventType and the advisory shape rules (reference event_test, serialization_test)."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session import ErrorCode, Event, EventType, SessionError
from trio_stream_session._events import json_safe, new_id, shape_warnings

ALL_TYPES = [
    "session_created",
    "session_started",
    "session_paused",
    "session_resumed",
    "session_completed",
    "session_failed",
    "session_cancelled",
    "run_started",
    "run_completed",
    "run_failed",
    "run_cancelled",
    "run_timeout",
    "message_sent",
    "message_received",
    "message_streamed",
    "tool_call_started",
    "tool_call_completed",
    "tool_call_failed",
    "error_occurred",
    "error_recovered",
    "token_usage_updated",
    "turn_completed",
    "workspace_snapshot_taken",
    "workspace_diff_computed",
    "policy_violation",
    "tool_approval_requested",
    "tool_approval_granted",
    "tool_approval_denied",
]

CATEGORIES = {
    "session": ALL_TYPES[0:7],
    "run": ALL_TYPES[7:12],
    "message": ALL_TYPES[12:15],
    "tool": ALL_TYPES[15:18],
    "error": ALL_TYPES[18:20],
    "usage": ALL_TYPES[20:22],
    "workspace": ALL_TYPES[22:24],
    "policy": ALL_TYPES[24:25],
    "approval": ALL_TYPES[25:28],
}

HEX_ID = re.compile(r"evt_[0-9a-f]{32}")


def valid_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "evt_1",
        "type": "run_started",
        "timestamp": "2025-01-02T03:04:05.123456+00:00",
        "session_id": "ses_1",
        "schema_version": 1,
    }
    base.update(overrides)
    return base


def assert_error(code: str, value: Any, match: str | None = None) -> SessionError:
    with pytest.raises(SessionError) as info:
        Event.from_dict(value)
    assert info.value.code == ErrorCode(code)
    if match is not None:
        assert match in info.value.message
    return info.value


# -- EventType --------------------------------------------------------------------------


def test_all_28_types_in_reference_order() -> None:
    assert [t.value for t in EventType] == ALL_TYPES
    assert len(EventType) == 28


def test_event_type_is_a_str_enum() -> None:
    assert isinstance(EventType.RUN_STARTED, str)
    assert EventType.RUN_STARTED == "run_started"
    assert f"{EventType.MESSAGE_STREAMED}" == "message_streamed"


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_categories(category: str) -> None:
    members = [t.value for t in EventType if t.category == category]
    assert members == CATEGORIES[category]


def test_every_type_has_one_of_the_nine_categories() -> None:
    assert {t.category for t in EventType} == set(CATEGORIES)


def test_resolve_member_and_string() -> None:
    assert EventType.resolve(EventType.TOOL_CALL_FAILED) is EventType.TOOL_CALL_FAILED
    for value in ALL_TYPES:
        assert EventType.resolve(value) is EventType(value)


@pytest.mark.parametrize(
    "value",
    ["assistant_message", "delta", "run_start", "RUN_STARTED", " run_started", "", None, 1, []],
)
def test_resolve_unknown_gives_none(value: Any) -> None:
    # There is no alias table: only the canonical spellings resolve.
    assert EventType.resolve(value) is None


# -- ids and defaults ---------------------------------------------------------------------


def test_new_id_format_and_uniqueness() -> None:
    ids = {new_id("evt") for _ in range(100)}
    assert len(ids) == 100
    assert all(HEX_ID.fullmatch(i) for i in ids)
    assert re.fullmatch(r"ses_[0-9a-f]{32}", new_id("ses"))


def test_event_defaults() -> None:
    before = datetime.now(UTC)
    event = Event(type=EventType.SESSION_CREATED, session_id="ses_1")
    after = datetime.now(UTC)
    assert HEX_ID.fullmatch(event.id)
    assert event.timestamp.tzinfo is not None
    assert event.timestamp.utcoffset() == timedelta(0)
    assert before <= event.timestamp <= after
    assert event.run_id is None
    assert event.sequence_number is None
    assert event.provider is None
    assert event.correlation_id is None
    assert event.data == {}
    assert event.metadata == {}
    assert event.schema_version == 1


def test_default_mappings_are_not_shared() -> None:
    a = Event(type=EventType.RUN_STARTED, session_id="s")
    b = Event(type=EventType.RUN_STARTED, session_id="s")
    assert a.data is not b.data
    assert a.id != b.id


def test_event_is_frozen_slotted_and_keyword_only() -> None:
    event = Event(type=EventType.RUN_STARTED, session_id="ses_1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.run_id = "run_x"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    with pytest.raises(TypeError):
        Event(EventType.RUN_STARTED, "ses_1")  # type: ignore[misc]


def test_event_equality_and_hash_by_value() -> None:
    ts = datetime(2025, 1, 1, tzinfo=UTC)
    a = Event(id="evt_1", type=EventType.RUN_STARTED, session_id="s", timestamp=ts)
    b = Event(id="evt_1", type=EventType.RUN_STARTED, session_id="s", timestamp=ts)
    assert a == b
    assert a != dataclasses.replace(b, run_id="r")


def test_with_sequence_returns_a_copy() -> None:
    event = Event(
        type=EventType.MESSAGE_RECEIVED,
        session_id="ses_1",
        run_id="run_1",
        provider="mock",
        correlation_id="c",
        data={"content": "hi"},
        metadata={"m": 1},
    )
    stored = event.with_sequence(7)
    assert stored.sequence_number == 7
    assert event.sequence_number is None
    assert stored is not event
    assert dataclasses.replace(stored, sequence_number=None) == event
    assert stored.with_sequence(8).sequence_number == 8


# -- to_dict ------------------------------------------------------------------------------


def test_to_dict_shape() -> None:
    ts = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    event = Event(
        id="evt_x",
        type=EventType.TOOL_CALL_COMPLETED,
        timestamp=ts,
        session_id="ses_1",
        run_id="run_1",
        sequence_number=3,
        provider="mock",
        correlation_id="corr",
        data={"tool_name": "bash"},
        metadata={"latency_ms": 4},
    )
    assert event.to_dict() == {
        "id": "evt_x",
        "type": "tool_call_completed",
        "timestamp": "2025-01-02T03:04:05.000006+00:00",
        "session_id": "ses_1",
        "run_id": "run_1",
        "sequence_number": 3,
        "provider": "mock",
        "correlation_id": "corr",
        "data": {"tool_name": "bash"},
        "metadata": {"latency_ms": 4},
        "schema_version": 1,
    }
    assert type(event.to_dict()["type"]) is str


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def test_to_dict_makes_data_json_safe() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    marker = object()
    event = Event(
        type=EventType.RUN_STARTED,
        session_id="s",
        data={
            "tuple": (1, 2),
            "set": {3},
            "when": when,
            "enum": Colour.RED,
            "strenum": EventType.RUN_STARTED,
            "intenum": Level.HIGH,
            "bytes": b"caf\xc3\xa9\xff",
            "nan": float("nan"),
            "inf": float("inf"),
            "ninf": float("-inf"),
            "float": 1.5,
            "bool": True,
            "none": None,
            "object": marker,
            1: "int key",
            Colour.RED: "enum key",
            "nested": {"list": [(1,), {"k": when}]},
        },
        metadata={"t": (1,)},
    )
    data = event.to_dict()["data"]
    json.dumps(event.to_dict())
    assert data["tuple"] == [1, 2]
    assert data["set"] == [3]
    assert data["when"] == when.isoformat()
    assert data["enum"] == "red"
    assert data["strenum"] == "run_started" and type(data["strenum"]) is str
    assert data["intenum"] == 3 and type(data["intenum"]) is int
    assert data["bytes"] == "café\ufffd"
    assert data["nan"] == "nan"
    assert data["inf"] == "inf"
    assert data["ninf"] == "-inf"
    assert data["float"] == 1.5
    assert data["bool"] is True
    assert data["none"] is None
    assert data["object"] == repr(marker)
    assert data["1"] == "int key"
    assert data["red"] == "enum key"
    assert data["nested"] == {"list": [[1], {"k": when.isoformat()}]}
    assert event.to_dict()["metadata"] == {"t": [1]}


def test_json_safe_depth_limit() -> None:
    deep: Any = "leaf"
    for _ in range(100):
        deep = [deep]
    out = json_safe(deep)
    json.dumps(out)
    depth = 0
    while isinstance(out, list):
        out = out[0]
        depth += 1
    assert out == "<too deep>"
    assert depth == 64


# -- from_dict ----------------------------------------------------------------------------


def test_round_trip() -> None:
    event = Event(
        type=EventType.MESSAGE_STREAMED,
        session_id="ses_1",
        run_id="run_1",
        sequence_number=9,
        provider="mock",
        correlation_id="c",
        data={"content": "hé", "n": [1, 2.5, None, True]},
        metadata={"a": {"b": "c"}},
        schema_version=2,
    )
    back = Event.from_dict(event.to_dict())
    assert back == event
    assert back.type is EventType.MESSAGE_STREAMED
    assert Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_from_dict_minimal() -> None:
    event = Event.from_dict(valid_dict())
    assert event.id == "evt_1"
    assert event.type is EventType.RUN_STARTED
    assert event.timestamp == datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert (event.run_id, event.sequence_number, event.provider, event.correlation_id) == (
        None,
        None,
        None,
        None,
    )
    assert event.data == {} and event.metadata == {}
    assert event.schema_version == 1


def test_from_dict_accepts_member_type_datetime_and_z_suffix() -> None:
    ts = datetime(2025, 1, 1, tzinfo=UTC)
    event = Event.from_dict(valid_dict(type=EventType.TURN_COMPLETED, timestamp=ts))
    assert event.type is EventType.TURN_COMPLETED
    assert event.timestamp == ts
    z = Event.from_dict(valid_dict(timestamp="2025-01-01T00:00:00Z"))
    assert z.timestamp == ts


def test_from_dict_normalises_offsets_to_utc() -> None:
    event = Event.from_dict(valid_dict(timestamp="2025-01-01T02:00:00+02:00"))
    assert event.timestamp == datetime(2025, 1, 1, tzinfo=UTC)
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.timestamp.tzinfo is UTC


def test_from_dict_copies_data() -> None:
    data = {"k": "v"}
    event = Event.from_dict(valid_dict(data=data, metadata=None))
    data["k"] = "changed"
    assert event.data == {"k": "v"}
    assert event.metadata == {}


@pytest.mark.parametrize("key", ["id", "type", "session_id", "timestamp"])
def test_from_dict_required_keys(key: str) -> None:
    value = valid_dict()
    del value[key]
    assert_error("validation_error", value, f"{key} is required")
    assert_error("validation_error", valid_dict(**{key: None}), f"{key} is required")


def test_from_dict_invalid_type() -> None:
    err = assert_error("invalid_event_type", valid_dict(type="foo"))
    assert err.message == "Invalid event type: 'foo'"
    assert_error("invalid_event_type", valid_dict(type="assistant_message"))
    assert_error("invalid_event_type", valid_dict(type=5))


def test_from_dict_schema_version() -> None:
    value = valid_dict()
    del value["schema_version"]
    err = assert_error("validation_error", value)
    assert err.message == "schema_version is required"
    for bad in (0, -1, "1", 1.0, True):
        assert_error("validation_error", valid_dict(schema_version=bad), "schema_version")
    assert Event.from_dict(valid_dict(schema_version=3)).schema_version == 3


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": 5}, "id"),
        ({"session_id": ""}, "session_id"),
        ({"session_id": ["s"]}, "session_id"),
        ({"run_id": 1}, "run_id"),
        ({"provider": b"mock"}, "provider"),
        ({"correlation_id": 1.0}, "correlation_id"),
        ({"sequence_number": 0}, "sequence_number"),
        ({"sequence_number": -3}, "sequence_number"),
        ({"sequence_number": "2"}, "sequence_number"),
        ({"sequence_number": True}, "sequence_number"),
        ({"sequence_number": 2.0}, "sequence_number"),
        ({"data": [1]}, "data"),
        ({"data": "x"}, "data"),
        ({"metadata": 3}, "metadata"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2025-01-01T00:00:00"}, "timestamp"),
        ({"timestamp": 1700000000}, "timestamp"),
        ({"timestamp": datetime(2025, 1, 1)}, "timestamp"),
    ],
)
def test_from_dict_bad_fields(overrides: dict[str, Any], field: str) -> None:
    assert_error("validation_error", valid_dict(**overrides), field)


@pytest.mark.parametrize("value", [None, [], "event", 5, ("id", "x")])
def test_from_dict_non_mapping(value: Any) -> None:
    assert_error("validation_error", value, "mapping")


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_from_dict_out_of_range_timestamp_is_a_validation_error(timestamp: Any) -> None:
    # Converting these to UTC leaves datetime's range: still a SessionError, never OverflowError.
    assert_error("validation_error", valid_dict(timestamp=timestamp), "timestamp")


# -- shape warnings ---------------------------------------------------------------------

SHAPE_RULES = {
    EventType.MESSAGE_RECEIVED: {"content": "string", "role": "string"},
    EventType.MESSAGE_STREAMED: {"content": "string"},
    EventType.TOOL_CALL_STARTED: {"tool_name": "string"},
    EventType.TOOL_CALL_COMPLETED: {"tool_name": "string"},
    EventType.TOOL_CALL_FAILED: {"tool_name": "string"},
    EventType.TOKEN_USAGE_UPDATED: {"input_tokens": "integer", "output_tokens": "integer"},
    EventType.RUN_COMPLETED: {"stop_reason": "string"},
    EventType.ERROR_OCCURRED: {"error_message": "string"},
    EventType.POLICY_VIOLATION: {"policy": "string", "kind": "string"},
    EventType.TOOL_APPROVAL_REQUESTED: {"tool_name": "string", "policy_name": "string"},
    EventType.TOOL_APPROVAL_GRANTED: {"tool_name": "string"},
    EventType.TOOL_APPROVAL_DENIED: {"tool_name": "string"},
}
GOOD = {"string": "x", "integer": 3}
BAD = {"string": 3, "integer": "3"}


@pytest.mark.parametrize("event_type", list(SHAPE_RULES), ids=str)
def test_shape_rules(event_type: EventType) -> None:
    rules = SHAPE_RULES[event_type]
    good = {name: GOOD[label] for name, label in rules.items()}
    assert shape_warnings(event_type, good) == []
    assert shape_warnings(event_type, {**good, "extra": object()}) == []
    assert shape_warnings(event_type, {}) == [
        f"missing required field '{name}' for shape validation" for name in rules
    ]
    bad = {name: BAD[label] for name, label in rules.items()}
    assert shape_warnings(event_type, bad) == [
        f"field '{name}' expected {label}, got {BAD[label]!r}" for name, label in rules.items()
    ]


def test_shape_booleans_are_not_integers() -> None:
    warnings = shape_warnings(
        EventType.TOKEN_USAGE_UPDATED, {"input_tokens": True, "output_tokens": 2}
    )
    assert warnings == ["field 'input_tokens' expected integer, got True"]


def test_shape_none_value_is_a_type_warning_not_missing() -> None:
    assert shape_warnings(EventType.RUN_COMPLETED, {"stop_reason": None}) == [
        "field 'stop_reason' expected string, got None"
    ]


@pytest.mark.parametrize("event_type", [t for t in EventType if t not in SHAPE_RULES], ids=str)
def test_types_without_rules_never_warn(event_type: EventType) -> None:
    assert shape_warnings(event_type, {}) == []


# -- properties ---------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
ids = st.text(min_size=1, max_size=12)

events = st.builds(
    Event,
    id=ids,
    type=st.sampled_from(EventType),
    timestamp=st.datetimes(timezones=st.just(UTC)),
    session_id=ids,
    run_id=st.none() | st.text(max_size=12),
    sequence_number=st.none() | st.integers(min_value=1, max_value=2**40),
    provider=st.none() | st.text(max_size=8),
    correlation_id=st.none() | st.text(max_size=8),
    data=json_objects,
    metadata=json_objects,
    schema_version=st.integers(min_value=1, max_value=5),
)


@given(events)
def test_property_round_trip(event: Event) -> None:
    as_dict = event.to_dict()
    assert Event.from_dict(as_dict) == event
    assert Event.from_dict(json.loads(json.dumps(as_dict))) == event


anything = st.recursive(
    json_scalars
    | st.datetimes()
    | st.datetimes(timezones=st.timezones())
    | st.binary(max_size=4)
    | st.sampled_from(EventType),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
# The edges of datetime's range, with offsets that push them out of it in UTC.
extreme_timestamps = st.builds(
    lambda edge, hours: edge.replace(tzinfo=timezone(timedelta(hours=hours))),
    st.sampled_from([datetime.min, datetime.max]),
    st.integers(min_value=-23, max_value=23),
)
valid_timestamps = (
    st.datetimes(timezones=st.timezones())
    | extreme_timestamps
    | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
    | extreme_timestamps.map(lambda d: d.isoformat())
)
valid_event_dicts = st.fixed_dictionaries(
    {
        "id": ids,
        "type": st.sampled_from(ALL_TYPES),
        "timestamp": valid_timestamps,
        "session_id": ids,
        "schema_version": st.integers(min_value=1, max_value=3),
    },
    optional={
        "run_id": st.none() | ids,
        "sequence_number": st.none() | st.integers(min_value=1),
        "provider": st.none() | ids,
        "correlation_id": st.none() | ids,
        "data": json_objects,
        "metadata": json_objects,
    },
)
KEYS = list(Event.__dataclass_fields__)


def mutate(base: dict[str, Any], overrides: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    value = {**base, **overrides}
    for key in dropped:
        value.pop(key, None)
    return value


# Mostly-valid dicts with a few fields broken or missing reach every check in from_dict.
mutated_event_dicts = st.builds(
    mutate,
    valid_event_dicts,
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), anything, max_size=3),
    st.sets(st.sampled_from(KEYS), max_size=2),
)
arbitrary_inputs = valid_event_dicts | mutated_event_dicts | anything


@given(arbitrary_inputs)
def test_property_from_dict_only_raises_session_error(value: Any) -> None:
    code = None
    try:
        event = Event.from_dict(value)
    except SessionError as exc:
        code = exc.code
    if code is not None:
        assert code in (ErrorCode.VALIDATION_ERROR, ErrorCode.INVALID_EVENT_TYPE)
    else:
        assert isinstance(event, Event)
        assert event.timestamp.utcoffset() == timedelta(0)
        assert isinstance(event.type, EventType)


def test_build_event_makes_a_real_frozen_event() -> None:
    import dataclasses

    from trio_stream_session._events import build_event

    when = datetime(2025, 1, 1, tzinfo=UTC)
    built = build_event(
        "evt_1", EventType.RUN_STARTED, when, "ses_1", "run_1", 3, "p", "c", {"a": 1}, {}
    )
    assert type(built) is Event
    assert built == Event(
        id="evt_1",
        type=EventType.RUN_STARTED,
        timestamp=when,
        session_id="ses_1",
        run_id="run_1",
        sequence_number=3,
        provider="p",
        correlation_id="c",
        data={"a": 1},
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.id = "other"  # type: ignore[misc]
    assert built.with_sequence(4).sequence_number == 4 and built.sequence_number == 3


def test_json_safe_terminates_on_cycles_and_shared_structures() -> None:
    cyclic: dict[str, Any] = {"a": 1}
    cyclic["self"] = cyclic
    assert json_safe(cyclic) == {"a": 1, "self": "<cycle>"}
    shared: list[Any] = []
    for _ in range(60):
        shared = [shared, shared]  # 2**60 paths if expanded naively
    result = json_safe(shared)
    assert "..." in repr(result)
    event = Event(type=EventType.RUN_STARTED, session_id="s", data={"loop": cyclic})
    assert event.to_dict()["data"]["loop"]["self"] == "<cycle>"
