"""What the CLI adapters (Claude Code, Codex, Amp) share: options, the run loop,
native resume, and the translator base class."""

from __future__ import annotations

import abc
import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Final, Self, TypedDict

import trio

from .._errors import SessionError
from .._models import Capability, Run, Session
from .._ports import Emit
from ._capabilities import CLI_CAPABILITIES
from ._cli_process import DEFAULT_MAX_LINE_BYTES, DEFAULT_TERMINATE_GRACE, CLICommand, CLIFailure
from ._cli_support import (
    build_prompt,
    classify_failure,
    current_prompt,
    executable_argv,
    private_json_file,
    provider_session,
    run_time_limit,
)
from ._runs import RunScopes
from ._subprocess import MAX_WARNINGS, CLIProcess

__all__ = ["PERMISSION_MODES", "CLIAdapter", "CLIOptions", "Invocation", "Translator"]

#: The library's permission vocabulary; each adapter maps the modes its CLI supports.
PERMISSION_MODES: Final = frozenset(
    {"default", "accept_edits", "plan", "full_auto", "dangerously_skip_permissions"}
)
#: Secret values shorter than this are not scrubbed literally (it would mangle output).
_MIN_SECRET_LEN: Final = 8
_SECRET_NAME: Final = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL", re.IGNORECASE)


class CLIOptions(TypedDict, total=False):
    """The options every CLI adapter takes (see :class:`CLIAdapter`)."""

    executable: str | os.PathLike[str] | Sequence[str]
    cwd: str | os.PathLike[str] | None
    model: str | None
    permission_mode: str | None
    api_key: str | None
    env: Mapping[str, str] | None
    extra_args: Sequence[str]
    max_line_bytes: int
    terminate_grace: float


@dataclass(frozen=True, slots=True)
class Invocation:
    """Per-run inputs of an adapter's argv: the provider thread to resume (None
    for a new one) and the path of the MCP config file (None without one)."""

    resume_id: str | None = None
    mcp_config: str | None = None


