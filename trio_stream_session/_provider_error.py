"""Provider-error normalisation: the six-key ``provider_error`` mapping.

Every failure that reaches an event, the store or a sink carries a
``provider_error`` with exactly the keys ``provider, kind, message,
exit_code, stderr, truncated``. Its text is redacted before it is truncated,
so a secret cut in half by truncation is still removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._errors import ErrorCategory, SessionError
from ._redact import redact_text, redact_value

__all__ = [
    "KNOWN_KINDS",
    "KNOWN_PROVIDERS",
    "MAX_STDERR_BYTES",
    "MAX_STDERR_LINES",
    "error_payload",
    "normalize_provider_error",
    "resolve_provider",
    "truncate_text",
]

MAX_STDERR_BYTES: Final = 16_384
MAX_STDERR_LINES: Final = 200
KNOWN_PROVIDERS: Final = frozenset({"codex", "amp", "claude", "gemini"})
#: The reference's kinds plus ``http_error`` (an HTTP status from an API provider).
KNOWN_KINDS: Final = frozenset(
    {
        "transport_exit",
        "process_error",
        "parse_error",
        "protocol_error",
        "cli_not_found",
        "timeout",
        "http_error",
        "unknown",
    }
)
_DROPPED_DETAILS: Final = frozenset(
    {"stderr", "stderr_truncated?", "stderr_truncated", "exit_code", "exit_status"}
)
_INT_RE: Final = re.compile(r"-?[0-9]+")


def truncate_text(
    text: object, max_bytes: int | None = MAX_STDERR_BYTES, max_lines: int | None = MAX_STDERR_LINES
) -> tuple[str | None, bool]:
    """Cut *text* to *max_lines* lines, then to *max_bytes* UTF-8 bytes.

    The byte cut never splits a character. Returns ``(text, truncated)``; a
    non-string is ``repr``-ed and counts as truncated; a limit that is not a
    positive integer is ignored.

    >>> truncate_text("line1\\nline2\\nline3\\nline4", max_bytes=11, max_lines=3)
    ('line1\\nline2', True)
    """
    if text is None:
        return None, False
    truncated = not isinstance(text, str)
    value = text if isinstance(text, str) else repr(text)
    if isinstance(max_lines, int) and max_lines > 0:
        lines = value.split("\n")
        if len(lines) > max_lines:
            value = "\n".join(lines[:max_lines])
            truncated = True
    if isinstance(max_bytes, int) and max_bytes > 0:
        raw = value.encode("utf-8", "surrogatepass")
        if len(raw) > max_bytes:
            # "ignore" drops a trailing partial character: the cut lands on a boundary.
            value = raw[:max_bytes].decode("utf-8", "ignore")
            truncated = True
    return value, truncated


def _get(attrs: Mapping[str, Any], details: Mapping[str, Any], *keys: str) -> Any:
    for source in (attrs, details):
        for key in keys:
            value = source.get(key)
            if value is not None:
                return value
    return None


def _truthy_flag(value: object) -> bool:
    return value is True or value in ("true", "1")


def _exit_code(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _kind(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        kind = value.strip().lower()
        return kind if kind in KNOWN_KINDS else "unknown"
    return "unknown"


def resolve_provider(value: object, fallback: object = None) -> str:
    """``codex``/``amp``/``claude``/``gemini`` from a provider hint (any case), else
    the same from *fallback*, else ``unknown``."""
    for candidate in (value, fallback):
        if isinstance(candidate, str) and candidate.strip().lower() in KNOWN_PROVIDERS:
            return candidate.strip().lower()
    return "unknown"


def normalize_provider_error(
    provider: object,
    attrs: object,
    *,
    max_bytes: int | None = MAX_STDERR_BYTES,
    max_lines: int | None = MAX_STDERR_LINES,
    fallback_provider: object = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(provider_error, details)`` for raw provider-failure attributes.

    ``provider_error`` has exactly six keys. ``kind`` is None when none was
    given, a known kind (:data:`KNOWN_KINDS`, case-insensitive) as itself,
    and ``"unknown"`` for anything else. ``details`` is ``attrs["details"]``
    without the stderr and exit-status keys folded into ``provider_error``.
    """
    if not isinstance(attrs, Mapping):
        attrs = {"message": repr(attrs)}
    raw_details = attrs.get("details")
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, Mapping) else {}

    stderr_raw = _get(attrs, details, "stderr")
    converted = stderr_raw is not None and not isinstance(stderr_raw, str)
    if stderr_raw is not None:
        stderr_raw = redact_text(stderr_raw if isinstance(stderr_raw, str) else repr(stderr_raw))
    stderr, cut = truncate_text(stderr_raw, max_bytes, max_lines)
    truncated = (
        converted
        or cut
        or any(
            _truthy_flag(source.get(key))
            for source in (attrs, details)
            for key in ("truncated", "truncated?", "stderr_truncated", "stderr_truncated?")
        )
    )

    message = _get(attrs, details, "message")
    if not isinstance(message, str) or not message:
        first_line = stderr.split("\n", 1)[0].strip() if stderr else ""
        message = first_line or "Provider execution failed"

    provider_error = {
        "provider": resolve_provider(provider, fallback_provider),
        "kind": _kind(_get(attrs, details, "kind")),
        "message": redact_text(message),
        "exit_code": _exit_code(_get(attrs, details, "exit_code", "exit_status")),
        "stderr": stderr,
        "truncated": True if truncated else None,
    }
    rest = {k: v for k, v in details.items() if k not in _DROPPED_DETAILS}
    return provider_error, redact_value(rest)


def error_payload(error: SessionError, *, fallback_provider: object = None) -> dict[str, Any]:
    """The data of ``run_failed``, ``session_failed`` and terminal ``error_occurred``
    events for *error*: ``error_code``, ``error_message``, plus ``provider_error``
    (for provider codes or when the error carries one) and ``details`` (when
    non-empty)."""
    data: dict[str, Any] = {"error_code": error.code.value, "error_message": error.message}
    details = dict(error.details)
    if error.provider_error is not None or error.code.category is ErrorCategory.PROVIDER:
        attrs = dict(error.provider_error or {})
        attrs.setdefault("message", error.message)
        attrs.setdefault("details", details)
        hint = attrs.get("provider")
        provider_error, provider_details = normalize_provider_error(
            hint, attrs, fallback_provider=fallback_provider
        )
        data["provider_error"] = provider_error
        details = {**details, **provider_details}
    if details:
        data["details"] = details
    return data
