"""What the command line checks before anything starts.

Every check raises :class:`UsageError` with one line in command-line words
(flags and environment variables, never the library's parameter names). They
run before a store, an adapter or an output file is opened, so a command that
cannot work as asked leaves nothing behind: no run, no database, no file.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "DEFAULTS",
    "Mode",
    "UsageError",
    "check_combinations",
    "check_executable",
    "check_output_path",
    "check_store_path",
    "cli_words",
    "postgres_dsn",
    "sqlite_path",
]

Mode = Literal["run", "list", "replay"]

#: The defaults of the flags whose presence matters (None on the parser: not given).
DEFAULTS: Final = {
    "adapter": "claude",
    "mock_mode": "streaming",
    "idle_timeout": 120.0,
    "renderer": "compact",
    "store": "memory",
}
#: Flags that only shape a new run.
_RUN_FLAGS: Final = (
    "adapter",
    "model",
    "base_url",
    "cli_path",
    "mock_mode",
    "idle_timeout",
    "timeout",
    "continue_session",
)
#: Flags that only shape rendered output.
_OUTPUT_FLAGS: Final = ("renderer", "jsonl", "no_color")
#: Which --adapter values each adapter-specific flag is for.
_ADAPTER_FLAGS: Final = {
    "cli_path": ("claude-code", "codex", "amp"),
    "base_url": ("claude",),
    "mock_mode": ("mock",),
}
#: Library words in messages from the layers below, and the command line's.
_HINTS: Final = (
    (" (to read a database you cannot write, pass read_only=True)", ""),
    ("pass executable= with its path", "give its path with --cli-path"),
    (
        "pass api_key to ClaudeAdapter or set the environment variable",
        "export your Anthropic API key as ANTHROPIC_API_KEY",
    ),
)


class UsageError(Exception):
    """The command cannot start as asked; the message is one line for the user."""


def _flag(name: str) -> str:
    return "--continue" if name == "continue_session" else "--" + name.replace("_", "-")


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name)
    return value is not None and value is not False


def cli_words(message: str) -> str:
    """*message* (from an adapter or a store) with library hints in command-line words."""
    for library, cli in _HINTS:
        message = message.replace(library, cli)
    return " ".join(message.split())


def check_combinations(args: argparse.Namespace) -> Mode:
    """The mode the flags ask for; a flag that would do nothing in it is an error."""
    if args.list_sessions and args.replay is not None:
        raise UsageError("--list-sessions and --replay cannot be combined")
    if not args.list_sessions and args.replay is None:
        adapter = args.adapter or DEFAULTS["adapter"]
        for name, adapters in _ADAPTER_FLAGS.items():
            if _given(args, name) and adapter not in adapters:
                wanted = " or ".join((", ".join(adapters[:-1]), adapters[-1])).lstrip(" or")
                raise UsageError(
                    f"{_flag(name)} does nothing with --adapter {adapter} "
                    f"(it is for --adapter {wanted})"
                )
        if args.follow:
            raise UsageError("--follow goes with --replay SESSION_ID")
        return "run"
    mode: Mode = "list" if args.list_sessions else "replay"
    action = "--list-sessions" if mode == "list" else "--replay"
    if args.prompt is not None:
        raise UsageError(f"{action} takes no prompt (got {args.prompt!r})")
    if args.follow and mode != "replay":
        raise UsageError("--follow does nothing with --list-sessions")
    ignored = _RUN_FLAGS + (_OUTPUT_FLAGS if mode == "list" else ())
    for name in ignored:
        if _given(args, name):
            raise UsageError(f"{_flag(name)} does nothing with {action}")
    if (args.store or DEFAULTS["store"]) == "memory":
        raise UsageError(f"{action} needs --store sqlite:PATH (a memory store starts empty)")
    return mode


def sqlite_path(store: str) -> Path | None:
    """The file of ``--store sqlite:PATH``; None for ``memory``."""
    if store == "memory":
        return None
    if store.startswith("sqlite:") and len(store) > len("sqlite:"):
        return Path(store.removeprefix("sqlite:"))
    raise UsageError(
        f"--store must be 'memory', 'sqlite:PATH' or 'postgres:DSN', not {store.split(':')[0]!r}"
    )


def postgres_dsn(store: str) -> str | None:
    """The DSN of ``--store postgres:DSN`` (never echoed: it may hold a password);
    None for another store."""
    if not store.startswith("postgres:"):
        return None
    dsn = store.removeprefix("postgres:")
    if not dsn:
        raise UsageError("--store postgres needs a DSN: postgres:DSN or TRIO_STREAM_SESSION_DSN")
    return dsn


def _check_writable(flag: str, path: Path) -> None:
    """*path* can be created or written: its directory exists and is writable."""
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"{flag}: no such directory: {directory}")
    if path.is_dir():
        raise UsageError(f"{flag}: {path} is a directory")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"{flag}: {path} is read-only")
    elif not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: cannot create files in {directory}")


def check_store_path(store: str, path: Path, mode: Mode) -> None:
    """A SQLite store at *path* can serve *mode*: a run writes (the file may be
    new; SQLite also writes ``-wal``/``-shm`` files beside it); listing and
    replaying read an existing file only, and never create one."""
    flag = f"--store {store}"
    if mode != "run":
        if path.is_dir():
            raise UsageError(f"{flag}: {path} is a directory")
        if not path.exists():
            raise UsageError(f"no such store: {path}")
        return
    _check_writable(flag, path)
    if path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"{flag}: cannot write in {path.parent} (SQLite keeps a journal beside the file; "
            "--list-sessions and --replay can still read it)"
        )


def check_output_path(path: Path) -> None:
    """``--jsonl PATH`` can be written."""
    _check_writable("--jsonl", path)


def check_executable(adapter: str, cli_path: str | None, default: str) -> None:
    """The agent CLI of *adapter* exists and is executable (a name is looked up on PATH)."""
    name = cli_path or default
    if shutil.which(name) is not None:
        return
    if os.sep in name and Path(name).is_file():
        raise UsageError(f"{adapter} CLI is not executable: {name}")
    where = "" if os.sep in name else " on PATH"
    hint = "check --cli-path" if cli_path else "install it, or give its path with --cli-path"
    raise UsageError(f"{adapter} CLI not found{where}: {name!r} ({hint})")