class Translator(abc.ABC):
    """Turns one CLI run's JSON events into normalised events (one per run).

    ``warnings`` is the run's shared list of notes; notes not yet reported go
    into the ``metadata["cli_warnings"]`` of the next emitted event.
    ``last_error`` is the latest error text the CLI reported without ending
    the run (a retry notice, an error item): it names the cause when the run
    then fails.
    """

    def __init__(self, provider: str, emit: Emit, warnings: list[str]) -> None:
        self.provider = provider
        self._emit = emit
        self.warnings = warnings
        self._reported = 0
        self.last_error: str | None = None

    def warn(self, note: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(note)

    async def emit(self, type: str, data: Mapping[str, Any]) -> None:
        event: dict[str, Any] = {"type": type, "data": dict(data)}
        if len(self.warnings) > self._reported:
            event["metadata"] = {"cli_warnings": self.warnings[self._reported :]}
            self._reported = len(self.warnings)
        await self._emit(event)

    def failure(
        self, kind: str, message: str, *, hint: str | None = None, **details: Any
    ) -> CLIFailure:
        """A :class:`CLIFailure` whose code comes from the text of *message*, an
        extra *hint* (``"HTTP 429"``) and the last reported error (rate limit,
        quota, authentication, ...)."""
        found = classify_failure(message, hint, self.last_error)
        code, kind = found if found is not None else ("provider_error", kind)
        return CLIFailure(kind, message, code=code, details=details)

    def exit_failure(self, failure: CLIFailure) -> CLIFailure:
        """*failure* (the CLI exited non-zero) with the cause the CLI reported first."""
        if self.last_error is None:
            return failure
        found = classify_failure(self.last_error)
        return CLIFailure(
            failure.kind if found is None else found[1],
            f"{self.last_error} ({failure.message})",
            code=failure.code if found is None else found[0],
            exit_code=failure.exit_code,
            details=failure.details,
        )

    @abc.abstractmethod
    async def handle(self, event: Mapping[str, Any]) -> None:
        """Handle one JSON event; raises :class:`CLIFailure` for a reported failure."""

    @abc.abstractmethod
    async def finish(self) -> Mapping[str, Any]:
        """After a clean exit: emit the final events and return the run result
        (``output``, ``token_usage``, ``events``, and ``provider_session``: the
        JSON-safe state the next run of the session needs to resume the thread)."""


class CLIAdapter(abc.ABC):
    """The shared part of :class:`ClaudeCodeAdapter`, :class:`CodexAdapter` and
    :class:`AmpAdapter`.

    No wall-clock limit by default: ``adapter_opts["timeout"]`` (seconds) sets
    one; without it, the stream's idle timeout is what ends a CLI that stops
    printing. On a continued session the CLI's own thread is resumed (the id
    an earlier run reported, from ``session.metadata["provider_sessions"]``)
    and only the new prompt is sent; a session without one gets the
    transcript replayed as text on stdin.
    """

    provider: ClassVar[str]
    default_executable: ClassVar[str]
    #: The environment variable the CLI reads its API key from (set only when
    #: ``api_key=`` is given; nothing else is added to the child's environment).
    api_key_env: ClassVar[str]
    #: ``permission_mode`` -> the CLI arguments it becomes.
    permission_args: ClassVar[Mapping[str, tuple[str, ...]]]
    #: Whether stray non-JSON stdout lines are skipped anywhere (see ``CLICommand``).
    skip_noise: ClassVar[bool] = False

    def __init__(
        self,
        *,
        executable: str | os.PathLike[str] | Sequence[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        model: str | None = None,
        permission_mode: str | None = None,
        mcp_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
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
        if permission_mode is not None and permission_mode not in self.permission_args:
            raise ValueError(
                f"{type(self).__name__}: permission_mode must be one of "
                f"{sorted(self.permission_args)}, got {permission_mode!r}"
            )
        self.permission_mode = permission_mode
        if isinstance(mcp_config, Mapping):
            self.mcp_config: str | Mapping[str, Any] | None = dict(mcp_config)
        elif mcp_config is not None:
            self.mcp_config = os.fspath(mcp_config)
        else:
            self.mcp_config = None
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
        # Never the api_key, env values or MCP config: they may hold secrets.
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
    def _arguments(self, invocation: Invocation) -> list[str]:
        """The CLI's arguments after the executable (the prompt goes on stdin)."""

    @abc.abstractmethod
    def _translator(
        self, emit: Emit, warnings: list[str], resumed: Mapping[str, Any]
    ) -> Translator:
        """A fresh translator for one run; *resumed* is the provider state of the
        thread being resumed (empty for a new thread)."""

    # -- the run ---------------------------------------------------------------------

    def _child_env(self) -> dict[str, str] | None:
        """The child's environment: ours, plus ``env=``, plus the API key under
        :attr:`api_key_env`. None (inherit ours unchanged) when neither is given."""
        if not self._env and self._api_key is None:
            return None
        env = {**os.environ, **self._env}
        if self._api_key is not None:
            env[self.api_key_env] = self._api_key
        return env

    def _secrets(self, env: Mapping[str, str] | None) -> tuple[str, ...]:
        source = os.environ if env is None else env
        values = {source.get(self.api_key_env, "")}
        values.update(v for k, v in self._env.items() if _SECRET_NAME.search(k))
        # Longest first, so a secret that contains another is replaced whole.
        return tuple(
            sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)
        )

    def resume_state(self, session: Session) -> dict[str, Any]:
        """The provider state of the thread this session continues (empty: none)."""
        state = provider_session(session, self.provider)
        resume_id = state.get("provider_session_id")
        return state if isinstance(resume_id, str) and resume_id else {}

    def command(
        self, run: Run, session: Session, invocation: Invocation = Invocation()
    ) -> CLICommand:
        """The CLI invocation for *run*: argv (no secrets, no prompt), env, stdin.

        When resuming a thread, stdin carries only the run's own prompt; the
        CLI already has the conversation.
        """
        if invocation.resume_id is not None:
            prompt = current_prompt(run.input)
        else:
            prompt = build_prompt(run.input, session.context.get("transcript"))
        if not prompt.strip():
            raise SessionError(
                "validation_error", f"{self.provider}: the run input has no prompt text"
            )
        env = self._child_env()
        return CLICommand(
            provider=self.provider,
            argv=(*self.executable, *self._arguments(invocation)),
            cwd=self.cwd,
            env=env,
            stdin_data=prompt.encode("utf-8"),
            secrets=self._secrets(env),
            max_line_bytes=self.max_line_bytes,
            terminate_grace=self.terminate_grace,
            skip_noise=self.skip_noise,
        )

    @contextlib.contextmanager
    def _mcp_config_path(self) -> Iterator[str | None]:
        if isinstance(self.mcp_config, Mapping):
            with private_json_file(self.mcp_config, f"{self.provider}-mcp-") as path:
                yield path
        else:
            yield self.mcp_config

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> Mapping[str, Any]:
        """Run the CLI once for *run*, emitting normalised events as they arrive.

        Raises :class:`SessionError` on failure (``provider_unavailable`` when
        the CLI is missing; ``provider_rate_limited``, ``provider_quota_exceeded``,
        ``provider_authentication_failed`` when the CLI names that cause;
        ``provider_error`` with a ``provider_error`` kind otherwise;
        ``provider_timeout`` after ``opts["timeout"]`` seconds, when given).
        On cancellation (outer, or :meth:`cancel`) the CLI's process group is
        ended (SIGTERM, then SIGKILL after ``terminate_grace``) before this
        returns; :meth:`cancel` additionally emits ``run_cancelled`` and
        raises ``SessionError("cancelled")``.
        """
        limit = run_time_limit(opts.get("timeout"))
        resumed = self.resume_state(session)
        resume_id = resumed.get("provider_session_id")
        with self._mcp_config_path() as mcp_config:
            command = self.command(run, session, Invocation(resume_id, mcp_config))
            translator = self._translator(emit, [], resumed)
            return await self._runs.execute(
                run.id, emit, lambda: self._run(command, translator, limit)
            )

    async def _run(
        self, command: CLICommand, translator: Translator, limit: float
    ) -> Mapping[str, Any]:
        cli = CLIProcess(command, warnings=translator.warnings)
        with trio.move_on_after(limit):
            async with cli:
                while (event := await cli.receive_event()) is not None:
                    await translator.handle(event)
                returncode = await cli.wait()
                if returncode != 0:
                    raise translator.exit_failure(cli.exit_failure(returncode))
                return await translator.finish()
        assert not math.isinf(limit)
        raise cli.error(
            CLIFailure(
                "timeout",
                f"{self.provider} run timed out after {limit:g}s",
                code="provider_timeout",
                details={"timeout_s": limit},
            )
        )
