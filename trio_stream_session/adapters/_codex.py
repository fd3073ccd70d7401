"""``CodexAdapter``: the OpenAI Codex CLI (``codex exec --json``) as a Trio subprocess.

Wire format: the ``ThreadEvent`` JSON lines of ``codex-rs/exec/src/exec_events.rs``
(``thread.started``, ``turn.started``, ``item.started|updated|completed``,
``turn.completed``, ``turn.failed``, ``error``). Flags: ``codex-rs/exec/src/cli.rs``
and the shared ``SharedCliOptions`` (``--model``, ``--sandbox``, ``--profile``,
``--add-dir``, ``--image``, ``--dangerously-bypass-approvals-and-sandbox``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Unpack

from .._ports import Emit
from ._cli_common import CLIAdapter, CLIOptions, Invocation, Translator
from ._cli_support import drop_none, token_counts

__all__ = ["CodexAdapter"]

SANDBOX_MODES: Final = frozenset({"read-only", "workspace-write", "danger-full-access"})
APPROVAL_POLICIES: Final = frozenset({"untrusted", "on-failure", "on-request", "never"})
REASONING_EFFORTS: Final = frozenset({"minimal", "low", "medium", "high", "xhigh"})
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
_CAMEL: Final = re.compile(r"(?<!^)(?=[A-Z])")


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
    # web_search, collab_tool_call and item types added later: the item's own fields.
    tool_input = {k: v for k, v in item.items() if k not in _ITEM_META}
    output = drop_none({k: item.get(k) for k in ("output", "result", "error", "status")})
    return kind, tool_input, output or dict(tool_input)


def _failure_message(item: Mapping[str, Any], output: Mapping[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    if item.get("status") == "declined":
        return "declined"
    if output.get("exit_code") is not None:
        return f"exit code {output['exit_code']}"
    return str(item.get("status") or "failed")


def _share(total: Mapping[str, int], before: object) -> dict[str, int]:
    """This run's part of a thread's running *total*, given the total *before* it."""
    previous = token_counts(before)
    return {key: max(value - previous.get(key, 0), 0) for key, value in total.items()}


class _CodexTranslator(Translator):
    """``turn.completed`` usage is the thread's running total (``codex exec``
    reports ``ThreadTokenUsage.total``): the run's own usage is that total minus
    the total the resumed thread had before (``resumed["usage_total"]``)."""

    def __init__(
        self,
        emit: Emit,
        warnings: list[str],
        model: str | None,
        resumed: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__("codex", emit, warnings)
        self.model = model
        self.resumed = dict(resumed or {})
        self.thread_id: str | None = None
        self.started = False
        self.messages: dict[str, str] = {}
        self.active_tools: dict[str, tuple[str, dict[str, Any]]] = {}
        self.tool_calls: list[dict[str, Any]] = []
        self.usage_total: dict[str, int] = {}
        self.turns_completed = 0

    @property
    def content(self) -> str:
        """The last agent message in arrival order (Codex's final answer)."""
        return next(reversed(self.messages.values()), "")

    @property
    def token_usage(self) -> dict[str, int]:
        before = None
        if self.thread_id is not None and self.resumed.get("provider_session_id") == self.thread_id:
            before = self.resumed.get("usage_total")
        return {"input_tokens": 0, "output_tokens": 0, **_share(self.usage_total, before)}

    async def handle(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "thread.started":
            thread_id = event.get("thread_id")
            self.thread_id = thread_id if isinstance(thread_id, str) else self.thread_id
            await self._start()
        elif kind in ("item.started", "item.completed"):
            item = event.get("item")
            if isinstance(item, Mapping):
                await self._item(item, completed=kind == "item.completed")
        elif kind == "turn.completed":
            await self._turn_completed(event)
        elif kind == "turn.failed":
            details = _mapping(event.get("error"))
            message = details.get("message")
            text = message if isinstance(message, str) and message else "Turn failed"
            raise self.failure("turn_failed", text, error=details)
        elif kind == "error":
            # Codex reports retries ("Reconnecting... 2/5") and other notices as
            # top-level errors and goes on; turn.failed (or no turn.completed) decides.
            message = str(event.get("message") or "Unknown error")
            self.last_error = message
            self.warn(f"codex: {message}")
        # turn.started, item.updated, item.plan.delta and types added in later Codex
        # versions carry nothing we map; ignoring them keeps this working with newer CLIs.

    async def _start(self) -> None:
        # Once, before anything else, even if a CLI version skipped thread.started.
        if not self.started:
            self.started = True
            data: dict[str, Any] = {"thread_id": self.thread_id, "model": self.model}
            if self.resumed:
                data["resumed"] = True
            await self.emit("run_started", drop_none(data))

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
            self.last_error = str(item.get("message"))
            self.warn(f"codex: {item.get('message')}")
            return
        tool = _tool(item)
        if tool is None:
            return
        name, tool_input, output = tool
        if item_id not in self.active_tools:
            # Codex reports some items (file changes) only when completed.
            self.active_tools[item_id] = (name, tool_input)
            started = {"tool_call_id": item_id, "tool_name": name, "tool_input": tool_input}
            await self.emit(
                "tool_call_started", drop_none({**started, "thread_id": self.thread_id})
            )
        if not completed:
            return
        del self.active_tools[item_id]
        # The completed item is the authority (a web search's query is known only then).
        failed = item.get("status") in _FAILED
        data: dict[str, Any] = {
            "tool_call_id": item_id,
            "tool_name": name,
            "tool_input": tool_input,
            "tool_output": output,
            "error_message": _failure_message(item, output) if failed else None,
            "thread_id": self.thread_id,
        }
        self.tool_calls.append({"id": item_id, "name": name, "input": tool_input, "output": output})
        await self.emit("tool_call_failed" if failed else "tool_call_completed", drop_none(data))

    async def _turn_completed(self, event: Mapping[str, Any]) -> None:
        await self._start()
        self.turns_completed += 1
        total = token_counts(event.get("usage"))
        if total:
            self.usage_total = total
        await self.emit(
            "message_received",
            drop_none({"content": self.content, "role": "assistant", "thread_id": self.thread_id}),
        )
        if self.usage_total:
            await self.emit(
                "token_usage_updated", drop_none({**self.token_usage, "thread_id": self.thread_id})
            )

    async def finish(self) -> Mapping[str, Any]:
        if not self.turns_completed:
            # An interrupted turn ends without turn.completed or turn.failed.
            raise self.failure(
                "interrupted", self.last_error or "codex exited without completing the turn"
            )
        token_usage = self.token_usage
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
        provider_session = {
            "provider_session_id": self.thread_id,
            "usage_total": self.usage_total,
        }
        return {
            "output": output,
            "token_usage": token_usage,
            "events": [],
            "provider_session": drop_none(provider_session) if self.thread_id else {},
        }


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a valid TOML basic string.
    return json.dumps(value if isinstance(value, str) else str(value))


def _choice(name: str, value: str | None, allowed: frozenset[str]) -> str | None:
    if value is not None and value not in allowed:
        raise ValueError(f"CodexAdapter: {name} must be one of {sorted(allowed)}, got {value!r}")
    return value


class CodexAdapter(CLIAdapter):
    """Runs the Codex CLI, ``codex exec --json ... -- -``, once per run.

    The prompt goes to the CLI on stdin; the API key only through
    ``CODEX_API_KEY`` (the one variable ``codex exec`` reads; with
    ``api_key=None`` the CLI uses the inherited environment or ``codex login``).
    A continued session resumes the Codex thread: ``codex exec ... resume
    <thread id> -- -``.

    Options and the flags they become: ``model`` (``--model``);
    ``permission_mode`` (``"plan"`` -> ``--sandbox read-only``,
    ``"accept_edits"``/``"full_auto"`` -> ``--sandbox workspace-write``,
    ``"dangerously_skip_permissions"`` ->
    ``--dangerously-bypass-approvals-and-sandbox``); ``sandbox``
    (``--sandbox``; not together with ``permission_mode``);
    ``approval_policy`` (``--config approval_policy="..."``);
    ``reasoning_effort`` (``--config model_reasoning_effort="..."``);
    ``config`` (``--config key=value`` pairs); ``add_dirs`` (``--add-dir``);
    ``images`` (``--image``); ``output_schema`` (``--output-schema FILE``);
    ``profile`` (``--profile``); ``ephemeral`` (``--ephemeral``);
    ``output_last_message`` (``-o FILE``); ``skip_git_repo_check``
    (``--skip-git-repo-check``); ``extra_args`` (before the prompt). Also
    ``executable`` (default ``"codex"``, or a list such as
    ``[sys.executable, "fake_codex.py"]``), ``cwd``, ``api_key``, ``env``,
    ``max_line_bytes`` (default 1 MiB), ``terminate_grace`` (default 2 s).

    >>> CodexAdapter(model="o3", api_key="sk-proj-not-shown")
    CodexAdapter(executable=['codex'], model='o3', cwd=None)
    """

    provider: ClassVar[str] = "codex"
    default_executable: ClassVar[str] = "codex"
    api_key_env: ClassVar[str] = "CODEX_API_KEY"
    permission_args: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "default": (),
        "plan": ("--sandbox", "read-only"),
        "accept_edits": ("--sandbox", "workspace-write"),
        "full_auto": ("--sandbox", "workspace-write"),
        "dangerously_skip_permissions": ("--dangerously-bypass-approvals-and-sandbox",),
    }

    def __init__(
        self,
        *,
        sandbox: str | None = None,
        approval_policy: str | None = None,
        reasoning_effort: str | None = None,
        config: Mapping[str, object] | None = None,
        add_dirs: Sequence[str | os.PathLike[str]] = (),
        images: Sequence[str | os.PathLike[str]] = (),
        output_schema: str | os.PathLike[str] | None = None,
        profile: str | None = None,
        ephemeral: bool = False,
        output_last_message: str | os.PathLike[str] | None = None,
        skip_git_repo_check: bool = False,
        **options: Unpack[CLIOptions],
    ) -> None:
        super().__init__(**options)
        if sandbox is not None and self.permission_mode not in (None, "default"):
            raise ValueError("CodexAdapter: give sandbox= or permission_mode=, not both")
        self.sandbox = _choice("sandbox", sandbox, SANDBOX_MODES)
        self.approval_policy = _choice("approval_policy", approval_policy, APPROVAL_POLICIES)
        self.reasoning_effort = _choice("reasoning_effort", reasoning_effort, REASONING_EFFORTS)
        self.config = dict(config or {})
        self.add_dirs = tuple(os.fspath(d) for d in add_dirs)
        self.images = tuple(os.fspath(i) for i in images)
        self.output_schema = None if output_schema is None else os.fspath(output_schema)
        self.profile = profile
        self.ephemeral = ephemeral
        self.output_last_message = (
            None if output_last_message is None else os.fspath(output_last_message)
        )
        self.skip_git_repo_check = skip_git_repo_check

    def _arguments(self, invocation: Invocation) -> list[str]:
        args = ["exec", "--json"]
        if self.model:
            args += ["--model", self.model]
        if self.permission_mode is not None:
            args += self.permission_args[self.permission_mode]
        if self.sandbox:
            args += ["--sandbox", self.sandbox]
        config = dict(self.config)
        if self.approval_policy:
            config.setdefault("approval_policy", self.approval_policy)
        if self.reasoning_effort:
            config.setdefault("model_reasoning_effort", self.reasoning_effort)
        for key, value in config.items():
            args += ["--config", f"{key}={_toml(value)}"]
        for directory in self.add_dirs:
            args += ["--add-dir", directory]
        if self.profile:
            args += ["--profile", self.profile]
        if self.output_schema:
            args += ["--output-schema", self.output_schema]
        if self.output_last_message:
            args += ["--output-last-message", self.output_last_message]
        if self.ephemeral:
            args.append("--ephemeral")
        if self.skip_git_repo_check:
            args.append("--skip-git-repo-check")
        args += self.extra_args
        if invocation.resume_id is not None:
            args += ["resume", invocation.resume_id]
        for image in self.images:
            args += ["--image", image]
        # "--" ends --image's value list; "-": the prompt comes from stdin (not argv).
        return [*args, "--", "-"]

    def _translator(
        self, emit: Emit, warnings: list[str], resumed: Mapping[str, Any]
    ) -> Translator:
        return _CodexTranslator(emit, warnings, self.model, resumed)
