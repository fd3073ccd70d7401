"""The options of a run, declared once and checked at the call.

:func:`run_once` takes them as keyword arguments and the stream-session entry
points as ``run_opts=``; both are typed with :class:`RunOptions` (so mypy checks
callers) and validated by :func:`check_run_options`, which raises ``TypeError``
or ``ValueError`` naming the bad option before anything starts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, TypeAlias, TypedDict

from ._errors import SessionError
from ._events import Event
from ._models import CapabilityType, capability_type
from ._ports import ProviderAdapter, SessionStore

__all__ = [
    "EXECUTE_GRACE",
    "AdapterSpec",
    "Continuation",
    "EventCallback",
    "RunInput",
    "RunOptions",
    "SessionOptions",
    "StoreSpec",
    "check_run_options",
    "check_session_options",
    "execute_timeout",
]

#: ``event_callback``: called with every stored adapter event; may return an awaitable.
EventCallback = Callable[[Event], object]
#: ``continuation``: replay the session's earlier conversation to the adapter.
Continuation = Literal[False, "auto", "replay", "native"] | None

#: A run's input: ``{"prompt": ...}``, ``{"messages": [...]}``, or a prompt string.
RunInput: TypeAlias = Mapping[str, Any] | str
#: ``adapter=``: an instance (borrowed), or a class / ``(class, {options})`` (owned).
AdapterSpec: TypeAlias = (
    ProviderAdapter | type[ProviderAdapter] | tuple[type[ProviderAdapter], Mapping[str, Any]]
)
#: ``store=``: None (an owned in-memory store), an instance (borrowed), or a class /
#: ``(class, {options})`` (owned).
StoreSpec: TypeAlias = (
    SessionStore | type[SessionStore] | tuple[type[SessionStore], Mapping[str, Any]] | None
)

#: Seconds added to ``adapter_opts["timeout"]`` before the adapter's call is abandoned.
EXECUTE_GRACE: Final = 5.0
_UNBOUNDED: Final = frozenset({"unbounded", "infinity", "infinite", "inf", "none"})
_CONTINUATIONS: Final = (None, "auto", "replay", "native")


class RunOptions(TypedDict, total=False):
    """Options of one run (``run_once`` keywords, ``run_opts=`` of a stream session)."""

    agent_id: str | None
    """The session's agent id; defaults to the adapter's name."""
    session_id: str | None
    """Continue this existing session with a new run (default: a new session).
    ``agent_id``, ``metadata``, ``context`` and ``tags`` describe a new session
    only: a continued session keeps its own."""
    event_callback: EventCallback | None
    metadata: Mapping[str, Any] | None
    context: Mapping[str, Any] | None
    tags: Iterable[str] | None
    adapter_opts: Mapping[str, Any] | None
    """Passed to ``adapter.execute``; ``"timeout"`` (seconds) bounds the run (default: no limit)."""
    required_capabilities: Iterable[CapabilityType | str] | None
    optional_capabilities: Iterable[CapabilityType | str] | None
    continuation: Continuation
    continuation_opts: Mapping[str, Any] | None


_NAMES: Final = frozenset(RunOptions.__annotations__)


def execute_timeout(value: object) -> float:
    """Seconds ``adapter.execute`` may take, from ``adapter_opts["timeout"]``.

    None (the default), ``math.inf`` or ``"unbounded"`` mean no limit
    (``math.inf``): agent runs take minutes, and the stream's idle timeout is
    the default guard. A positive number (or numeric string) is a limit.
    Anything else raises ``ValueError``/``TypeError``.
    """
    if value is None:
        return math.inf
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _UNBOUNDED:
            return math.inf
        try:
            value = float(text)
        except ValueError:
            raise ValueError(
                f"adapter_opts['timeout'] must be a positive number of seconds or 'unbounded', "
                f"got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"adapter_opts['timeout'] must be a number of seconds, got {type(value).__name__}"
        )
    if not value > 0:  # also rejects nan
        raise ValueError(f"adapter_opts['timeout'] must be > 0 seconds, got {value!r}")
    return float(value)


def _mapping(name: str, value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _strings(name: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of strings, got {type(value).__name__}")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must contain strings, got {type(item).__name__}")
    return items


def _capabilities(name: str, value: object) -> tuple[CapabilityType, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be an iterable of capability types, got {value!r}")
    try:
        return tuple(capability_type(item) for item in value)
    except SessionError as exc:
        raise ValueError(f"{name}: {exc.message}") from None


def check_run_options(options: Mapping[str, Any]) -> RunOptions:
    """*options* validated and copied (unknown names, wrong types and bad values
    raise ``TypeError``/``ValueError`` naming the option)."""
    unknown = sorted(str(k) for k in options if k not in _NAMES)
    if unknown:
        raise TypeError(f"unknown run options {unknown}; accepted: {sorted(_NAMES)}")
    checked: RunOptions = {}
    agent_id = options.get("agent_id")
    if agent_id is not None:
        if not isinstance(agent_id, str):
            raise TypeError(f"agent_id must be a string, got {type(agent_id).__name__}")
        if not agent_id.strip():
            raise ValueError("agent_id cannot be empty")
        checked["agent_id"] = agent_id
    session_id = options.get("session_id")
    if session_id is not None:
        if not isinstance(session_id, str):
            raise TypeError(f"session_id must be a string, got {type(session_id).__name__}")
        if not session_id.strip():
            raise ValueError("session_id cannot be empty")
        checked["session_id"] = session_id
    callback = options.get("event_callback")
    if callback is not None and not callable(callback):
        raise TypeError(f"event_callback must be callable, got {type(callback).__name__}")
    checked["event_callback"] = callback
    checked["metadata"] = _mapping("metadata", options.get("metadata"))
    checked["context"] = _mapping("context", options.get("context"))
    checked["tags"] = _strings("tags", options.get("tags"))
    adapter_opts = _mapping("adapter_opts", options.get("adapter_opts"))
    if "emit" in adapter_opts:
        raise ValueError("adapter_opts must not contain 'emit'")
    execute_timeout(adapter_opts.get("timeout"))
    checked["adapter_opts"] = adapter_opts
    checked["required_capabilities"] = _capabilities(
        "required_capabilities", options.get("required_capabilities")
    )
    checked["optional_capabilities"] = _capabilities(
        "optional_capabilities", options.get("optional_capabilities")
    )
    continuation = options.get("continuation", False)
    if continuation is not False and continuation not in _CONTINUATIONS:
        raise ValueError(
            f"continuation must be False, 'auto', 'replay' or 'native', got {continuation!r}"
        )
    checked["continuation"] = continuation
    checked["continuation_opts"] = _mapping("continuation_opts", options.get("continuation_opts"))
    return checked


class SessionOptions(TypedDict, total=False):
    """Options of a stream session, besides ``adapter`` and ``input``: the
    keywords of :func:`open_stream_session`, :func:`start_stream_session` and
    :meth:`SessionSupervisor.start`."""

    store: StoreSpec
    """None (default: an owned in-memory store), an instance, or a class/``(class, {options})``."""
    agent_id: str | None
    """Wins over ``run_opts["agent_id"]``."""
    session_id: str | None
    """Continue this existing session (wins over ``run_opts["session_id"]``)."""
    run_opts: RunOptions | None
    idle_timeout: float
    """Seconds of producer silence before the run is ended as a timeout (default 120)."""
    shutdown_timeout: float
    """Seconds each owned resource gets to close (default 5)."""
    max_buffer: int | float
    """The memory channel's size (default 64); a full buffer blocks the adapter."""


