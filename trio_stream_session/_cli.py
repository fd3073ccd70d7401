"""The command line: ``trio-stream-session "prompt"`` (also ``python -m trio_stream_session``).

Exit codes: 0 the run succeeded; 1 it ended with an error event (or the output
could not be written); 2 the command could not start as asked; 130 interrupted
by Ctrl-C (after a clean shutdown: the run is recorded as cancelled).

Exit 2 is one line on stderr, in command-line words, and nothing has started:
the flags, paths, key and executable are checked first (:mod:`._cli_checks`),
then the adapter, the store and the output files are opened, and only then
does the run start. A flag that would do nothing in a combination is an error,
not ignored. ``--list-sessions`` and ``--replay`` open the store read-only and
never create one. On a terminal (colour allowed) a spinner shows while the
agent is silent (:mod:`._cli_terminal`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

import trio

from . import __version__
from ._cli_checks import (
    DEFAULTS,
    Mode,
    UsageError,
    check_combinations,
    check_executable,
    check_output_path,
    check_store_path,
    cli_words,
    postgres_dsn,
    sqlite_path,
)
from ._cli_terminal import TerminalSink
from ._errors import SessionError
from ._events import EventType
from ._open import open_stream_session
from ._ports import SessionStore
from ._recovery import find_interrupted_runs
from ._replay import replay_session
from ._taskscope import TaskScope
from .rendering import RenderingError
from .stores import store_from_name
from .stores._postgres import describe_dsn

__all__ = ["main"]

PROG: Final = "trio-stream-session"
EXIT_OK: Final = 0
EXIT_RUN_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
RENDERERS: Final = ("compact", "verbose", "studio", "passthrough")
ADAPTERS: Final = ("claude", "claude-code", "codex", "amp", "mock")
#: What a replay shows: what the live stream showed (no session bookkeeping).
REPLAYED_TYPES: Final = frozenset(
    t for t in EventType if t.category != "session" and t is not EventType.MESSAGE_SENT
)


def build_parser() -> argparse.ArgumentParser:
    """The parser; flags whose presence matters default to None (see ``DEFAULTS``)."""
    parser = _Parser(
        prog=PROG,
        description="Run one AI-agent session and render its events.",
        epilog="Exit codes: 0 success, 1 the run ended with an error, "
        "2 the command could not start as asked (nothing was started), 130 interrupted.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; read from stdin when omitted")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    run = parser.add_argument_group("provider")
    run.add_argument("--adapter", choices=ADAPTERS, help="default: claude")
    run.add_argument("--model", help="the provider's model name")
    run.add_argument(
        "--base-url", help="Claude API base URL (default: ANTHROPIC_BASE_URL or Anthropic's)"
    )
    run.add_argument("--cli-path", help="path of the claude, codex or amp executable")
    run.add_argument(
        "--mock-mode",
        choices=("instant", "streaming", "delayed", "failing", "timeout"),
        help="behaviour of --adapter mock (default: streaming)",
    )
    run.add_argument(
        "--idle-timeout",
        type=float,
        metavar="SECONDS",
        help="end the run after this much silence (default: 120; 0 disables)",
    )
    run.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="end the run after this many seconds in all (default: no limit)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--renderer", choices=RENDERERS, help="default: compact")
    out.add_argument("--no-color", action="store_true", help="plain text (also: NO_COLOR=1)")
    out.add_argument("--jsonl", metavar="PATH", help="also write every event to PATH as JSON lines")
    store = parser.add_argument_group("store")
    store.add_argument(
        "--store",
        metavar="memory|sqlite:PATH|postgres:DSN",
        help="where sessions are kept (default: memory; postgres:DSN also from "
        "TRIO_STREAM_SESSION_DSN with --store postgres)",
    )
    store.add_argument("--list-sessions", action="store_true", help="list stored sessions and exit")
    store.add_argument("--replay", metavar="SESSION_ID", help="render a stored session and exit")
    store.add_argument(
        "--follow", action="store_true", help="with --replay: keep showing new events (Ctrl-C ends)"
    )
    store.add_argument(
        "--continue",
        dest="continue_session",
        metavar="SESSION_ID",
        help="add this run to a stored session (needs a persistent --store)",
    )
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``UsageError``), like every other exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _adapter_spec(args: argparse.Namespace) -> tuple[type[Any], dict[str, Any]]:
    options: dict[str, Any] = {}
    if args.model:
        options["model"] = args.model
    if args.adapter == "mock":
        from .testing import MockAdapter

        return MockAdapter, {**options, "mode": args.mock_mode}
    if args.adapter == "claude":
        from .adapters import ClaudeAdapter

        base_url = args.base_url or os.environ.get("ANTHROPIC_BASE_URL")
        if base_url:
            options["base_url"] = base_url
        return ClaudeAdapter, options
    if args.cli_path:
        options["executable"] = args.cli_path
    if args.adapter == "claude-code":
        from .adapters import ClaudeCodeAdapter

        return ClaudeCodeAdapter, options
    if args.adapter == "codex":
        from .adapters import CodexAdapter

        return CodexAdapter, options
    from .adapters import AmpAdapter

    return AmpAdapter, options


def _check_adapter(args: argparse.Namespace, factory: type[Any]) -> None:
    """What the adapter needs and the command line can see: a key, an executable."""
    if args.adapter == "claude":
        if not os.environ.get("ANTHROPIC_API_KEY"):
            raise UsageError(
                "ANTHROPIC_API_KEY is not set: export your Anthropic API key as "
                "ANTHROPIC_API_KEY (or try --adapter mock, offline)"
            )
    elif args.adapter != "mock":
        check_executable(args.adapter, args.cli_path, factory.default_executable)


def _seconds(flag: str, value: str | float | None, *, zero: bool) -> float | None:
    """A number of seconds > 0 (or >= 0 with *zero*); None stays None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and (seconds > 0 or (zero and seconds == 0))):
        wanted = ">= 0" if zero else "a positive number of"
        raise UsageError(f"{flag} must be {wanted} seconds, not {value!r}")
    return seconds


