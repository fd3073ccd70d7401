"""Tools for ClaudeAdapter: definitions checked at construction, one call run by ``invoke``."""

from __future__ import annotations

import dataclasses
import datetime
import threading
from typing import Any

import pydantic
import pytest
import trio
from _claude_fixtures import work_until_cancelled

from trio_stream_session.adapters import ClaudeAdapter, Tool, ToolCall
from trio_stream_session.adapters._tools import build_toolset, invoke

KEY = "sk-ant-test-0123456789abcdefghijklmnop"


async def get_weather(city: str, days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: The city's name.
        days: How many days of forecast.
    """
    return f"{city}: sunny for {days} day(s)"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def call(name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id="toolu_1", name=name, input=arguments)


# -- definitions ------------------------------------------------------------------------------


def test_a_callable_gets_its_schema_from_signature_and_docstring() -> None:
    tool = Tool.from_function(get_weather)
    assert tool.definition() == {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "input_schema": {
            "additionalProperties": False,
            "properties": {
                "city": {"description": "The city's name.", "title": "City", "type": "string"},
                "days": {
                    "default": 1,
                    "description": "How many days of forecast.",
                    "title": "Days",
                    "type": "integer",
                },
            },
            "required": ["city"],
            "type": "object",
        },
    }


def test_the_adapter_sends_every_kind_of_tool_definition() -> None:
    explicit = Tool(
        name="lookup",
        description="Look a word up.",
        input_schema={"type": "object", "properties": {"word": {"type": "string"}}},
        handler=lambda word: word.upper(),
    )
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    adapter = ClaudeAdapter(api_key=KEY, tools=[get_weather, explicit, web_search])
    definitions = adapter.toolset.definitions()
    assert definitions is not None
    assert [d["name"] for d in definitions] == ["get_weather", "lookup", "web_search"]
    assert definitions[2] == web_search
    assert sorted(adapter.toolset.tools) == ["get_weather", "lookup"]
    assert adapter.toolset.is_passthrough("web_search")
    assert not adapter.toolset.is_passthrough("lookup")


@pytest.mark.parametrize(
    ("tools", "error", "match"),
    [
        ([get_weather, get_weather], ValueError, "duplicate tool name 'get_weather'"),
        ([get_weather, {"name": "get_weather"}], ValueError, "duplicate tool name"),
        ([42], TypeError, "got int"),
        (["get_weather"], TypeError, "got str"),
        ("get_weather", TypeError, "tools must be a list"),
        ([lambda x: x], ValueError, "tool name '<lambda>' is not valid"),
    ],
)
def test_bad_tools_fail_at_construction(tools: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ClaudeAdapter(api_key=KEY, tools=tools)


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"handler": "not callable"}, TypeError, "handler must be callable"),
        ({"input_schema": ["type", "object"]}, TypeError, "must be a JSON-schema mapping"),
        ({"input_schema": {"type": "string"}}, ValueError, 'must have "type": "object"'),
        ({"input_schema": {"type": "object", "properties": []}}, ValueError, "'properties'"),
        (
            {"input_schema": {"type": "object", "properties": {}, "required": "x"}},
            ValueError,
            "'required' must be a list",
        ),
        (
            {"input_schema": {"type": "object", "properties": {"a": {}}, "required": ["b"]}},
            ValueError,
            r"required \['b'\] are not in",
        ),
        (
            {"input_schema": {"type": "object", "default": object()}},
            ValueError,
            "not JSON-serializable",
        ),
        ({"name": "has space"}, ValueError, "is not valid for the API"),
        ({"name": "x" * 65}, ValueError, "is not valid for the API"),
    ],
)
def test_bad_explicit_tools(fields: dict[str, Any], error: type[Exception], match: str) -> None:
    base: dict[str, Any] = {
        "name": "ok",
        "description": "fine",
        "input_schema": {"type": "object"},
        "handler": add,
    }
    with pytest.raises(error, match=match):
        Tool(**{**base, **fields})


class Opaque:
    """A type pydantic has no schema for."""


def test_an_annotation_without_a_schema_is_a_value_error() -> None:
    def use(thing: Opaque) -> None:
        """Uses an opaque thing."""

    def unresolved(thing: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        """Its annotation names nothing."""

    with pytest.raises(ValueError, match="cannot build an input schema for tool 'use'"):
        Tool.from_function(use)
    with pytest.raises(ValueError, match="cannot build an input schema for tool 'unresolved'"):
        Tool.from_function(unresolved)


def test_adapter_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_turns"):
        ClaudeAdapter(api_key=KEY, max_turns=0)
    with pytest.raises(ValueError, match="tool_timeout"):
        ClaudeAdapter(api_key=KEY, tool_timeout=-1)
    with pytest.raises(TypeError, match="approve must be a callable"):
        ClaudeAdapter(api_key=KEY, approve="yes")  # type: ignore[arg-type]


def test_tools_are_immutable_and_keep_the_schema_they_were_given() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    tool = Tool(name="t", description="d", input_schema=schema, handler=add)
    schema["properties"]["b"] = {"type": "string"}
    assert tool.input_schema == {"type": "object", "properties": {"a": {"type": "integer"}}}
    with pytest.raises(dataclasses.FrozenInstanceError):
        tool.name = "other"  # type: ignore[misc]
    assert build_toolset(None).definitions() is None


# -- one call ---------------------------------------------------------------------------------


async def test_async_and_sync_handlers_give_json_safe_output() -> None:
    weather = await invoke(Tool.from_function(get_weather), call("get_weather", city="Oslo"), None)
    assert weather.output == "Oslo: sunny for 1 day(s)" and weather.error is None
    assert weather.content == "Oslo: sunny for 1 day(s)"

    threads: list[str] = []

    def where(n: int) -> dict[str, Any]:
        """Which thread ran me."""
        threads.append(threading.current_thread().name)
        return {"n": n, "when": datetime.date(2026, 1, 2), "items": (1, 2)}

    result = await invoke(Tool.from_function(where), call("where", n="3"), None)
    assert threads and threads[0] != threading.current_thread().name
    assert result.output == {"n": 3, "when": "2026-01-02", "items": [1, 2]}  # "3" is now 3
    assert result.content == '{"n": 3, "when": "2026-01-02", "items": [1, 2]}'


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "Invalid arguments for tool add: missing required argument(s): a, b"),
        ({"a": 1, "b": 2, "c": 3}, "Invalid arguments for tool add: unexpected argument(s): c"),
        (
            {"a": 1, "b": "two"},
            "Invalid arguments for tool add: b: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
    ],
)
async def test_invalid_arguments_are_a_failed_call(arguments: Any, message: str) -> None:
    outcome = await invoke(Tool.from_function(add), call("add", **arguments), None)
    assert outcome.error == message
    assert outcome.content == message


async def test_input_that_is_not_an_object_is_invalid() -> None:
    outcome = await invoke(Tool.from_function(add), ToolCall("t", "add", [1, 2]), None)  # type: ignore[arg-type]
    assert outcome.error == "Invalid arguments for tool add: input must be an object, got list"


async def test_a_validation_error_inside_the_handler_is_the_handler_failing() -> None:
    class Point(pydantic.BaseModel):
        x: int

    def parse(raw: str) -> int:
        """Parse a point."""
        return Point.model_validate_json(raw).x

    outcome = await invoke(Tool.from_function(parse), call("parse", raw='{"x": "no"}'), None)
    assert outcome.error is not None
    assert outcome.error.startswith("ValidationError: 1 validation error for Point")


async def test_handler_exceptions_are_redacted() -> None:
    async def leak() -> str:
        """Fails with a secret in its message."""
        raise RuntimeError(f"could not connect with {KEY}")

    outcome = await invoke(Tool.from_function(leak), call("leak"), None)
    assert outcome.error == "RuntimeError: could not connect with [REDACTED]"


async def test_output_that_cannot_be_json_is_a_failed_call() -> None:
    def opaque() -> object:
        """Returns something opaque."""
        return object()

    outcome = await invoke(Tool.from_function(opaque), call("opaque"), None)
    assert outcome.error is not None
    assert outcome.error.startswith("Tool opaque returned a value that is not JSON")


async def test_explicit_tools_check_the_schema_and_the_handler_annotations() -> None:
    tool = Tool(
        name="scale",
        description="Scale a number.",
        input_schema={
            "type": "object",
            "properties": {"value": {"type": "number"}, "factor": {"type": "number"}},
            "required": ["value"],
            "additionalProperties": False,
        },
        handler=lambda value, factor=2.0: value * factor,
    )
    assert (await invoke(tool, call("scale", value=3), None)).output == 6.0
    missing = await invoke(tool, call("scale", factor=3), None)
    assert missing.error == "Invalid arguments for tool scale: missing required argument(s): value"


async def test_timeout_of_an_async_tool(autojump_clock: trio.testing.MockClock) -> None:
    async def forever() -> None:
        """Never returns."""
        await trio.sleep_forever()

    start = trio.current_time()
    outcome = await invoke(Tool.from_function(forever), call("forever"), 30)
    assert outcome.error == "Tool forever timed out after 30s"
    assert trio.current_time() - start == pytest.approx(30)


async def test_a_sync_tool_is_waited_for_on_timeout_and_can_see_the_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finished = threading.Event()

    def polls() -> None:
        """Works in small steps, checking for cancellation."""
        work_until_cancelled(finished)

    outcome = await invoke(Tool.from_function(polls), call("polls"), 5)
    assert outcome.error == "Tool polls timed out after 5s"
    assert finished.is_set()  # the thread ended before invoke returned: nothing abandoned


async def test_cancellation_propagates_out_of_a_running_tool() -> None:
    started = trio.Event()

    async def waits() -> None:
        """Waits."""
        started.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        outcomes: list[Any] = []

        async def run() -> None:
            outcomes.append(await invoke(Tool.from_function(waits), call("waits"), None))

        nursery.start_soon(run)
        await started.wait()
        nursery.cancel_scope.cancel()
    assert outcomes == []  # Cancelled was not turned into a failed call
