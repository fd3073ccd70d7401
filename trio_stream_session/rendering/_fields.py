"""What the renderers read from the data of particular event types.

Streamed chunks and their kind (text or thinking), the text of a message's
content, what a ``message_sent`` sent, the sources a reply cites, the message
of an error-like event or a policy violation, the turn of a tool-loop event
and the tokens of a usage mapping. Every function
takes an :class:`~._text.EventView` (or a value from one) and never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._text import EventView, first, inspect_value, mapping_get, plain, plural

__all__ = [
    "error_text",
    "message_text",
    "policy_text",
    "sent_text",
    "sources",
    "stream_kind",
    "streamed_text",
    "turn_label",
    "usage_tokens",
]


def stream_kind(ev: EventView) -> str:
    """``"thinking"`` for a streamed thinking chunk (``kind: "thinking"``), else ``"text"``."""
    kind = ev.get("kind")
    return "thinking" if isinstance(kind, str) and kind == "thinking" else "text"


def streamed_text(ev: EventView) -> str:
    """The chunk of a ``message_streamed`` event: ``delta``, else ``content``."""
    return plain(first(ev.get("delta"), ev.get("content"), ""))


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or the ``text`` of its blocks.

    ``None`` -> ``""``; anything else in its Python form.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        parts = [mapping_get(block, "text") for block in content]
        texts = [part for part in parts if isinstance(part, str)]
        if texts:
            return "\n".join(texts)
    return inspect_value(content)


def sent_text(ev: EventView) -> str:
    """What a ``message_sent`` event sent: its text, or ``3 tool results``."""
    content = ev.get("content")
    if ev.get("kind") == "tool_results" and isinstance(content, list | tuple):
        return plural(len(content), "tool result")
    return message_text(content)


def sources(ev: EventView) -> list[str]:
    """The sources cited by a ``message_received`` event's text blocks, once each.

    A source is its title (or document title, or source name), then its URL
    when it has one: ``Paris forecast — https://meteo.example/paris``.
    """
    found: dict[str, None] = {}
    blocks = ev.get("content_blocks")
    for block in blocks if isinstance(blocks, list | tuple) else ():
        cited = mapping_get(block, "citations")
        for citation in cited if isinstance(cited, list | tuple) else ():
            title = first(
                mapping_get(citation, "title"),
                mapping_get(citation, "document_title"),
                mapping_get(citation, "source"),
            )
            url = mapping_get(citation, "url")
            parts = [plain(part) for part in (title, url) if part is not None and part != ""]
            if parts:
                found[" — ".join(parts)] = None
    return list(found)


def error_text(ev: EventView, default: str = "unknown error") -> str:
    """The message of an error-like event: ``error_message``, else ``message``."""
    return plain(first(ev.get("error_message"), ev.get("message"), default))


def turn_label(ev: EventView) -> str:
    """``turn 2`` for an event whose data has a ``turn`` (or ``turn_number``), else ``turn``."""
    number = first(ev.get("turn"), ev.get("turn_number"))
    return "turn" if number is None else f"turn {plain(number)}"


def usage_tokens(usage: Any) -> tuple[str, str] | None:
    """``(input, output)`` tokens of a ``token_usage`` mapping as text, else None."""
    if not isinstance(usage, Mapping):
        return None
    tokens_in = plain(first(mapping_get(usage, "input_tokens"), 0))
    tokens_out = plain(first(mapping_get(usage, "output_tokens"), 0))
    return tokens_in, tokens_out


def policy_text(ev: EventView) -> str:
    """A ``policy_violation``: ``max_cost (budget_exceeded) — over the limit``."""
    text = plain(first(ev.get("policy"), "policy"))
    kind = ev.get("kind")
    text += "" if kind is None else f" ({plain(kind)})"
    message = error_text(ev, "")
    return text + (" — " + message if message else "")
