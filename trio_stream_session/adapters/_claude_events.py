"""The Messages-API stream of one Claude reply, turned into library events.

:class:`SSEParser` splits the response body into server-sent events;
:class:`MessageAccumulator` maps each event payload to the events the
adapter emits and builds the run's output and token usage. Both are plain
synchronous state machines, so they never hold a connection open.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MessageAccumulator", "SSEParser", "ServerSentEvent", "StreamDataError", "usage_keys"]

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


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _index(payload: Mapping[str, Any]) -> int:
    index = payload.get("index")
    return index if isinstance(index, int) else -1


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class MessageAccumulator:
    """Maps one streamed Claude message to events; accumulates its output.

    :meth:`handle` takes one decoded event payload and returns the event
    mappings to emit (``{"type": ..., "data": {...}}``), in order:

    * ``message_start`` -> ``run_started {model, provider_session_id}``
    * ``text_delta`` -> ``message_streamed {delta, content, kind: "text"}``
    * ``thinking_delta`` -> ``message_streamed {delta, content, kind: "thinking"}``

      ``content`` is the chunk itself, as in the reference adapter (and the mock):
      repeating all text so far in every event would make the stored log grow
      with the square of the reply's length. The whole text arrives in
      ``message_received``.
    * a finished ``tool_use`` block -> ``tool_call_started`` and
      ``tool_call_completed`` ``{tool_call_id, tool_name, tool_input}`` with the
      parsed input
    * ``message_delta`` -> ``token_usage_updated`` (the four usage keys)
    * ``message_stop`` -> ``message_received {content, role}`` and
      ``run_completed {stop_reason, token_usage}``
    """

    def __init__(self) -> None:
        self.model: str | None = None
        self.message_id: str | None = None
        self.text = ""
        self.thinking = ""
        self.stop_reason: str | None = None
        self.tool_calls: list[dict[str, Any]] = []
        self.usage: dict[str, int] = dict.fromkeys(usage_keys, 0)
        self.started = False
        self.stopped = False
        self._blocks: dict[int, dict[str, Any]] = {}

    def output(self) -> dict[str, Any]:
        return {
            "content": self.text,
            "stop_reason": self.stop_reason,
            "tool_calls": list(self.tool_calls),
        }

    def token_usage(self) -> dict[str, int]:
        return dict(self.usage)

    def handle(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        if self.stopped:
            return []
        kind = payload.get("type")
        if kind == "message_start":
            return self._message_start(_mapping(payload.get("message")))
        if kind == "content_block_start":
            self._block_start(payload)
            return []
        if kind == "content_block_delta":
            return self._block_delta(payload)
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_delta":
            return self._message_delta(payload)
        if kind == "message_stop":
            return self._message_stop()
        return []  # ping and event types newer than this adapter

    def _update_usage(self, usage: Mapping[str, Any]) -> None:
        for key in usage_keys:
            value = _int(usage.get(key))
            if value is not None:
                self.usage[key] = value

    def _message_start(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._update_usage(_mapping(message.get("usage")))
        if self.started:
            return []
        self.started = True
        model = message.get("model")
        message_id = message.get("id")
        self.model = model if isinstance(model, str) else None
        self.message_id = message_id if isinstance(message_id, str) else None
        data = {"model": self.model, "provider_session_id": self.message_id}
        return [{"type": "run_started", "data": data}]

    def _block_start(self, payload: Mapping[str, Any]) -> None:
        block = dict(_mapping(payload.get("content_block")))
        block["json_parts"] = []
        self._blocks[_index(payload)] = block

    def _block_delta(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        delta = _mapping(payload.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            self.text += delta["text"]
            return [_streamed(delta["text"], "text")]
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            self.thinking += delta["thinking"]
            return [_streamed(delta["thinking"], "thinking")]
        if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            block = self._blocks.get(_index(payload))
            if block is not None:
                block["json_parts"].append(delta["partial_json"])
        return []

    def _block_stop(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        block = self._blocks.pop(_index(payload), None)
        if block is None or block.get("type") != "tool_use":
            return []
        text = "".join(block["json_parts"])
        if text.strip():
            try:
                tool_input = json.loads(text)
            except ValueError as exc:
                raise StreamDataError(
                    "parse_error",
                    f"Claude API sent tool input that is not JSON: {exc}",
                    {"tool_name": block.get("name"), "data": text[:200]},
                ) from exc
        else:
            tool_input = block.get("input") or {}
        call = {"id": block.get("id"), "name": block.get("name"), "input": tool_input}
        self.tool_calls.append(call)
        data = {"tool_call_id": call["id"], "tool_name": call["name"], "tool_input": tool_input}
        return [
            {"type": "tool_call_started", "data": data},
            {"type": "tool_call_completed", "data": dict(data)},
        ]

    def _message_delta(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        stop_reason = _mapping(payload.get("delta")).get("stop_reason")
        if isinstance(stop_reason, str):
            self.stop_reason = stop_reason
        usage = payload.get("usage")
        if not isinstance(usage, Mapping):
            return []
        self._update_usage(usage)
        return [{"type": "token_usage_updated", "data": self.token_usage()}]

    def _message_stop(self) -> list[dict[str, Any]]:
        self.stopped = True
        return [
            {"type": "message_received", "data": {"content": self.text, "role": "assistant"}},
            {
                "type": "run_completed",
                "data": {"stop_reason": self.stop_reason, "token_usage": self.token_usage()},
            },
        ]


def _streamed(delta: str, kind: str) -> dict[str, Any]:
    return {"type": "message_streamed", "data": {"delta": delta, "content": delta, "kind": kind}}
