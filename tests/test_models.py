"""Session, Run, Capability and capability negotiation (reference session/run/capability tests)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from trio_stream_session import (
    Capability,
    CapabilityType,
    ErrorCode,
    Negotiation,
    Run,
    RunStatus,
    Session,
    SessionError,
    SessionStatus,
    negotiate_capabilities,
)
from trio_stream_session._models import add_token_usage, capability_type

SESSION_ALLOWED = {
    "pending": {"active", "failed", "cancelled"},
    "active": {"paused", "completed", "failed", "cancelled"},
    "paused": {"active", "completed", "failed", "cancelled"},
    # An ended session is resumed by a new run (session_id=).
    "completed": {"active"},
    "failed": {"active"},
    "cancelled": {"active"},
}
RUN_ALLOWED = {
    "pending": {"running", "failed", "cancelled", "timeout"},
    "running": {"completed", "failed", "cancelled", "timeout"},
    "completed": set(),
    "failed": set(),
    "cancelled": set(),
    "timeout": set(),
}


def session_in(status: str) -> Session:
    return Session(agent_id="agent", status=SessionStatus(status))


def run_in(status: str) -> Run:
    return Run(session_id="ses_1", status=RunStatus(status))


def raises_code(code: str) -> Any:
    return pytest.raises(SessionError, match=rf"^\[{code}\]")


# -- Session -----------------------------------------------------------------------------------


def test_session_defaults() -> None:
    before = datetime.now(UTC)
    session = Session(agent_id="agent-1")
    assert re.fullmatch(r"ses_[0-9a-f]{32}", session.id)
    assert session.agent_id == "agent-1"
    assert session.status is SessionStatus.PENDING
    assert session.parent_session_id is None
    assert session.metadata == {}
    assert session.context == {}
    assert list(session.tags) == []
    assert before <= session.created_at <= datetime.now(UTC)
    assert session.created_at.tzinfo is not None
    assert session.updated_at.tzinfo is not None


def test_session_statuses() -> None:
    assert [s.value for s in SessionStatus] == [
        "pending",
        "active",
        "paused",
        "completed",
        "failed",
        "cancelled",
    ]
    assert {s.value for s in SessionStatus if s.terminal} == {"completed", "failed", "cancelled"}


@pytest.mark.parametrize("agent_id", ["", None, 3])
def test_session_requires_agent_id(agent_id: Any) -> None:
    with raises_code("validation_error"):
        Session(agent_id=agent_id)


def test_session_empty_agent_id_message() -> None:
    with pytest.raises(SessionError) as info:
        Session(agent_id="")
    assert info.value.message == "agent_id cannot be empty"


def test_session_status_from_string_and_invalid_status() -> None:
    assert Session(agent_id="a", status="active").status is SessionStatus.ACTIVE  # type: ignore[arg-type]
    with pytest.raises(SessionError) as info:
        Session(agent_id="a", status="bogus")  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_STATUS
    assert info.value.message == (
        "Invalid status: 'bogus'. Valid statuses: "
        "[pending, active, paused, completed, failed, cancelled]"
    )


def test_session_is_frozen() -> None:
    session = Session(agent_id="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.status = SessionStatus.ACTIVE  # type: ignore[misc]


@pytest.mark.parametrize(
    ("current", "new"),
    [(c, n) for c in SESSION_ALLOWED for n in SESSION_ALLOWED],
)
def test_session_transitions(current: str, new: str) -> None:
    session = session_in(current)
    if new == current or new in SESSION_ALLOWED[current]:
        moved = session.with_status(new)
        assert moved.status is SessionStatus(new)
        assert moved.id == session.id
        assert session.status is SessionStatus(current)  # the original is unchanged
    else:
        with pytest.raises(SessionError) as info:
            session.with_status(new)
        assert info.value.code is ErrorCode.INVALID_TRANSITION
        assert info.value.message == f"session cannot move from {current} to {new}"


def test_session_lifecycle_and_updated_at() -> None:
    session = Session(agent_id="a")
    active = session.with_status(SessionStatus.ACTIVE)
    assert active.updated_at >= session.updated_at
    assert active.created_at == session.created_at
    paused = active.with_status("paused")
    resumed = paused.with_status("active")
    assert resumed.with_status("completed").status is SessionStatus.COMPLETED


def test_session_with_invalid_status() -> None:
    with raises_code("invalid_status"):
        Session(agent_id="a").with_status("done")


def test_session_replace() -> None:
    session = Session(agent_id="a", metadata={"k": 1})
    changed = session.replace(metadata={"k": 2}, tags=("x",))
    assert changed.metadata == {"k": 2}
    assert list(changed.tags) == ["x"]
    assert changed.id == session.id
    assert changed.updated_at >= session.updated_at
    assert session.metadata == {"k": 1}


def test_session_to_dict() -> None:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    session = Session(
        agent_id="a",
        id="ses_x",
        status=SessionStatus.ACTIVE,
        parent_session_id="ses_p",
        metadata={"provider": "mock"},
        context={"system_prompt": "Be brief"},
        tags=("t1", "t2"),
        created_at=created,
        updated_at=created,
    )
    assert session.to_dict() == {
        "agent_id": "a",
        "id": "ses_x",
        "status": "active",
        "parent_session_id": "ses_p",
        "metadata": {"provider": "mock"},
        "context": {"system_prompt": "Be brief"},
        "tags": ["t1", "t2"],
        "created_at": "2025-01-01T00:00:00+00:00",
        "updated_at": "2025-01-01T00:00:00+00:00",
    }
    json.dumps(session.to_dict())


# -- Run ---------------------------------------------------------------------------------------


def test_run_defaults() -> None:
    run = Run(session_id="ses_1")
    assert re.fullmatch(r"run_[0-9a-f]{32}", run.id)
    assert run.session_id == "ses_1"
    assert run.status is RunStatus.PENDING
    assert (run.input, run.output, run.error) == (None, None, None)
    assert run.metadata == {}
    assert run.turn_count == 0
    assert run.token_usage == {}
    assert run.cost_usd is None
    assert run.started_at.tzinfo is not None
    assert run.ended_at is None
    assert run.provider is None
    assert run.provider_metadata == {}


def test_run_statuses() -> None:
    assert [s.value for s in RunStatus] == [
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "timeout",
    ]
    assert {s.value for s in RunStatus if s.terminal} == {
        "completed",
        "failed",
        "cancelled",
        "timeout",
    }


@pytest.mark.parametrize("session_id", ["", None, 5])
def test_run_requires_session_id(session_id: Any) -> None:
    with raises_code("validation_error"):
        Run(session_id=session_id)


def test_run_invalid_status() -> None:
    with raises_code("invalid_status"):
        Run(session_id="s", status="paused")  # type: ignore[arg-type]
    with raises_code("invalid_status"):
        Run(session_id="s").with_status("paused")


@pytest.mark.parametrize(("current", "new"), [(c, n) for c in RUN_ALLOWED for n in RUN_ALLOWED])
def test_run_transitions(current: str, new: str) -> None:
    run = run_in(current)
    if new == current or new in RUN_ALLOWED[current]:
        assert run.with_status(new).status is RunStatus(new)
    else:
        with pytest.raises(SessionError) as info:
            run.with_status(new)
        assert info.value.code is ErrorCode.INVALID_TRANSITION
        assert info.value.message == f"run cannot move from {current} to {new}"


@pytest.mark.parametrize("terminal", ["completed", "failed", "cancelled", "timeout"])
def test_terminal_status_sets_ended_at(terminal: str) -> None:
    running = Run(session_id="s").with_status("running")
    assert running.ended_at is None
    ended = running.with_status(terminal)
    assert ended.ended_at is not None
    assert ended.ended_at >= ended.started_at
    # Re-entering the same terminal status keeps the original end time.
    assert ended.with_status(terminal).ended_at == ended.ended_at


def test_pending_run_may_end_directly() -> None:
    assert Run(session_id="s").with_status("cancelled").ended_at is not None


def test_run_with_status_applies_changes() -> None:
    run = Run(session_id="s", input={"prompt": "hi"}).with_status("running")
    done = run.with_status("completed", output={"content": "ok"}, token_usage={"input_tokens": 1})
    assert done.output == {"content": "ok"}
    assert done.token_usage == {"input_tokens": 1}
    assert done.input == {"prompt": "hi"}
    assert run.output is None


def test_run_replace_and_to_dict() -> None:
    started = datetime(2025, 1, 1, tzinfo=UTC)
    run = Run(session_id="s", id="run_x", started_at=started).replace(turn_count=2, cost_usd=0.5)
    assert run.turn_count == 2
    as_dict = run.to_dict()
    assert as_dict["id"] == "run_x"
    assert as_dict["status"] == "pending"
    assert as_dict["turn_count"] == 2
    assert as_dict["cost_usd"] == 0.5
    assert as_dict["started_at"] == "2025-01-01T00:00:00+00:00"
    assert as_dict["ended_at"] is None
    assert set(as_dict) == {f.name for f in dataclasses.fields(Run)}
    json.dumps(as_dict)


def test_add_token_usage() -> None:
    current = {"input_tokens": 10, "output_tokens": 5, "model": "a", "flag": True}
    update = {"input_tokens": 3, "output_tokens": 2.5, "model": "b", "flag": True, "new": 1}
    assert add_token_usage(current, update) == {
        "input_tokens": 13,
        "output_tokens": 7.5,
        "model": "b",
        "flag": True,
        "new": 1,
    }
    assert current["input_tokens"] == 10
    # Booleans are values, never added.
    assert add_token_usage({"n": 1}, {"n": True}) == {"n": True}
    assert add_token_usage({}, {}) == {}


# -- Capability --------------------------------------------------------------------------------


def test_capability_types() -> None:
    assert [t.value for t in CapabilityType] == [
        "tool",
        "resource",
        "prompt",
        "sampling",
        "file_access",
        "network_access",
        "code_execution",
    ]


def test_capability_defaults_and_coercion() -> None:
    cap = Capability(name="tool_use", type="tool")  # type: ignore[arg-type]
    assert cap.type is CapabilityType.TOOL
    assert cap.enabled is True
    assert cap.description is None
    assert cap.config == {}
    assert list(cap.permissions) == []
    assert cap.to_dict() == {
        "name": "tool_use",
        "type": "tool",
        "enabled": True,
        "description": None,
        "config": {},
        "permissions": [],
    }


@pytest.mark.parametrize("name", ["", None, 1])
def test_capability_requires_a_name(name: Any) -> None:
    with raises_code("validation_error"):
        Capability(name=name, type=CapabilityType.TOOL)


@pytest.mark.parametrize("bad", ["magic", None, 3, "TOOL"])
def test_capability_invalid_type(bad: Any) -> None:
    with pytest.raises(SessionError) as info:
        Capability(name="x", type=bad)
    assert info.value.code is ErrorCode.INVALID_CAPABILITY_TYPE
    assert info.value.message == f"Invalid capability type: {bad!r}"
    with raises_code("invalid_capability_type"):
        capability_type(bad)


def test_capability_enable_disable_by_replace() -> None:
    cap = Capability(name="x", type=CapabilityType.TOOL)
    disabled = dataclasses.replace(cap, enabled=False)
    assert disabled.enabled is False
    assert dataclasses.replace(disabled, enabled=True).enabled is True


# -- negotiation -------------------------------------------------------------------------------

CAPS = [
    Capability(name="chat", type=CapabilityType.TOOL),
    Capability(name="sampling", type=CapabilityType.SAMPLING),
    Capability(name="files", type=CapabilityType.FILE_ACCESS, enabled=False),
]


def test_negotiate_full() -> None:
    result = negotiate_capabilities(CAPS, required=["tool"], optional=[CapabilityType.SAMPLING])
    assert result == Negotiation(
        status="full",
        supported=frozenset({CapabilityType.TOOL, CapabilityType.SAMPLING}),
        unsupported=frozenset(),
        warnings=(),
    )


def test_negotiate_with_nothing_required() -> None:
    result = negotiate_capabilities([])
    assert (result.status, result.supported, result.unsupported, result.warnings) == (
        "full",
        frozenset(),
        frozenset(),
        (),
    )


def test_negotiate_degraded_with_warnings() -> None:
    result = negotiate_capabilities(CAPS, optional=["prompt", "file_access", "prompt"])
    assert result.status == "degraded"
    assert result.unsupported == {CapabilityType.PROMPT, CapabilityType.FILE_ACCESS}
    assert result.supported == frozenset()
    assert result.warnings == (
        "Optional capability 'prompt' is not supported by the provider",
        "Optional capability 'file_access' is not supported by the provider",
    )


def test_negotiate_missing_required_names_every_type() -> None:
    with pytest.raises(SessionError) as info:
        negotiate_capabilities(CAPS, required=["tool", "code_execution", "file_access"])
    assert info.value.code is ErrorCode.MISSING_REQUIRED_CAPABILITY
    assert info.value.message == "Missing required capability types: code_execution, file_access"


def test_negotiate_disabled_capabilities_do_not_count() -> None:
    with raises_code("missing_required_capability"):
        negotiate_capabilities(CAPS, required=[CapabilityType.FILE_ACCESS])


def test_negotiate_rejects_invalid_types() -> None:
    with raises_code("invalid_capability_type"):
        negotiate_capabilities(CAPS, required=["telepathy"])
    with raises_code("invalid_capability_type"):
        negotiate_capabilities(CAPS, optional=["telepathy"])


def test_negotiate_accepts_any_iterable() -> None:
    result = negotiate_capabilities(iter(CAPS), required=iter(["sampling"]))
    assert result.supported == {CapabilityType.SAMPLING}


def test_with_status_copies_every_field_and_applies_changes() -> None:
    run = Run(session_id="s", input={"prompt": "hi"}, metadata={"k": 1}, turn_count=2)
    done = run.with_status("running").with_status("completed", output="out", cost_usd=0.5)
    assert (
        dataclasses.replace(done, status=run.status, ended_at=None, output=None, cost_usd=None)
        == run
    )
    assert (done.output, done.cost_usd, done.status) == ("out", 0.5, RunStatus.COMPLETED)
    session = Session(agent_id="a", tags=("t",), metadata={"m": 1})
    active = session.with_status("active")
    assert (
        dataclasses.replace(active, status=session.status, updated_at=session.updated_at) == session
    )
    assert active.updated_at >= session.updated_at


def test_with_status_still_validates_what_it_changes() -> None:
    run = Run(session_id="s")
    with pytest.raises(TypeError):
        run.with_status("running", no_such_field=1)
    with raises_code("validation_error"):
        run.with_status("running", session_id="")
