"""Tools that :class:`ClaudeAdapter` runs for the model: definitions, checks and one call.

A :class:`Tool` is a name, a description, a JSON schema for its input and a
handler. Plain Python callables become tools through
:meth:`Tool.from_function`: the ``anthropic`` SDK's own tool helper builds the
schema from the signature and docstring (with pydantic), and pydantic
validates every call's arguments against that same signature.

:func:`invoke` runs one call: async handlers are awaited in the caller's task,
sync handlers run in a worker thread that is never abandoned (on cancellation
or timeout the thread is waited for; it can notice with
``trio.from_thread.check_cancelled()``). Whatever goes wrong inside a handler
becomes a failed :class:`ToolOutcome`, never an exception; cancellation and
``KeyboardInterrupt`` propagate.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Final, cast

import pydantic
import pydantic_core
import trio

from .._redact import redact_text

__all__ = ["Tool", "ToolCall", "ToolOutcome", "Toolset", "build_toolset", "invoke"]

#: Tool names the Messages API accepts.
_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class _InvalidArguments(Exception):
    """The model's arguments do not fit the tool (reported to the model, not raised)."""


def _check_schema(name: str, schema: object) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise TypeError(
            f"tool {name!r}: input_schema must be a JSON-schema mapping, "
            f"got {type(schema).__name__}"
        )
    if schema.get("type") != "object":
        raise ValueError(
            f'tool {name!r}: input_schema must have "type": "object" (the API requires it), '
            f"got {schema.get('type')!r}"
        )
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Mapping) for k, v in properties.items()
    ):
        raise ValueError(f"tool {name!r}: input_schema 'properties' must map names to schemas")
    required = schema.get("required", [])
    if not isinstance(required, list | tuple) or not all(isinstance(r, str) for r in required):
        raise ValueError(f"tool {name!r}: input_schema 'required' must be a list of names")
    unknown = [r for r in required if properties and r not in properties]
    if unknown:
        raise ValueError(f"tool {name!r}: required {unknown} are not in the schema's properties")
    try:
        copied: dict[str, Any] = json.loads(json.dumps(schema))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tool {name!r}: input_schema is not JSON-serializable: {exc}") from exc
    return copied


def _is_async(handler: Callable[..., Any]) -> bool:
    target = handler.func if isinstance(handler, functools.partial) else handler
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(
        getattr(target, "__call__", None)  # noqa: B004 - an instance with async __call__
    )


