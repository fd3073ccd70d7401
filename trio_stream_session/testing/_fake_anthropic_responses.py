"""Scripted replies for :class:`FakeAnthropicServer`: Messages-API SSE streams and errors.

The byte layout follows what the real API sends (``event:`` and ``data:``
lines, a blank line between events), so the ``anthropic`` SDK parses these
streams exactly as it parses real ones.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from ._fake_anthropic_blocks import SIGNATURE, SSEEvent, block_events, fold_message, short_id

__all__ = ["DEFAULT_FAKE_MODEL", "FakeResponse"]

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


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """One scripted reply of the fake server.

    Build them with the class methods (:meth:`text`, :meth:`tool_use`,
    :meth:`tool_uses`, :meth:`thinking`, :meth:`web_search`, :meth:`message`,
    :meth:`sse`, :meth:`error`, :meth:`malformed`, :meth:`hang`) and adjust
    them with :meth:`then_drop`,
    :meth:`then_stall`, :meth:`then_error`, :meth:`then_drop_at_byte`,
    :meth:`slowly` and :meth:`chunked`.

    A streamed reply sends ``events`` one by one (``delay`` seconds apart, or
    split into ``chunk_size``-byte pieces), then ends as ``ending`` says:
    ``complete`` ends the body, ``drop`` closes the connection mid-body,
    ``stall`` keeps the connection open and silent until the client leaves or
    the server closes. A reply with ``no_headers=True`` (:meth:`hang`) never sends its headers.
    """

    #: The thinking signature of :meth:`thinking` blocks when none is given.
    SIGNATURE: ClassVar[str] = SIGNATURE

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
        stop_sequence: str | None = None,
        stop_details: Mapping[str, Any] | None = None,
        input_tokens: int = 25,
        output_tokens: int = 15,
        cache_read_input_tokens: int = 0,
        cache_creation_input_tokens: int = 0,
        usage: Mapping[str, Any] | None = None,
    ) -> FakeResponse:
        """A complete ``message_start`` ... ``message_stop`` stream of *blocks*.

        Blocks are Messages-API content blocks as a non-streaming reply holds
        them: ``text`` (``text`` may also be a list of deltas; ``citations``
        are streamed as ``citations_delta``), ``thinking`` (``thinking`` a
        string or list of deltas, ``signature`` defaults to :attr:`SIGNATURE`),
        ``redacted_thinking``, ``tool_use`` / ``server_tool_use`` (input
        streamed in pieces) and ``*_tool_result`` blocks. ``stop_reason``
        defaults to ``tool_use`` when a ``tool_use`` block is present, else
        ``end_turn``; ``stop_details`` goes into ``message_delta`` when given;
        ``usage`` adds keys (``server_tool_use``, ``cache_creation``, ...) to
        the final usage.
        """
        if stop_reason is None:
            has_tool = any(block.get("type") == "tool_use" for block in blocks)
            stop_reason = "tool_use" if has_tool else "end_turn"
        start_usage = {
            "input_tokens": input_tokens,
            "output_tokens": 1,
            "cache_creation_input_tokens": cache_creation_input_tokens,
            "cache_read_input_tokens": cache_read_input_tokens,
        }
        start: dict[str, Any] = {
            "id": message_id or short_id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        events = [SSEEvent.of("message_start", {"type": "message_start", "message": start})]
        events.append(SSEEvent.of("ping", {"type": "ping"}))
        for index, block in enumerate(blocks):
            events.extend(block_events(index, block))
        delta: dict[str, Any] = {"stop_reason": stop_reason, "stop_sequence": stop_sequence}
        if stop_details is not None:
            delta["stop_details"] = dict(stop_details)
        final_usage = {"output_tokens": output_tokens, **(usage or {})}
        payload = {"type": "message_delta", "delta": delta, "usage": final_usage}
        events.append(SSEEvent.of("message_delta", payload))
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
        return cls.tool_uses([(name, input, tool_id)], text=text, **message)

    @classmethod
    def tool_uses(
        cls,
        calls: Sequence[tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], str | None]],
        *,
        text: str | None = None,
        **message: Any,
    ) -> FakeResponse:
        """A reply that calls several tools at once: ``calls`` are ``(name, input)``
        or ``(name, input, tool_id)``; an optional text block comes first."""
        blocks: list[Mapping[str, Any]] = [{"type": "text", "text": text}] if text else []
        for call in calls:
            tool_id = call[2] if len(call) > 2 else None
            block = {"type": "tool_use", "id": tool_id or short_id("toolu"), "name": call[0]}
            blocks.append({**block, "input": dict(call[1])})
        return cls.message(blocks, **message)

    @classmethod
    def thinking(
        cls,
        thinking: str | Sequence[str],
        *,
        text: str = "Done thinking.",
        signature: str | None = None,
        **message: Any,
    ) -> FakeResponse:
        """An extended-thinking block (streamed as ``thinking_delta``, then its
        ``signature_delta``) followed by text."""
        deltas = [thinking] if isinstance(thinking, str) else list(thinking)
        blocks: list[Mapping[str, Any]] = [
            {"type": "thinking", "thinking": deltas, "signature": signature or SIGNATURE},
            {"type": "text", "text": text},
        ]
        return cls.message(blocks, **message)

    @classmethod
    def web_search(
        cls,
        query: str,
        results: Sequence[Mapping[str, Any]],
        answer: str,
        *,
        citations: Sequence[Mapping[str, Any]] = (),
        search_id: str | None = None,
        **message: Any,
    ) -> FakeResponse:
        """A reply that used the server-side web search tool: ``server_tool_use``,
        its ``web_search_tool_result`` (*results*: ``web_search_result`` blocks),
        then *answer* with *citations*; usage counts one web search request."""
        search_id = search_id or short_id("srvtoolu")
        blocks: list[Mapping[str, Any]] = [
            {
                "type": "server_tool_use",
                "id": search_id,
                "name": "web_search",
                "input": {"query": query},
            },
            {"type": "web_search_tool_result", "tool_use_id": search_id, "content": list(results)},
            {"type": "text", "text": answer, "citations": list(citations)},
        ]
        usage = {"server_tool_use": {"web_search_requests": 1}, **message.pop("usage", {})}
        return cls.message(blocks, usage=usage, **message)

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
        req = request_id or short_id("req")
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
        return json.dumps(fold_message(self.events), separators=(",", ":")).encode()

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


def _index_of(events: Sequence[SSEEvent], name: str) -> int:
    return next((i for i, event in enumerate(events) if event.name == name), len(events))


def _pair_event(name: str, payload: Any) -> SSEEvent:
    return SSEEvent(name, payload) if isinstance(payload, str) else SSEEvent.of(name, payload)