DEFAULT_IDLE_TIMEOUT: Final = 120.0
DEFAULT_SHUTDOWN_TIMEOUT: Final = 5.0
DEFAULT_MAX_BUFFER: Final = 64
_SESSION_NAMES: Final = frozenset(SessionOptions.__annotations__)


def _seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
    return float(value)


def check_session_options(options: Mapping[str, Any]) -> tuple[float, float, int | float]:
    """``(idle_timeout, shutdown_timeout, max_buffer)`` from *options*, whose
    names are checked too (``TypeError``/``ValueError`` naming the bad one)."""
    unknown = sorted(str(k) for k in options if k not in _SESSION_NAMES)
    if unknown:
        raise TypeError(f"unknown session options {unknown}; accepted: {sorted(_SESSION_NAMES)}")
    max_buffer = options.get("max_buffer", DEFAULT_MAX_BUFFER)
    if isinstance(max_buffer, bool) or not (
        (isinstance(max_buffer, int) and max_buffer >= 0) or max_buffer == math.inf
    ):
        raise ValueError(f"max_buffer must be an int >= 0 or math.inf, got {max_buffer!r}")
    return (
        _seconds("idle_timeout", options.get("idle_timeout", DEFAULT_IDLE_TIMEOUT)),
        _seconds(
            "shutdown_timeout",
            options.get("shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT),
            allow_zero=True,
        ),
        max_buffer,
    )