def _validating(handler: Callable[..., Any]) -> Callable[..., Any]:
    """*handler* wrapped by ``pydantic.validate_call`` (its annotations validate the
    arguments); the handler itself when pydantic cannot wrap it (builtins, ...)."""
    try:
        return pydantic.validate_call(handler)
    except (TypeError, ValueError, pydantic.PydanticUserError):
        return handler


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool :class:`ClaudeAdapter` runs when the model asks for it.

    ``Tool(name=, description=, input_schema=, handler=)`` takes an explicit
    JSON schema (``"type": "object"``); the handler (sync or async) receives
    the model's input as keyword arguments. Its return value is the tool's
    output: a string is sent to the model as is, anything else as JSON
    (through pydantic, so models, dataclasses and datetimes work). An
    exception is a failed call the model is told about.

    Arguments are checked before the handler runs: ``required`` properties must
    be present, unknown ones are refused when ``additionalProperties`` is
    false, and the handler's own type annotations are validated by pydantic.

    Raises ``TypeError`` for a handler that is not callable or a schema that is
    not a mapping, ``ValueError`` for a name the API refuses or a bad schema.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    handler: Callable[..., Any] = field(repr=False)
    _call: Callable[..., Any] = field(init=False, repr=False, compare=False)
    _is_async: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"tool name {self.name!r} is not valid for the API: use 1-64 letters, "
                "digits, '_' or '-' (pass name= to name it)"
            )
        if not isinstance(self.description, str):
            raise TypeError(f"tool {self.name!r}: description must be a string")
        if not callable(self.handler):
            raise TypeError(
                f"tool {self.name!r}: handler must be callable, got {type(self.handler).__name__}"
            )
        object.__setattr__(self, "input_schema", _check_schema(self.name, self.input_schema))
        object.__setattr__(self, "_is_async", _is_async(self.handler))
        object.__setattr__(self, "_call", _validating(self.handler))

    @classmethod
    def from_function(
        cls,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Tool:
        """A tool for *func*: name from ``__name__``, description and schema from
        the docstring and signature (the ``anthropic`` SDK's tool helper, pydantic).

        Raises ``TypeError`` if *func* is not callable, ``ValueError`` if no input
        schema can be built from its annotations.
        """
        if not callable(func):
            raise TypeError(
                f"tools must be callables, Tool objects or tool-definition mappings, "
                f"got {type(func).__name__}"
            )
        from anthropic.lib.tools import BetaFunctionTool

        tool_name = name or getattr(func, "__name__", None)
        if not isinstance(tool_name, str):
            raise ValueError(f"{func!r} has no __name__: use Tool.from_function(func, name=...)")
        try:
            helper = BetaFunctionTool(func, name=tool_name, description=description)
            definition = helper.to_dict()
        except (
            pydantic.PydanticSchemaGenerationError,
            pydantic.PydanticUserError,
            NameError,
        ) as exc:
            raise ValueError(f"cannot build an input schema for tool {tool_name!r}: {exc}") from exc
        return cls(
            name=tool_name,
            description=str(definition.get("description") or ""),
            input_schema=dict(definition["input_schema"]),
            handler=func,
        )

    def definition(self) -> dict[str, Any]:
        """The tool as the Messages API takes it: ``{name, description, input_schema}``."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": dict(self.input_schema),
        }

    def _check_arguments(self, arguments: Mapping[str, Any]) -> None:
        schema = self.input_schema
        missing = [r for r in schema.get("required", ()) if r not in arguments]
        if missing:
            raise _InvalidArguments(f"missing required argument(s): {', '.join(missing)}")
        if schema.get("additionalProperties") is False:
            unknown = [k for k in arguments if k not in schema.get("properties", {})]
            if unknown:
                raise _InvalidArguments(f"unexpected argument(s): {', '.join(unknown)}")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for: ``id`` (the ``tool_use`` id), ``name``, ``input``.

    This is what an ``approve`` callback receives.
    """

    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """How a call ended: ``output`` (JSON-safe) or ``error`` (a redacted message)."""

    output: Any = None
    error: str | None = None

    @property
    def content(self) -> str:
        """The ``tool_result`` content sent to the model."""
        if self.error is not None:
            return self.error
        if isinstance(self.output, str):
            return self.output
        return json.dumps(self.output, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Toolset:
    """The adapter's tools: executable ones by name, plus pass-through definitions."""

    tools: Mapping[str, Tool]
    passthrough: tuple[Mapping[str, Any], ...]

    def definitions(self) -> list[dict[str, Any]] | None:
        """The ``tools`` request parameter (None when there are none)."""
        found = [t.definition() for t in self.tools.values()]
        found += [dict(d) for d in self.passthrough]
        return found or None

    def is_passthrough(self, name: object) -> bool:
        return name not in self.tools and any(d.get("name") == name for d in self.passthrough)


def build_toolset(items: Iterable[object] | None) -> Toolset:
    """Check and sort ``tools=``: :class:`Tool` objects, callables, mappings.

    Raises ``TypeError`` for anything else and ``ValueError`` for duplicate
    names, names the API refuses and bad schemas.
    """
    if items is None:
        return Toolset({}, ())
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise TypeError(f"tools must be a list, got {type(items).__name__}")
    tools: dict[str, Tool] = {}
    passthrough: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Mapping):
            name = item.get("name")
            passthrough.append(dict(item))
        else:
            tool = item if isinstance(item, Tool) else Tool.from_function(cast(Any, item))
            tools[tool.name] = tool
            name = tool.name
        if isinstance(name, str):
            if name in seen:
                raise ValueError(f"duplicate tool name {name!r}: tool names must be unique")
            seen.add(name)
    return Toolset(tools, tuple(passthrough))


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return redact_text(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _validation_text(exc: pydantic.ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
        for e in exc.errors(include_url=False)
    ]
    return "; ".join(problems)


def _entered(exc: BaseException, handler: Callable[..., Any]) -> bool:
    """Did *handler*'s own code run before *exc* was raised? (A validation error
    raised before it ran is about the arguments; one from inside is its own.)"""
    code = getattr(inspect.unwrap(handler), "__code__", None)
    return code is None or any(f.f_code is code for f, _ in traceback.walk_tb(exc.__traceback__))


async def _run(tool: Tool, arguments: dict[str, Any]) -> Any:
    try:
        if tool._is_async:
            return await tool._call(**arguments)
        return await trio.to_thread.run_sync(functools.partial(tool._call, **arguments))
    except pydantic.ValidationError as exc:
        if _entered(exc, tool.handler):
            raise
        raise _InvalidArguments(_validation_text(exc)) from exc


async def invoke(tool: Tool, call: ToolCall, limit: float | None) -> ToolOutcome:
    """Run *call* with *tool*, within *limit* seconds (None: no limit).

    Never raises for the tool's own failures: invalid arguments, an exception
    in the handler, a timeout and an output that cannot be made JSON all give a
    :class:`ToolOutcome` with ``error`` set.
    """
    arguments = dict(call.input) if isinstance(call.input, Mapping) else None
    try:
        if arguments is None:
            raise _InvalidArguments(f"input must be an object, got {type(call.input).__name__}")
        tool._check_arguments(arguments)
        with trio.fail_after(limit) if limit is not None else nullcontext():
            value = await _run(tool, arguments)
        output = pydantic_core.to_jsonable_python(value)
    except _InvalidArguments as exc:
        return ToolOutcome(error=redact_text(f"Invalid arguments for tool {tool.name}: {exc}"))
    except trio.TooSlowError:
        return ToolOutcome(error=f"Tool {tool.name} timed out after {limit:g}s")
    except pydantic_core.PydanticSerializationError as exc:
        return ToolOutcome(error=f"Tool {tool.name} returned a value that is not JSON: {exc}")
    except Exception as exc:
        return ToolOutcome(error=_error_text(exc))
    return ToolOutcome(output=output)
