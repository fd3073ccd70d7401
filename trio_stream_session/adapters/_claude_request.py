"""Claude requests and failures.

Run input becomes Messages-API parameters; SDK and HTTP failures become
:class:`SessionError` with a ``provider_error`` for provider ``claude``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

import anthropic

from .._errors import SessionError
from .._provider_error import normalize_provider_error
from .._transcript import Transcript, TranscriptMessage
from ._claude_events import StreamDataError
from ._claude_history import answer_open_tool_uses, history_events, history_turns

__all__ = [
    "build_messages",
    "error_from_exception",
    "merge_system",
    "provider_failure",
    "stream_error_event",
]

_STATUS_CODES: Final = {
    401: "provider_authentication_failed",
    403: "provider_authentication_failed",
    402: "provider_quota_exceeded",
    408: "provider_timeout",
    429: "provider_rate_limited",
    504: "provider_timeout",
}
_STREAM_ERROR_CODES: Final = {
    "overloaded_error": "provider_unavailable",
    "api_error": "provider_unavailable",
    "rate_limit_error": "provider_rate_limited",
    "authentication_error": "provider_authentication_failed",
    "permission_error": "provider_authentication_failed",
    "billing_error": "provider_quota_exceeded",
    "timeout_error": "provider_timeout",
}


def provider_failure(
    code: str, kind: str | None, message: str, details: Mapping[str, Any] | None = None
) -> SessionError:
    """A ``SessionError`` carrying a six-key ``provider_error`` for provider ``claude``."""
    attrs = {"kind": kind, "message": message, "details": dict(details or {})}
    provider_error, rest = normalize_provider_error("claude", attrs)
    return SessionError(code, message, details=rest, provider_error=provider_error)


# -- input ----------------------------------------------------------------------------


def _render(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _from_transcript(message: TranscriptMessage) -> tuple[str, Any]:
    """The reference's replay text for tool calls and results (adapters_spec §1.8)."""
    call_id = message.tool_call_id or "unknown"
    if message.role == "assistant" and (message.tool_name or message.tool_call_id):
        tool_input = _render(message.tool_input) if message.tool_input is not None else "{}"
        return "assistant", f"tool_call({call_id}): {message.tool_name} {tool_input}"
    if message.role == "tool":
        return "user", f"tool_result({call_id}): {message.tool_name} {_render(message.tool_output)}"
    return message.role, message.content


def _content(value: object) -> Any:
    """Message content as the API takes it: a string or a list of content blocks."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return [dict(value)]
    if isinstance(value, list | tuple):
        return [
            dict(v) if isinstance(v, Mapping) else {"type": "text", "text": _render(v)}
            for v in value
        ]
    return _render(value)


def _append(messages: list[dict[str, Any]], role: str, content: Any) -> None:
    """Append a turn, merging it into the previous one when the role repeats
    (the API wants user and assistant turns to alternate)."""
    if not content:
        return
    if messages and messages[-1]["role"] == role:
        previous = messages[-1]["content"]
        if isinstance(previous, str) and isinstance(content, str):
            messages[-1]["content"] = f"{previous}\n\n{content}"
            return
        as_blocks = [
            [{"type": "text", "text": c}] if isinstance(c, str) else list(c)
            for c in (previous, content)
        ]
        messages[-1]["content"] = as_blocks[0] + as_blocks[1]
        return
    messages.append({"role": role, "content": content})


def build_messages(
    run_input: Mapping[str, Any], transcript: object = None, history: object = None
) -> tuple[list[dict[str, Any]], list[Any]]:
    """``(messages, system_parts)`` for a run.

    ``{"messages": [...]}`` keeps user/assistant turns (content may be a
    string or content blocks), moves ``system`` turns to the system prompt
    and sends any other role as a user turn; ``{"prompt": s}`` is one user
    turn. The conversation so far comes first: *history* (the session's
    earlier events, or their ``to_dict()`` form, rebuilt block for block by
    :func:`history_turns`), or,
    without it, a :class:`Transcript` replayed as text. Every ``tool_use``
    left without a result is answered (:func:`answer_open_tool_uses`). Raises
    ``SessionError("invalid_input")`` when nothing is left to send.
    """
    turns: list[tuple[str, Any]] = []
    system: list[Any] = []
    if history:
        turns, system = history_turns(history_events(history))
    elif isinstance(transcript, Transcript):
        turns.extend(_from_transcript(m) for m in transcript.messages)
    raw = run_input.get("messages")
    if isinstance(raw, list | tuple):
        for item in raw:
            if isinstance(item, Mapping):
                role = item.get("role")
                role = role.strip().lower() if isinstance(role, str) and role.strip() else "user"
                turns.append((role, _content(item.get("content"))))
    elif isinstance(run_input.get("prompt"), str):
        turns.append(("user", run_input["prompt"]))
    messages: list[dict[str, Any]] = []
    for role, content in turns:
        if role == "system":
            if content:
                system.append(content)
            continue
        _append(messages, role if role in ("user", "assistant") else "user", content)
    if not messages:
        raise SessionError(
            "invalid_input",
            "Claude needs a non-empty user message: input {'prompt': '...'} or "
            "{'messages': [{'role': 'user', 'content': '...'}]}",
        )
    return answer_open_tool_uses(messages), system


def merge_system(configured: object, extra: Sequence[Any]) -> Any:
    """The ``system`` parameter: the adapter's prompt plus system turns from the input."""
    parts = [p for p in (configured, *extra) if p]
    if not parts:
        return None
    if all(isinstance(p, str) for p in parts):
        return "\n\n".join(parts)
    blocks: list[Any] = []
    for part in parts:
        blocks.extend([{"type": "text", "text": part}] if isinstance(part, str) else _content(part))
    return blocks


