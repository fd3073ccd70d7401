"""Content blocks as the Messages API streams them, and back: the fake server's wire format.

:func:`block_events` turns one content block (as a non-streaming response
would hold it) into the ``content_block_start`` / ``_delta`` / ``_stop``
events the real API sends for it; :func:`fold_message` turns a whole stream
back into the ``Message`` object of a non-streaming reply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["SIGNATURE", "SSEEvent", "block_events", "fold_message", "short_id"]

#: The thinking signature used when a test gives none (the API docs' example prefix).
SIGNATURE: Final = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
#: Blocks whose ``input`` is streamed as ``input_json_delta`` pieces.
_INPUT_BLOCKS: Final = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
#: Blocks the API sends whole, in ``content_block_start``, besides ``*_tool_result``.
_WHOLE_BLOCKS: Final = frozenset({"redacted_thinking", "container_upload"})


def short_id(prefix: str) -> str:
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


def _start_and_deltas(block: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kind = block.get("type")
    if kind == "text":
        deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations", ())]
        deltas += [{"type": "text_delta", "text": t} for t in _pieces(block.get("text"))]
        return {"type": "text", "text": ""}, deltas
    if kind in _INPUT_BLOCKS:
        start = {k: v for k, v in block.items() if k != "input"}
        start.setdefault("id", short_id("srvtoolu" if kind != "tool_use" else "toolu"))
        pieces = _json_pieces(block.get("input", {}))
        return {**start, "input": {}}, [
            {"type": "input_json_delta", "partial_json": p} for p in pieces
        ]
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": t} for t in _pieces(block.get("thinking"))]
        deltas.append({"type": "signature_delta", "signature": block.get("signature") or SIGNATURE})
        return {"type": "thinking", "thinking": "", "signature": ""}, deltas
    if isinstance(kind, str) and (kind in _WHOLE_BLOCKS or kind.endswith("_tool_result")):
        return dict(block), []
    raise ValueError(f"unsupported content block type: {kind!r}")


def block_events(index: int, block: Mapping[str, Any]) -> list[SSEEvent]:
    """The stream events of content block *index*.

    ``text`` (``text`` a string or a list of deltas; its ``citations`` go
    first, as ``citations_delta``, as the API sends them), ``thinking`` (a
    ``signature_delta`` last),
    ``tool_use`` / ``server_tool_use`` / ``mcp_tool_use`` (input in pieces),
    ``redacted_thinking`` and ``*_tool_result`` blocks (sent whole).
    """
    start, deltas = _start_and_deltas(block)
    head = {"type": "content_block_start", "index": index, "content_block": start}
    events = [SSEEvent.of("content_block_start", head)]
    events.extend(
        SSEEvent.of(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
        )
        for d in deltas
    )
    events.append(SSEEvent.of("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _apply_delta(block: dict[str, Any], delta: Mapping[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta["text"]
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta["thinking"]
    elif kind == "signature_delta":
        block["signature"] = delta["signature"]
    elif kind == "citations_delta":
        block["citations"] = [*(block.get("citations") or ()), delta["citation"]]
    elif kind == "input_json_delta":
        block["_json"] += delta["partial_json"]


def fold_message(events: Sequence[SSEEvent]) -> dict[str, Any]:
    """The ``Message`` a complete, well-formed stream of *events* adds up to."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    for event in events:
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
        if block["type"] in _INPUT_BLOCKS and raw:
            block["input"] = json.loads(raw)
        content.append(block)
    message["content"] = content
    return message
