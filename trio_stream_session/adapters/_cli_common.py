"""What the Codex and Amp adapters share: options, prompt building, the run loop."""

from __future__ import annotations

import abc
import json
import os
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Final, Self

import trio

from .._errors import SessionError
from .._manager import resolve_execute_timeout
from .._models import Capability, Run, Session
from .._ports import Emit
from ._capabilities import CLI_CAPABILITIES
from ._cli_process import DEFAULT_MAX_LINE_BYTES, DEFAULT_TERMINATE_GRACE, CLICommand, CLIFailure
from ._runs import RunScopes
from ._subprocess import MAX_WARNINGS, CLIProcess

__all__ = [
    "CLI_CAPABILITIES",
    "PERMISSION_MODES",
    "CLIAdapter",
    "Translator",
    "build_prompt",
    "drop_none",
    "executable_argv",
    "int_usage",
]

PERMISSION_MODES: Final = frozenset(
    {"default", "accept_edits", "plan", "full_auto", "dangerously_skip_permissions"}
)
#: Secret values shorter than this are not scrubbed literally (it would mangle output).
_MIN_SECRET_LEN: Final = 8
_SECRET_NAME: Final = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL", re.IGNORECASE)


def executable_argv(executable: str | os.PathLike[str] | Sequence[str]) -> tuple[str, ...]:
    """The command prefix for *executable*: a path or name, or a list such as
    ``[sys.executable, "fake_codex.py"]``."""
    if isinstance(executable, str | os.PathLike):
        return (os.fspath(executable),)
    argv = tuple(os.fspath(part) for part in executable)
    if not argv or not all(isinstance(part, str) and part for part in argv):
        raise TypeError(
            f"executable must be a path or a non-empty list of strings, got {executable!r}"
        )
    return argv


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def int_usage(usage: object, keys: Sequence[str]) -> dict[str, int]:
    """The integer token counts among *keys* in a CLI's usage mapping."""
    if not isinstance(usage, Mapping):
        return {}
    found = {}
    for key in keys:
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            found[key] = int(value)
    return found


def _render(value: object, empty: str) -> str:
    if value is None:
        return empty
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)


def _current_prompt(run_input: Mapping[str, Any]) -> str:
    messages = run_input.get("messages")
    if isinstance(messages, list | tuple):
        parts = []
        for message in messages:
            if isinstance(message, Mapping) and str(message.get("role", "user")).lower() == "user":
                content = message.get("content")
                if content:
                    parts.append(content if isinstance(content, str) else _render(content, ""))
        return "\n".join(parts)
    prompt = run_input.get("prompt")
    if isinstance(prompt, str):
        return prompt
    return _render(dict(run_input), "")


def build_prompt(run_input: Mapping[str, Any], transcript: object = None) -> str:
    """The text a CLI gets on stdin: earlier conversation lines, a blank line, the prompt.

    Transcript messages become ``"<role>: <content>"``,
    ``"assistant_tool_call(<id>): <name> <input JSON>"`` and
    ``"tool_result(<id>): <name> <output>"``; the current prompt is the
    ``prompt`` string or the user messages' contents, one per line.

    >>> build_prompt({"messages": [{"role": "system", "content": "s"}, {"content": "hi"}]})
    'hi'
    """
    lines = []
    for message in getattr(transcript, "messages", None) or ():
        role = getattr(message, "role", "user")
        content = getattr(message, "content", "")
        tool_name = getattr(message, "tool_name", None)
        call_id = getattr(message, "tool_call_id", None) or "unknown"
        if role == "tool":
            output = _render(getattr(message, "tool_output", None), "")
            lines.append(f"tool_result({call_id}): {tool_name} {output}".rstrip())
        elif tool_name is not None and not content:
            tool_input = _render(getattr(message, "tool_input", None), "{}")
            lines.append(f"assistant_tool_call({call_id}): {tool_name} {tool_input}")
        elif content:
            lines.append(f"{role}: {content}")
    return "\n\n".join(part for part in ("\n".join(lines), _current_prompt(run_input)) if part)


