"""One-line descriptions of tool calls for the Studio renderer.

Ports the reference ``Studio.ToolSummary`` (``reference/rendering_spec.md`` §8.3):
a spinner text while a tool runs (``Reading lib/sink.ex``), a summary line when
it completes (``Read lib/sink.ex (72 lines)``) and the last lines of its output
for the preview mode. Beyond the reference: :func:`failure_line` for a failed
call (``Read failed: lib/sink.ex — no such file``), :func:`tool_label` for
approvals (``Bash (mix test)``), tools without a phrase of their own shown as
a Python call (``get_weather(city='Paris')``), the spinners of
``WebFetch``/``WebSearch`` also for the server tools ``web_fetch``/``web_search``
(whose result list is counted: ``Searched: "trio" (5 results)``), and Codex's
``apply_patch`` (``Patched src/a.py and 2 more``).

*info* is a mapping with the keys ``name``, ``input``, ``output``,
``exit_code``, ``duration_ms`` and ``status`` (any may be missing). Numbers use
Python's ``round`` and ``str`` (a documented deviation: ``1250`` chars is
``1.2k``, where the reference's half-up rounding gives ``1.3k``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ._text import (
    first,
    inspect_value,
    is_number,
    mapping_get,
    number_text,
    one_line,
    plural,
    round_number,
)
from ._text import to_string as _to_string

__all__ = [
    "failure_line",
    "format_duration",
    "format_size",
    "host",
    "is_failed",
    "line_count",
    "normalize_output",
    "preview_lines",
    "shorten_path",
    "spinner_text",
    "summary_line",
    "tool_info",
    "tool_label",
]

_COMMAND_LIMIT: Final = 60
_ERROR_LIMIT: Final = 120
_MAX_NESTING: Final = 8


def _trunc(text: str, limit: int) -> str:
    text = text.strip()
    return text[:limit] + "..." if len(text) > limit else text


def _tool(info: Mapping[str, Any]) -> str:
    name = mapping_get(info, "name")
    if name is None or name == "":
        return "tool"
    text = _to_string(name)
    return "bash" if text in ("Bash", "bash") else text


def _input(info: Mapping[str, Any]) -> Mapping[Any, Any]:
    value = mapping_get(info, "input")
    return value if isinstance(value, Mapping) else {}


def _iv(tool_input: Mapping[Any, Any], key: str) -> str | None:
    value = first(mapping_get(tool_input, key))
    if value is None or value == "":
        return None
    return _to_string(value)


def _path(tool_input: Mapping[Any, Any]) -> str:
    return _iv(tool_input, "file_path") or _iv(tool_input, "path") or "file"


def normalize_output(output: Any, _depth: int = 0) -> str:
    """Tool output as text: the ``output`` key of a mapping, ``""`` for None or
    ``{}``, one line per item of a list (content blocks by their text, search
    results by their title and URL)."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, Mapping):
        if _has_key(output, "output") and _depth < _MAX_NESTING:
            return normalize_output(mapping_get(output, "output"), _depth + 1)
        text = inspect_value(output)
        return "" if text == "{}" else text
    if isinstance(output, list | tuple) and _depth < _MAX_NESTING:
        return "\n".join(_item_text(item, _depth + 1) for item in output)
    return _to_string(output)


def _item_text(item: Any, depth: int) -> str:
    """One item of a list output: a content block's ``text``, a search result's
    ``title — url``, else the item as :func:`normalize_output` shows it."""
    if isinstance(item, Mapping):
        text = mapping_get(item, "text")
        if isinstance(text, str):
            return text
        parts = [mapping_get(item, key) for key in ("title", "url")]
        shown = [part for part in parts if isinstance(part, str) and part]
        if shown:
            return " — ".join(shown)
    return normalize_output(item, depth)


def _has_key(mapping: Mapping[Any, Any], key: str) -> bool:
    try:
        return key in mapping
    except Exception:
        return False


def line_count(text: str) -> int:
    """Non-empty lines of *text* (``"1\\n2\\n\\n3"`` -> 3)."""
    return sum(1 for part in text.split("\n") if part)


def format_size(n: Any) -> str:
    """``500 chars``, ``1.5k chars``, ``15k chars``; ``""`` for None."""
    if not is_number(n):
        return ""
    if n < 1000:
        return f"{number_text(n)} chars"
    if n < 10000:
        return f"{number_text(round_number(n / 1000, 1))}k chars"
    return f"{number_text(n // 1000)}k chars"


def format_duration(ms: Any) -> str:
    """``3.2s`` for an integer number of milliseconds above 2000, else ``""``."""
    if isinstance(ms, int) and not isinstance(ms, bool) and ms > 2000:
        return f"{number_text(round_number(ms / 1000, 1))}s"
    return ""


