"""Session, Run and Capability: immutable records with enforced status machines."""

from __future__ import annotations

import dataclasses
import enum
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from ._errors import SessionError
from ._events import json_safe, new_id, utc_now

_E = TypeVar("_E", bound=enum.StrEnum)

__all__ = [
    "Capability",
    "CapabilityType",
    "Negotiation",
    "Run",
    "RunStatus",
    "Session",
    "SessionStatus",
    "negotiate_capabilities",
]


class SessionStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.CANCELLED)


class RunStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"

    @property
    def terminal(self) -> bool:
        return self not in (RunStatus.PENDING, RunStatus.RUNNING)


_S = SessionStatus
_SESSION_TRANSITIONS: Final[dict[SessionStatus, frozenset[SessionStatus]]] = {
    _S.PENDING: frozenset({_S.ACTIVE, _S.FAILED, _S.CANCELLED}),
    _S.ACTIVE: frozenset({_S.PAUSED, _S.COMPLETED, _S.FAILED, _S.CANCELLED}),
    _S.PAUSED: frozenset({_S.ACTIVE, _S.COMPLETED, _S.FAILED, _S.CANCELLED}),
    # An ended session is resumed by a new run (``session_id=`` on a run).
    _S.COMPLETED: frozenset({_S.ACTIVE}),
    _S.FAILED: frozenset({_S.ACTIVE}),
    _S.CANCELLED: frozenset({_S.ACTIVE}),
}
_R = RunStatus
_RUN_TRANSITIONS: Final[dict[RunStatus, frozenset[RunStatus]]] = {
    _R.PENDING: frozenset({_R.RUNNING, _R.FAILED, _R.CANCELLED, _R.TIMEOUT}),
    _R.RUNNING: frozenset({_R.COMPLETED, _R.FAILED, _R.CANCELLED, _R.TIMEOUT}),
    **{s: frozenset() for s in RunStatus if s.terminal},
}


def _coerce_status(kind: type[_E], value: object) -> _E:
    if type(value) is kind:
        return value
    try:
        return kind(value)  # type: ignore[arg-type]  # a bad value is what we check
    except ValueError:
        valid = ", ".join(s.value for s in kind)
        raise SessionError(
            "invalid_status", f"Invalid status: {value!r}. Valid statuses: [{valid}]"
        ) from None


