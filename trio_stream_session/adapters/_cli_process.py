"""Building blocks of the CLI runner: the command, the failure type, and POSIX
process-group helpers (signalling a CLI's whole group, telling when it is gone)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .._errors import ErrorCode

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_TERMINATE_GRACE",
    "CLICommand",
    "CLIFailure",
    "group_alive",
    "signal_group",
    "signal_name",
]

#: Longest stdout line accepted (bytes, without the newline).
DEFAULT_MAX_LINE_BYTES: Final = 1 << 20
#: Seconds between SIGTERM and SIGKILL when a CLI is torn down.
DEFAULT_TERMINATE_GRACE: Final = 2.0
_PROC: Final = Path("/proc")


@dataclass(frozen=True, slots=True, kw_only=True)
class CLICommand:
    """Everything needed to start one CLI run.

    ``env`` is the child's complete environment (None inherits ours);
    ``secrets`` are literal values (API keys) scrubbed from stdout and stderr.
    Neither appears in the repr. ``skip_noise``: non-JSON lines that do not
    start like JSON are skipped (with a note) anywhere, not only before the
    first event.
    """

    provider: str
    argv: tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] | None = field(default=None, repr=False)
    stdin_data: bytes = field(default=b"", repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    terminate_grace: float = DEFAULT_TERMINATE_GRACE
    skip_noise: bool = False


class CLIFailure(Exception):
    """A failure an adapter detects while a CLI runs (``turn.failed``, a bad line, ...).

    Raise it inside ``async with CLIProcess(...)``: on exit the process group is
    ended first, then the failure is re-raised as a :class:`SessionError` whose
    ``provider_error`` carries the redacted stderr tail.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        code: ErrorCode | str = ErrorCode.PROVIDER_ERROR,
        exit_code: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = ErrorCode(code)
        self.exit_code = exit_code
        self.details = dict(details or {})


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send *sig* to every process of group *pgid* (a group already gone is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _live_member_on_linux(pgid: int) -> bool:
    with os.scandir(_PROC) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = (_PROC / entry.name / "stat").read_bytes()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and fields[2] == b"%d" % pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


def group_alive(pgid: int) -> bool:
    """True while a process of group *pgid* is still running (zombies do not count:
    a container without an init that reaps them would otherwise keep a group alive)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _live_member_on_linux(pgid) if sys.platform == "linux" else True


def signal_name(returncode: int) -> str:
    """``"SIGKILL"`` for a return code of -9."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"
