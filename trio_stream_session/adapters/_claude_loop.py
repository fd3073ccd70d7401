"""The agent loop of :class:`ClaudeAdapter`: model turns, and the tools run between them.

One run is a sequence of model turns (one streaming request each). When a
turn stops for ``tool_use`` and every requested tool is one the adapter can
run, all the calls of that turn run concurrently in a nursery inside the run's
cancel scope, their ``tool_result`` blocks (ids matched, failures as
``is_error``) go back in a user message, and the next turn starts. A turn that
stops for ``pause_turn`` is continued with the same conversation. Any other
stop reason ends the run. Cancelling the run cancels the running tools; a sync
tool's thread is waited for, never abandoned, so nothing outlives ``execute``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from .._errors import SessionError
from .._ports import Emit
from .._redact import redact_text, redact_value
from ._claude_history import echo_blocks
from ._claude_message import MessageAccumulator, add_usage, text_of
from ._tools import ToolCall, ToolOutcome, Toolset, invoke

__all__ = ["Approve", "LoopSettings", "StreamTurn", "run_loop"]

#: ``approve(call) -> bool`` (or an awaitable of one): may the call run?
Approve = Callable[[ToolCall], object]
#: Streams one model turn for *messages* (emitting its events) and returns it.
StreamTurn = Callable[[list[dict[str, Any]], int, Mapping[str, int]], Awaitable[MessageAccumulator]]

DENIED = "Permission to run this tool was denied"


@dataclass(frozen=True, slots=True)
class LoopSettings:
    """What one run's loop needs: the tools, the limits, the approval callback."""

    toolset: Toolset
    max_turns: int
    tool_timeout: float | None
    approve: Approve | None


def _runnable(toolset: Toolset, calls: list[dict[str, Any]]) -> bool:
    """Whether the adapter runs this turn's calls itself: it has tools of its own
    and none of the calls is for a pass-through (dict) definition."""
    return bool(toolset.tools) and not any(toolset.is_passthrough(c.get("name")) for c in calls)


async def _ask(approve: Approve, call: ToolCall) -> tuple[bool, str | None]:
    """``(granted, reason)``. An ``approve`` that raises denies the call (fail closed)."""
    try:
        answer = approve(call)
        if inspect.isawaitable(answer):
            answer = await answer
    except Exception as exc:
        return False, redact_text(f"the approval check raised {type(exc).__name__}: {exc}")
    return bool(answer), None


class _Turn:
    """The tool calls of one model turn, run concurrently; their events serialised."""

    def __init__(self, settings: LoopSettings, emit: Emit) -> None:
        self._settings = settings
        self._emit = emit
        self._lock = trio.Lock()
        self.records: list[dict[str, Any]] = []

    async def _send(self, kind: str, data: dict[str, Any]) -> None:
        async with self._lock:
            await self._emit({"type": kind, "data": data})

    async def run(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run *calls* concurrently; their ``tool_result`` blocks, in the calls' order."""
        outcomes: list[ToolOutcome | None] = [None] * len(calls)
        async with trio.open_nursery() as nursery:
            for index, block in enumerate(calls):
                call = ToolCall(str(block.get("id")), str(block.get("name")), block["input"])
                record: dict[str, Any] = {"id": call.id, "name": call.name, "input": call.input}
                self.records.append(record)
                nursery.start_soon(
                    self._one, call, record, outcomes, index, name=f"tool:{call.name}"
                )
        results = []
        for block, outcome in zip(calls, outcomes, strict=True):
            assert outcome is not None
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": block.get("id"),
                "content": outcome.content,
            }
            if outcome.error is not None:
                result["is_error"] = True
            results.append(result)
        return results

    async def _one(
        self,
        call: ToolCall,
        record: dict[str, Any],
        outcomes: list[ToolOutcome | None],
        index: int,
    ) -> None:
        ids = {"tool_call_id": call.id, "tool_name": call.name}
        outcome = await self._outcome(call, ids, record)
        outcomes[index] = outcome
        if outcome.error is None:
            record.update(status="completed", output=outcome.output)
            await self._send("tool_call_completed", {**ids, "tool_output": outcome.output})
        else:
            record.setdefault("status", "failed")
            record["error"] = outcome.error
            failed: dict[str, Any] = {**ids, "error_message": outcome.error}
            if record["status"] == "denied":
                failed["denied"] = True
            await self._send("tool_call_failed", failed)

    async def _outcome(
        self, call: ToolCall, ids: dict[str, Any], record: dict[str, Any]
    ) -> ToolOutcome:
        tools = self._settings.toolset.tools
        tool = tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(tools)) or "none"
            return ToolOutcome(error=f"Unknown tool {call.name!r} (available: {known})")
        approve = self._settings.approve
        if approve is not None:
            policy = getattr(approve, "__name__", type(approve).__name__)
            requested = {**ids, "tool_input": redact_value(call.input), "policy_name": policy}
            await self._send("tool_approval_requested", requested)
            granted, reason = await _ask(approve, call)
            if not granted:
                record["status"] = "denied"
                await self._send("tool_approval_denied", {**ids, "reason": reason})
                return ToolOutcome(error=DENIED + (f": {reason}" if reason else ""))
            await self._send("tool_approval_granted", ids)
        return await invoke(tool, call, self._settings.tool_timeout)


