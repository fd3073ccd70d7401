"""The stream-JSON translator Claude Code and Amp share.

Both CLIs print Claude Code's ``--output-format stream-json`` lines: ``system``
(``init``), ``assistant`` and ``user`` messages with content blocks (``text``,
``thinking``, ``tool_use``; ``tool_result``) and one final ``result``
(``success``, ``error_max_turns``, ``error_during_execution``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .._ports import Emit
from ._cli_common import Translator
from ._cli_support import drop_none, token_counts

__all__ = ["StreamJSONTranslator", "blocks"]

#: What the Claude Agent SDK says for a failed result without text of its own.
_DEFAULT_ERRORS: Final = {
    "error_max_turns": "The task exceeded the maximum number of turns allowed.",
    "error_during_execution": "An error occurred during task execution.",
}


def blocks(message: object) -> list[Mapping[str, Any]]:
    """The content blocks of a stream-JSON ``message`` (a string is one text block)."""
    content = message.get("content") if isinstance(message, Mapping) else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


def _result_error(event: Mapping[str, Any]) -> str:
    subtype = event.get("subtype")
    for key in ("error", "result"):
        text = event.get(key)
        if isinstance(text, str) and text:
            return text
    errors = event.get("errors")
    if isinstance(errors, list) and errors:
        return "; ".join(str(error) for error in errors)
    return _DEFAULT_ERRORS.get(str(subtype), f"reported {subtype or 'an error'}")


class StreamJSONTranslator(Translator):
    """One run's stream-JSON lines as normalised events.

    ``run_started`` at ``system``/``init`` (or the first message);
    ``message_streamed`` per text block (``kind: "thinking"`` for thinking);
    ``tool_call_started`` per ``tool_use``; ``tool_call_completed`` or
    ``tool_call_failed`` per ``tool_result``; at a successful ``result``:
    ``message_received``, ``token_usage_updated``, then ``run_completed``. A
    failed ``result`` raises a :class:`CLIFailure` (code from its text: rate
    limit, quota, authentication, ...). The session id is the provider thread
    the next run resumes.
    """

    def __init__(self, provider: str, emit: Emit, warnings: list[str], model: str | None) -> None:
        super().__init__(provider, emit, warnings)
        self.model = model
        self.session_id: str | None = None
        self.started = False
        self.text: list[str] = []
        self.tools: dict[str, tuple[str | None, Any]] = {}
        self.tool_calls: list[dict[str, Any]] = []
        #: Messages whose text already arrived as partial deltas (not repeated).
        self.streamed_ids: set[str] = set()
        # A message's usage is repeated on every line of that message: one per id.
        self.message_usage: dict[str, dict[str, int]] = {}
        self.result: Mapping[str, Any] | None = None

    @property
    def token_usage(self) -> dict[str, int]:
        reported = token_counts(self.result.get("usage")) if self.result else {}
        if not reported:
            for usage in self.message_usage.values():
                for key, value in usage.items():
                    reported[key] = reported.get(key, 0) + value
        return {"input_tokens": 0, "output_tokens": 0, **reported}

    async def handle(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        session_id = event.get("session_id")
        if isinstance(session_id, str) and session_id:
            self.session_id = session_id
        if kind == "system" and event.get("subtype") in ("init", None):
            await self.run_started(event)
        elif kind == "assistant":
            await self.run_started({})
            await self._assistant(event)
        elif kind == "user":
            await self._tool_results(event.get("message"))
        elif kind == "result":
            await self._result(event)
        else:
            await self.other(event)
        # Types added by later CLI versions are ignored rather than fatal.

    async def other(self, event: Mapping[str, Any]) -> None:
        """A line of another type (``stream_event``, ``rate_limit_event``, a
        ``system`` notice other than ``init``, ...)."""

    def started_data(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "model": self.model,
            "cwd": event.get("cwd"),
            "tools": event.get("tools"),
            "mcp_servers": event.get("mcp_servers"),
        }

    async def run_started(self, event: Mapping[str, Any]) -> None:
        if not self.started:
            self.started = True
            await self.emit("run_started", drop_none(self.started_data(event)))

    async def streamed(self, text: object, kind: str = "text") -> None:
        if isinstance(text, str) and text:
            data = {"content": text, "delta": text}
            await self.emit("message_streamed", data if kind == "text" else {**data, "kind": kind})

    async def _assistant(self, event: Mapping[str, Any]) -> None:
        message = event.get("message")
        message_id = message.get("id") if isinstance(message, Mapping) else None
        if isinstance(message, Mapping):
            usage = token_counts(message.get("usage"))
            if usage:
                self.message_usage[str(message_id or len(self.message_usage))] = usage
        repeated = message_id in self.streamed_ids
        error = event.get("error")
        for block in blocks(message):
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(error, str) and isinstance(text, str):
                    # A synthetic message reporting an API error ("rate_limit", ...).
                    self.last_error = f"{error}: {text}"
                if isinstance(text, str) and text:
                    self.text.append(text)
                if not repeated:
                    await self.streamed(text)
            elif kind == "thinking" and not repeated:
                await self.streamed(block.get("thinking"), "thinking")
            elif kind == "tool_use":
                call_id = str(block.get("id") or "unknown")
                name = block.get("name")
                tool_input = block.get("input") if block.get("input") is not None else {}
                self.tools[call_id] = (name if isinstance(name, str) else None, tool_input)
                self.tool_calls.append({"id": call_id, "name": name, "input": tool_input})
                await self.emit(
                    "tool_call_started",
                    {"tool_call_id": call_id, "tool_name": name, "tool_input": tool_input},
                )
            # redacted_thinking carries no text.

    async def _tool_results(self, message: object) -> None:
        # The prompt may be echoed as a user text message: only tool results count.
        for block in blocks(message):
            if block.get("type") != "tool_result":
                continue
            call_id = str(block.get("tool_use_id") or "unknown")
            name, tool_input = self.tools.get(call_id, (None, {}))
            output = block.get("content")
            for call in self.tool_calls:
                if call["id"] == call_id:
                    call["output"] = output
            data = {
                "tool_call_id": call_id,
                "tool_name": name,
                "tool_input": tool_input,
                "tool_output": output,
            }
            if block.get("is_error") is True:
                await self.emit("tool_call_failed", {**data, "is_error": True})
            else:
                await self.emit("tool_call_completed", data)

    async def _result(self, event: Mapping[str, Any]) -> None:
        subtype = event.get("subtype")
        if event.get("is_error") is True or (isinstance(subtype, str) and subtype != "success"):
            extra = event.get("details")
            details = {
                **(dict(extra) if isinstance(extra, Mapping) else {}),
                **drop_none(
                    {
                        "subtype": subtype,
                        "num_turns": event.get("num_turns"),
                        "api_error_status": event.get("api_error_status"),
                        "permission_denials": event.get("permission_denials") or None,
                    }
                ),
            }
            kind = event.get("kind")
            kind = kind if isinstance(kind, str) and kind else str(subtype or "error_result")
            status = event.get("api_error_status")
            hint = f"HTTP {status}" if isinstance(status, int) else None
            raise self.failure(kind, _result_error(event), hint=hint, **details)
        self.result = event
        await self.emit("message_received", {"content": self.final_content(), "role": "assistant"})
        await self.emit("token_usage_updated", self.token_usage)

    def final_content(self) -> str:
        result = self.result.get("result") if self.result else None
        return result if isinstance(result, str) and result else "".join(self.text)

    async def finish(self) -> Mapping[str, Any]:
        if self.result is None:
            # An interrupted turn: the CLI stopped before its result line.
            raise self.failure(
                "interrupted", self.last_error or f"{self.provider} exited without a result message"
            )
        result = self.result
        token_usage = self.token_usage
        cost = result.get("total_cost_usd")
        stop_reason = result.get("stop_reason")
        stop_reason = stop_reason if isinstance(stop_reason, str) else "end_turn"
        data = {
            "stop_reason": stop_reason,
            "session_id": self.session_id,
            "duration_ms": result.get("duration_ms"),
            "num_turns": result.get("num_turns"),
            "token_usage": token_usage,
            "total_cost_usd": cost if isinstance(cost, int | float) else None,
        }
        await self.emit("run_completed", drop_none(data))
        output: dict[str, Any] = {
            "content": self.final_content(),
            "stop_reason": stop_reason,
            "tool_calls": self.tool_calls,
            "session_id": self.session_id,
        }
        if self.warnings:
            output["warnings"] = list(self.warnings)
        return {
            "output": output,
            "token_usage": token_usage,
            "events": [],
            "provider_session": drop_none({"provider_session_id": self.session_id}),
        }
