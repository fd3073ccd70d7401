"""``MockAdapter``: the reference mock provider, for tests and offline runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, Self

import trio

from .._adapter_result import AdapterResult
from .._errors import SessionError
from .._events import utc_now
from .._input import check_input
from .._models import Capability, CapabilityType, Run, Session
from .._ports import Emit

__all__ = ["MockAdapter", "MockExecution"]

Mode = Literal["instant", "streaming", "delayed", "failing", "timeout", "burst"]
_MODES: Final = frozenset({"instant", "streaming", "delayed", "failing", "timeout", "burst"})
_CHUNK: Final = 10


@dataclass(frozen=True, slots=True)
class MockExecution:
    """One ``execute`` call as the mock saw it."""

    run_id: str
    session_id: str
    input: Any
    timestamp: datetime
    opts: Mapping[str, Any]
    session: Session


class MockAdapter:
    """A scripted provider with the reference mock's modes and exact events.

    * ``instant``: ``run_started {model}``, ``message_received {content, role}``,
      ``run_completed {stop_reason}``.
    * ``streaming``: ``run_started``, then one ``message_streamed {content, delta}``
      per 10-character chunk of the response (``chunk_delay`` seconds apart),
      ``message_received``, ``token_usage_updated``, ``run_completed``.
    * ``delayed``: sleeps ``delay`` seconds, then as ``instant``.
    * ``failing``: raises ``fail_with`` (default
      ``SessionError("provider_error", "Configured to fail")``).
    * ``timeout``: never returns (until cancelled).
    * ``burst``: ``run_started``, ``burst_events`` ``message_streamed`` events with
      no delay at all, ``message_received``, ``run_completed`` (for benchmarks).

    ``execute`` checks ``run.input`` with the same rules the core applies to
    every adapter at the call (a non-empty prompt, or well-formed messages):
    a bad input raises ``SessionError("validation_error")`` naming what is
    wrong, exactly as :func:`run_once` does, so a test against the mock fails
    where a real provider would.

    A non-None ``fail_with`` makes ``execute`` and ``capabilities`` fail in every
    mode. ``response`` overrides the default response's fields (``content``,
    ``stop_reason``, ``tool_calls``, ``token_usage``). ``cancel(run_id)``
    interrupts a running ``streaming``/``delayed``/``timeout`` run: it emits
    ``run_cancelled`` and raises ``SessionError("cancelled")``.

    It records what happened: :attr:`executions`, :attr:`cancelled`,
    :attr:`entered`/:attr:`exited` (its owned lifecycle).
    """

    def __init__(
        self,
        mode: Mode = "instant",
        *,
        delay: float = 0.1,
        chunk_delay: float = 0.01,
        fail_with: BaseException | None = None,
        provider_name: str = "mock",
        response: Mapping[str, Any] | None = None,
        capabilities: Sequence[Capability] | None = None,
        model: str = "mock-model",
        burst_events: int = 1000,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
        self.mode = mode
        self.delay = delay
        self.chunk_delay = chunk_delay
        self.fail_with = fail_with
        self.provider_name = provider_name
        self.model = model
        self.burst_events = burst_events
        base = {
            "content": "Mock response",
            "stop_reason": "end_turn",
            "tool_calls": [],
            "token_usage": {"input_tokens": 10, "output_tokens": 20},
        }
        self.response: dict[str, Any] = {**base, **(response or {})}
        self._capabilities = tuple(
            capabilities
            if capabilities is not None
            else (
                Capability(name="chat", type=CapabilityType.TOOL),
                Capability(name="sampling", type=CapabilityType.SAMPLING),
            )
        )
        #: Every ``execute`` call, in order.
        self.executions: list[MockExecution] = []
        #: The run ids :meth:`cancel` was called with, in order.
        self.cancelled: list[str] = []
        #: How often the adapter was entered (``async with``) ...
        self.entered = 0
        #: ... and exited.
        self.exited = 0
        self._scopes: dict[str, trio.CancelScope] = {}

    def __repr__(self) -> str:
        return f"MockAdapter(mode={self.mode!r}, provider_name={self.provider_name!r})"

    @property
    def name(self) -> str:
        return self.provider_name

    @property
    def closed(self) -> bool:
        """True once an entered adapter has been exited as often as entered."""
        return self.entered > 0 and self.exited >= self.entered

    async def __aenter__(self) -> Self:
        await trio.lowlevel.checkpoint()
        self.entered += 1  # only once entering has succeeded (a cancelled enter is no enter)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited += 1
        await trio.lowlevel.checkpoint()

    async def capabilities(self) -> Sequence[Capability]:
        await trio.lowlevel.checkpoint()
        if self.fail_with is not None:
            raise self.fail_with
        return self._capabilities

    async def cancel(self, run_id: str) -> None:
        """Interrupt the running ``execute`` of *run_id*: it emits ``run_cancelled``
        and raises ``SessionError("cancelled")``. An unknown or finished run is
        only recorded in :attr:`cancelled`."""
        await trio.lowlevel.checkpoint()
        self.cancelled.append(run_id)
        scope = self._scopes.get(run_id)
        if scope is not None:
            scope.cancel(reason="MockAdapter.cancel")

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> AdapterResult:
        try:
            check_input(run.input)
        except (TypeError, ValueError) as exc:
            await trio.lowlevel.checkpoint()
            raise SessionError("validation_error", str(exc)) from None
        self.executions.append(
            MockExecution(run.id, session.id, run.input, utc_now(), dict(opts), session)
        )
        if self.fail_with is not None:
            await trio.lowlevel.checkpoint()
            raise self.fail_with
        if self.mode == "failing":
            await trio.lowlevel.checkpoint()
            raise SessionError("provider_error", "Configured to fail")
        scope = self._scopes[run.id] = trio.CancelScope()
        try:
            with scope:
                return await self._run_mode(run, emit)
        finally:
            del self._scopes[run.id]
        # Reached only when cancel(run.id) interrupted the run.
        await self._emit(emit, run, "run_cancelled", {})
        raise SessionError("cancelled", "Run was cancelled")

    async def _emit(self, emit: Emit, run: Run, type: str, data: Mapping[str, Any]) -> None:
        await emit(
            {
                "type": type,
                "timestamp": utc_now(),
                "session_id": run.session_id,
                "run_id": run.id,
                "data": data,
                "provider": self.provider_name,
            }
        )

    async def _run_mode(self, run: Run, emit: Emit) -> AdapterResult:
        response = self.response
        content = response["content"]
        if self.mode == "timeout":
            await trio.sleep_forever()
        if self.mode == "delayed":
            await trio.sleep(self.delay)
        await self._emit(emit, run, "run_started", {"model": self.model})
        if self.mode == "streaming":
            await trio.sleep(self.chunk_delay)
            for start in range(0, len(content), _CHUNK):
                chunk = content[start : start + _CHUNK]
                await self._emit(emit, run, "message_streamed", {"content": chunk, "delta": chunk})
                await trio.sleep(self.chunk_delay)
        elif self.mode == "burst":
            for index in range(self.burst_events):
                await emit(
                    {
                        "type": "message_streamed",
                        "data": {"delta": "x", "content": "x", "index": index},
                    }
                )
        await self._emit(emit, run, "message_received", {"content": content, "role": "assistant"})
        if self.mode == "streaming":
            await self._emit(emit, run, "token_usage_updated", dict(response["token_usage"]))
        await self._emit(emit, run, "run_completed", {"stop_reason": response["stop_reason"]})
        return {
            "output": {
                "content": content,
                "stop_reason": response["stop_reason"],
                "tool_calls": list(response["tool_calls"]),
            },
            "token_usage": dict(response["token_usage"]),
            "events": [],
        }
