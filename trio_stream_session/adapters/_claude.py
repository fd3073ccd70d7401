"""``ClaudeAdapter``: Claude through the ``anthropic`` SDK's streaming Messages API, under Trio."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final, Self

import anthropic
import trio

from .._errors import SessionError
from .._models import Capability, Run, Session
from .._ports import Emit
from .._redact import redact_text
from ._capabilities import CLAUDE_CAPABILITIES
from ._claude_loop import Approve, LoopSettings, run_loop
from ._claude_message import MessageAccumulator
from ._claude_request import build_messages, merge_system, provider_failure
from ._claude_stream import CLOSE_GRACE, stream_turn
from ._runs import RunScopes
from ._tools import Toolset, build_toolset

__all__ = ["DEFAULT_MAX_TURNS", "DEFAULT_MODEL", "ClaudeAdapter"]

DEFAULT_MODEL: Final = "claude-haiku-4-5-20251001"
DEFAULT_MAX_TOKENS: Final = 4096
DEFAULT_MAX_TURNS: Final = 10
_MISSING_KEY: Final = (
    "ANTHROPIC_API_KEY is not set: pass api_key to ClaudeAdapter or set the environment variable"
)
#: Per-run ``adapter_opts`` that override the adapter's request settings.
_RUN_OVERRIDES: Final = ("model", "max_tokens", "system", "thinking", "temperature")


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    return None


def _max_turns(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"max_turns must be an integer >= 1, got {value!r}")
    return value


def _tool_timeout(value: object) -> float | None:
    if value is None:
        return None
    limit = _seconds(value)
    if limit is None:
        raise ValueError(f"tool_timeout must be positive seconds or None, got {value!r}")
    return limit


class ClaudeAdapter:
    """Claude (the Messages API) as an agent, streamed through ``anthropic.AsyncAnthropic``.

    ::

        async def get_weather(city: str) -> str:
            ...  # with a docstring: "Current weather for a city."

        async with ClaudeAdapter(tools=[get_weather], max_turns=10) as adapter:
            result = await run_once(store, adapter, {"prompt": "Weather in Paris?"})

    The API key comes from ``api_key`` or ``ANTHROPIC_API_KEY``; it is never
    shown in a repr, an event, a log line or an error. ``async with`` opens
    the adapter's own client and closes it on exit (shielded, at most 5 s);
    used without ``async with``, each run opens and closes a client of its
    own. A ``client`` passed in is borrowed: never closed, and its own
    ``max_retries``/``base_url``/key apply.

    **Tools.** ``tools=`` takes Python callables (schema from the signature and
    docstring), :class:`Tool` objects and plain dict definitions. The adapter
    runs the first two itself (see :mod:`._claude_loop`): a run is a sequence
    of model turns, and the tool calls of a turn run concurrently (async ones
    in the run's nursery, sync ones in worker threads), each within
    ``tool_timeout`` seconds (None: no limit), after ``approve(call)`` (sync or
    async; falsy denies, an exception denies) when given. ``max_turns`` bounds
    the model turns of one run: a model that still wants tools after that many
    fails the run with ``policy_violation``. Dict definitions (server tools
    such as web search, or client tools the caller runs) are passed through: a
    turn that calls a dict-defined client tool ends the run at ``tool_use``, as
    without tools; its calls are in ``output["tool_calls"]``.

    **Events**, per turn: ``run_started`` (first turn: ``model``,
    ``provider_session_id``), ``message_streamed`` per text or thinking delta
    (``kind``), ``tool_call_started`` when a ``tool_use`` block is complete,
    ``token_usage_updated`` (run totals, ``turn``, ``turn_usage``),
    ``message_received`` (``content`` text plus ``content_blocks`` exactly as the
    API sent them, ``stop_reason``, ``stop_sequence``, ``stop_details``,
    ``usage``, ...); for executed calls ``tool_approval_*`` then
    ``tool_call_completed`` (``tool_output``) or ``tool_call_failed``
    (``error_message``), and a ``message_sent`` with the ``tool_result`` blocks
    sent back; finally ``run_completed`` (``stop_reason``, ``stop_sequence``,
    ``stop_details``, ``token_usage``, ``turns``). Server tools (web search)
    appear as ``tool_call_started``/``tool_call_completed`` with
    ``server_tool: true``. The output is ``{"content": final text,
    "stop_reason", "stop_sequence", "stop_details", "tool_calls", "messages":
    every message the run added, "turns"}``; the token usage is summed over
    the turns (with server-tool and cache counts; priced by ``calculate_cost``).

    **Conversations.** ``session.context["history"]`` (the events of the
    session's earlier runs) is rebuilt into the exact message list and sent
    before the new input (:mod:`._claude_history`).

    **Failures** raise :class:`SessionError` with a ``provider_error`` (provider
    ``claude``): 401/403 ``provider_authentication_failed``, 429
    ``provider_rate_limited`` (after the SDK's retries, which honour
    ``retry-after``), 529 and other 5xx ``provider_unavailable``, timeouts
    ``provider_timeout``, an unreachable API ``provider_unavailable``; mid-stream,
    a dropped connection is ``provider_error`` (kind ``transport_exit``), an
    ``error`` event has kind ``protocol_error`` (code from its error type),
    malformed data is ``provider_error`` (kind ``parse_error``), and a stream
    that ends before ``message_stop`` is ``provider_error`` (``protocol_error``).
    Bad ``tools``: ``TypeError``/``ValueError`` at construction.

    **Cancellation**: cancelling the caller's scope closes the HTTP stream and
    cancels running tools at once (a sync tool's thread is waited for) and lets
    ``Cancelled`` propagate; :meth:`cancel` stops one run, which then emits
    ``run_cancelled`` and raises ``SessionError("cancelled")``.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Sequence[object] | None = None,
        max_turns: int = DEFAULT_MAX_TURNS,
        tool_timeout: float | None = None,
        approve: Approve | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        thinking: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        request_options: Mapping[str, Any] | None = None,
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        if approve is not None and not callable(approve):
            raise TypeError(f"approve must be a callable or None, got {type(approve).__name__}")
        self.model = model
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.system = system
        self.toolset: Toolset = build_toolset(tools)
        self.max_turns = _max_turns(max_turns)
        self.tool_timeout = _tool_timeout(tool_timeout)
        self.approve = approve
        self.max_retries = max_retries
        self.timeout = timeout
        self.thinking = dict(thinking) if thinking else None
        self.temperature = temperature
        self.request_options = dict(request_options or {})
        self._api_key = api_key
        self._borrowed = client
        self._client: anthropic.AsyncAnthropic | None = client
        self._entered = False
        self._runs = RunScopes()

    def __repr__(self) -> str:
        client = "borrowed" if self._borrowed is not None else "owned"
        base_url = None if self.base_url is None else redact_text(self.base_url)
        return f"ClaudeAdapter(model={self.model!r}, base_url={base_url!r}, client={client!r})"

    @property
    def name(self) -> str:
        return "claude"

    async def capabilities(self) -> Sequence[Capability]:
        """``streaming``, ``tool_use``, ``vision``, ``system_prompts``, ``interrupt``."""
        await trio.lowlevel.checkpoint()
        return CLAUDE_CAPABILITIES

    # -- lifecycle ------------------------------------------------------------------

    def _new_client(self) -> anthropic.AsyncAnthropic:
        api_key = self._api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not api_key:
            raise provider_failure("provider_authentication_failed", None, _MISSING_KEY)
        return anthropic.AsyncAnthropic(
            api_key=api_key, base_url=self.base_url, max_retries=self.max_retries
        )

    async def __aenter__(self) -> Self:
        """Open the owned client (nothing to open for a borrowed one).

        Raises ``SessionError("provider_authentication_failed")`` without a key.
        """
        await trio.lowlevel.checkpoint()
        if self._entered:
            raise RuntimeError("ClaudeAdapter is already open")
        if self._borrowed is None:
            self._client = self._new_client()
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the owned client and its connections (shielded, at most 5 s)."""
        client, self._entered = self._client, False
        if self._borrowed is None:
            self._client = None
            if client is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_GRACE):
                    await client.close()

    @asynccontextmanager
    async def _client_for_run(self) -> AsyncIterator[anthropic.AsyncAnthropic]:
        if self._client is not None:
            yield self._client
            return
        client = self._new_client()
        try:
            yield client
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_GRACE):
                await client.close()

    # -- runs -----------------------------------------------------------------------

    async def cancel(self, run_id: str) -> None:
        """Stop run *run_id*: its ``execute`` closes the HTTP stream at once, emits
        ``run_cancelled`` and raises ``SessionError("cancelled")``. Raises
        ``SessionError("run_not_found")`` when *run_id* is not executing here."""
        await trio.lowlevel.checkpoint()
        self._runs.cancel(run_id)

    def _settings(self, opts: Mapping[str, Any]) -> LoopSettings:
        """The loop settings of one run: ``adapter_opts`` may replace ``tools``,
        ``max_turns`` and ``tool_timeout`` (bad values: ``validation_error``)."""
        try:
            toolset = build_toolset(opts["tools"]) if "tools" in opts else self.toolset
            max_turns = _max_turns(opts.get("max_turns", self.max_turns))
            tool_timeout = _tool_timeout(opts.get("tool_timeout", self.tool_timeout))
        except (TypeError, ValueError) as exc:
            raise SessionError("validation_error", f"adapter_opts: {exc}") from exc
        return LoopSettings(toolset, max_turns, tool_timeout, self.approve)

    def _request(
        self, run: Run, session: Session, opts: Mapping[str, Any], toolset: Toolset
    ) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": self.system,
            "thinking": self.thinking,
            "temperature": self.temperature,
        }
        settings.update({k: opts[k] for k in _RUN_OVERRIDES if k in opts})
        settings["tools"] = toolset.definitions()
        context = session.context
        messages, system_turns = build_messages(
            run.input, context.get("transcript"), context.get("history")
        )
        extra = opts.get("request_options")
        params: dict[str, Any] = {
            **self.request_options,
            **(extra if isinstance(extra, Mapping) else {}),
        }
        params.update({k: v for k, v in settings.items() if v is not None and k != "system"})
        system = merge_system(settings["system"], system_turns)
        if system is not None:
            params["system"] = system
        params["messages"] = messages
        return params

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> Mapping[str, Any]:
        """Run *run* to its end; see the class docstring for events and errors.

        ``opts`` may override ``model``, ``max_tokens``, ``system``, ``tools``,
        ``thinking``, ``temperature``, ``max_turns``, ``tool_timeout``, add
        ``request_options``, and set ``timeout`` (seconds the SDK waits for the
        connection and for each read); other options are ignored. Events
        already emitted stay emitted when the run fails.
        """
        settings = self._settings(opts)
        params = self._request(run, session, opts, settings.toolset)
        read_timeout = _seconds(opts.get("timeout")) or self.timeout

        async def body() -> Mapping[str, Any]:
            async with self._client_for_run() as client:

                async def turn(
                    messages: list[dict[str, Any]], number: int, usage: Mapping[str, int]
                ) -> MessageAccumulator:
                    message = MessageAccumulator(turn=number, usage_before=usage)
                    request = {**params, "messages": messages}
                    return await stream_turn(client, request, read_timeout, emit, message)

                return await run_loop(params["messages"], settings, turn, emit)

        return await self._runs.execute(run.id, emit, body)
