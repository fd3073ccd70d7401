"""A Claude conversation rebuilt from the events of a session's earlier runs.

:func:`history_turns` is a pure function of the stored events: the user's
messages (``message_sent``, including the ``tool_result`` blocks the adapter
sent back), and every assistant message with its content blocks exactly as
the API returned them (``message_received`` ``content_blocks``: text with
citations, thinking with its signature, redacted thinking, ``tool_use``,
server-tool use and results). Nothing is flattened to text.

Two repairs keep the result valid for the Messages API, and are the only
places where it differs from what was sent (see :func:`echo_blocks` and
:func:`answer_open_tool_uses`): empty text blocks are left out, and a
``tool_use`` whose result never went back (the run failed or was cancelled
while the tool ran) is answered with an ``is_error`` result saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._errors import SessionError
from .._events import Event, EventType

__all__ = [
    "NOT_COMPLETED",
    "answer_open_tool_uses",
    "echo_blocks",
    "history_events",
    "history_turns",
]

#: The ``tool_result`` text for a call whose result never reached the model.
NOT_COMPLETED: Final = "This tool call did not complete: the run ended before its result was sent."


def echo_blocks(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """An assistant message's blocks as they are sent back: unchanged, except that
    empty text blocks (a refusal's, say), which the API refuses, are left out."""
    return [
        dict(b)
        for b in blocks
        if isinstance(b, Mapping) and not (b.get("type") == "text" and not b.get("text"))
    ]


def history_events(history: object) -> list[Event]:
    """The events of ``session.context["history"]``: :class:`Event` objects, or their
    :meth:`Event.to_dict` form (what survives a store that keeps context as JSON).

    Raises ``SessionError("validation_error")`` for anything else: a history that
    cannot be read must not silently become an empty conversation.
    """
    if not isinstance(history, list | tuple):
        raise SessionError(
            "validation_error",
            f"session.context['history'] must be a list of events, got {type(history).__name__}",
        )
    events = []
    for item in history:
        if isinstance(item, Event):
            events.append(item)
        elif isinstance(item, Mapping):
            events.append(Event.from_dict(item))
        else:
            raise SessionError(
                "validation_error",
                "session.context['history'] must hold Event objects or their to_dict() form, "
                f"got {type(item).__name__}",
            )
    return events


def history_turns(events: Iterable[Event]) -> tuple[list[tuple[str, Any]], list[Any]]:
    """``(turns, system_parts)`` from a session's events, in sequence order.

    ``turns`` are ``(role, content)`` pairs (``content`` a string or a list of
    content blocks) for :func:`~._claude_request.build_messages`, which merges
    repeated roles; ``system_parts`` are earlier input ``system`` turns. Events
    of other types are ignored.
    """
    turns: list[tuple[str, Any]] = []
    system: list[Any] = []
    for event in events:
        data = event.data
        if event.type is EventType.MESSAGE_SENT:
            role = data.get("role")
            content = data.get("content")
            if role == "system":
                if content:
                    system.append(content)
                continue
            turns.append((role if role == "assistant" else "user", _content(content)))
        elif event.type is EventType.MESSAGE_RECEIVED:
            blocks = data.get("content_blocks")
            content = echo_blocks(blocks) if isinstance(blocks, list) else data.get("content")
            if content:
                turns.append(("assistant", content))
    return turns, system


def _content(value: object) -> Any:
    if isinstance(value, list | tuple):
        return [dict(v) for v in value if isinstance(v, Mapping)]
    return value if isinstance(value, str) else ""


def _tool_use_ids(message: Mapping[str, Any]) -> list[str]:
    content = message.get("content")
    if message.get("role") != "assistant" or not isinstance(content, list):
        return []
    return [
        b["id"] for b in content if b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    ]


def _answered(message: Mapping[str, Any]) -> set[Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return set()
    return {b.get("tool_use_id") for b in content if b.get("type") == "tool_result"}


def _not_completed(tool_use_id: str) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": NOT_COMPLETED,
        "is_error": True,
    }


def answer_open_tool_uses(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """*messages* with every unanswered ``tool_use`` answered.

    The API wants each ``tool_use`` id answered by a ``tool_result`` at the
    start of the next user message; a missing one is added there (``is_error``,
    :data:`NOT_COMPLETED`), or in a new user message if none follows.
    """
    fixed: list[dict[str, Any]] = []
    open_ids: list[str] = []
    for message in messages:
        if open_ids:
            if message.get("role") == "user":
                answered = _answered(message)
                missing = [_not_completed(i) for i in open_ids if i not in answered]
                if missing:
                    message = {**message, "content": [*missing, *_as_blocks(message["content"])]}
            else:
                fixed.append({"role": "user", "content": [_not_completed(i) for i in open_ids]})
        fixed.append(message)
        open_ids = _tool_use_ids(message)
    if open_ids:
        fixed.append({"role": "user", "content": [_not_completed(i) for i in open_ids]})
    return fixed


def _as_blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
