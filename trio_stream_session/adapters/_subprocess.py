"""The shared subprocess runner of the CLI adapters (Claude Code, Codex, Amp).

:class:`CLIProcess` starts a CLI with :func:`trio.lowlevel.open_process` (an
argument list, never a shell string) in its own session, so the CLI and
everything it spawns share one process group. It feeds the prompt on stdin,
reads stdout as JSON lines with a bounded line length, and collects a bounded
tail of stderr in the background.

Leaving the ``async with`` block, however it is left (normal exit, error,
cancellation, ``KeyboardInterrupt``), ends the whole process group: SIGTERM,
up to ``terminate_grace`` seconds, then SIGKILL. That cleanup is shielded and
bounded, so no process outlives the block.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Final, Self

import trio

from .._errors import SessionError
from .._provider_error import MAX_STDERR_BYTES, MAX_STDERR_LINES
from .._redact import REDACTED, redact_text
from ._cli_process import (
    DEFAULT_MAX_LINE_BYTES,
    DEFAULT_TERMINATE_GRACE,
    CLICommand,
    CLIFailure,
    group_alive,
    signal_group,
    signal_name,
)

__all__ = [
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_TERMINATE_GRACE",
    "CLICommand",
    "CLIFailure",
    "CLIProcess",
]

#: Raw stderr kept while the CLI runs (the tail); the error shows at most 16 KiB of it.
STDERR_KEEP_BYTES: Final = 256 * 1024
#: Non-JSON lines before the first JSON event that are skipped as a banner.
MAX_BANNER_LINES: Final = 50
#: Notes kept per run (skipped banner lines, transient CLI errors).
MAX_WARNINGS: Final = 100
_READ_CHUNK: Final = 65_536
_POLL_INTERVAL: Final = 0.02
_PREVIEW_CHARS: Final = 200


class CLIProcess:
    """One running CLI: an async context manager and an iterator of its stdout lines.

    ``async with CLIProcess(command) as cli:`` starts the process (a missing
    executable raises ``SessionError("provider_unavailable")`` with kind
    ``cli_not_found``). Inside, :meth:`receive_event` returns parsed JSON
    objects and :meth:`wait` the exit status. Exit always ends the process
    group and closes the pipes, shielded from cancellation and bounded (a few
    milliseconds normally; about three times ``terminate_grace`` at worst, for
    a CLI that ignores SIGTERM and leaves its pipes to a stranger). A
    :class:`CLIFailure` raised inside becomes a :class:`SessionError` with the
    stderr tail; any other exception propagates unchanged.

    POSIX only: the group is signalled with :func:`os.killpg`.
    """

    def __init__(self, command: CLICommand, *, warnings: list[str] | None = None) -> None:
        self.command = command
        #: Notes for the run's ``cli_warnings`` (shared with the adapter's translator).
        self.warnings: list[str] = [] if warnings is None else warnings
        self._process: trio.Process | None = None
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._nursery: trio.Nursery | None = None
        self._stdout_buffer = bytearray()
        self._scan_from = 0
        self._stdout_eof = False
        self._seen_json = False
        self._banner_lines = 0
        self._stderr = bytearray()
        self._stderr_truncated = False
        self._stderr_done = trio.Event()

    def __repr__(self) -> str:
        pid = None if self._process is None else self._process.pid
        return f"<CLIProcess {self.command.provider} argv={list(self.command.argv)!r} pid={pid}>"

    @property
    def pid(self) -> int | None:
        """The CLI's process id (also its process-group id), once started."""
        return None if self._process is None else self._process.pid

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._process = await self._spawn()
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        self._nursery.start_soon(self._feed_stdin)
        self._nursery.start_soon(self._collect_stderr)
        self._nursery.start_soon(self._end_leftovers)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self._nursery is not None and self._nursery_manager is not None
        # The body's exception is kept away from the nursery (its helper tasks raise
        # nothing but Cancelled), so callers get it as is, not in an ExceptionGroup.
        try:
            with trio.CancelScope(shield=True):
                await self._terminate_group()
                with trio.move_on_after(self.command.terminate_grace):
                    await self._stderr_done.wait()
        finally:
            self._nursery.cancel_scope.cancel()
            try:
                await self._nursery_manager.__aexit__(None, None, None)
            finally:
                self._close_pipes()
        if isinstance(exc, CLIFailure):
            raise self.error(exc) from None
        return False

    async def _spawn(self) -> trio.Process:
        command = self.command
        name = command.argv[0]
        if command.cwd is not None and not await trio.Path(command.cwd).is_dir():
            raise SessionError(
                "provider_unavailable",
                f"{command.provider}: working directory does not exist: {command.cwd}",
                provider_error={"provider": command.provider, "kind": "process_error"},
            )
        try:
            return await trio.lowlevel.open_process(
                list(command.argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=command.cwd,
                env=None if command.env is None else dict(command.env),
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            reason = "not executable" if isinstance(exc, PermissionError) else "not found"
            message = (
                f"{command.provider} CLI {reason}: {name!r} "
                "(install it, or pass executable= with its path)"
            )
            raise SessionError(
                "provider_unavailable",
                message,
                provider_error={"provider": command.provider, "kind": "cli_not_found"},
                details={"executable": name},
            ) from exc
        except OSError as exc:
            raise SessionError(
                "provider_unavailable",
                f"{command.provider} CLI could not be started: {exc.strerror or exc}",
                provider_error={"provider": command.provider, "kind": "process_error"},
                details={"executable": name},
            ) from exc

    async def _terminate_group(self) -> None:
        """SIGTERM the process group, wait up to the grace period, then SIGKILL.

        Also ends what the CLI left behind after it exited by itself.
        """
        process = self._process
        assert process is not None
        pgid = process.pid
        grace = self.command.terminate_grace
        if process.returncode is None or group_alive(pgid):
            signal_group(pgid, signal.SIGTERM)
            with trio.move_on_after(grace):
                await process.wait()
                # Nothing signals the exit of processes we are not the parent of: poll.
                while group_alive(pgid):  # noqa: ASYNC110
                    await trio.sleep(_POLL_INTERVAL)
            if process.returncode is None or group_alive(pgid):
                signal_group(pgid, signal.SIGKILL)
        # SIGKILL cannot be ignored; the bound only guards against a wedged kernel.
        with trio.move_on_after(grace):
            await process.wait()

    def _close_pipes(self) -> None:
        assert self._process is not None
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    # -- background tasks ----------------------------------------------------------------

    async def _feed_stdin(self) -> None:
        assert self._process is not None and self._process.stdin is not None
        async with self._process.stdin as stdin:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stdin.send_all(self.command.stdin_data)

    async def _collect_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        stream = self._process.stderr
        try:
            while chunk := await stream.receive_some(_READ_CHUNK):
                self._stderr += chunk
                excess = len(self._stderr) - STDERR_KEEP_BYTES
                if excess > 0:
                    # Drop whole lines from the front, so no secret is cut in half.
                    newline = self._stderr.find(b"\n", excess)
                    del self._stderr[: excess if newline < 0 else newline + 1]
                    self._stderr_truncated = True
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            self._stderr_done.set()

    async def _end_leftovers(self) -> None:
        # A process the CLI left behind may hold stdout open: without this, the
        # reader would wait for an end of output that never comes.
        assert self._process is not None
        await self._process.wait()
        if group_alive(self._process.pid):
            await self._terminate_group()

    # -- stdout ------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self.command.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _line_too_long(self) -> CLIFailure:
        limit = self.command.max_line_bytes
        return CLIFailure(
            "parse_error",
            f"{self.command.provider} printed a stdout line longer than {limit} bytes "
            "(not JSON lines?)",
            details={"max_line_bytes": limit},
        )

    async def receive_line(self) -> str | None:
        """The next stdout line (decoded, without its newline), or None at end of output.

        Raises :class:`CLIFailure` (``parse_error``) for a line longer than
        ``max_line_bytes``. Cancellable; a cancelled call loses no data.
        """
        assert self._process is not None and self._process.stdout is not None
        limit = self.command.max_line_bytes
        buffer = self._stdout_buffer
        while True:
            newline = buffer.find(b"\n", self._scan_from)
            if newline >= 0:
                if newline > limit:
                    raise self._line_too_long()
                raw = bytes(buffer[:newline])
                del buffer[: newline + 1]
                self._scan_from = 0
                return self._scrub(raw.rstrip(b"\r").decode("utf-8", "replace"))
            if len(buffer) > limit:
                raise self._line_too_long()
            self._scan_from = len(buffer)
            if self._stdout_eof:
                if not buffer:
                    return None
                raw = bytes(buffer)
                buffer.clear()
                self._scan_from = 0
                return self._scrub(raw.decode("utf-8", "replace"))
            try:
                chunk = await self._process.stdout.receive_some(_READ_CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if chunk:
                buffer += chunk
            else:
                self._stdout_eof = True

    async def receive_event(self) -> dict[str, Any] | None:
        """The next JSON object on stdout, or None at end of output.

        Blank lines are skipped. Non-JSON lines *before the first JSON object*
        are treated as a banner: skipped, with a note in :attr:`warnings` (at most
        50 such lines). With ``CLICommand.skip_noise``, so is a line anywhere
        that does not even start like JSON (``[SandboxDebug] ...``). Any other
        non-JSON line, or a JSON value that is not an object, raises
        :class:`CLIFailure` with kind ``parse_error``.
        """
        while (line := await self.receive_line()) is not None:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                value = _NOT_JSON
            if isinstance(value, dict):
                self._seen_json = True
                return value
            preview = redact_text(line.strip()[:_PREVIEW_CHARS])
            noise = self.command.skip_noise and not line.lstrip().startswith("{")
            if value is _NOT_JSON and (noise or not self._seen_json):
                self._banner_lines += 1
                if self._banner_lines <= MAX_BANNER_LINES:
                    self.warn(f"skipped non-JSON output line: {preview}")
                    continue
            what = "a non-JSON line" if value is _NOT_JSON else "a JSON value that is not an object"
            raise CLIFailure(
                "parse_error",
                f"{self.command.provider} printed {what} on stdout: {preview}",
                details={"line": preview},
            )
        return None

    def warn(self, note: str) -> None:
        """Record a note for the run's ``cli_warnings`` (at most 100 are kept)."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(note)

    # -- exit --------------------------------------------------------------------------

    async def wait(self) -> int:
        """Wait for the CLI to exit and return its status (negative: killed by a signal).

        Processes it left in its group are ended (as on exit), and the rest of
        stderr is collected (waiting at most ``terminate_grace`` seconds for
        the pipe to close). Cancellable; the exit of the block still cleans up.
        """
        assert self._process is not None
        returncode = await self._process.wait()
        if group_alive(self._process.pid):
            await self._terminate_group()
        with trio.move_on_after(self.command.terminate_grace):
            await self._stderr_done.wait()
        return returncode

    def check_returncode(self, returncode: int) -> None:
        """Raise :class:`CLIFailure` (kind ``transport_exit``) unless *returncode* is 0."""
        if returncode != 0:
            raise self.exit_failure(returncode)

    def exit_failure(self, returncode: int) -> CLIFailure:
        """The :class:`CLIFailure` (kind ``transport_exit``) for a non-zero *returncode*,
        naming the exit status or signal and the last line of stderr."""
        provider = self.command.provider
        details: dict[str, Any] = {}
        if returncode < 0:
            name = signal_name(returncode)
            details["signal"] = name
            message = f"{provider} executable was killed by {name} (exit status {returncode})"
        else:
            message = f"{provider} executable exited with status {returncode}"
        stderr, _ = self.stderr_tail(max_lines=1)
        if stderr:
            last = stderr.strip().splitlines()
            if last:
                message += f": {last[-1].strip()[:_PREVIEW_CHARS]}"
        return CLIFailure("transport_exit", message, exit_code=returncode, details=details)

    def stderr_tail(
        self, max_bytes: int = MAX_STDERR_BYTES, max_lines: int = MAX_STDERR_LINES
    ) -> tuple[str | None, bool]:
        """The redacted tail of stderr (at most *max_lines* lines and *max_bytes*
        UTF-8 bytes) and whether anything was cut. None when stderr was empty."""
        text = redact_text(self._scrub(self._stderr.decode("utf-8", "replace"))).rstrip()
        truncated = self._stderr_truncated
        if not text:
            return None, truncated
        lines = text.split("\n")
        if len(lines) > max_lines:
            text = "\n".join(lines[-max_lines:])
            truncated = True
        raw = text.encode("utf-8")
        if len(raw) > max_bytes:
            text = raw[-max_bytes:].decode("utf-8", "ignore")
            newline = text.find("\n")
            if 0 <= newline < len(text) - 1:
                text = text[newline + 1 :]
            truncated = True
        return text, truncated

    def error(self, failure: CLIFailure) -> SessionError:
        """*failure* as a :class:`SessionError` with the six-key ``provider_error``."""
        stderr, truncated = self.stderr_tail()
        details = dict(failure.details)
        if self.warnings:
            details["warnings"] = self.warnings[:MAX_WARNINGS]
        return SessionError(
            failure.code,
            self._scrub(failure.message),
            details=details,
            provider_error={
                "provider": self.command.provider,
                "kind": failure.kind,
                "message": self._scrub(failure.message),
                "exit_code": failure.exit_code,
                "stderr": stderr,
                "truncated": True if truncated else None,
            },
        )


_NOT_JSON: Final[Any] = object()
