"""The command line: ``trio-stream-session "prompt"`` (also ``python -m trio_stream_session``).

Exit codes: 0 the run succeeded; 1 it ended with an error event; 2 the command
could not start as asked (bad usage, a missing API key or CLI, an unusable
store, an unknown session); 130 interrupted by Ctrl-C (after a clean shutdown:
the run is recorded as cancelled).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, Final, TextIO

import trio

from ._errors import SessionError
from ._events import EventType
from ._open import open_stream_session
from ._ports import SessionStore
from ._recovery import find_interrupted_runs
from ._replay import replay_session
from .stores import InMemorySessionStore, SQLiteSessionStore

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


class UsageError(Exception):
    """The command cannot start as asked; the message is one line for the user."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one AI-agent session and render its events.",
        epilog="Exit codes: 0 success, 1 the run ended with an error, "
        "2 bad usage or missing configuration, 130 interrupted.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt; read from stdin when omitted")
    run = parser.add_argument_group("provider")
    run.add_argument("--adapter", choices=ADAPTERS, default="claude", help="default: claude")
    run.add_argument("--model", help="the provider's model name")
    run.add_argument(
        "--base-url", help="Claude API base URL (default: ANTHROPIC_BASE_URL or Anthropic's)"
    )
    run.add_argument("--cli-path", help="path of the claude, codex or amp executable")
    run.add_argument(
        "--mock-mode",
        default="streaming",
        choices=("instant", "streaming", "delayed", "failing", "timeout"),
        help="behaviour of --adapter mock (default: streaming)",
    )
    run.add_argument(
        "--idle-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="end the run after this much silence (default: 120; 0 disables)",
    )
    run.add_argument(
        "--timeout",
        metavar="SECONDS",
        help="end the run after this many seconds in all (default: no limit)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--renderer", choices=RENDERERS, default="compact", help="default: compact")
    out.add_argument("--no-color", action="store_true", help="plain text (also: NO_COLOR=1)")
    out.add_argument("--jsonl", metavar="PATH", help="also write every event to PATH as JSON lines")
    store = parser.add_argument_group("store")
    store.add_argument(
        "--store",
        default="memory",
        metavar="memory|sqlite:PATH",
        help="where sessions are kept (default: memory)",
    )
    store.add_argument("--list-sessions", action="store_true", help="list stored sessions and exit")
    store.add_argument("--replay", metavar="SESSION_ID", help="render a stored session and exit")
    return parser


def _store_spec(value: str) -> tuple[type[Any], dict[str, Any]]:
    if value == "memory":
        return InMemorySessionStore, {}
    if value.startswith("sqlite:") and len(value) > len("sqlite:"):
        return SQLiteSessionStore, {"path": value.removeprefix("sqlite:")}
    raise UsageError(f"--store must be 'memory' or 'sqlite:PATH', not {value!r}")


def _adapter_spec(args: argparse.Namespace) -> tuple[type[Any], dict[str, Any]]:
    options: dict[str, Any] = {}
    if args.model:
        options["model"] = args.model
    if args.adapter == "mock":
        from .testing import MockAdapter

        return MockAdapter, {"mode": args.mock_mode}
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


def _timeout(value: str | None) -> float | None:
    """``--timeout``: a positive number of seconds (None: no limit)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise UsageError(f"--timeout must be a positive number of seconds, not {value!r}")
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


def _sinks(args: argparse.Namespace, stdout: TextIO) -> list[Any]:
    from . import rendering

    sinks: list[Any] = [rendering.TTYSink(stdout)]
    if args.jsonl:
        sinks.append(rendering.JSONLSink(args.jsonl))
    return sinks


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


async def _list_sessions(store: SessionStore, stdout: TextIO) -> int:
    """One line per session. A session whose run's process is gone (see
    :func:`find_interrupted_runs`) shows as ``interrupted``. Listing only reads:
    closing such runs is ``recover_interrupted_runs``, a decision for the caller."""
    interrupted = {run.session_id for run in await find_interrupted_runs(store)}
    for session in await store.list_sessions():
        status = "interrupted" if session.id in interrupted else session.status.value
        created = session.created_at.isoformat(timespec="seconds")
        stdout.write(f"{session.id}  {status:<11}  {session.agent_id}  {created}\n")
    return EXIT_OK


async def _replay(args: argparse.Namespace, store: SessionStore, stdout: TextIO) -> int:
    from .rendering import render_stream

    try:
        await store.get_session(args.replay)
    except SessionError as exc:
        raise UsageError(exc.message) from None
    stream = replay_session(store, args.replay, type=REPLAYED_TYPES)
    renderer = _renderer(args.renderer, args.color, stdout.isatty())
    summary = await render_stream(stream, renderer=renderer, sinks=_sinks(args, stdout))
    return EXIT_RUN_FAILED if summary.errors else EXIT_OK


async def _with_store(args: argparse.Namespace, stdout: TextIO) -> int:
    factory, options = _store_spec(args.store)
    try:
        async with factory(**options) as store:
            if args.list_sessions:
                return await _list_sessions(store, stdout)
            return await _replay(args, store, stdout)
    except SessionError as exc:
        raise UsageError(exc.message) from None


async def _run(args: argparse.Namespace, prompt: str, stdout: TextIO, stderr: TextIO) -> int:
    from .rendering import render_stream

    try:
        async with open_stream_session(
            adapter=_adapter_spec(args),
            input={"messages": [{"role": "user", "content": prompt}]},
            store=_store_spec(args.store),
            idle_timeout=args.idle_timeout or math.inf,
            run_opts=None if args.timeout is None else {"adapter_opts": {"timeout": args.timeout}},
        ) as stream:
            renderer = _renderer(args.renderer, args.color, stdout.isatty())
            await render_stream(stream, renderer=renderer, sinks=_sinks(args, stdout))
    except SessionError as exc:
        raise UsageError(exc.message) from None
    if stream.result is None:
        return EXIT_RUN_FAILED
    return EXIT_OK


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
    args = build_parser().parse_args(argv)
    args.color = not args.no_color and not os.environ.get("NO_COLOR") and stdout.isatty()
    try:
        if args.idle_timeout < 0 or math.isnan(args.idle_timeout):
            raise UsageError("--idle-timeout must be >= 0 seconds")
        args.timeout = _timeout(args.timeout)
        if args.list_sessions or args.replay:
            return trio.run(_with_store, args, stdout)
        prompt = _read_prompt(args, stdin)
        return trio.run(_run, args, prompt, stdout, stderr)
    except UsageError as exc:
        stderr.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BaseExceptionGroup as group:
        if group.subgroup(KeyboardInterrupt) is not None:
            stderr.write(f"{PROG}: interrupted\n")
            return EXIT_INTERRUPTED
        raise