def shorten_path(path: Any, max_length: int = 60) -> str:
    """A long path as ``first/.../last/two`` (``"file"`` for a non-string)."""
    if not isinstance(path, str):
        return "file"
    if len(path) <= max_length:
        return path
    parts = (["/"] if path.startswith("/") else []) + [p for p in path.split("/") if p]
    if len(parts) >= 4:
        return posixpath.join(parts[0], "...", *parts[-2:])
    return path


def host(url: Any) -> str | None:
    """The host of *url* (case kept, no port or user info), or None."""
    if not isinstance(url, str):
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    hostname = netloc.rpartition("@")[2]
    if hostname.startswith("["):
        hostname = hostname[1:].partition("]")[0]
    else:
        hostname = hostname.partition(":")[0]
    return hostname or None


def tool_info(started: Mapping[str, Any] | None, get: Callable[[str], Any]) -> dict[str, Any]:
    """The *info* of a finished call: its completion event's data (read with *get*)
    over what its start said (*started*: ``name``, ``input``), with ``exit_code``,
    ``duration_ms`` and ``status`` also looked up in a mapping ``tool_output``,
    and ``status`` settled to ``"failed"`` or ``"completed"``."""
    started = started or {}
    output = get("tool_output")

    def from_output(key: str) -> Any:
        return mapping_get(output, key) if isinstance(output, Mapping) else None

    info: dict[str, Any] = {
        "name": first(get("tool_name"), started.get("name"), "tool"),
        "input": first(get("tool_input"), started.get("input"), {}),
        "output": output,
        "exit_code": first(get("exit_code"), from_output("exit_code")),
        "duration_ms": first(get("duration_ms"), from_output("duration_ms")),
        "status": first(get("status"), from_output("status")),
    }
    info["status"] = "failed" if is_failed(info) else "completed"
    return info


def is_failed(info: Mapping[str, Any]) -> bool:
    """True if the status says ``failed`` or the exit code is a non-zero integer."""
    status = mapping_get(info, "status")
    if isinstance(status, str) and status == "failed":
        return True
    code = mapping_get(info, "exit_code")
    return isinstance(code, int) and not isinstance(code, bool) and code != 0


def spinner_text(info: Mapping[str, Any]) -> str:
    """What a running tool is doing: ``Running: mix test``, ``Reading lib/a.ex``."""
    if mapping_get(info, "name") is None:
        return "Using tool"
    tool = _tool(info)
    inp = _input(info)
    spinner = _SPINNERS.get(tool)
    return spinner(inp) if spinner is not None else "Using " + _call(tool, inp)


def _call(tool: str, inp: Mapping[Any, Any]) -> str:
    """A tool with no phrase of its own, shown as a Python call: ``get_weather(city='Paris')``."""
    try:
        items = list(inp.items())
    except Exception:
        items = []
    if not items:
        return tool
    args = ", ".join(f"{_to_string(key)}={inspect_value(value)}" for key, value in items)
    return f"{tool}({_trunc(args, _COMMAND_LIMIT)})"


def _bash_spinner(inp: Mapping[Any, Any]) -> str:
    command = _iv(inp, "command")
    return "Running: " + _trunc(command, _COMMAND_LIMIT) if command else "Running bash"


def _patched(inp: Mapping[Any, Any]) -> str:
    """The files of a Codex ``apply_patch`` call: ``src/a.py`` or ``src/a.py and 2 more``."""
    changes = mapping_get(inp, "changes")
    paths = [
        path
        for change in (changes if isinstance(changes, list | tuple) else ())
        if isinstance(path := mapping_get(change, "path"), str) and path
    ]
    if not paths:
        return "files"
    more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
    return shorten_path(paths[0]) + more


def _web_search_spinner(inp: Mapping[Any, Any]) -> str:
    query = _iv(inp, "query")
    return f'Searching: "{query}"' if query else "Searching the web"


def _grep_spinner(inp: Mapping[Any, Any]) -> str:
    return f'Searching "{_iv(inp, "pattern") or "pattern"}" in {_iv(inp, "path") or "."}'


_SPINNERS: Final[dict[str, Callable[[Mapping[Any, Any]], str]]] = {
    "bash": _bash_spinner,
    "Read": lambda inp: "Reading " + _path(inp),
    "Write": lambda inp: "Writing " + _path(inp),
    "Edit": lambda inp: "Editing " + _path(inp),
    "Glob": lambda inp: "Searching for " + (_iv(inp, "pattern") or "files"),
    "Grep": _grep_spinner,
    "Task": lambda inp: "Running task: " + (_iv(inp, "description") or "task"),
    "WebFetch": lambda inp: "Fetching " + (host(_iv(inp, "url")) or "web resource"),
    "WebSearch": _web_search_spinner,
    "apply_patch": lambda inp: "Patching " + _patched(inp),
}
_SPINNERS["web_fetch"] = _SPINNERS["WebFetch"]
_SPINNERS["web_search"] = _SPINNERS["WebSearch"]