class Translator(abc.ABC):
    """Turns one CLI run's JSON events into normalised events (one per run).

    ``warnings`` is the run's shared list of notes; notes not yet reported go
    into the ``metadata["cli_warnings"]`` of the next emitted event.
    """

    def __init__(self, provider: str, emit: Emit, warnings: list[str]) -> None:
        self.provider = provider
        self._emit = emit
        self.warnings = warnings
        self._reported = 0

    def warn(self, note: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(note)

    async def emit(self, type: str, data: Mapping[str, Any]) -> None:
        event: dict[str, Any] = {"type": type, "data": dict(data)}
        if len(self.warnings) > self._reported:
            event["metadata"] = {"cli_warnings": self.warnings[self._reported :]}
            self._reported = len(self.warnings)
        await self._emit(event)

    @abc.abstractmethod
    async def handle(self, event: Mapping[str, Any]) -> None:
        """Handle one JSON event; raises :class:`CLIFailure` for a reported failure."""

    @abc.abstractmethod
    async def finish(self) -> Mapping[str, Any]:
        """After a clean exit: emit the final events and return the run result."""


class CLIAdapter(abc.ABC):
    """The shared part of :class:`CodexAdapter` and :class:`AmpAdapter`."""

    provider: ClassVar[str]
    default_executable: ClassVar[str]
    #: Environment variables that receive ``api_key``.
    api_key_env: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        model: str | None = None,
        permission_mode: str | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        terminate_grace: float = DEFAULT_TERMINATE_GRACE,
    ) -> None:
        self.executable = executable_argv(
            self.default_executable if executable is None else executable
        )
        self.cwd = None if cwd is None else os.fspath(cwd)
        self.model = model
        if permission_mode is not None and permission_mode not in PERMISSION_MODES:
            raise ValueError(
                f"permission_mode must be one of {sorted(PERMISSION_MODES)}, "
                f"got {permission_mode!r}"
            )
        self.permission_mode = permission_mode
        if api_key is not None and not isinstance(api_key, str):
            raise TypeError("api_key must be a string")
        self._api_key = api_key or None
        env = dict(env or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise TypeError("env must map strings to strings")
        self._env = env
        if isinstance(extra_args, str) or not all(isinstance(a, str) for a in extra_args):
            raise TypeError("extra_args must be a list of strings")
        self.extra_args = tuple(extra_args)
        if max_line_bytes <= 0 or terminate_grace < 0:
            raise ValueError("max_line_bytes must be positive and terminate_grace non-negative")
        self.max_line_bytes = max_line_bytes
        self.terminate_grace = terminate_grace
        self._runs = RunScopes()

    def __repr__(self) -> str:
        # Never the api_key or env values: they may be secrets.
        return (
            f"{type(self).__name__}(executable={list(self.executable)!r}, "
            f"model={self.model!r}, cwd={self.cwd!r})"
        )

    @property
    def name(self) -> str:
        return self.provider

    async def capabilities(self) -> Sequence[Capability]:
        await trio.lowlevel.checkpoint()
        return CLI_CAPABILITIES

    async def cancel(self, run_id: str) -> None:
        """Cancel a running ``execute``: its CLI's process group is ended, it emits
        ``run_cancelled`` and raises ``SessionError("cancelled")``. Raises
        ``SessionError("run_not_found")`` when *run_id* is not running here."""
        await trio.lowlevel.checkpoint()
        self._runs.cancel(run_id)

    async def __aenter__(self) -> Self:
        await trio.lowlevel.checkpoint()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancels runs still executing through this adapter (their CLIs are ended)."""
        self._runs.cancel_all()
        await trio.lowlevel.checkpoint()

    # -- per-adapter hooks -----------------------------------------------------------

    @abc.abstractmethod
    def _arguments(self, opts: Mapping[str, Any]) -> list[str]:
        """The CLI's arguments after the executable (the prompt goes on stdin)."""

    @abc.abstractmethod
    def _translator(self, emit: Emit, warnings: list[str]) -> Translator:
        """A fresh translator for one run."""

    # -- the run ---------------------------------------------------------------------

    def _child_env(self) -> dict[str, str] | None:
        if not self._env and self._api_key is None:
            return None
        env = {**os.environ, **self._env}
        if self._api_key is not None:
            env.update(dict.fromkeys(self.api_key_env, self._api_key))
        return env

    def _secrets(self, env: Mapping[str, str] | None) -> tuple[str, ...]:
        source = os.environ if env is None else env
        values = {source.get(name, "") for name in self.api_key_env}
        values.update(v for k, v in self._env.items() if _SECRET_NAME.search(k))
        # Longest first, so a secret that contains another is replaced whole.
        return tuple(
            sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)
        )

    def command(self, run: Run, session: Session, opts: Mapping[str, Any]) -> CLICommand:
        """The CLI invocation for *run*: argv (no secrets, no prompt), env, stdin."""
        prompt = build_prompt(run.input, session.context.get("transcript"))
        if not prompt.strip():
            raise SessionError(
                "validation_error", f"{self.provider}: the run input has no prompt text"
            )
        env = self._child_env()
        return CLICommand(
            provider=self.provider,
            argv=(*self.executable, *self._arguments(opts)),
            cwd=self.cwd,
            env=env,
            stdin_data=prompt.encode("utf-8"),
            secrets=self._secrets(env),
            max_line_bytes=self.max_line_bytes,
            terminate_grace=self.terminate_grace,
        )

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> Mapping[str, Any]:
        """Run the CLI once for *run*, emitting normalised events as they arrive.

        Raises :class:`SessionError` on failure (``provider_unavailable`` when
        the CLI is missing, ``provider_error`` with a ``provider_error`` kind
        otherwise, ``provider_timeout`` after ``opts["timeout"]`` seconds).
        On cancellation (outer, or :meth:`cancel`) the CLI's process group is
        ended (SIGTERM, then SIGKILL after ``terminate_grace``) before this
        returns; :meth:`cancel` additionally emits ``run_cancelled`` and
        raises ``SessionError("cancelled")``.
        """
        command = self.command(run, session, opts)
        timeout = resolve_execute_timeout(opts.get("timeout"))
        return await self._runs.execute(
            run.id, emit, lambda: self._run(command, emit, limit=timeout)
        )

    async def _run(self, command: CLICommand, emit: Emit, *, limit: float) -> Mapping[str, Any]:
        cli = CLIProcess(command)
        translator = self._translator(emit, cli.warnings)
        with trio.move_on_after(limit):
            async with cli:
                while (event := await cli.receive_event()) is not None:
                    await translator.handle(event)
                cli.check_returncode(await cli.wait())
                return await translator.finish()
        raise cli.error(
            CLIFailure(
                "timeout",
                f"{self.provider} run timed out after {limit:g}s",
                code="provider_timeout",
                details={"timeout_s": limit},
            )
        )