# -- failures -------------------------------------------------------------------------


def _mro_names(exc: BaseException) -> set[str]:
    return {
        cls.__name__
        for cls in type(exc).__mro__
        if cls.__module__.split(".", 1)[0] in ("httpx", "httpx2", "httpcore", "httpcore2")
    }


def _status_error(exc: anthropic.APIStatusError) -> SessionError:
    status = exc.status_code
    code = _STATUS_CODES.get(status)
    if code is None:
        code = "provider_unavailable" if status >= 500 else "provider_error"
    error_type = getattr(exc, "type", None)
    body = exc.body if isinstance(exc.body, Mapping) else {}
    api_message = _mapping_get(body, "error", "message") or getattr(exc, "api_message", None)
    if not isinstance(error_type, str):
        error_type = _mapping_get(body, "error", "type")
    details: dict[str, Any] = {"status_code": status}
    if error_type:
        details["error_type"] = error_type
    if exc.request_id:
        details["request_id"] = exc.request_id
    headers = exc.response.headers
    retry_after = headers.get("retry-after-ms") or headers.get("retry-after")
    if retry_after:
        details["retry_after"] = retry_after
    label = f"{status} {error_type}" if error_type else str(status)
    message = f"Claude API error {label}: {api_message or 'no error message'}"
    return provider_failure(code, "http_error", message, details)


def _mapping_get(body: Mapping[str, Any], *keys: str) -> str | None:
    value: Any = body
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else None


def stream_error_event(payload: Mapping[str, Any]) -> SessionError:
    """An ``event: error`` sent in the middle of a stream (kind ``protocol_error``).

    The code follows the error type (``overloaded_error`` is
    ``provider_unavailable``, ...), else ``provider_error``.
    """
    error_type = _mapping_get(payload, "error", "type") or "unknown_error"
    text = _mapping_get(payload, "error", "message") or "no error message"
    details: dict[str, Any] = {"error_type": error_type}
    request_id = payload.get("request_id")
    if isinstance(request_id, str):
        details["request_id"] = request_id
    code = _STREAM_ERROR_CODES.get(error_type, "provider_error")
    message = f"Claude API stream error {error_type}: {text}"
    return provider_failure(code, "protocol_error", message, details)


def error_from_exception(exc: Exception, *, timeout: float | None = None) -> SessionError | None:
    """The ``SessionError`` for a failure of the SDK or its HTTP stack, or None
    for anything else (which is then not the provider's fault)."""
    if isinstance(exc, SessionError):
        return exc
    if isinstance(exc, StreamDataError):
        return provider_failure("provider_error", exc.kind, exc.message, exc.details)
    if isinstance(exc, anthropic.APIStatusError):
        return _status_error(exc)
    if isinstance(exc, anthropic.APITimeoutError):
        return provider_failure(
            "provider_timeout", "timeout", "Claude API request timed out", _timeout(timeout)
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = f": {cause}" if cause is not None and str(cause) else ""
        return provider_failure(
            "provider_unavailable",
            "transport_exit",
            f"Could not reach the Claude API{reason}",
            {"exception": type(cause or exc).__name__},
        )
    if isinstance(exc, anthropic.APIResponseValidationError):
        return provider_failure("provider_error", "parse_error", f"Claude API response: {exc}")
    if isinstance(exc, anthropic.APIError):
        return provider_failure("provider_error", "unknown", f"Claude API error: {exc}")
    names = _mro_names(exc)
    if "TimeoutException" in names:
        return provider_failure(
            "provider_timeout",
            "timeout",
            "Claude API stream stalled: no data before the read timeout",
            {**_timeout(timeout), "exception": type(exc).__name__},
        )
    if names & {"TransportError", "StreamError", "NetworkError", "ProtocolError"}:
        return provider_failure(
            "provider_error",
            "transport_exit",
            f"Claude API connection ended mid-stream: {exc or type(exc).__name__}",
            {"exception": type(exc).__name__},
        )
    return None


def _timeout(timeout: float | None) -> dict[str, Any]:
    return {} if timeout is None else {"timeout_s": timeout}
