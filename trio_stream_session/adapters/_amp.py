"""``AmpAdapter``: the Amp CLI (``amp --execute --stream-json``) as a Trio subprocess.

Wire format: Amp's Claude-Code-compatible stream JSON (``system``/``init``,
``user``, ``assistant``, ``result``), as published on ampcode.com and typed by
``@sourcegraph/amp-sdk``; flags as that SDK passes them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Unpack

from .._ports import Emit
from ._cli_common import CLIAdapter, CLIOptions, Invocation, Translator
from ._stream_json import StreamJSONTranslator

__all__ = ["AmpAdapter"]

VISIBILITIES: Final = frozenset({"private", "public", "workspace", "group"})


class _AmpTranslator(StreamJSONTranslator):
    def __init__(self, emit: Emit, warnings: list[str], model: str | None) -> None:
        super().__init__("amp", emit, warnings, model)


class AmpAdapter(CLIAdapter):
    """Runs the Amp CLI, ``amp --execute --stream-json ...``, once per run.

    The prompt goes to the CLI on stdin; the API key only through
    ``AMP_API_KEY`` (with ``api_key=None`` the CLI uses the inherited
    environment or ``amp login``). A continued session continues the Amp
    thread: ``amp threads continue <thread id> --execute ...``.

    Options and the flags they become: ``mode`` (``--mode``, e.g. ``smart``,
    ``rush``); ``effort`` (``--effort``); ``permission_mode``
    (``"full_auto"`` or ``"dangerously_skip_permissions"`` ->
    ``--dangerously-allow-all``); ``mcp_config`` (``--mcp-config FILE``: a
    path, or a mapping written to a private temporary file for the run, so
    server tokens never appear on argv); ``settings_file``
    (``--settings-file``); ``visibility`` (``--visibility``); ``labels``
    (``--label``, repeated); ``thinking`` (``--stream-json-thinking``, which
    replaces ``--stream-json``: thinking blocks become ``message_streamed``
    events with ``kind: "thinking"``); ``extra_args``. ``model`` is reported
    in ``run_started`` only (Amp picks its model by mode). Also
    ``executable`` (default ``"amp"``), ``cwd``, ``api_key``, ``env``,
    ``max_line_bytes`` (default 1 MiB), ``terminate_grace`` (default 2 s).

    >>> AmpAdapter(api_key="amp-key-not-shown")
    AmpAdapter(executable=['amp'], model=None, cwd=None)
    """

    provider: ClassVar[str] = "amp"
    default_executable: ClassVar[str] = "amp"
    api_key_env: ClassVar[str] = "AMP_API_KEY"
    permission_args: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "default": (),
        "full_auto": ("--dangerously-allow-all",),
        "dangerously_skip_permissions": ("--dangerously-allow-all",),
    }

    def __init__(
        self,
        *,
        mode: str | None = None,
        effort: str | None = None,
        mcp_config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        settings_file: str | os.PathLike[str] | None = None,
        visibility: str | None = None,
        labels: Sequence[str] = (),
        thinking: bool = False,
        **options: Unpack[CLIOptions],
    ) -> None:
        super().__init__(mcp_config=mcp_config, **options)
        if visibility is not None and visibility not in VISIBILITIES:
            raise ValueError(
                f"AmpAdapter: visibility must be one of {sorted(VISIBILITIES)}, got {visibility!r}"
            )
        if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
            raise TypeError("AmpAdapter: labels must be a list of strings")
        self.mode = mode
        self.effort = effort
        self.settings_file = None if settings_file is None else os.fspath(settings_file)
        self.visibility = visibility
        self.labels = tuple(labels)
        self.thinking = thinking

    def _arguments(self, invocation: Invocation) -> list[str]:
        args = [] if invocation.resume_id is None else ["threads", "continue", invocation.resume_id]
        args += ["--execute", "--stream-json-thinking" if self.thinking else "--stream-json"]
        if self.permission_mode is not None:
            args += self.permission_args[self.permission_mode]
        if self.mode:
            args += ["--mode", self.mode]
        if self.effort:
            args += ["--effort", self.effort]
        if self.visibility:
            args += ["--visibility", self.visibility]
        if self.settings_file:
            args += ["--settings-file", self.settings_file]
        if invocation.mcp_config:
            args += ["--mcp-config", invocation.mcp_config]
        for label in self.labels:
            args += ["--label", label]
        return [*args, *self.extra_args]

    def _translator(
        self, emit: Emit, warnings: list[str], resumed: Mapping[str, Any]
    ) -> Translator:
        return _AmpTranslator(emit, warnings, self.model)