def _check_transition(
    what: str, transitions: Mapping[_E, frozenset[_E]], current: _E, new: _E
) -> None:
    if new != current and new not in transitions[current]:
        raise SessionError(
            "invalid_transition", f"{what} cannot move from {current.value} to {new.value}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One agent session: a sequence of runs sharing an event log.

    Status machine: ``pending -> active -> {completed, failed, cancelled}``,
    ``active <-> paused``; a pending or paused session may also fail or be
    cancelled. :meth:`with_status` raises ``SessionError("invalid_transition")``
    for any other move; moving to the current status is a no-op.
    """

    agent_id: str
    id: str = field(default_factory=lambda: new_id("ses"))
    status: SessionStatus = SessionStatus.PENDING
    parent_session_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not isinstance(self.agent_id, str):
            raise SessionError("validation_error", "agent_id is required")
        if not self.agent_id:
            raise SessionError("validation_error", "agent_id cannot be empty")
        object.__setattr__(self, "status", _coerce_status(SessionStatus, self.status))

    def with_status(self, status: SessionStatus | str, **changes: Any) -> Session:
        """A copy in *status* (``updated_at`` refreshed), with *changes* applied."""
        new = _coerce_status(SessionStatus, status)
        _check_transition("session", _SESSION_TRANSITIONS, self.status, new)
        if changes.keys() - _FREE_SESSION_FIELDS:  # unknown or validated fields
            return dataclasses.replace(self, status=new, updated_at=utc_now(), **changes)
        changes["status"] = new
        changes["updated_at"] = utc_now()
        return _evolve(self, changes)

    def replace(self, **changes: Any) -> Session:
        """A copy with *changes* applied (``updated_at`` refreshed); not for status."""
        return dataclasses.replace(self, updated_at=utc_now(), **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reverses it."""
        return _record_dict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Session:
        """Rebuild a session from :meth:`to_dict` output (``SessionError`` if malformed)."""
        fields = _known_fields(cls, value)
        fields["tags"] = tuple(fields.get("tags") or ())
        for key in ("created_at", "updated_at"):
            if key in fields:
                fields[key] = _parse_time(fields[key], key)
        return _build(cls, fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One execution of the adapter within a session.

    Status machine: ``pending -> running -> {completed, failed, cancelled,
    timeout}`` (a pending run may also end directly). Entering a terminal
    status sets ``ended_at``.
    """

    session_id: str
    id: str = field(default_factory=lambda: new_id("run"))
    status: RunStatus = RunStatus.PENDING
    input: Any = None
    output: Any = None
    error: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    turn_count: int = 0
    token_usage: Mapping[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None
    started_at: datetime = field(default_factory=utc_now)
    ended_at: datetime | None = None
    provider: str | None = None
    provider_metadata: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None
    """Who runs it: ``"host:pid"`` of the process (see :func:`run_owner`), so a
    run whose process died can be found and closed (``recover_interrupted_runs``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.session_id, str) or not self.session_id:
            raise SessionError("validation_error", "session_id is required")
        object.__setattr__(self, "status", _coerce_status(RunStatus, self.status))

    def with_status(self, status: RunStatus | str, **changes: Any) -> Run:
        """A copy in *status* (a terminal one sets ``ended_at``), with *changes* applied."""
        new = _coerce_status(RunStatus, status)
        _check_transition("run", _RUN_TRANSITIONS, self.status, new)
        ended_at = utc_now() if new.terminal and self.ended_at is None else self.ended_at
        if changes.keys() - _FREE_RUN_FIELDS:  # unknown or validated fields: the slow path
            return dataclasses.replace(self, status=new, ended_at=ended_at, **changes)
        changes["status"] = new
        changes["ended_at"] = ended_at
        return _evolve(self, changes)

    def replace(self, **changes: Any) -> Run:
        """A copy with *changes* applied; not for status."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` reverses it."""
        return _record_dict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Run:
        """Rebuild a run from :meth:`to_dict` output (``SessionError`` if malformed)."""
        fields = _known_fields(cls, value)
        for key in ("started_at", "ended_at"):
            if fields.get(key) is not None:
                fields[key] = _parse_time(fields[key], key)
        return _build(cls, fields)


_Record = TypeVar("_Record", Session, Run)
_SLOTS: Final = {
    cls: tuple(
        (f.name, cls.__dict__[f.name].__get__, cls.__dict__[f.name].__set__)
        for f in dataclasses.fields(cls)
    )
    for cls in (Session, Run)
}
#: Fields ``with_status`` may change without re-validation (not ids or status).
_FREE_RUN_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(Run)) - {
    "session_id",
    "id",
    "status",
}
_FREE_SESSION_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(Session)) - {
    "agent_id",
    "id",
    "status",
}


def _evolve(record: _Record, changes: Mapping[str, Any]) -> _Record:
    """A copy of *record* with already-valid *changes*: ``dataclasses.replace``
    without re-running ``__init__`` and validation (about half the cost)."""
    new = object.__new__(type(record))
    for name, get, set_ in _SLOTS[type(record)]:
        set_(new, changes[name] if name in changes else get(record))
    return new


