"""Error codes and the one exception type of the library."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from ._redact import redact_value

__all__ = ["ErrorCategory", "ErrorCode", "SessionError"]


class ErrorCategory(enum.StrEnum):
    """The family an :class:`ErrorCode` belongs to."""

    VALIDATION = "validation"
    STATE = "state"
    RESOURCE = "resource"
    PROVIDER = "provider"
    STORAGE = "storage"
    RUNTIME = "runtime"
    CONCURRENCY = "concurrency"
    TOOL = "tool"
    UNKNOWN = "unknown"


class ErrorCode(enum.StrEnum):
    """Every error code of the reference, with its category and default message,
    plus this library's ``run_interrupted`` (a run whose process is gone) and
    ``session_busy`` (a session asked for a new run while one is in progress).

    >>> ErrorCode.PROVIDER_TIMEOUT.category
    <ErrorCategory.PROVIDER: 'provider'>
    >>> ErrorCode.PROVIDER_TIMEOUT.retryable
    True
    """

    # validation
    VALIDATION_ERROR = "validation_error"
    INVALID_INPUT = "invalid_input"
    MISSING_REQUIRED_FIELD = "missing_required_field"
    INVALID_FORMAT = "invalid_format"
    # state
    INVALID_STATUS = "invalid_status"
    INVALID_TRANSITION = "invalid_transition"
    INVALID_EVENT_TYPE = "invalid_event_type"
    INVALID_CAPABILITY_TYPE = "invalid_capability_type"
    MISSING_REQUIRED_CAPABILITY = "missing_required_capability"
    STREAM_CLOSED = "stream_closed"
    CONTEXT_MISMATCH = "context_mismatch"
    INVALID_CURSOR = "invalid_cursor"
    SESSION_MISMATCH = "session_mismatch"
    RUN_MISMATCH = "run_mismatch"
    # resource
    NOT_FOUND = "not_found"
    SESSION_NOT_FOUND = "session_not_found"
    RUN_NOT_FOUND = "run_not_found"
    CAPABILITY_NOT_FOUND = "capability_not_found"
    ALREADY_EXISTS = "already_exists"
    DUPLICATE_CAPABILITY = "duplicate_capability"
    # provider
    PROVIDER_ERROR = "provider_error"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_RATE_LIMITED = "provider_rate_limited"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_AUTHENTICATION_FAILED = "provider_authentication_failed"
    PROVIDER_QUOTA_EXCEEDED = "provider_quota_exceeded"
    # storage
    STORAGE_ERROR = "storage_error"
    STORAGE_CONNECTION_FAILED = "storage_connection_failed"
    DEPENDENCY_NOT_AVAILABLE = "dependency_not_available"
    MIGRATION_REQUIRED = "migration_required"
    STORAGE_WRITE_FAILED = "storage_write_failed"
    STORAGE_READ_FAILED = "storage_read_failed"
    # runtime
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    POLICY_VIOLATION = "policy_violation"
    INTERNAL_ERROR = "internal_error"
    UNKNOWN_ERROR = "unknown_error"
    RUN_INTERRUPTED = "run_interrupted"
    # concurrency
    MAX_SESSIONS_EXCEEDED = "max_sessions_exceeded"
    MAX_RUNS_EXCEEDED = "max_runs_exceeded"
    SESSION_BUSY = "session_busy"
    CAPABILITY_NOT_SUPPORTED = "capability_not_supported"
    INVALID_OPERATION = "invalid_operation"
    # tool
    TOOL_ERROR = "tool_error"
    TOOL_NOT_FOUND = "tool_not_found"
    TOOL_EXECUTION_FAILED = "tool_execution_failed"
    TOOL_PERMISSION_DENIED = "tool_permission_denied"

    @property
    def category(self) -> ErrorCategory:
        return _CATEGORY[self]

    @property
    def default_message(self) -> str:
        return _DEFAULT_MESSAGE[self]

    @property
    def retryable(self) -> bool:
        return self in _RETRYABLE


_C = ErrorCode
_CATEGORY: Final[dict[ErrorCode, ErrorCategory]] = {}
for _category, _codes in {
    ErrorCategory.VALIDATION: "validation_error invalid_input missing_required_field"
    " invalid_format",
    ErrorCategory.STATE: "invalid_status invalid_transition invalid_event_type"
    " invalid_capability_type"
    " missing_required_capability stream_closed context_mismatch invalid_cursor session_mismatch"
    " run_mismatch",
    ErrorCategory.RESOURCE: "not_found session_not_found run_not_found capability_not_found"
    " already_exists duplicate_capability",
    ErrorCategory.PROVIDER: "provider_error provider_unavailable provider_rate_limited"
    " provider_timeout provider_authentication_failed provider_quota_exceeded",
    ErrorCategory.STORAGE: "storage_error storage_connection_failed dependency_not_available"
    " migration_required storage_write_failed storage_read_failed",
    ErrorCategory.RUNTIME: "timeout cancelled policy_violation internal_error unknown_error"
    " run_interrupted",
    ErrorCategory.CONCURRENCY: "max_sessions_exceeded max_runs_exceeded capability_not_supported"
    " invalid_operation session_busy",
    ErrorCategory.TOOL: "tool_error tool_not_found tool_execution_failed tool_permission_denied",
}.items():
    for _name in _codes.split():
        _CATEGORY[ErrorCode(_name)] = _category

_DEFAULT_MESSAGE: Final[dict[ErrorCode, str]] = {
    _C.VALIDATION_ERROR: "Validation error occurred",
    _C.INVALID_INPUT: "Invalid input provided",
    _C.MISSING_REQUIRED_FIELD: "Required field is missing",
    _C.INVALID_FORMAT: "Invalid format",
    _C.INVALID_STATUS: "Invalid status value",
    _C.INVALID_TRANSITION: "Invalid state transition",
    _C.INVALID_EVENT_TYPE: "Invalid event type",
    _C.INVALID_CAPABILITY_TYPE: "Invalid capability type",
    _C.MISSING_REQUIRED_CAPABILITY: "Required capability is missing",
    _C.STREAM_CLOSED: "Stream is closed",
    _C.CONTEXT_MISMATCH: "Event context does not match stream context",
    _C.INVALID_CURSOR: "Invalid cursor operation",
    _C.SESSION_MISMATCH: "Session IDs do not match",
    _C.RUN_MISMATCH: "Run IDs do not match",
    _C.NOT_FOUND: "Resource not found",
    _C.SESSION_NOT_FOUND: "Session not found",
    _C.RUN_NOT_FOUND: "Run not found",
    _C.CAPABILITY_NOT_FOUND: "Capability not found",
    _C.ALREADY_EXISTS: "Resource already exists",
    _C.DUPLICATE_CAPABILITY: "Capability with this name already exists",
    _C.PROVIDER_ERROR: "Provider error occurred",
    _C.PROVIDER_UNAVAILABLE: "Provider is unavailable",
    _C.PROVIDER_RATE_LIMITED: "Provider rate limit exceeded",
    _C.PROVIDER_TIMEOUT: "Provider request timed out",
    _C.PROVIDER_AUTHENTICATION_FAILED: "Provider authentication failed",
    _C.PROVIDER_QUOTA_EXCEEDED: "Provider quota exceeded",
    _C.STORAGE_ERROR: "Storage error occurred",
    _C.STORAGE_CONNECTION_FAILED: "Storage connection failed",
    _C.DEPENDENCY_NOT_AVAILABLE: "Required optional dependency is not available",
    _C.MIGRATION_REQUIRED: "Required storage migration has not been applied",
    _C.STORAGE_WRITE_FAILED: "Storage write operation failed",
    _C.STORAGE_READ_FAILED: "Storage read operation failed",
    _C.TIMEOUT: "Operation timed out",
    _C.CANCELLED: "Operation was cancelled",
    _C.POLICY_VIOLATION: "Policy violation occurred",
    _C.INTERNAL_ERROR: "Internal error occurred",
    _C.UNKNOWN_ERROR: "An unknown error occurred",
    _C.RUN_INTERRUPTED: "The process running this run is gone",
    _C.TOOL_ERROR: "Tool error occurred",
    _C.TOOL_NOT_FOUND: "Tool not found",
    _C.TOOL_EXECUTION_FAILED: "Tool execution failed",
    _C.TOOL_PERMISSION_DENIED: "Tool permission denied",
    _C.MAX_SESSIONS_EXCEEDED: "Maximum parallel sessions limit exceeded",
    _C.MAX_RUNS_EXCEEDED: "Maximum parallel runs limit exceeded",
    _C.CAPABILITY_NOT_SUPPORTED: "Capability not supported by provider",
    _C.INVALID_OPERATION: "Operation not valid for current state",
    _C.SESSION_BUSY: "The session has a run in progress",
}

_RETRYABLE: Final = frozenset(
    {
        _C.PROVIDER_TIMEOUT,
        _C.PROVIDER_RATE_LIMITED,
        _C.PROVIDER_UNAVAILABLE,
        _C.STORAGE_CONNECTION_FAILED,
        _C.TIMEOUT,
    }
)


class SessionError(Exception):
    """The library's one exception type: a coded, user-facing failure.

    ``code`` is an :class:`ErrorCode` (a plain string naming one is accepted);
    ``message`` defaults to the code's default message. ``details`` and
    ``provider_error`` are mappings. Secrets in the message, details and
    provider error are redacted on construction, so a ``SessionError`` can be
    logged, printed or stored safely.

    >>> str(SessionError("validation_error", "Invalid input"))
    '[validation_error] Invalid input'
    """

    code: ErrorCode
    message: str
    details: dict[str, Any]
    provider_error: dict[str, Any] | None

    def __init__(
        self,
        code: ErrorCode | str,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        provider_error: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            self.code = ErrorCode(code)
        except ValueError:
            raise ValueError(f"unknown error code: {code!r}") from None
        self.message = redact_value(self.code.default_message if message is None else str(message))
        self.details = redact_value(dict(details)) if details else {}
        self.provider_error = None if provider_error is None else redact_value(dict(provider_error))
        super().__init__(self.code, self.message)

    @property
    def retryable(self) -> bool:
        """True for codes worth retrying (timeouts, rate limits, unavailability)."""
        return self.code.retryable

    @property
    def category(self) -> ErrorCategory:
        return self.code.category

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"

    def __repr__(self) -> str:
        return f"SessionError({self.code.value!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (self.code.value, self.message, self.details, self.provider_error),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping: ``code``, ``message``, ``details``, ``provider_error``."""
        return {
            "code": self.code.value,
            "message": self.message,
            "details": self.details,
            "provider_error": self.provider_error,
        }


def _rebuild(
    code: str, message: str, details: dict[str, Any], provider_error: dict[str, Any] | None
) -> SessionError:
    return SessionError(code, message, details=details, provider_error=provider_error)
