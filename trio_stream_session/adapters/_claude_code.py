"""``ClaudeCodeAdapter``: Claude Code (``claude -p --output-format stream-json
--verbose``) as a Trio subprocess.

Flags as the Claude Agent SDK passes them (``claude_agent_sdk/_internal/
transport/subprocess_cli.py``); output lines as its message parser reads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Unpack

from .._ports import Emit
from ._cli_common import CLIAdapter, CLIOptions, Invocation, Translator
from ._stream_json import StreamJSONTranslator

__all__ = ["ClaudeCodeAdapter"]


class _ClaudeCodeTranslator(StreamJSONTranslator):
    """Adds Claude Code's own lines: ``stream_event`` partial-message deltas
    (with ``--include-partial-messages``) and ``rate_limit_event`` notices."""

    def __init__(self, emit: Emit, warnings: list[str], model: str | None) -> None:
        super().__init__("claude_code", emit, warnings, model)
        self.message_id: str | None = None

    def started_data(self, event: Mapping[str, Any]) -> dict[str, Any]:
        data = super().started_data(event)
        model = event.get("model")
        if isinstance(model, str) and model:
            data["model"] = model
            data["configured_model"] = self.model
        data["permission_mode"] = event.get("permissionMode")
        data["claude_code_version"] = event.get("claude_code_version")
        return data

    async def other(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "api_retry":
            # Claude Code retrying a failed API call: the cause, should the run fail.
            note = (
                f"API retry {event.get('attempt')}/{event.get('max_retries')}: "
                f"{event.get('error')} (HTTP {event.get('error_status')})"
            )
            self.last_error = note
            self.warn(f"claude_code: {note}")
        elif kind == "stream_event":
            await self._stream_event(event.get("event"))
        elif kind == "rate_limit_event":
            info = event.get("rate_limit_info")
            info = info if isinstance(info, Mapping) else {}
            status = info.get("status")
            note = f"rate limit {status} ({info.get('rateLimitType') or 'unknown window'})"
            if status == "rejected":
                self.last_error = note
            if status != "allowed":
                self.warn(f"claude_code: {note}")

    async def _stream_event(self, event: object) -> None:
        if not isinstance(event, Mapping):
            return
        await self.run_started({})
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message")
            message_id = message.get("id") if isinstance(message, Mapping) else None
            self.message_id = message_id if isinstance(message_id, str) else None
        elif kind == "content_block_delta":
            delta = event.get("delta")
            delta = delta if isinstance(delta, Mapping) else {}
            if delta.get("type") == "text_delta":
                await self.streamed(delta.get("text"))
            elif delta.get("type") == "thinking_delta":
                await self.streamed(delta.get("thinking"), "thinking")
            else:
                return  # input_json_delta: the complete input comes with the message.
            if self.message_id is not None:
                self.streamed_ids.add(self.message_id)


class ClaudeCodeAdapter(CLIAdapter):
    """Runs Claude Code, ``claude -p --output-format stream-json --verbose``, once per run.

    The prompt goes to the CLI on stdin; the API key only through
    ``ANTHROPIC_API_KEY`` (with ``api_key=None`` Claude Code uses the inherited
    environment or its own login). A continued session resumes the Claude
    Code session: ``--resume=<session id>`` (the ``=`` form, so an id can
    never be read as a flag).

    Options and the flags they become: ``model`` (``--model``);
    ``permission_mode`` (``--permission-mode``: ``"default"``,
    ``"accept_edits"`` -> ``acceptEdits``, ``"plan"``, ``"full_auto"`` ->
    ``acceptEdits`` (edits without asking; other tools as
    ``allowed_tools`` allow), ``"dangerously_skip_permissions"`` ->
    ``bypassPermissions``; Claude Code's own names are accepted too);
    ``allowed_tools`` / ``disallowed_tools`` (``--allowedTools`` /
    ``--disallowedTools``, comma-joined); ``max_turns`` (``--max-turns``);
    ``append_system_prompt`` (``--append-system-prompt``); ``mcp_config``
    (``--mcp-config FILE``: a path, or a mapping written to a private
    temporary file for the run); ``add_dirs`` (``--add-dir``, repeated);
    ``include_partial_messages`` (``--include-partial-messages``: text and
    thinking arrive as deltas); ``extra_args``. Also ``executable`` (default
    ``"claude"``), ``cwd`` (the working directory), ``api_key``, ``env``,
    ``max_line_bytes`` (default 1 MiB), ``terminate_grace`` (default 2 s).

    >>> ClaudeCodeAdapter(model="sonnet", api_key="sk-ant-not-shown")
    ClaudeCodeAdapter(executable=['claude'], model='sonnet', cwd=None)
    """

    provider: ClassVar[str] = "claude_code"
    default_executable: ClassVar[str] = "claude"
    api_key_env: ClassVar[str] = "ANTHROPIC_API_KEY"
    #: Some Claude Code builds print diagnostics such as ``[SandboxDebug] ...`` on
    #: stdout between events (claude-agent-sdk-python #347): skipped, with a note.
    skip_noise: ClassVar[bool] = True
    permission_args: ClassVar[Mapping[str, tuple[str, ...]]] = {
        **{
            mode: ("--permission-mode", mode)
            for mode in ("default", "plan", "acceptEdits", "bypassPermissions", "dontAsk")
        },
        "accept_edits": ("--permission-mode", "acceptEdits"),
        "full_auto": ("--permission-mode", "acceptEdits"),
        "dangerously_skip_permissions": ("--permission-mode", "bypassPermissions"),
    }

    def __init__(
        self,
        *,
        allowed_tools: Sequence[str] = (),
        disallowed_tools: Sequence[str] = (),
        max_turns: int | None = None,
        append_system_prompt: str | None = None,
        mcp_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        add_dirs: Sequence[str | os.PathLike[str]] = (),
        include_partial_messages: bool = False,
        **options: Unpack[CLIOptions],
    ) -> None:
        super().__init__(mcp_config=mcp_config, **options)
        for name, tools in (
            ("allowed_tools", allowed_tools),
            ("disallowed_tools", disallowed_tools),
        ):
            if isinstance(tools, str) or not all(isinstance(t, str) and t for t in tools):
                raise TypeError(f"ClaudeCodeAdapter: {name} must be a list of tool names")
        if max_turns is not None and (
            not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1
        ):
            raise ValueError(
                f"ClaudeCodeAdapter: max_turns must be a positive int, got {max_turns!r}"
            )
        self.allowed_tools = tuple(allowed_tools)
        self.disallowed_tools = tuple(disallowed_tools)
        self.max_turns = max_turns
        self.append_system_prompt = append_system_prompt
        self.add_dirs = tuple(os.fspath(d) for d in add_dirs)
        self.include_partial_messages = include_partial_messages

    def _arguments(self, invocation: Invocation) -> list[str]:
        args = ["-p", "--output-format", "stream-json", "--verbose"]
        if self.include_partial_messages:
            args.append("--include-partial-messages")
        if self.model:
            args += ["--model", self.model]
        if self.permission_mode is not None:
            args += self.permission_args[self.permission_mode]
        if self.allowed_tools:
            args += ["--allowedTools", ",".join(self.allowed_tools)]
        if self.disallowed_tools:
            args += ["--disallowedTools", ",".join(self.disallowed_tools)]
        if self.max_turns is not None:
            args += ["--max-turns", str(self.max_turns)]
        if self.append_system_prompt:
            args += ["--append-system-prompt", self.append_system_prompt]
        if invocation.mcp_config:
            args += ["--mcp-config", invocation.mcp_config]
        for directory in self.add_dirs:
            args += ["--add-dir", directory]
        if invocation.resume_id is not None:
            args.append(f"--resume={invocation.resume_id}")
        return [*args, *self.extra_args]

    def _translator(
        self, emit: Emit, warnings: list[str], resumed: Mapping[str, Any]
    ) -> Translator:
        return _ClaudeCodeTranslator(emit, warnings, self.model)
