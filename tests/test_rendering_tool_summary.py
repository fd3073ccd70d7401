"""Studio tool summaries: the reference's tool_summary_test, ported (spec §12.7)."""

from __future__ import annotations

from typing import Any

import pytest

from trio_stream_session.rendering._tool_summary import (
    failure_line,
    format_duration,
    format_size,
    host,
    line_count,
    preview_lines,
    shorten_path,
    spinner_text,
    summary_line,
    tool_info,
    tool_label,
)


def info(name: Any, tool_input: Any = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "input": tool_input, **extra}


# Spinner text


@pytest.mark.parametrize(
    ("name", "tool_input", "expected"),
    [
        (
            "bash",
            {"command": "mix test test/pubsub_test.exs"},
            "Running: mix test test/pubsub_test.exs",
        ),
        ("Bash", {"command": "ls"}, "Running: ls"),
        ("Read", {"file_path": "lib/rendering/sink.ex"}, "Reading lib/rendering/sink.ex"),
        ("Write", {"file_path": "test/pubsub_sink_test.exs"}, "Writing test/pubsub_sink_test.exs"),
        ("Edit", {"file_path": "lib/session_manager.ex"}, "Editing lib/session_manager.ex"),
        ("Glob", {"pattern": "**/*.ex"}, "Searching for **/*.ex"),
        (
            "Grep",
            {"pattern": "defmodule.*Sink", "path": "lib/"},
            'Searching "defmodule.*Sink" in lib/',
        ),
        ("Task", {"description": "Explore codebase"}, "Running task: Explore codebase"),
        ("WebFetch", {"url": "https://github.com/nshkrdotcom"}, "Fetching github.com"),
        ("WebSearch", {"query": "elixir pubsub"}, 'Searching: "elixir pubsub"'),
        ("custom_tool", {}, "Using custom_tool"),
    ],
)
def test_spinner_text(name: str, tool_input: dict[str, Any], expected: str) -> None:
    assert spinner_text(info(name, tool_input)) == expected


def test_spinner_truncates_long_command() -> None:
    command = "x" * 70
    assert spinner_text(info("bash", {"command": command})) == "Running: " + "x" * 60 + "..."


def test_spinner_missing_input() -> None:
    assert spinner_text(info("bash", None)) == "Running bash"
    assert spinner_text(info("Read", {})) == "Reading file"
    assert spinner_text({}) == "Using tool"


# Summary line


def test_bash_summary() -> None:
    line = summary_line(info("bash", {"command": "mix test"}, output="x" * 156, exit_code=0))
    assert line == "Ran: mix test (exit 0, 156 chars)"


def test_bash_failed_summary() -> None:
    line = summary_line(
        info("bash", {"command": "mix compile"}, output="e" * 2400, exit_code=1, status="failed")
    )
    assert line == "Bash failed: mix compile (exit 1, 2.4k chars)"


def test_bash_duration() -> None:
    line = summary_line(info("bash", {"command": "sleep 3"}, output="", duration_ms=3200))
    assert "3.2s" in line
    assert line == "Ran: sleep 3 (exit 0, 3.2s)"


def test_read_summary() -> None:
    output = "\n".join(f"line {i}" for i in range(72))
    assert summary_line(info("Read", {"file_path": "lib/sink.ex"}, output=output)) == (
        "Read lib/sink.ex (72 lines)"
    )


def test_write_summary() -> None:
    content = "\n".join(f"line {i}" for i in range(138))
    line = summary_line(
        info("Write", {"file_path": "test/pubsub_sink_test.exs", "content": content}, output="ok")
    )
    assert line == "Wrote test/pubsub_sink_test.exs (138 lines)"


def test_edit_summary() -> None:
    line = summary_line(info("Edit", {"file_path": "lib/session_manager.ex"}, output="ok"))
    assert line == "Edited lib/session_manager.ex"


def test_glob_summary() -> None:
    output = "\n".join(f"f{i}.ex" for i in range(24))
    assert summary_line(info("Glob", {"pattern": "**/*.ex"}, output=output)) == (
        "Found 24 files matching **/*.ex"
    )


