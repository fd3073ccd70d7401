"""Transcripts: earlier runs of a session replayed as messages (continuation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ._events import Event, EventType

__all__ = ["Transcript", "TranscriptMessage", "build_transcript"]

CHARS_PER_TOKEN: Final = 4
_APPROVAL_PAUSE: Final = "[Execution paused: awaiting human approval]"


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptMessage:
    role: str  # "system", "user", "assistant" or "tool"
    content: str = ""
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_output: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """The conversation so far, put into ``session.context["transcript"]`` for
    the adapter when a run asks for ``continuation="auto"`` or ``"replay"``."""

    session_id: str
    messages: tuple[TranscriptMessage, ...] = ()
    last_sequence: int | None = None


def _meta(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "run_id": event.run_id,
        "timestamp": event.timestamp.isoformat(),
        "sequence_number": event.sequence_number,
        **event.metadata,
    }


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def build_transcript(
    session_id: str,
    events: Iterable[Event],
    *,
    max_messages: int | None = None,
    max_chars: int | None = None,
    max_tokens_approx: int | None = None,
) -> Transcript:
    """Collapse stored events into conversation messages.

    Streamed chunks become one assistant message (replaced by a following
    ``message_received`` with content); ``message_sent`` is the user's turn;
    tool events become assistant tool calls and tool results. The limits keep
    the newest messages.
    """
    ordered = sorted(events, key=lambda e: (e.sequence_number or 0, e.timestamp, e.id))
    messages: list[TranscriptMessage] = []
    streamed: list[str] = []
    streamed_event: Event | None = None

    def flush_stream() -> None:
        nonlocal streamed_event
        text = "".join(streamed)
        if text and streamed_event is not None:
            messages.append(
                TranscriptMessage(role="assistant", content=text, metadata=_meta(streamed_event))
            )
        streamed.clear()
        streamed_event = None

    for event in ordered:
        data = event.data
        if event.type is EventType.MESSAGE_STREAMED:
            streamed.append(_text(data.get("delta")) or _text(data.get("content")))
            streamed_event = streamed_event or event
            continue
        if event.type is EventType.MESSAGE_RECEIVED and _text(data.get("content")):
            streamed.clear()
            streamed_event = None
            messages.append(
                TranscriptMessage(
                    role=_text(data.get("role")) or "assistant",
                    content=_text(data.get("content")),
                    metadata=_meta(event),
                )
            )
            continue
        flush_stream()
        if event.type is EventType.MESSAGE_SENT and _text(data.get("content")):
            messages.append(
                TranscriptMessage(
                    role=_text(data.get("role")) or "user",
                    content=_text(data.get("content")),
                    metadata=_meta(event),
                )
            )
        elif event.type is EventType.TOOL_CALL_STARTED:
            messages.append(
                TranscriptMessage(
                    role="assistant",
                    tool_call_id=data.get("tool_call_id"),
                    tool_name=data.get("tool_name"),
                    tool_input=data.get("tool_input"),
                    metadata=_meta(event),
                )
            )
        elif event.type in (EventType.TOOL_CALL_COMPLETED, EventType.TOOL_CALL_FAILED):
            messages.append(
                TranscriptMessage(
                    role="tool",
                    tool_call_id=data.get("tool_call_id"),
                    tool_name=data.get("tool_name"),
                    tool_output=data.get("tool_output", data.get("error_message")),
                    metadata=_meta(event),
                )
            )
        elif event.type is EventType.TOOL_APPROVAL_REQUESTED:
            messages.append(
                TranscriptMessage(
                    role="tool",
                    tool_call_id=data.get("tool_call_id"),
                    tool_name=data.get("tool_name"),
                    tool_output=_APPROVAL_PAUSE,
                    metadata=_meta(event),
                )
            )
    flush_stream()

    if max_messages is not None and max_messages >= 0:
        messages = messages[-max_messages:] if max_messages else []
    budget = (
        max_chars
        if max_chars is not None
        else (max_tokens_approx * CHARS_PER_TOKEN if max_tokens_approx is not None else None)
    )
    if budget is not None:
        kept: list[TranscriptMessage] = []
        used = 0
        for message in reversed(messages):
            used += len(message.content)
            if used > budget:
                break
            kept.append(message)
        messages = kept[::-1]
    last = ordered[-1].sequence_number if ordered else None
    return Transcript(session_id=session_id, messages=tuple(messages), last_sequence=last)
