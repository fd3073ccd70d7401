"""Scripted replies for :class:`FakeAnthropicServer`: Messages-API SSE streams and errors.

The byte layout follows what the real API sends (``event:`` and ``data:``
lines, a blank line between events), so the ``anthropic`` SDK parses these
streams exactly as it parses real ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = ["DEFAULT_FAKE_MODEL", "FakeResponse", "SSEEvent"]

DEFAULT_FAKE_MODEL: Final = "claude-haiku-4-5-20251001"
Ending = Literal["complete", "drop", "stall"]
_ERROR_TYPES: Final = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES: Final = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low",
    "permission_error": "Your API key does not have permission to use the specified resource",
    "not_found_error": "Not found",
    "timeout_error": "Request timed out",
    "request_too_large": "Request exceeds the maximum allowed number of bytes",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


def _short_id(prefix: str) -> str:
    return f"{prefix}_01{os.urandom(11).hex()}"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event: ``event: <name>`` and one ``data:`` line.

    ``data`` is sent verbatim, so a test can send data that is not JSON.
    """

    name: str
    data: str

    @classmethod
    def of(cls, name: str, payload: Mapping[str, Any]) -> SSEEvent:
        return cls(name, json.dumps(payload, separators=(",", ":")))

    def encode(self) -> bytes:
        return f"event: {self.name}\ndata: {self.data}\n\n".encode()


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """One scripted reply of the fake server.

    Build them with the class methods (:meth:`text`, :meth:`tool_use`,
    :meth:`thinking`, :meth:`message`, :meth:`error`, :meth:`malformed`,
    :meth:`hang`) and adjust them with :meth:`then_drop`,
    :meth:`then_stall`, :meth:`then_error`, :meth:`then_drop_at_byte`,
    :meth:`slowly` and :meth:`chunked`.

    A streamed reply sends ``events`` one by one (``delay`` seconds apart, or
    split into ``chunk_size``-byte pieces), then ends as ``ending`` says:
    ``complete`` ends the body, ``drop`` closes the connection mid-body,
    ``stall`` keeps the connection open and silent until the client leaves or
    the server closes. A reply with ``no_headers=True`` (:meth:`hang`) never sends its headers.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    events: tuple[SSEEvent, ...] = ()
    ending: Ending = "complete"
    delay: float = 0.0
    chunk_size: int | None = None
    no_headers: bool = False
    byte_limit: int | None = None

    @property
    def streaming(self) -> bool:
        return bool(self.events) or self.ending != "complete"

    # -- streams ----------------------------------------------------------------

    @classmethod
    def message(
        cls,
        blocks: Sequence[Mapping[str, Any]],
        *,
        model: str = DEFAULT_FAKE_MODEL,
        message_id: str | None = None,
        stop_reason: str | None = None,
        input_tokens: int = 25,
        output_tokens: int = 15,
        cache_read_input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
    ) -> FakeResponse:
        """A complete ``message_start`` ... ``message_stop`` stream of *blocks*.

        Blocks are Messages-API content blocks: ``{"type": "text", "text": s}``
        (``text`` may also be a list of deltas), ``{"type": "tool_use", "id",
        "name", "input"}`` (its input JSON is streamed in pieces) and
        ``{"type": "thinking", "thinking": s}`` (a string or a list of deltas).
        ``stop_reason`` defaults to ``tool_use`` when a tool block is present,
        else ``end_turn``.
        """
        if stop_reason is None:
            has_tool = any(block.get("type") == "tool_use" for block in blocks)
            stop_reason = "tool_use" if has_tool else "end_turn"
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": 1,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
        }
        start: dict[str, Any] = {
            "id": message_id or _short_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        events = [SSEEvent.of("message_start", {"type": "message_start", "message": start})]
        events.append(SSEEvent.of("ping", {"type": "ping"}))
        for index, block in enumerate(blocks):
            events.extend(_block_events(index, block))
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        }
        events.append(SSEEvent.of("message_delta", delta))
        events.append(SSEEvent.of("message_stop", {"type": "message_stop"}))
        return cls(
            headers=(("content-type", "text/event-stream; charset=utf-8"),),
            events=tuple(events),
        )

    @classmethod
    def text(cls, *deltas: str, **message: Any) -> FakeResponse:
        """A text reply streamed as *deltas*: ``FakeResponse.text("Hello! ", "How are you?")``.

        Keyword arguments are those of :meth:`message`.
        """
        return cls.message([{"type": "text", "text": list(deltas or ("Hello!",))}], **message)

    @classmethod
    def tool_use(
        cls,
        name: str,
        input: Mapping[str, Any],
        *,
        tool_id: str | None = None,
        text: str | None = None,
        **message: Any,
    ) -> FakeResponse:
        """A ``tool_use`` reply (stop reason ``tool_use``), after an optional text block."""
        blocks: list[Mapping[str, Any]] = [{"type": "text", "text": text}] if text else []
        tool = {"type": "tool_use", "id": tool_id or _short_id("toolu"), "name": name}
        blocks.append({**tool, "input": dict(input)})
        return cls.message(blocks, **message)

    @classmethod
    def thinking(
        cls, thinking: str | Sequence[str], *, text: str = "Done thinking.", **message: Any
    ) -> FakeResponse:
        """An extended-thinking block (streamed as ``thinking_delta``) followed by text."""
        deltas = [thinking] if isinstance(thinking, str) else list(thinking)
        blocks: list[Mapping[str, Any]] = [
            {"type": "thinking", "thinking": deltas},
            {"type": "text", "text": text},
        ]
        return cls.message(blocks, **message)

    @classmethod
    def sse(cls, events: Sequence[SSEEvent | tuple[str, Any]]) -> FakeResponse:
        """A raw stream of *events*: ``SSEEvent``s or ``(name, payload)`` pairs
        (a ``str`` payload is sent verbatim, anything else as JSON)."""
        built = [e if isinstance(e, SSEEvent) else _pair_event(e[0], e[1]) for e in events]
        headers = (("content-type", "text/event-stream; charset=utf-8"),)
        return cls(headers=headers, events=tuple(built))

    @classmethod
    def malformed(cls, *, after_text: str = "Hel") -> FakeResponse:
        """A stream whose second delta carries data that is not JSON."""
        good = cls.text(after_text)
        bad = SSEEvent("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{')
        cut = _index_of(good.events, "content_block_stop")
        return dataclasses.replace(good, events=(*good.events[:cut], bad, *good.events[cut:]))

    # -- errors -----------------------------------------------------------------

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
        should_retry: bool | None = None,
        request_id: str | None = None,
    ) -> FakeResponse:
        """An HTTP error with the API's JSON error body.

        ``error_type`` defaults from *status* (429 ``rate_limit_error``, 529
        ``overloaded_error``, ...). ``retry_after`` / ``retry_after_ms`` set the
        headers the SDK's retry honours; ``should_retry`` sets ``x-should-retry``.
        """
        kind = error_type or _ERROR_TYPES.get(status, "api_error")
        req = request_id or _short_id("req")
        payload = {
            "type": "error",
            "error": {"type": kind, "message": message or _ERROR_MESSAGES.get(kind, "Error")},
            "request_id": req,
        }
        headers = [("content-type", "application/json"), ("request-id", req)]
        if retry_after is not None:
            headers.append(("retry-after", f"{retry_after:g}"))
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", str(retry_after_ms)))
        if should_retry is not None:
            headers.append(("x-should-retry", "true" if should_retry else "false"))
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status=status, headers=tuple(headers), body=body)

    @classmethod
    def hang(cls) -> FakeResponse:
        """Send no response headers until the client gives up (its timeout) or
        the server closes (then the connection is dropped)."""
        return cls(no_headers=True)

    def message_json(self) -> bytes | None:
        """The reply of a non-streaming request: the stream folded into one
        ``Message`` JSON object. None unless the stream is complete and error-free."""
        names = [e.name for e in self.events]
        if self.ending != "complete" or "message_stop" not in names or "error" in names:
            return None
        message: dict[str, Any] = {}
        blocks: dict[int, dict[str, Any]] = {}
        for event in self.events:
            payload = json.loads(event.data)
            index = payload.get("index", 0)
            if event.name == "message_start":
                message = dict(payload["message"])
            elif event.name == "content_block_start":
                blocks[index] = {**payload["content_block"], "_json": ""}
            elif event.name == "content_block_delta":
                _apply_delta(blocks[index], payload["delta"])
            elif event.name == "message_delta":
                message.update(payload.get("delta", {}))
                message["usage"] = {**message.get("usage", {}), **payload.get("usage", {})}
        content = []
        for _, block in sorted(blocks.items()):
            raw = block.pop("_json")
            if block["type"] == "tool_use" and raw:
                block["input"] = json.loads(raw)
            content.append(block)
        message["content"] = content
        return json.dumps(message, separators=(",", ":")).encode()

    # -- modifiers --------------------------------------------------------------

    def _cut(self, after: int | None) -> tuple[SSEEvent, ...]:
        if after is None:
            after = _index_of(self.events, "message_delta")
        return self.events[:after]

    def then_drop(self, *, after: int | None = None) -> FakeResponse:
        """Close the connection after the first *after* events (default: just
        before ``message_delta``, i.e. mid-message)."""
        return dataclasses.replace(self, events=self._cut(after), ending="drop")

    def then_stall(self, *, after: int | None = None) -> FakeResponse:
        """Go silent after the first *after* events, keeping the connection open."""
        return dataclasses.replace(self, events=self._cut(after), ending="stall")

    def then_error(
        self,
        error_type: str = "overloaded_error",
        message: str | None = None,
        *,
        after: int | None = None,
    ) -> FakeResponse:
        """Send an ``event: error`` after the first *after* events, then end the body."""
        payload = {
            "type": "error",
            "error": {
                "type": error_type,
                "message": message or _ERROR_MESSAGES.get(error_type, "Error"),
            },
        }
        events = (*self._cut(after), SSEEvent.of("error", payload))
        return dataclasses.replace(self, events=events, ending="complete")

    def then_drop_at_byte(self, offset: int) -> FakeResponse:
        """Close the connection after exactly *offset* bytes of the stream body,
        wherever that falls (inside an event, a JSON string, a UTF-8 character)."""
        if offset < 0:
            raise ValueError("the byte offset must be >= 0")
        return dataclasses.replace(self, byte_limit=offset, ending="drop")

    def slowly(self, delay: float) -> FakeResponse:
        """Wait *delay* seconds before each event."""
        return dataclasses.replace(self, delay=delay)

    def chunked(self, size: int) -> FakeResponse:
        """Send the stream in *size*-byte pieces, so events straddle chunks."""
        if size < 1:
            raise ValueError("chunk size must be positive")
        return dataclasses.replace(self, chunk_size=size)


def _apply_delta(block: dict[str, Any], delta: Mapping[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta["text"]
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] = delta["signature"]
    elif kind == "input_json_delta":
        block["_json"] += delta["partial_json"]


def _index_of(events: Sequence[SSEEvent], name: str) -> int:
    return next((i for i, event in enumerate(events) if event.name == name), len(events))


def _pair_event(name: str, payload: Any) -> SSEEvent:
    return SSEEvent(name, payload) if isinstance(payload, str) else SSEEvent.of(name, payload)


def _pieces(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return []


def _json_pieces(value: object) -> list[str]:
    """The tool input as the API streams it: an empty first piece, then ~3 slices."""
    text = json.dumps(value, separators=(",", ":"))
    step = max(1, -(-len(text) // 3))
    return ["", *(text[i : i + step] for i in range(0, len(text), step))]


def _block_events(index: int, block: Mapping[str, Any]) -> list[SSEEvent]:
    kind = block.get("type")
    start: dict[str, Any]
    if kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": t} for t in _pieces(block.get("text"))]
    elif kind == "tool_use":
        start = {
            "type": "tool_use",
            "id": block.get("id") or _short_id("toolu"),
            "name": block["name"],
        }
        start["input"] = {}
        deltas = [
            {"type": "input_json_delta", "partial_json": p}
            for p in _json_pieces(block.get("input", {}))
        ]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": t} for t in _pieces(block.get("thinking"))]
        signature = (
            block.get("signature") or "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
        )
        deltas.append({"type": "signature_delta", "signature": signature})
    else:
        raise ValueError(f"unsupported content block type: {kind!r}")
    events = [
        SSEEvent.of(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    events.extend(
        SSEEvent.of(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
        )
        for d in deltas
    )
    events.append(SSEEvent.of("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events