def add_token_usage(current: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge *update* into *current*, adding numeric values (the reference's rule)."""
    merged = dict(current)
    for key, value in update.items():
        old = merged.get(key)
        numeric = (int, float)
        if (
            isinstance(old, numeric)
            and isinstance(value, numeric)
            and not isinstance(old, bool)
            and not isinstance(value, bool)
        ):
            merged[key] = old + value
        else:
            merged[key] = value
    return merged


class CapabilityType(enum.StrEnum):
    TOOL = "tool"
    RESOURCE = "resource"
    PROMPT = "prompt"
    SAMPLING = "sampling"
    FILE_ACCESS = "file_access"
    NETWORK_ACCESS = "network_access"
    CODE_EXECUTION = "code_execution"


@dataclass(frozen=True, slots=True, kw_only=True)
class Capability:
    """Something an adapter can do, e.g. ``Capability(name="tool_use", type="tool")``."""

    name: str
    type: CapabilityType
    enabled: bool = True
    description: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    permissions: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SessionError("validation_error", "capability name cannot be empty")
        object.__setattr__(self, "type", capability_type(self.type))

    def to_dict(self) -> dict[str, Any]:
        return _record_dict(self)


def capability_type(value: object) -> CapabilityType:
    try:
        return CapabilityType(value)  # type: ignore[arg-type]  # a bad value is what we check
    except ValueError:
        raise SessionError(
            "invalid_capability_type", f"Invalid capability type: {value!r}"
        ) from None


@dataclass(frozen=True, slots=True)
class Negotiation:
    """The outcome of :func:`negotiate_capabilities`."""

    status: str  # "full" or "degraded"
    supported: frozenset[CapabilityType]
    unsupported: frozenset[CapabilityType]
    warnings: tuple[str, ...]


def negotiate_capabilities(
    capabilities: Iterable[Capability],
    *,
    required: Iterable[CapabilityType | str] = (),
    optional: Iterable[CapabilityType | str] = (),
) -> Negotiation:
    """Check *required* and *optional* capability types against the enabled ones.

    A missing required type raises ``SessionError("missing_required_capability")``
    naming every missing type; a missing optional type is only a warning.
    """
    required_types = [capability_type(t) for t in required]
    optional_types = [capability_type(t) for t in optional]
    available = {c.type for c in capabilities if c.enabled}
    missing = [t.value for t in dict.fromkeys(required_types) if t not in available]
    if missing:
        raise SessionError(
            "missing_required_capability",
            f"Missing required capability types: {', '.join(missing)}",
        )
    unsupported = frozenset(t for t in optional_types if t not in available)
    warnings = tuple(
        f"Optional capability '{t.value}' is not supported by the provider"
        for t in dict.fromkeys(optional_types)
        if t in unsupported
    )
    return Negotiation(
        status="degraded" if unsupported else "full",
        supported=frozenset(t for t in (*required_types, *optional_types) if t in available),
        unsupported=unsupported,
        warnings=warnings,
    )


def _record_dict(record: Any) -> dict[str, Any]:
    return {f.name: json_safe(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _known_fields(cls: type, value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SessionError("validation_error", f"{cls.__name__} record must be a mapping")
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in value.items() if k in names}


def _parse_time(value: object, key: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise SessionError(
            "validation_error", f"{key} is not an ISO-8601 time: {value!r}"
        ) from None


_R_ = TypeVar("_R_")


def _build(cls: Callable[..., _R_], fields: dict[str, Any]) -> _R_:
    try:
        return cls(**fields)
    except TypeError as exc:
        raise SessionError("validation_error", f"malformed record: {exc}") from None


_OWNER: list[str] = []


def resumed(session: Session, runs: Iterable[Run], session_id: str) -> Session:
    """*session* moved to ``active`` for a new run, unless one of its *runs* is
    still in progress (``session_busy``): the check every store's
    ``begin_run`` makes inside its atomic step."""
    busy = [r.id for r in runs if not r.status.terminal]
    if busy:
        raise SessionError(
            "session_busy",
            f"Session {session_id} has a run in progress ({busy[0]}); "
            "wait for it to end, or recover it if its process is gone",
        )
    if session.status is SessionStatus.ACTIVE:
        return session
    return session.with_status(SessionStatus.ACTIVE)


def run_owner() -> str:
    """This process as a run's owner: ``"host:pid"`` (recomputed after a fork)."""
    pid = os.getpid()
    if not _OWNER or not _OWNER[0].endswith(f":{pid}"):
        _OWNER[:] = [f"{socket.gethostname()}:{pid}"]
    return _OWNER[0]
