"""ErrorCode, ErrorCategory and SessionError (reference error_test)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from trio_stream_session import ErrorCategory, ErrorCode, SessionError

CATEGORIES = {
    "validation": ["validation_error", "invalid_input", "missing_required_field", "invalid_format"],
    "state": [
        "invalid_status",
        "invalid_transition",
        "invalid_event_type",
        "invalid_capability_type",
        "missing_required_capability",
        "stream_closed",
        "context_mismatch",
        "invalid_cursor",
        "session_mismatch",
        "run_mismatch",
    ],
    "resource": [
        "not_found",
        "session_not_found",
        "run_not_found",
        "capability_not_found",
        "already_exists",
        "duplicate_capability",
    ],
    "provider": [
        "provider_error",
        "provider_unavailable",
        "provider_rate_limited",
        "provider_timeout",
        "provider_authentication_failed",
        "provider_quota_exceeded",
    ],
    "storage": [
        "storage_error",
        "storage_connection_failed",
        "dependency_not_available",
        "migration_required",
        "storage_write_failed",
        "storage_read_failed",
    ],
    "runtime": [
        "timeout",
        "cancelled",
        "policy_violation",
        "internal_error",
        "unknown_error",
        "run_interrupted",
    ],
    "concurrency": [
        "max_sessions_exceeded",
        "max_runs_exceeded",
        "capability_not_supported",
        "invalid_operation",
        "session_busy",
    ],
    "tool": ["tool_error", "tool_not_found", "tool_execution_failed", "tool_permission_denied"],
}

DEFAULT_MESSAGES = {
    "validation_error": "Validation error occurred",
    "invalid_input": "Invalid input provided",
    "missing_required_field": "Required field is missing",
    "invalid_format": "Invalid format",
    "invalid_status": "Invalid status value",
    "invalid_transition": "Invalid state transition",
    "invalid_event_type": "Invalid event type",
    "invalid_capability_type": "Invalid capability type",
    "missing_required_capability": "Required capability is missing",
    "stream_closed": "Stream is closed",
    "context_mismatch": "Event context does not match stream context",
    "invalid_cursor": "Invalid cursor operation",
    "session_mismatch": "Session IDs do not match",
    "run_mismatch": "Run IDs do not match",
    "not_found": "Resource not found",
    "session_not_found": "Session not found",
    "run_not_found": "Run not found",
    "capability_not_found": "Capability not found",
    "already_exists": "Resource already exists",
    "duplicate_capability": "Capability with this name already exists",
    "provider_error": "Provider error occurred",
    "provider_unavailable": "Provider is unavailable",
    "provider_rate_limited": "Provider rate limit exceeded",
    "provider_timeout": "Provider request timed out",
    "provider_authentication_failed": "Provider authentication failed",
    "provider_quota_exceeded": "Provider quota exceeded",
    "storage_error": "Storage error occurred",
    "storage_connection_failed": "Storage connection failed",
    "dependency_not_available": "Required optional dependency is not available",
    "migration_required": "Required storage migration has not been applied",
    "storage_write_failed": "Storage write operation failed",
    "storage_read_failed": "Storage read operation failed",
    "timeout": "Operation timed out",
    "cancelled": "Operation was cancelled",
    "policy_violation": "Policy violation occurred",
    "internal_error": "Internal error occurred",
    "unknown_error": "An unknown error occurred",
    "run_interrupted": "The process running this run is gone",
    "tool_error": "Tool error occurred",
    "tool_not_found": "Tool not found",
    "tool_execution_failed": "Tool execution failed",
    "tool_permission_denied": "Tool permission denied",
    "max_sessions_exceeded": "Maximum parallel sessions limit exceeded",
    "max_runs_exceeded": "Maximum parallel runs limit exceeded",
    "session_busy": "The session has a run in progress",
    "capability_not_supported": "Capability not supported by provider",
    "invalid_operation": "Operation not valid for current state",
}

RETRYABLE = {
    "provider_timeout",
    "provider_rate_limited",
    "provider_unavailable",
    "storage_connection_failed",
    "timeout",
}

ALL_CODES = [code for codes in CATEGORIES.values() for code in codes]


# -- codes ----------------------------------------------------------------------------------


def test_every_reference_code_exists_and_nothing_else() -> None:
    # The reference's 45, plus this library's run_interrupted (a run whose process is
    # gone) and session_busy (a new run asked of a session with one in progress).
    assert len(ALL_CODES) == 47
    assert {c.value for c in ErrorCode} == set(ALL_CODES)
    assert set(DEFAULT_MESSAGES) == set(ALL_CODES)


def test_category_values() -> None:
    assert {c.value for c in ErrorCategory} == {*CATEGORIES, "unknown"}


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_category_lists(category: str) -> None:
    members = [c.value for c in ErrorCode if c.category == ErrorCategory(category)]
    assert sorted(members) == sorted(CATEGORIES[category])


@pytest.mark.parametrize("code", ALL_CODES)
def test_code_category_message_retryable(code: str) -> None:
    member = ErrorCode(code)
    assert isinstance(member, str) and member == code
    assert isinstance(member.category, ErrorCategory)
    assert member.category.value in CATEGORIES and code in CATEGORIES[member.category.value]
    assert member.default_message == DEFAULT_MESSAGES[code]
    assert member.retryable is (code in RETRYABLE)


def test_no_code_is_in_the_unknown_category() -> None:
    assert all(c.category is not ErrorCategory.UNKNOWN for c in ErrorCode)


# -- SessionError construction ---------------------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES)
def test_new_with_default_message(code: str) -> None:
    err = SessionError(code)
    assert err.code is ErrorCode(code)
    assert err.message == DEFAULT_MESSAGES[code]
    assert err.details == {}
    assert err.provider_error is None
    assert err.retryable is (code in RETRYABLE)
    assert err.category is ErrorCode(code).category


def test_default_fields() -> None:
    err = SessionError(ErrorCode.VALIDATION_ERROR, "Invalid input")
    assert isinstance(err, Exception)
    assert err.code is ErrorCode.VALIDATION_ERROR
    assert err.message == "Invalid input"
    assert err.details == {}
    assert err.provider_error is None
    assert err.retryable is False
    assert err.category is ErrorCategory.VALIDATION


def test_str_and_repr() -> None:
    err = SessionError("validation_error", "Invalid input")
    assert str(err) == "[validation_error] Invalid input"
    assert repr(err) == "SessionError('validation_error', 'Invalid input')"
    assert str(SessionError("timeout")) == "[timeout] Operation timed out"


def test_raise_and_catch() -> None:
    with pytest.raises(SessionError, match=r"^\[validation_error\] Invalid input$") as info:
        raise SessionError("validation_error", "Invalid input")
    assert info.value.message == "Invalid input"


def test_accepts_member_or_string() -> None:
    assert SessionError(ErrorCode.NOT_FOUND).code is ErrorCode.NOT_FOUND
    assert SessionError("not_found").code is ErrorCode.NOT_FOUND


@pytest.mark.parametrize("code", ["bogus", "", "NOT_FOUND", None, 3])
def test_unknown_code_is_a_value_error(code: Any) -> None:
    with pytest.raises(ValueError, match="unknown error code"):
        SessionError(code)


def test_new_with_options() -> None:
    details = {"field": "name", "nested": {"a": [1, 2]}}
    provider_error = {"provider": "codex", "kind": "timeout"}
    err = SessionError(
        "provider_timeout", "took too long", details=details, provider_error=provider_error
    )
    assert err.message == "took too long"
    assert err.details == details
    assert err.provider_error == provider_error
    assert err.retryable is True


def test_details_and_provider_error_are_copied() -> None:
    details: dict[str, Any] = {"k": "v"}
    provider_error: dict[str, Any] = {"kind": "timeout"}
    err = SessionError("provider_error", details=details, provider_error=provider_error)
    details["k"] = "changed"
    provider_error["kind"] = "changed"
    assert err.details == {"k": "v"}
    assert err.provider_error == {"kind": "timeout"}
    assert isinstance(err.details, dict)
    assert isinstance(err.provider_error, dict)


def test_empty_details_give_an_empty_dict_and_empty_provider_error_is_kept() -> None:
    err = SessionError("internal_error", details={}, provider_error={})
    assert err.details == {}
    assert err.provider_error == {}


def test_non_string_message_is_stringified() -> None:
    err = SessionError("internal_error", 42)  # type: ignore[arg-type]
    assert err.message == "42"


def test_empty_message_is_kept() -> None:
    assert SessionError("internal_error", "").message == ""


# -- redaction ------------------------------------------------------------------------------

SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwx"


def test_message_details_and_provider_error_are_redacted() -> None:
    err = SessionError(
        "provider_error",
        f"failed with key {SECRET}",
        details={"headers": {"authorization": "Bearer abcdefghijklmnopqrstuvwxyz123456"}},
        provider_error={"stderr": f"ANTHROPIC_API_KEY={SECRET}", "exit_code": 1},
    )
    everything = f"{err} {err!r} {err.details} {err.provider_error} {err.args}"
    assert SECRET not in everything
    assert "abcdefghijklmnopqrstuvwxyz123456" not in everything
    assert err.message == "failed with key [REDACTED]"
    assert err.details == {"headers": {"authorization": "[REDACTED]"}}
    # Patterns apply in order: api_key_generic takes "API_KEY=..." before env_secret sees it.
    assert err.provider_error == {"stderr": "ANTHROPIC_[REDACTED]", "exit_code": 1}
    assert SECRET not in json.dumps(err.to_dict())


def test_redaction_keeps_non_strings() -> None:
    err = SessionError("internal_error", details={"n": 1, "f": 1.5, "b": True, "none": None})
    assert err.details == {"n": 1, "f": 1.5, "b": True, "none": None}


# -- serialisation --------------------------------------------------------------------------


def test_to_dict() -> None:
    err = SessionError(
        "provider_error", "boom", details={"a": 1}, provider_error={"provider": "amp"}
    )
    assert err.to_dict() == {
        "code": "provider_error",
        "message": "boom",
        "details": {"a": 1},
        "provider_error": {"provider": "amp"},
    }
    assert type(err.to_dict()["code"]) is str
    json.dumps(err.to_dict())
    assert SessionError("timeout").to_dict() == {
        "code": "timeout",
        "message": "Operation timed out",
        "details": {},
        "provider_error": None,
    }


def test_pickle_round_trip() -> None:
    err = SessionError(
        "provider_rate_limited",
        "slow down",
        details={"retry_after": 3},
        provider_error={"provider": "claude", "kind": "http_error"},
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is SessionError
    assert back.code is ErrorCode.PROVIDER_RATE_LIMITED
    assert back.message == "slow down"
    assert back.details == {"retry_after": 3}
    assert back.provider_error == {"provider": "claude", "kind": "http_error"}
    assert str(back) == str(err)
    plain = pickle.loads(pickle.dumps(SessionError("cancelled")))
    assert (plain.code, plain.message, plain.provider_error) == (
        ErrorCode.CANCELLED,
        "Operation was cancelled",
        None,
    )
