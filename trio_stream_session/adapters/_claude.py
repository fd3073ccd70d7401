"""``ClaudeAdapter``: Claude through the ``anthropic`` SDK's streaming Messages API, under Trio."""

from __future__ import annotations

import functools
import inspect
import os
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final, Self

import anthropic
import trio

from .._models import Capability, Run, Session
from .._ports import Emit
from .._redact import redact_text
from ._capabilities import CLAUDE_CAPABILITIES
from ._claude_events import MessageAccumulator, ServerSentEvent, SSEParser, decode_payload
from ._claude_request import (
    build_messages,
    error_from_exception,
    merge_system,
    provider_failure,
    stream_error_event,
)
from ._runs import RunScopes

__all__ = ["DEFAULT_MODEL", "ClaudeAdapter"]

DEFAULT_MODEL: Final = "claude-haiku-4-5-20251001"
DEFAULT_MAX_TOKENS: Final = 4096
#: Seconds that closing a client or an abandoned stream may take (shielded).
CLOSE_GRACE: Final = 5.0
_MISSING_KEY: Final = (
    "ANTHROPIC_API_KEY is not set: pass api_key to ClaudeAdapter or set the environment variable"
)
#: Per-run ``adapter_opts`` that override the adapter's request settings.
_RUN_OVERRIDES: Final = ("model", "max_tokens", "system", "tools", "thinking", "temperature")


@functools.cache
def _sdk_parameters(create: Any) -> frozenset[str]:
    """The keyword arguments this SDK version's ``messages.create`` accepts."""
    return frozenset(inspect.signature(create).parameters)