def test_grep_summary() -> None:
    output = "\n".join(f"m{i}" for i in range(8))
    assert summary_line(info("Grep", {"pattern": "defmodule.*Sink"}, output=output)) == (
        'Found 8 matches for "defmodule.*Sink"'
    )


def test_task_summary() -> None:
    line = summary_line(info("Task", {"description": "Explore codebase"}, duration_ms=45200))
    assert line == "Task complete: Explore codebase (45.2s)"


def test_generic_summary() -> None:
    assert summary_line(info("custom_tool", {}, output="y" * 234)) == (
        "custom_tool complete (234 chars)"
    )


@pytest.mark.parametrize("output", [None, ""])
def test_generic_summary_without_output(output: Any) -> None:
    assert summary_line(info("custom_tool", {}, output=output)) == "custom_tool complete"


def test_summary_of_map_output() -> None:
    output = {"output": "10:      version: @version,\n", "status": "completed", "exit_code": 0}
    line = summary_line(
        info("bash", {"command": 'rg -n "version:" mix.exs'}, output=output, exit_code=0)
    )
    assert 'Ran: rg -n "version:" mix.exs' in line
    assert "exit 0" in line
    assert "chars" in line


# Preview lines


def test_preview_last_three() -> None:
    output = "\nline1\n\nline2\nline3\nline4\n"
    assert preview_lines({"output": output}, 3) == ["line2", "line3", "line4"]


@pytest.mark.parametrize("output", [None, ""])
def test_preview_empty(output: Any) -> None:
    assert preview_lines({"output": output}, 3) == []


def test_preview_short() -> None:
    assert preview_lines({"output": "a\nb\n"}, 3) == ["a", "b"]


def test_preview_map_output() -> None:
    output = {"output": "line1\nline2\nline3\nline4", "exit_code": 0}
    assert preview_lines({"output": output}, 2) == ["line3", "line4"]


# format_size, shorten_path and friends


def test_format_size() -> None:
    assert format_size(None) == ""
    assert format_size(0) == "0 chars"
    assert format_size(500) == "500 chars"
    assert format_size(1500) == "1.5k chars"
    assert format_size(15000) == "15k chars"


def test_shorten_short_path_unchanged() -> None:
    assert shorten_path("lib/sink.ex") == "lib/sink.ex"


def test_shorten_long_path() -> None:
    path = "lib/agent_session_manager/deep/nested/rendering/sink.ex"
    assert shorten_path(path, 20) == "lib/.../rendering/sink.ex"
    assert shorten_path("/" + "a/" * 40 + "ever/file.ex") == "/.../ever/file.ex"
    assert shorten_path(42) == "file"


def test_duration_and_lines() -> None:
    assert (format_duration(2000), format_duration(2001), format_duration(True)) == ("", "2.0s", "")
    assert line_count("1\n2\n\n3") == 3
    assert line_count("") == 0


def test_host() -> None:
    assert host("https://user:pw@Example.COM:8443/x") == "Example.COM"
    assert host("http://[::1]:80/") == "::1"
    assert host("notaurl") is None
    assert host("http://[broken") is None
    assert host(None) is None


# Beyond the reference: failures, approvals, Python-call labels, server tools, Codex patches


def test_tool_without_a_phrase_is_shown_as_a_python_call() -> None:
    call = info("get_weather", {"city": "Paris", "days": 2})
    assert spinner_text(call) == "Using get_weather(city='Paris', days=2)"
    assert summary_line({**call, "output": "sunny"}) == (
        "get_weather(city='Paris', days=2) complete (5 chars)"
    )
    assert tool_label(call) == "get_weather(city='Paris', days=2)"
    long = spinner_text(info("lookup", {"q": "x" * 80}))
    assert long == "Using lookup(q='" + "x" * 57 + "...)"


def test_tool_label_names_the_subject() -> None:
    assert tool_label(info("Bash", {"command": "rm -rf build"})) == "Bash (rm -rf build)"
    assert tool_label(info("Read", {"file_path": "a.py"})) == "Read (a.py)"
    assert tool_label(info("WebFetch", {})) == "WebFetch"
    assert tool_label({}) == "tool"


