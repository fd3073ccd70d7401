"""``CodexAdapter``: the OpenAI Codex CLI (``codex exec --json``) as a Trio subprocess."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from .._errors import ErrorCode
from .._ports import Emit
from ._cli_common import CLIAdapter, Translator, drop_none, int_usage
from ._cli_process import DEFAULT_MAX_LINE_BYTES, DEFAULT_TERMINATE_GRACE, CLIFailure

__all__ = ["CodexAdapter"]

#: Item types that are conversation, not tool calls.
_NOT_TOOLS: Final = frozenset(
    {
        "agent_message",
        "reasoning",
        "user_message",
        "image_view",
        "review_mode",
        "todo_list",
        "error",
        "ghost_snapshot",
        "compaction",
        "plan",
    }
)
_FAILED: Final = frozenset({"failed", "declined"})
_ITEM_META: Final = frozenset({"id", "item_id", "type", "output", "result", "error", "status"})
#: Codex prints transient stream retries as top-level ``error`` events, then goes on.
_RECONNECT: Final = re.compile(r"^Reconnecting\.\.\. \d+/\d+")
_CAMEL: Final = re.compile(r"(?<!^)(?=[A-Z])")
_USAGE_KEYS: Final = ("input_tokens", "output_tokens", "cached_input_tokens")


def _snake(name: object) -> str:
    return _CAMEL.sub("_", name).lower() if isinstance(name, str) else ""


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _tool_output(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple):
        return {"items": list(value)}
    return {} if value is None else {"value": value}


def _tool(item: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """``(tool_name, tool_input, tool_output)`` for a tool item, None for other items."""
    kind = _snake(item.get("type"))
    status = item.get("status")
    if kind in _NOT_TOOLS or not kind:
        return None
    if kind == "command_execution":
        output = {"output": item.get("aggregated_output"), "exit_code": item.get("exit_code")}
        output.update(drop_none({"status": status, "duration_ms": item.get("duration_ms")}))
        return "bash", drop_none({"command": item.get("command"), "cwd": item.get("cwd")}), output
    if kind == "file_change":
        changes = item.get("changes") or []
        return (
            "apply_patch",
            {"changes": changes},
            drop_none({"status": status, "changes": changes}),
        )
    if kind == "mcp_tool_call":
        server, tool = item.get("server"), item.get("tool")
        name = f"{server}:{tool}" if server and tool else (tool or "mcp_tool")
        error = item.get("error")
        result = error if status == "failed" and error else item.get("result")
        return str(name), _mapping(item.get("arguments")), _tool_output(result)
    tool_input = {k: v for k, v in item.items() if k not in _ITEM_META}
    output = drop_none({k: item.get(k) for k in ("output", "result", "error", "status")})
    return kind, tool_input, output


def _failure_message(item: Mapping[str, Any], output: Mapping[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    if item.get("status") == "declined":
        return "declined"
    if output.get("exit_code") is not None:
        return f"exit code {output['exit_code']}"
    return str(item.get("status") or "failed")


class _CodexTranslator(Translator):
    def __init__(self, emit: Emit, warnings: list[str], model: str | None) -> None:
        super().__init__("codex", emit, warnings)
        self.model = model
        self.thread_id: str | None = None
        self.started = False
        self.messages: dict[str, str] = {}
        self.active_tools: dict[str, tuple[str, dict[str, Any]]] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.usage: dict[str, int] = {}
        self.turns_completed = 0

    @property
    def content(self) -> str:
        """The last agent message in arrival order (Codex's final answer)."""
        return next(reversed(self.messages.values()), "")

    async def handle(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            await self._thread_started(event)
        elif kind in ("item.started", "item.completed"):
            item = event.get("item")
            if isinstance(item, Mapping):
                await self._item(item, completed=kind == "item.completed")
        elif kind == "turn.completed":
            await self._turn_completed(event)
        elif kind == "turn.failed":
            raise self._turn_failed(event.get("error"))
        elif kind == "error":
            message = str(event.get("message") or "Unknown error")
            if not _RECONNECT.match(message):
                raise CLIFailure("protocol_error", message)
            self.warn(f"codex: {message}")
        # turn.started, item.updated, and types added in later Codex versions carry
        # nothing we map; ignoring them keeps older adapters working with newer CLIs.

    async def _thread_started(self, event: Mapping[str, Any]) -> None:
        thread_id = event.get("thread_id")
        self.thread_id = thread_id if isinstance(thread_id, str) else self.thread_id
        await self._start()

    async def _start(self) -> None:
        # Once, before anything else, even if a CLI version skipped thread.started.
        if not self.started:
            self.started = True
            await self.emit(
                "run_started", drop_none({"thread_id": self.thread_id, "model": self.model})
            )

    async def _item(self, item: Mapping[str, Any], *, completed: bool) -> None:
        await self._start()
        item_id = str(item.get("id") or "unknown")
        kind = _snake(item.get("type"))
        if kind == "agent_message":
            text = item.get("text")
            if completed and isinstance(text, str) and text:
                self.messages.pop(item_id, None)
                self.messages[item_id] = text
                await self.emit(
                    "message_streamed",
                    drop_none({"content": text, "delta": text, "thread_id": self.thread_id}),
                )
            return
        if kind == "error":
            self.warn(f"codex: {item.get('message')}")
            return
        tool = _tool(item)
        if tool is None:
            return
        name, tool_input, output = tool
        if item_id not in self.active_tools:
            # Codex reports some items (file changes, web searches) only when completed.
            self.active_tools[item_id] = (name, tool_input)
            await self.emit(
                "tool_call_started",
                drop_none(
                    {
                        "tool_call_id": item_id,
                        "tool_name": name,
                        "tool_input": tool_input,
                        "thread_id": self.thread_id,
                    }
                ),
            )
        if not completed:
            return
        name, tool_input = self.active_tools.pop(item_id)
        failed = item.get("status") in _FAILED
        data: dict[str, Any] = {
            "tool_call_id": item_id,
            "tool_name": name,
            "tool_input": tool_input,
            "tool_output": output,
        }
        if failed:
            data["error_message"] = _failure_message(item, output)
        data["thread_id"] = self.thread_id
        self.tool_calls.append({"id": item_id, "name": name, "input": tool_input, "output": output})
        await self.emit("tool_call_failed" if failed else "tool_call_completed", drop_none(data))

    async def _turn_completed(self, event: Mapping[str, Any]) -> None:
        await self._start()
        self.turns_completed += 1
        for key, value in int_usage(event.get("usage"), _USAGE_KEYS).items():
            self.usage[key] = self.usage.get(key, 0) + value
        await self.emit(
            "message_received",
            drop_none({"content": self.content, "role": "assistant", "thread_id": self.thread_id}),
        )
        if self.usage:
            usage = {"input_tokens": 0, "output_tokens": 0, **self.usage}
            await self.emit(
                "token_usage_updated", drop_none({**usage, "thread_id": self.thread_id})
            )

    def _turn_failed(self, error: object) -> CLIFailure:
        details = _mapping(error)
        message = details.get("message")
        text = message if isinstance(message, str) and message else "Turn failed"
        code = ErrorCode.PROVIDER_ERROR
        marker = f"{details.get('type')} {details.get('code')}".lower()
        if details.get("status") == 429 or "rate_limit" in marker:
            code = ErrorCode.PROVIDER_RATE_LIMITED
        return CLIFailure("protocol_error", text, code=code, details={"error": details})

    async def finish(self) -> Mapping[str, Any]:
        if not self.turns_completed:
            raise CLIFailure(
                "protocol_error", "codex exited without completing the turn (no turn.completed)"
            )
        token_usage = {"input_tokens": 0, "output_tokens": 0, **self.usage}
        await self.emit(
            "run_completed",
            drop_none(
                {"stop_reason": "end_turn", "thread_id": self.thread_id, "token_usage": token_usage}
            ),
        )
        output: dict[str, Any] = {
            "content": self.content,
            "stop_reason": "end_turn",
            "tool_calls": self.tool_calls,
            "thread_id": self.thread_id,
        }
        if self.warnings:
            output["warnings"] = list(self.warnings)
        return {"output": output, "token_usage": token_usage, "events": []}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a valid TOML basic string.
    return json.dumps(value if isinstance(value, str) else str(value))


class CodexAdapter(CLIAdapter):
    """Runs the Codex CLI, ``codex exec --json ... -``, once per run.

    The prompt (transcript replay, then the current prompt) goes to the CLI
    on stdin; the API key only through the environment (``CODEX_API_KEY`` and
    ``OPENAI_API_KEY``; with ``api_key=None`` the CLI uses whatever the
    inherited environment or ``codex login`` provides).

    Options: ``executable`` (a path or name, default ``"codex"``, or a list
    such as ``[sys.executable, "fake_codex.py"]``), ``cwd``, ``model``,
    ``permission_mode`` (``"full_auto"`` -> ``--full-auto``,
    ``"dangerously_skip_permissions"`` ->
    ``--dangerously-bypass-approvals-and-sandbox``), ``sandbox``
    (``--sandbox``), ``reasoning_effort``, ``config`` (``--config key=value``
    pairs), ``skip_git_repo_check``, ``extra_args``, ``api_key``, ``env``
    (extra variables for the child), ``max_line_bytes`` (default 1 MiB) and
    ``terminate_grace`` (seconds between SIGTERM and SIGKILL, default 2).

    >>> CodexAdapter(model="o3", api_key="sk-proj-not-shown")
    CodexAdapter(executable=['codex'], model='o3', cwd=None)
    """

    provider: ClassVar[str] = "codex"
    default_executable: ClassVar[str] = "codex"
    api_key_env: ClassVar[tuple[str, ...]] = ("CODEX_API_KEY", "OPENAI_API_KEY")

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | Sequence[str] = "codex",
        cwd: str | os.PathLike[str] | None = None,
        model: str | None = None,
        permission_mode: str | None = None,
        sandbox: str | None = None,
        reasoning_effort: str | None = None,
        config: Mapping[str, object] | None = None,
        skip_git_repo_check: bool = False,
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
        self.sandbox = sandbox
        self.reasoning_effort = reasoning_effort
        self.config = dict(config or {})
        self.skip_git_repo_check = skip_git_repo_check

    def _arguments(self, opts: Mapping[str, Any]) -> list[str]:
        args = ["exec", "--json"]
        if self.model:
            args += ["--model", self.model]
        if self.permission_mode == "full_auto":
            args.append("--full-auto")
        elif self.permission_mode == "dangerously_skip_permissions":
            args.append("--dangerously-bypass-approvals-and-sandbox")
        if self.sandbox:
            args += ["--sandbox", self.sandbox]
        config = dict(self.config)
        if self.reasoning_effort:
            config.setdefault("model_reasoning_effort", self.reasoning_effort)
        for key, value in config.items():
            args += ["--config", f"{key}={_toml(value)}"]
        if self.skip_git_repo_check:
            args.append("--skip-git-repo-check")
        # "-": read the prompt from stdin (keeps it out of argv and `ps`).
        return [*args, *self.extra_args, "-"]

    def _translator(self, emit: Emit, warnings: list[str]) -> Translator:
        return _CodexTranslator(emit, warnings, self.model)
