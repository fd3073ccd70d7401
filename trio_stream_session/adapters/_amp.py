"""``AmpAdapter``: the Amp CLI (``amp --execute --stream-json``) as a Trio subprocess."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from .._ports import Emit
from ._cli_common import CLIAdapter, Translator, drop_none, int_usage
from ._cli_process import DEFAULT_MAX_LINE_BYTES, DEFAULT_TERMINATE_GRACE, CLIFailure

__all__ = ["AmpAdapter"]

_USAGE_KEYS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def _blocks(message: object) -> list[Mapping[str, Any]]:
    content = message.get("content") if isinstance(message, Mapping) else None
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, Mapping)]
    return []


class _AmpTranslator(Translator):
    def __init__(self, emit: Emit, warnings: list[str], model: str | None) -> None:
        super().__init__("amp", emit, warnings)
        self.model = model
        self.session_id: str | None = None
        self.started = False
        self.text: list[str] = []
        self.tools: dict[str, tuple[str | None, Any]] = {}
        self.tool_calls: list[dict[str, Any]] = []
        # Amp repeats a message's usage on every line of that message: keep one per id.
        self.message_usage: dict[str, dict[str, int]] = {}
        self.result: Mapping[str, Any] | None = None

    @property
    def token_usage(self) -> dict[str, int]:
        reported = int_usage(self.result.get("usage"), _USAGE_KEYS) if self.result else {}
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
        if kind == "system":
            await self._run_started(event)
        elif kind == "assistant":
            await self._run_started(event)
            await self._assistant(event.get("message"))
        elif kind == "user":
            await self._tool_results(event.get("message"))
        elif kind == "result":
            await self._result(event)
        # Other types (added by later Amp versions) are ignored rather than fatal.

    async def _run_started(self, event: Mapping[str, Any]) -> None:
        if self.started:
            return
        self.started = True
        data = {
            "session_id": self.session_id,
            "model": self.model,
            "cwd": event.get("cwd"),
            "tools": event.get("tools"),
            "mcp_servers": event.get("mcp_servers"),
        }
        await self.emit("run_started", drop_none(data))

    async def _assistant(self, message: object) -> None:
        if isinstance(message, Mapping):
            usage = int_usage(message.get("usage"), _USAGE_KEYS)
            if usage:
                self.message_usage[str(message.get("id") or len(self.message_usage))] = usage
        for block in _blocks(message):
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text:
                    self.text.append(text)
                    await self.emit("message_streamed", {"content": text, "delta": text})
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
            # thinking blocks carry no event of their own.

    async def _tool_results(self, message: object) -> None:
        for block in _blocks(message):
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
            raise self._failure(event)
        self.result = event
        await self.emit("message_received", {"content": self._final_content(), "role": "assistant"})
        await self.emit("token_usage_updated", self.token_usage)

    def _final_content(self) -> str:
        result = self.result.get("result") if self.result else None
        return result if isinstance(result, str) and result else "".join(self.text)

    def _failure(self, event: Mapping[str, Any]) -> CLIFailure:
        error = event.get("error")
        subtype = event.get("subtype")
        message = (
            error if isinstance(error, str) and error else f"amp reported {subtype or 'an error'}"
        )
        kind = event.get("kind")
        extra = event.get("details")
        details = {
            **(dict(extra) if isinstance(extra, Mapping) else {}),
            **drop_none(
                {"subtype": subtype, "permission_denials": event.get("permission_denials")}
            ),
        }
        exit_code = event.get("exit_code")
        return CLIFailure(
            kind if isinstance(kind, str) and kind else "protocol_error",
            message,
            exit_code=exit_code if isinstance(exit_code, int) else None,
            details=details,
        )

    async def finish(self) -> Mapping[str, Any]:
        if self.result is None:
            raise CLIFailure("protocol_error", "amp exited without a result message")
        result = self.result
        token_usage = self.token_usage
        cost = result.get("total_cost_usd")
        data = {
            "stop_reason": "end_turn",
            "session_id": self.session_id,
            "duration_ms": result.get("duration_ms"),
            "num_turns": result.get("num_turns"),
            "token_usage": token_usage,
            "total_cost_usd": cost if isinstance(cost, int | float) else None,
        }
        await self.emit("run_completed", drop_none(data))
        output: dict[str, Any] = {
            "content": self._final_content(),
            "stop_reason": "end_turn",
            "tool_calls": self.tool_calls,
            "session_id": self.session_id,
        }
        if self.warnings:
            output["warnings"] = list(self.warnings)
        return {"output": output, "token_usage": token_usage, "events": []}


class AmpAdapter(CLIAdapter):
    """Runs the Amp CLI, ``amp --execute --stream-json ...``, once per run.

    The prompt (transcript replay, then the current prompt) goes to the CLI
    on stdin; the API key only through the environment (``AMP_API_KEY``; with
    ``api_key=None`` the CLI uses the inherited environment or ``amp login``).

    Options: ``executable`` (a path or name, default ``"amp"``, or a list
    such as ``[sys.executable, "fake_amp.py"]``), ``cwd``, ``model`` (reported
    in ``run_started`` only: Amp picks its model by ``mode``), ``mode``
    (``--mode``), ``permission_mode`` (``"full_auto"`` or
    ``"dangerously_skip_permissions"`` -> ``--dangerously-allow-all``),
    ``mcp_config`` (a mapping, passed as ``--mcp-config`` JSON), ``thinking``
    (``--stream-json-thinking``), ``extra_args``, ``api_key``, ``env``,
    ``max_line_bytes`` (default 1 MiB) and ``terminate_grace`` (default 2 s).

    >>> AmpAdapter(api_key="amp-key-not-shown")
    AmpAdapter(executable=['amp'], model=None, cwd=None)
    """

    provider: ClassVar[str] = "amp"
    default_executable: ClassVar[str] = "amp"
    api_key_env: ClassVar[tuple[str, ...]] = ("AMP_API_KEY",)

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | Sequence[str] = "amp",
        cwd: str | os.PathLike[str] | None = None,
        model: str | None = None,
        mode: str | None = None,
        permission_mode: str | None = None,
        mcp_config: Mapping[str, Any] | None = None,
        thinking: bool = False,
        extra_args: Sequence[str] = (),
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        terminate_grace: float = DEFAULT_TERMINATE_GRACE,
    ) -> None:
        super().__init__(
            executable=executable,
            cwd=cwd,
            model=model,
            permission_mode=permission_mode,
            api_key=api_key,
            env=env,
            extra_args=extra_args,
            max_line_bytes=max_line_bytes,
            terminate_grace=terminate_grace,
        )
        self.mode = mode
        self.mcp_config = None if mcp_config is None else dict(mcp_config)
        self.thinking = thinking

    def _arguments(self, opts: Mapping[str, Any]) -> list[str]:
        args = ["--execute", "--stream-json"]
        if self.thinking:
            args.append("--stream-json-thinking")
        if self.permission_mode in ("full_auto", "dangerously_skip_permissions"):
            args.append("--dangerously-allow-all")
        if self.mode:
            args += ["--mode", self.mode]
        if self.mcp_config is not None:
            args += ["--mcp-config", json.dumps(self.mcp_config, separators=(",", ":"))]
        return [*args, *self.extra_args]

    def _translator(self, emit: Emit, warnings: list[str]) -> Translator:
        return _AmpTranslator(emit, warnings, self.model)