def summary_line(info: Mapping[str, Any]) -> str:
    """What a finished tool did: ``Ran: mix test (exit 0, 156 chars)``."""
    tool = _tool(info)
    inp = _input(info)
    output = normalize_output(mapping_get(info, "output"))
    size = format_size(len(output)) if output else ""
    duration = format_duration(mapping_get(info, "duration_ms"))
    if tool == "bash":
        failed = is_failed(info)
        command = _trunc(_iv(inp, "command") or "bash", _COMMAND_LIMIT)
        code = mapping_get(info, "exit_code")
        if code is None:
            code = 1 if failed else 0
        details = ", ".join(d for d in (f"exit {_to_string(code)}", size, duration) if d)
        return f"{'Bash failed' if failed else 'Ran'}: {command} ({details})"
    if tool == "Read":
        return f"Read {shorten_path(_path(inp))} ({plural(line_count(output), 'line')})"
    if tool == "Write":
        content = _iv(inp, "content") or ""
        return f"Wrote {shorten_path(_path(inp))} ({plural(line_count(content), 'line')})"
    if tool == "Edit":
        return f"Edited {shorten_path(_path(inp))}"
    if tool == "apply_patch":
        return "Patched " + _patched(inp)
    if tool == "Glob":
        return f"Found {plural(line_count(output), 'file')} matching {_iv(inp, 'pattern') or '*'}"
    if tool == "Grep":
        found = line_count(output)
        matches = f"{found} match" if found == 1 else f"{found} matches"
        return f'Found {matches} for "{_iv(inp, "pattern") or "pattern"}"'
    if tool == "Task":
        description = _iv(inp, "description") or "task"
        return f"Task complete: {description}" + (f" ({duration})" if duration else "")
    results = mapping_get(info, "output")
    query = _iv(inp, "query")
    if tool in ("WebSearch", "web_search") and (query or isinstance(results, list)):
        counted = f" ({plural(len(results), 'result')})" if isinstance(results, list) else ""
        return f'Searched: "{query or ""}"{counted}'
    name = tool if tool in _SPINNERS else _call(tool, inp)
    return f"{name} complete" + (f" ({size})" if size else "")


def preview_lines(info: Mapping[str, Any], n: int = 3) -> list[str]:
    """The last *n* non-blank output lines, stripped."""
    output = normalize_output(mapping_get(info, "output"))
    lines = [line.strip() for line in output.split("\n")]
    lines = [line for line in lines if line]
    return lines[-n:] if n > 0 else []


def _subject(tool: str, inp: Mapping[Any, Any]) -> str | None:
    """What a call works on: a command, path, pattern, description, host or query."""
    if tool == "bash":
        command = _iv(inp, "command")
        return None if command is None else _trunc(command, _COMMAND_LIMIT)
    if tool in ("Read", "Write", "Edit"):
        return shorten_path(_path(inp))
    if tool == "apply_patch":
        return _patched(inp)
    if tool in ("Glob", "Grep"):
        return _iv(inp, "pattern")
    if tool == "Task":
        return _iv(inp, "description")
    if tool in ("WebFetch", "web_fetch"):
        return host(_iv(inp, "url"))
    if tool in ("WebSearch", "web_search"):
        return _iv(inp, "query")
    return None


def tool_label(info: Mapping[str, Any]) -> str:
    """The tool and what it works on: ``Bash (mix test)``, ``get_weather(city='Paris')``."""
    name = mapping_get(info, "name")
    label = "tool" if name is None or name == "" else _to_string(name)
    tool = _tool(info)
    subject = _subject(tool, _input(info))
    if subject:
        return f"{label} ({subject})"
    return label if tool in _SPINNERS else _call(label, _input(info))


def failure_line(info: Mapping[str, Any], error: Any = None) -> str:
    """What a failed call was: ``Read failed: lib/sink.ex — no such file``.

    A shell command with an exit code keeps its summary (``Bash failed: make
    (exit 2, 1.2k chars)``): the exit code says what happened. Otherwise the
    first line of *error* follows the dash.
    """
    tool = _tool(info)
    if tool == "bash" and mapping_get(info, "exit_code") is not None:
        return summary_line({**info, "status": "failed"})
    subject = _subject(tool, _input(info))
    if subject:
        line = f"{'Bash' if tool == 'bash' else tool} failed: {subject}"
    else:
        line = f"{tool if tool in _SPINNERS else _call(tool, _input(info))} failed"
    detail = one_line(normalize_output(error), _ERROR_LIMIT)
    return f"{line} — {detail}" if detail else line
