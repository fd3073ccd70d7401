"""Small pieces the CLI adapters share: prompts, usage, run limits, error classes,
resume state and private option files."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from .._errors import ErrorCode, SessionError
from .._models import Session
from .._options import execute_timeout

__all__ = [
    "build_prompt",
    "classify_failure",
    "current_prompt",
    "drop_none",
    "executable_argv",
    "private_json_file",
    "provider_session",
    "run_time_limit",
    "token_counts",
]

#: ``(pattern, error code, provider_error kind)``, tried in order on a failure's text.
#: The texts are the CLIs' own: Codex ``RetryLimitReachedError`` ("exceeded retry
#: limit, last status: 429 Too Many Requests"), ``UsageLimitReachedError`` ("You've
#: hit your usage limit"), ``QuotaExceeded``; Claude Code's ``API Error: 429`` and
#: assistant ``error`` values; Amp's error results.
_FAILURE_CLASSES: Final = (
    (
        re.compile(
            r"usage limit|quota exceeded|out of credits|spend cap|credit balance|billing", re.I
        ),
        ErrorCode.PROVIDER_QUOTA_EXCEEDED,
        "quota_exceeded",
    ),
    (
        re.compile(r"\b429\b|too many requests|rate[ _-]?limit", re.I),
        ErrorCode.PROVIDER_RATE_LIMITED,
        "rate_limit",
    ),
    (
        re.compile(
            r"\b401\b|unauthori[sz]ed|authentication|invalid api key|"
            r"access token could not be refreshed|not logged in",
            re.I,
        ),
        ErrorCode.PROVIDER_AUTHENTICATION_FAILED,
        "authentication",
    ),
    (
        re.compile(r"at capacity|overloaded|high demand|\b5\d\d\b", re.I),
        ErrorCode.PROVIDER_UNAVAILABLE,
        "unavailable",
    ),
)


def executable_argv(executable: str | os.PathLike[str] | Sequence[str]) -> tuple[str, ...]:
    """The command prefix for *executable*: a path or name, or a list such as
    ``[sys.executable, "fake_codex.py"]``."""
    if isinstance(executable, str | os.PathLike):
        return (os.fspath(executable),)
    argv = tuple(os.fspath(part) for part in executable)
    if not argv or not all(isinstance(part, str) and part for part in argv):
        raise TypeError(
            f"executable must be a path or a non-empty list of strings, got {executable!r}"
        )
    return argv


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def token_counts(usage: object) -> dict[str, int]:
    """Every token count in a CLI's usage mapping: the non-negative integers under
    keys ending in ``_tokens`` (``input_tokens``, ``cached_input_tokens``,
    ``reasoning_output_tokens``, ``cache_creation_input_tokens``, ...), except
    ``max_tokens`` (a limit, not a count).

    >>> token_counts({"input_tokens": 3, "max_tokens": 9, "service_tier": "standard"})
    {'input_tokens': 3}
    """
    if not isinstance(usage, Mapping):
        return {}
    found = {}
    for key, value in usage.items():
        if (
            isinstance(key, str)
            and key.endswith("_tokens")
            and key != "max_tokens"
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and value >= 0
            and math.isfinite(value)
        ):
            found[key] = int(value)
    return found


def run_time_limit(value: object) -> float:
    """The wall-clock limit of one run from ``adapter_opts["timeout"]``, in seconds,
    read as ``run_once`` reads it (:func:`execute_timeout`): None (the default)
    means no limit (``math.inf``), since agent runs take minutes and the
    stream's idle timeout is the guard against a CLI that hangs; a positive
    number sets one. A bad value raises ``SessionError("validation_error")``
    (``run_once`` refuses it at the call already).
    """
    try:
        return execute_timeout(value)
    except (TypeError, ValueError) as exc:
        raise SessionError("validation_error", str(exc)) from None


def classify_failure(*texts: object) -> tuple[ErrorCode, str] | None:
    """``(code, kind)`` for a failure whose text names a known cause, else None."""
    text = " ".join(t for t in texts if isinstance(t, str))
    for pattern, code, kind in _FAILURE_CLASSES:
        if pattern.search(text):
            return code, kind
    return None


def provider_session(session: Session, provider: str) -> dict[str, Any]:
    """What an earlier run of *provider* left in the session for resuming it:
    ``session.metadata["provider_sessions"][provider]`` (empty when none)."""
    sessions = session.metadata.get("provider_sessions")
    state = sessions.get(provider) if isinstance(sessions, Mapping) else None
    return dict(state) if isinstance(state, Mapping) else {}


def _render(value: object, empty: str) -> str:
    if value is None:
        return empty
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)


def current_prompt(run_input: Mapping[str, Any]) -> str:
    """The run's own prompt: the ``prompt`` string, or the user messages' contents,
    one per line."""
    messages = run_input.get("messages")
    if isinstance(messages, list | tuple):
        parts = []
        for message in messages:
            if isinstance(message, Mapping) and str(message.get("role", "user")).lower() == "user":
                content = message.get("content")
                if content:
                    parts.append(content if isinstance(content, str) else _render(content, ""))
        return "\n".join(parts)
    prompt = run_input.get("prompt")
    if isinstance(prompt, str):
        return prompt
    return _render(dict(run_input), "")


def build_prompt(run_input: Mapping[str, Any], transcript: object = None) -> str:
    """The text a CLI gets on stdin when it cannot resume its own thread: earlier
    conversation lines, a blank line, the prompt.

    Transcript messages become ``"<role>: <content>"``,
    ``"assistant_tool_call(<id>): <name> <input JSON>"`` and
    ``"tool_result(<id>): <name> <output>"``.

    >>> build_prompt({"messages": [{"role": "system", "content": "s"}, {"content": "hi"}]})
    'hi'
    """
    lines = []
    for message in getattr(transcript, "messages", None) or ():
        role = getattr(message, "role", "user")
        content = getattr(message, "content", "")
        tool_name = getattr(message, "tool_name", None)
        call_id = getattr(message, "tool_call_id", None) or "unknown"
        if role == "tool":
            output = _render(getattr(message, "tool_output", None), "")
            lines.append(f"tool_result({call_id}): {tool_name} {output}".rstrip())
        elif tool_name is not None and not content:
            tool_input = _render(getattr(message, "tool_input", None), "{}")
            lines.append(f"assistant_tool_call({call_id}): {tool_name} {tool_input}")
        elif content:
            lines.append(f"{role}: {content}")
    return "\n\n".join(part for part in ("\n".join(lines), current_prompt(run_input)) if part)


@contextlib.contextmanager
def private_json_file(value: Mapping[str, Any], prefix: str) -> Iterator[str]:
    """Write *value* as JSON to a new file only the current user can read
    (mode 0600), yield its path, and delete it afterwards.

    Used for option values that may hold secrets (an MCP server's token), so
    they reach the CLI as a file path instead of on its argv, where ``ps``
    shows them to every user of the machine.
    """
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(value, file)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
