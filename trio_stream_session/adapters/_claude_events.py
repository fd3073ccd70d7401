"""The bytes of a Messages-API stream, as decoded event payloads.

:class:`SSEParser` splits the response body into server-sent events and
:func:`decode_payload` turns each into its JSON object (the payloads then go
to :class:`~._claude_message.MessageAccumulator`). Plain synchronous state
machines: they never hold a connection open.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["SSEParser", "ServerSentEvent", "StreamDataError", "decode_payload", "usage_keys"]

_NEWLINE: Final = re.compile(r"\r\n|\r|\n")
#: The token-usage keys of the Messages API, in the order they are reported.
usage_keys: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


class StreamDataError(Exception):
    """The stream carried something that cannot be understood.

    ``kind`` is the provider-error kind (``parse_error`` or ``protocol_error``);
    ``details`` says where.
    """

    def __init__(self, kind: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = dict(details or {})


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str | None
    data: str


class SSEParser:
    """Incremental server-sent-events parser (the WHATWG rules the API follows).

    ``feed(chunk)`` returns the events completed by *chunk*; chunks may split
    lines, events and UTF-8 characters anywhere. Invalid UTF-8 raises
    :class:`StreamDataError` (``parse_error``).
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._pending = ""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise StreamDataError("parse_error", f"stream is not valid UTF-8: {exc}") from exc
        text = self._pending + text
        # A trailing "\r" may be the first half of "\r\n": keep it for the next chunk.
        hold = text.endswith("\r")
        lines = _NEWLINE.split(text[:-1] if hold else text)
        self._pending = lines.pop() + ("\r" if hold else "")
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of body. A held ``"\r"`` ends its line after all; an event
        without its closing blank line is dropped (as the SSE spec says)."""
        pending, self._pending = self._pending, ""
        event = self._line(pending[:-1]) if pending.endswith("\r") else None
        self._event, self._data = None, []
        return [] if event is None else [event]

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._event = None
                return None
            event = ServerSentEvent(self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


def decode_payload(event: ServerSentEvent) -> Mapping[str, Any]:
    """The JSON object carried by *event*; :class:`StreamDataError` if it is not one."""
    try:
        payload = json.loads(event.data)
    except ValueError as exc:
        raise StreamDataError(
            "parse_error",
            f"Claude API sent malformed stream data in a {event.event or 'message'!r} event: {exc}",
            {"event": event.event, "data": event.data[:200]},
        ) from exc
    if not isinstance(payload, Mapping):
        raise StreamDataError(
            "parse_error",
            f"Claude API sent a {event.event or 'message'!r} event whose data is not an object",
            {"event": event.event, "data": event.data[:200]},
        )
    return payload
