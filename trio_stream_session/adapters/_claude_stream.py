"""One streaming Messages-API request, read event by event under Trio.

:func:`stream_turn` sends the request through the ``anthropic`` SDK, parses
the response body itself (:class:`_EventReader`), feeds a
:class:`~._claude_message.MessageAccumulator` and emits its events as they
come. SDK and HTTP failures become :class:`SessionError`.
"""

from __future__ import annotations

import functools
import inspect
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

import anthropic
import trio

from .._ports import Emit
from ._claude_events import ServerSentEvent, SSEParser, decode_payload
from ._claude_message import MessageAccumulator
from ._claude_request import error_from_exception, provider_failure, stream_error_event

__all__ = ["CLOSE_GRACE", "stream_turn"]

#: Seconds that closing a client or an abandoned stream may take (shielded).
CLOSE_GRACE: Final = 5.0


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


async def stream_turn(
    client: anthropic.AsyncAnthropic,
    params: Mapping[str, Any],
    read_timeout: float | None,
    emit: Emit,
    message: MessageAccumulator,
) -> MessageAccumulator:
    """Stream one model turn of *params* into *message*, emitting its events.

    Returns *message* once ``message_stop`` arrived; raises ``SessionError``
    for every failure (a stream that ends early is ``provider_error`` with
    kind ``protocol_error``). The connection is closed on every way out.
    """
    call_opts: dict[str, Any] = {} if read_timeout is None else {"timeout": read_timeout}
    try:
        create = client.messages.create
        stream = await create(**_call_arguments(create, {**params, "stream": True, **call_opts}))
    except Exception as exc:
        raise _translated(exc, read_timeout) from exc
    reader = _EventReader(stream.response)
    try:
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
    return message


def _translated(exc: Exception, timeout: float | None) -> Exception:
    error = error_from_exception(exc, timeout=timeout)
    return exc if error is None else error