def _call_arguments(create: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """*params* as ``create`` keywords; parameters this SDK version does not name
    (``temperature`` was dropped from its signature in 2.x) go in ``extra_body``."""
    accepted = _sdk_parameters(getattr(create, "__func__", create))
    known = {k: v for k, v in params.items() if k in accepted}
    extra = {k: v for k, v in params.items() if k not in accepted}
    if extra:
        known["extra_body"] = {**extra, **(known.get("extra_body") or {})}
    return known


def _seconds(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    return None


class _EventReader:
    """Server-sent events from a streaming response, with a cleanup that leaves
    nothing for the garbage collector.

    httpx's body iterators are async generators nested inside each other;
    closing only the outermost one orphans the inner ones, which Trio then
    reports as "garbage collected before it had been exhausted". So
    :meth:`aclose` closes the response first and then pulls once more: every
    generator in the chain then ends with the read error. The SDK's own event
    iterator cannot be used: it orphans its generators whenever it raises
    (an ``error`` event, bad JSON), so the body is parsed here instead.
    """

    def __init__(self, response: Any) -> None:
        self._response = response
        self._chunks: Any = response.aiter_bytes()
        self._parser = SSEParser()
        self._ready: deque[ServerSentEvent] = deque()
        self._exhausted = False

    async def next_event(self) -> ServerSentEvent | None:
        """The next event, or None at the end of the body; waits for data only
        when no parsed event is buffered."""
        while not self._ready:
            if self._exhausted:
                return None
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                self._ready.extend(self._parser.close())
            else:
                self._ready.extend(self._parser.feed(chunk))
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Close the connection at once; shielded and bounded, so it also runs when cancelled."""
        with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_GRACE):
            await self._response.aclose()
            if not self._exhausted:
                try:
                    while True:
                        await self._chunks.__anext__()
                except Exception:  # the read error (or end) that finishes every generator
                    pass
            await self._chunks.aclose()


class ClaudeAdapter:
    """Claude (the Anthropic Messages API), streamed through ``anthropic.AsyncAnthropic``.

    ::

        async with ClaudeAdapter(model="claude-haiku-4-5", max_tokens=1024) as adapter:
            result = await run_once(store, adapter, {"prompt": "Hello"})

    The API key comes from ``api_key`` or ``ANTHROPIC_API_KEY``; it is never
    shown in a repr, an event, a log line or an error. ``async with`` opens
    the adapter's own client and closes it on exit (shielded, at most 5 s);
    used without ``async with``, each run opens and closes a client of its
    own. A ``client`` passed in is borrowed: never closed, and its own
    ``max_retries``/``base_url``/key apply.

    Each ``execute`` makes one streaming request. Events: ``run_started``
    (``model``, ``provider_session_id`` = the message id), ``message_streamed``
    per text delta (``delta``, ``content`` = all text so far, ``kind="text"``)
    and per thinking delta (``kind="thinking"``, ``content`` = all thinking so
    far), ``tool_call_started`` + ``tool_call_completed`` per finished
    ``tool_use`` block (``tool_call_id``, ``tool_name``, parsed ``tool_input``),
    ``token_usage_updated`` at ``message_delta``, then ``message_received`` and
    ``run_completed`` (``stop_reason``). The output is ``{"content",
    "stop_reason", "tool_calls": [{"id", "name", "input"}]}``; the token usage
    uses the API's four keys. A reply that stops for ``tool_use`` ends the run:
    run the tools and continue with a new run.

    Failures raise :class:`SessionError` with a ``provider_error`` (provider
    ``claude``): 401/403 ``provider_authentication_failed``, 429
    ``provider_rate_limited`` (after the SDK's retries, which honour
    ``retry-after``), 529 and other 5xx ``provider_unavailable``, timeouts
    ``provider_timeout``, an unreachable API ``provider_unavailable``; mid-stream,
    a dropped connection is ``provider_error`` (kind ``transport_exit``), an
    ``error`` event has kind ``protocol_error`` (code from its error type:
    ``overloaded_error`` is ``provider_unavailable``), malformed data is
    ``provider_error`` (kind ``parse_error``), and a stream that ends before
    ``message_stop`` is ``provider_error`` (kind ``protocol_error``).

    Cancellation: cancelling the caller's scope closes the HTTP stream at once
    and lets ``Cancelled`` propagate; :meth:`cancel` stops one run, which then
    emits ``run_cancelled`` and raises ``SessionError("cancelled")``.
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        system: str | Sequence[Mapping[str, Any]] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        max_retries: int = 2,
        timeout: float | None = None,
        thinking: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        request_options: Mapping[str, Any] | None = None,
        client: anthropic.AsyncAnthropic | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.system = system
        self.tools = list(tools) if tools else None
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

    def _request(self, run: Run, session: Session, opts: Mapping[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": self.system,
            "tools": self.tools,
            "thinking": self.thinking,
            "temperature": self.temperature,
        }
        settings.update({k: opts[k] for k in _RUN_OVERRIDES if k in opts})
        messages, system_turns = build_messages(run.input, session.context.get("transcript"))
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
        """Stream one reply for *run*; see the class docstring for events and errors.

        ``opts`` may override ``model``, ``max_tokens``, ``system``, ``tools``,
        ``thinking``, ``temperature``, add ``request_options``, and set
        ``timeout`` (seconds the SDK waits for the connection and for each
        read); other options are ignored. Events already emitted stay emitted
        when the run fails.
        """
        params = self._request(run, session, opts)
        timeout = _seconds(opts.get("timeout")) or self.timeout
        return await self._runs.execute(run.id, emit, lambda: self._stream(params, timeout, emit))

    async def _stream(
        self, params: dict[str, Any], read_timeout: float | None, emit: Emit
    ) -> Mapping[str, Any]:
        async with self._client_for_run() as client:
            call_opts: dict[str, Any] = {} if read_timeout is None else {"timeout": read_timeout}
            try:
                create = client.messages.create
                arguments = _call_arguments(create, {**params, "stream": True, **call_opts})
                stream = await create(**arguments)
            except Exception as exc:
                raise _translated(exc, read_timeout) from exc
            reader = _EventReader(stream.response)
            try:
                message = MessageAccumulator()
                while True:
                    try:
                        event = await reader.next_event()
                        if event is None:
                            break
                        if event.event == "error":
                            raise stream_error_event(decode_payload(event))
                        if event.event == "ping":
                            continue
                        events = message.handle(decode_payload(event))
                    except Exception as exc:
                        raise _translated(exc, read_timeout) from exc
                    for item in events:
                        await emit(item)
            finally:
                await reader.aclose()
        if not message.stopped:
            raise provider_failure(
                "provider_error", "protocol_error", "Claude API stream ended before message_stop"
            )
        return {"output": message.output(), "token_usage": message.token_usage(), "events": []}


def _translated(exc: Exception, timeout: float | None) -> Exception:
    error = error_from_exception(exc, timeout=timeout)
    return exc if error is None else error