def _renderer(name: str, color: bool, tty: bool) -> Any:
    from . import rendering

    if name == "compact":
        return rendering.CompactRenderer(color=color)
    if name == "verbose":
        return rendering.VerboseRenderer(color=color)
    if name == "studio":
        return rendering.StudioRenderer(color=color, tty=tty)
    return rendering.PassthroughRenderer()


def _read_prompt(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.prompt is not None:
        prompt: str = args.prompt
    elif stdin.isatty():
        raise UsageError("give a prompt as an argument or on standard input")
    else:
        prompt = stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return prompt


async def _open_outputs(
    stack: AsyncExitStack, args: argparse.Namespace, terminal: TerminalSink
) -> list[Any]:
    """The sinks, opened (a file that cannot be created is a ``UsageError``)."""
    from .rendering import JSONLSink

    sinks: list[Any] = [terminal]
    if args.jsonl:
        sinks.append(JSONLSink(args.jsonl))
    for sink in sinks:
        stack.push_async_callback(sink.aclose)
        try:
            await sink.open()
        except OSError as exc:
            raise UsageError(f"--jsonl: cannot write {args.jsonl}: {exc.strerror or exc}") from None
    return sinks


async def _open_store(stack: AsyncExitStack, args: argparse.Namespace, mode: Mode) -> SessionStore:
    dsn = postgres_dsn(args.store)
    where = f"--store postgres:{describe_dsn(dsn)}" if dsn is not None else f"--store {args.store}"
    try:
        store = store_from_name(args.store, read_only=mode != "run")
        return await stack.enter_async_context(store)
    except (SessionError, ImportError, ValueError) as exc:
        message = exc.message if isinstance(exc, SessionError) else str(exc)
        raise UsageError(f"{where}: {cli_words(message)}") from None


async def _render(
    args: argparse.Namespace, stream: Any, terminal: TerminalSink, sinks: list[Any]
) -> Any:
    """Render *stream* to *sinks*, with the spinner on a terminal; the summary."""
    from .rendering import render_stream

    renderer = _renderer(args.renderer, args.color, terminal.stream.isatty())
    async with TaskScope() as nursery:
        nursery.start_soon(terminal.run_spinner)
        try:
            return await render_stream(stream, renderer=renderer, sinks=sinks)
        finally:
            nursery.cancel_scope.cancel()


async def _list_sessions(store: SessionStore, stdout: TextIO) -> int:
    """One line per session. A session whose run's process is gone (see
    :func:`find_interrupted_runs`) shows as ``interrupted``. Listing only reads:
    closing such runs is ``recover_interrupted_runs``, a decision for the caller."""
    interrupted = {run.session_id for run in await find_interrupted_runs(store)}
    for session in await store.list_sessions():
        status = "interrupted" if session.id in interrupted else session.status.value
        created = session.created_at.isoformat(timespec="seconds")
        runs = await store.list_runs(session.id)
        last = runs[-1].status.value if runs else "-"
        count = f"{len(runs)} run{'' if len(runs) == 1 else 's'}"
        stdout.write(
            f"{session.id}  {status:<11}  {count:<7}  last: {last:<9}  "
            f"{session.agent_id}  {created}\n"
        )
    return EXIT_OK


async def _stored(args: argparse.Namespace, mode: Mode, terminal: TerminalSink) -> int:
    """``--list-sessions`` / ``--replay``: read a store, never write it."""
    async with AsyncExitStack() as stack:
        store = await _open_store(stack, args, mode)
        try:
            if mode == "list":
                return await _list_sessions(store, terminal.stream)
            await store.get_session(args.replay)
        except SessionError as exc:
            raise UsageError(cli_words(exc.message)) from None
        sinks = await _open_outputs(stack, args, terminal)
        stream = replay_session(store, args.replay, type=REPLAYED_TYPES, follow=args.follow)
        summary = await _render(args, stream, terminal, sinks)
    return EXIT_RUN_FAILED if summary.errors else EXIT_OK


async def _run(args: argparse.Namespace, prompt: str, terminal: TerminalSink) -> int:
    """One run: open the adapter, the store and the outputs (any failure is a
    ``UsageError`` and nothing has started), then stream the run."""
    factory, options = _adapter_spec(args)
    async with AsyncExitStack() as stack:
        try:
            adapter = await stack.enter_async_context(factory(**options))
        except SessionError as exc:
            raise UsageError(cli_words(exc.message)) from None
        store = await _open_store(stack, args, "run")
        if args.continue_session is not None:
            try:
                await store.get_session(args.continue_session)
            except SessionError as exc:
                raise UsageError(f"--continue: {cli_words(exc.message)}") from None
        sinks = await _open_outputs(stack, args, terminal)
        async with open_stream_session(
            adapter=adapter,
            input={"messages": [{"role": "user", "content": prompt}]},
            store=store,
            session_id=args.continue_session,
            idle_timeout=args.idle_timeout or math.inf,
            run_opts=None if args.timeout is None else {"adapter_opts": {"timeout": args.timeout}},
        ) as stream:
            await _render(args, stream, terminal, sinks)
    return EXIT_OK if stream.result is not None else EXIT_RUN_FAILED


def _prepare(args: argparse.Namespace, stdin: TextIO) -> tuple[Mode, str]:
    """Check everything that can be checked before starting; the mode and prompt."""
    mode = check_combinations(args)
    for name, value in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.store == "postgres":
        args.store = f"postgres:{os.environ.get('TRIO_STREAM_SESSION_DSN', '')}"
    path = None if postgres_dsn(args.store) is not None else sqlite_path(args.store)
    if path is not None:
        check_store_path(args.store, path, mode)
    if args.continue_session is not None and args.store == "memory":
        raise UsageError("--continue needs a persistent --store (sqlite:PATH or postgres:DSN)")
    if args.jsonl:
        check_output_path(Path(args.jsonl))
    if mode != "run":
        return mode, ""
    args.idle_timeout = _seconds("--idle-timeout", args.idle_timeout, zero=True)
    args.timeout = _seconds("--timeout", args.timeout, zero=False)
    prompt = _read_prompt(args, stdin)
    _check_adapter(args, _adapter_spec(args)[0])
    return mode, prompt


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    plain = bool(os.environ.get("NO_COLOR")) or not stdout.isatty()
    terminal = TerminalSink(stdout, spinner=False)
    try:
        args = build_parser().parse_args(argv)
        args.color = not (plain or args.no_color)
        terminal.spinner = args.color
        mode, prompt = _prepare(args, stdin)
        if mode == "run":
            return trio.run(_run, args, prompt, terminal)
        return trio.run(_stored, args, mode, terminal)
    except UsageError as exc:
        stderr.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    except RenderingError as exc:
        terminal.end_line()
        stderr.write(f"{PROG}: cannot write the output: {exc.__cause__ or exc}\n")
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        return _interrupted(terminal, stderr)
    except BaseExceptionGroup as group:
        if group.subgroup(KeyboardInterrupt) is not None:
            return _interrupted(terminal, stderr)
        raise


def _interrupted(terminal: TerminalSink, stderr: TextIO) -> int:
    """Ctrl-C: the run was recorded as cancelled on the way out; end the line cleanly."""
    terminal.end_line()
    stderr.write(f"{PROG}: interrupted\n")
    return EXIT_INTERRUPTED
