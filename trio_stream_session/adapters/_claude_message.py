"""One streamed Claude message (one model turn): its events, its exact content blocks, its usage.

:class:`MessageAccumulator` is a plain synchronous state machine fed with the
decoded payloads of one Messages-API stream. It rebuilds the message exactly
as the API would return it without streaming (every content block with every
field the API sent: text with ``citations``, ``thinking`` with its
``signature``, ``redacted_thinking``, ``tool_use``, ``server_tool_use`` and
server-tool results, ``compaction``, block types newer than this module) so
that the blocks can be sent back unchanged, and maps the stream to events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ._claude_events import StreamDataError, usage_keys

__all__ = ["MessageAccumulator", "add_usage", "flat_usage", "text_of"]

#: Block types whose ``input`` arrives as ``input_json_delta`` pieces.
_INPUT_BLOCKS: Final = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
#: Tool-use blocks the API runs itself (their results arrive in the same message).
_SERVER_BLOCKS: Final = frozenset({"server_tool_use", "mcp_tool_use"})
#: Message fields reported in ``message_received`` under their own names.
_MESSAGE_FIELDS: Final = ("model", "stop_reason", "stop_sequence", "stop_details")


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def flat_usage(raw: Mapping[str, Any]) -> dict[str, int]:
    """The billed, summable token usage of one turn from the API's ``usage`` object.

    The four keys of :data:`usage_keys` always (0 when absent); with
    compaction, the sum over ``usage.iterations`` (the top level then covers
    only the final sampling step); the counts of ``server_tool_use``
    (``web_search_requests``, ...) and of ``cache_creation``
    (``ephemeral_1h_input_tokens``, ...) under their own names.
    """
    iterations = [i for i in raw.get("iterations") or () if isinstance(i, Mapping)]
    parts = iterations or [raw]
    usage = {key: sum(_int(part.get(key)) or 0 for part in parts) for key in usage_keys}
    for group in ("server_tool_use", "cache_creation"):
        for key, value in _mapping(raw.get(group)).items():
            count = _int(value)
            if count is not None:
                usage[key] = count
    return usage


def add_usage(total: Mapping[str, int], turn: Mapping[str, int]) -> dict[str, int]:
    """*total* plus *turn*, key by key."""
    summed = dict(total)
    for key, value in turn.items():
        summed[key] = summed.get(key, 0) + value
    return summed


def text_of(blocks: list[dict[str, Any]]) -> str:
    """The text of a message: its ``text`` blocks joined."""
    return "".join(b["text"] for b in blocks if b.get("type") == "text" and "text" in b)


def _merge_delta(block: dict[str, Any], delta: Mapping[str, Any]) -> None:
    """A delta type this module has no rule for (``compaction_delta``, newer ones):
    string fields are appended, anything else replaces."""
    for key, value in delta.items():
        if key == "type":
            continue
        current = block.get(key)
        if isinstance(value, str) and isinstance(current, str | None):
            block[key] = (current or "") + value
        else:
            block[key] = value


class MessageAccumulator:
    """Maps one streamed message to events; keeps the message.

    :meth:`handle` takes one decoded payload and returns the event mappings to
    emit (``{"type": ..., "data": {...}}``), in order:

    * ``message_start`` -> ``run_started {model, provider_session_id}`` (first
      turn of a run only)
    * ``text_delta`` / ``thinking_delta`` -> ``message_streamed {delta,
      content, kind}`` (``content`` is the chunk, as in the reference adapter)
    * a finished ``tool_use`` block -> ``tool_call_started {tool_call_id,
      tool_name, tool_input}``; a finished ``server_tool_use`` block the same
      with ``server_tool: true``, and its result block ``tool_call_completed``
      (``tool_output`` = the result's ``content``) or ``tool_call_failed``
      (an ``*_error`` result: ``error_message`` = its ``error_code``)
    * ``message_stop`` -> ``token_usage_updated`` (the run's totals so far,
      ``turn``, ``turn_usage``) and ``message_received {content, role,
      content_blocks, message_id, model, stop_reason, stop_sequence,
      stop_details, usage, turn, ...}`` with every other message field the
      API sent (``container``, ...) under its own name.

    Tool input that is not JSON raises :class:`StreamDataError`
    (``parse_error``).
    """

    def __init__(self, *, turn: int = 1, usage_before: Mapping[str, int] | None = None) -> None:
        self.turn = turn
        self.usage_before = dict(usage_before or {})
        self.message: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.tool_uses: list[dict[str, Any]] = []
        self.started = False
        self.stopped = False
        self._json: dict[int, list[str]] = {}
        self._server_names: dict[str, str] = {}

    # -- results --------------------------------------------------------------------

    @property
    def content(self) -> list[dict[str, Any]]:
        """The message's content blocks, in order, as the API sent them."""
        return [self.blocks[i] for i in sorted(self.blocks)]

    @property
    def stop_reason(self) -> str | None:
        reason = self.message.get("stop_reason")
        return reason if isinstance(reason, str) else None

    @property
    def model(self) -> str | None:
        model = self.message.get("model")
        return model if isinstance(model, str) else None

    def turn_usage(self) -> dict[str, int]:
        return flat_usage(self.usage)

    # -- events ---------------------------------------------------------------------

    def handle(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        if self.stopped:
            return []
        kind = payload.get("type")
        if kind == "content_block_delta":
            return self._block_delta(payload)
        if kind == "content_block_start":
            self._block_start(payload)
            return []
        if kind == "content_block_stop":
            return self._block_stop(payload)
        if kind == "message_start":
            return self._message_start(_mapping(payload.get("message")))
        if kind == "message_delta":
            self._message_delta(payload)
            return []
        if kind == "message_stop":
            return self._message_stop()
        return []  # ping and event types newer than this module

    def _message_start(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.usage.update(_mapping(message.get("usage")))
        if self.started:
            return []
        self.started = True
        self.message = {k: v for k, v in message.items() if k not in ("content", "usage")}
        if self.turn > 1:
            return []
        data = {"model": self.model, "provider_session_id": self.message.get("id")}
        return [{"type": "run_started", "data": data}]

    def _block_start(self, payload: Mapping[str, Any]) -> None:
        index = _index(payload)
        block = dict(_mapping(payload.get("content_block")))
        self.blocks[index] = block
        if block.get("type") in _INPUT_BLOCKS:
            self._json[index] = []

    def _block_delta(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        block = self.blocks.get(_index(payload))
        delta = _mapping(payload.get("delta"))
        if block is None:
            return []
        kind = delta.get("type")
        if kind == "text_delta" and isinstance(delta.get("text"), str):
            block["text"] = block.get("text", "") + delta["text"]
            return [_streamed(delta["text"], "text")]
        if kind == "thinking_delta" and isinstance(delta.get("thinking"), str):
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
            return [_streamed(delta["thinking"], "thinking")] if delta["thinking"] else []
        if kind == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            self._json.setdefault(_index(payload), []).append(delta["partial_json"])
        elif kind == "signature_delta":
            block["signature"] = delta.get("signature")
        elif kind == "citations_delta":
            block["citations"] = [*(block.get("citations") or ()), delta.get("citation")]
        else:
            _merge_delta(block, delta)
        return []

    def _block_stop(self, payload: Mapping[str, Any]) -> list[dict[str, Any]]:
        index = _index(payload)
        block = self.blocks.get(index)
        if block is None:
            return []
        kind = block.get("type")
        if kind in _INPUT_BLOCKS:
            block["input"] = _parsed_input(block, self._json.pop(index, []))
            data = {
                "tool_call_id": block.get("id"),
                "tool_name": block.get("name"),
                "tool_input": block["input"],
            }
            if kind == "tool_use":
                self.tool_uses.append(block)
            else:
                data["server_tool"] = True
                self._server_names[str(block.get("id"))] = str(block.get("name"))
            return [{"type": "tool_call_started", "data": data}]
        if isinstance(kind, str) and kind.endswith("_tool_result") and "tool_use_id" in block:
            return [self._server_result(kind, block)]
        return []

    def _server_result(self, kind: str, block: Mapping[str, Any]) -> dict[str, Any]:
        call_id = block.get("tool_use_id")
        name = self._server_names.get(str(call_id), kind.removesuffix("_tool_result"))
        data: dict[str, Any] = {"tool_call_id": call_id, "tool_name": name, "server_tool": True}
        content = block.get("content")
        error_type = _mapping(content).get("type")
        if isinstance(error_type, str) and error_type.endswith("_error"):
            code = _mapping(content).get("error_code")
            data["error_message"] = str(code or error_type)
            return {"type": "tool_call_failed", "data": data}
        data["tool_output"] = content
        return {"type": "tool_call_completed", "data": data}

    def _message_delta(self, payload: Mapping[str, Any]) -> None:
        self.message.update(_mapping(payload.get("delta")))
        self.usage.update(_mapping(payload.get("usage")))

    def _message_stop(self) -> list[dict[str, Any]]:
        self.stopped = True
        turn_usage = self.turn_usage()
        totals = add_usage(self.usage_before, turn_usage)
        usage_data = {**totals, "turn": self.turn, "turn_usage": turn_usage}
        blocks = self.content
        data: dict[str, Any] = {
            "content": text_of(blocks),
            "role": "assistant",
            "content_blocks": blocks,
            "message_id": self.message.get("id"),
        }
        data.update({k: self.message.get(k) for k in _MESSAGE_FIELDS})
        data.update(
            {k: v for k, v in self.message.items() if k not in data and k not in ("id", "type")}
        )
        data["usage"] = dict(self.usage)
        data["turn"] = self.turn
        return [
            {"type": "token_usage_updated", "data": usage_data},
            {"type": "message_received", "data": data},
        ]


def _index(payload: Mapping[str, Any]) -> int:
    index = payload.get("index")
    return index if isinstance(index, int) else -1


def _parsed_input(block: Mapping[str, Any], parts: list[str]) -> Any:
    text = "".join(parts)
    if not text.strip():
        return block.get("input") or {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise StreamDataError(
            "parse_error",
            f"Claude API sent tool input that is not JSON: {exc}",
            {"tool_name": block.get("name"), "data": text[:200]},
        ) from exc


def _streamed(delta: str, kind: str) -> dict[str, Any]:
    return {"type": "message_streamed", "data": {"delta": delta, "content": delta, "kind": kind}}