def _add_assistant(
    conversation: list[dict[str, Any]], added: list[dict[str, Any]], blocks: Any
) -> None:
    """Append the assistant's turn; after a ``pause_turn`` it continues the same message."""
    if added and added[-1]["role"] == "assistant":
        merged = {"role": "assistant", "content": [*added[-1]["content"], *blocks]}
        added[-1] = conversation[-1] = merged
    elif blocks:
        message = {"role": "assistant", "content": blocks}
        conversation.append(message)
        added.append(message)


async def run_loop(
    messages: list[dict[str, Any]], settings: LoopSettings, stream_turn: StreamTurn, emit: Emit
) -> dict[str, Any]:
    """Run turns until the model is done; the ``execute`` result of the run.

    Raises ``SessionError("policy_violation")`` when the model still wants to go
    on (tools or ``pause_turn``) after ``max_turns`` turns; the calls of that
    last turn are not run (each gets ``tool_call_failed``).
    """
    conversation = list(messages)
    added: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    usage: dict[str, int] = {}
    turn = 0
    while True:
        turn += 1
        message = await stream_turn(conversation, turn, usage)
        usage = add_usage(usage, message.turn_usage())
        _add_assistant(conversation, added, echo_blocks(message.content))
        reason = message.stop_reason
        calls = message.tool_uses
        tools_wanted = reason == "tool_use" and bool(calls) and _runnable(settings.toolset, calls)
        if reason != "pause_turn" and not tools_wanted:
            records += [{k: c.get(k) for k in ("id", "name", "input")} for c in calls]
            break
        if turn >= settings.max_turns:
            await _refuse(calls, settings.max_turns, emit)
            raise SessionError(
                "policy_violation",
                f"Claude still wanted to continue after max_turns={settings.max_turns} model "
                "turns; raise max_turns to let the run go on",
                details={"limit": "max_turns", "max_turns": settings.max_turns, "turns": turn},
            )
        if tools_wanted:
            tools = _Turn(settings, emit)
            results = await tools.run(calls)
            records += tools.records
            sent = {"role": "user", "content": results}
            conversation.append(sent)
            added.append(sent)
            data = {"role": "user", "content": redact_value(results), "kind": "tool_results"}
            await emit({"type": "message_sent", "data": {**data, "turn": turn}})
    final = {k: message.message.get(k) for k in ("stop_reason", "stop_sequence", "stop_details")}
    await emit({"type": "run_completed", "data": {**final, "token_usage": usage, "turns": turn}})
    last = added[-1]["content"] if added and added[-1]["role"] == "assistant" else []
    output = {
        "content": text_of(last),
        **final,
        "tool_calls": records,
        "messages": added,
        "turns": turn,
    }
    return {"output": output, "token_usage": usage, "events": []}


async def _refuse(calls: list[dict[str, Any]], max_turns: int, emit: Emit) -> None:
    for call in calls:
        data = {
            "tool_call_id": call.get("id"),
            "tool_name": call.get("name"),
            "error_message": f"Not run: the run reached max_turns={max_turns}",
        }
        await emit({"type": "tool_call_failed", "data": data})