@pytest.mark.parametrize(
    ("call", "error", "expected"),
    [
        (
            info("Read", {"path": "missing.txt"}),
            "ENOENT: missing.txt",
            "Read failed: missing.txt — ENOENT: missing.txt",
        ),
        (
            info("get_weather", {"city": "Paris"}),
            "TimeoutError: slow\nmore",
            "get_weather(city='Paris') failed — TimeoutError: slow ...",
        ),
        (
            info("Bash", {"command": "ls /x"}),
            "ls: /x: No such file",
            "Bash failed: ls /x — ls: /x: No such file",
        ),
        (
            info("bash", {"command": "make"}, exit_code=2, output="e" * 1200),
            "exit code 2",
            "Bash failed: make (exit 2, 1.2k chars)",
        ),
        (
            info("web_search", {"query": "trio"}),
            "max_uses_exceeded",
            "web_search failed: trio — max_uses_exceeded",
        ),
        (info("custom", {}), None, "custom failed"),
        (
            info("custom", {}),
            {"message": "File not found"},
            "custom failed — {'message': 'File not found'}",
        ),
    ],
)
def test_failure_line(call: dict[str, Any], error: Any, expected: str) -> None:
    assert failure_line(call, error) == expected


def test_server_web_search_results_are_counted() -> None:
    results = [
        {"type": "web_search_result", "title": "Trio", "url": "https://trio.rtfd.io"},
        {"type": "web_search_result", "url": "https://x.example"},
    ]
    call = info("web_search", {"query": "trio docs"}, output=results)
    assert spinner_text(call) == 'Searching: "trio docs"'
    assert summary_line(call) == 'Searched: "trio docs" (2 results)'
    assert preview_lines(call, 3) == ["Trio — https://trio.rtfd.io", "https://x.example"]
    assert spinner_text(info("web_fetch", {"url": "https://a.example/x"})) == "Fetching a.example"


def test_list_output_is_one_line_per_item() -> None:
    blocks = [{"type": "text", "text": "first"}, "second", 3, {"other": True}]
    assert preview_lines({"output": blocks}, 4) == ["first", "second", "3", "{'other': True}"]


def test_codex_apply_patch() -> None:
    changes = [{"path": "src/a.py", "kind": "update"}, {"path": "src/b.py", "kind": "add"}]
    assert spinner_text(info("apply_patch", {"changes": changes[:1]})) == "Patching src/a.py"
    assert summary_line(info("apply_patch", {"changes": changes})) == (
        "Patched src/a.py and 1 more"
    )
    assert summary_line(info("apply_patch", {})) == "Patched files"


def test_singular_counts() -> None:
    assert summary_line(info("Read", {"file_path": "a"}, output="x")) == "Read a (1 line)"
    assert summary_line(info("Glob", {"pattern": "*"}, output="a")) == "Found 1 file matching *"
    assert summary_line(info("Grep", {"pattern": "p"}, output="a")) == 'Found 1 match for "p"'


def test_empty_mapping_output_is_no_output() -> None:
    assert summary_line(info("custom_tool", {}, output={})) == "custom_tool complete"


def test_tool_info_merges_the_start_with_the_completion() -> None:
    started = {"name": "bash", "input": {"command": "make"}}
    data = {"tool_output": {"output": "boom", "exit_code": 2}}
    merged = tool_info(started, lambda key: data.get(key))
    assert merged == {
        "name": "bash",
        "input": {"command": "make"},
        "output": {"output": "boom", "exit_code": 2},
        "exit_code": 2,
        "duration_ms": None,
        "status": "failed",
    }
    empty: dict[str, Any] = {}
    assert tool_info(None, empty.get)["name"] == "tool"


def test_codex_web_search_reports_its_query_on_completion() -> None:
    started = info("web_search", {"query": "", "action": {"type": "other"}})
    assert spinner_text(started) == "Searching the web"
    done = info("web_search", {"query": "trio docs"}, output={"query": "trio docs"})
    assert summary_line(done) == 'Searched: "trio docs"'
