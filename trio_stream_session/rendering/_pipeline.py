"""``render_stream``: drive one renderer and N sinks over a stream of events.

Order, as in the reference's ``Rendering.stream``: open every sink (in list
order), then per event ``renderer.render(event)`` and ``write_event`` on each
sink in order; then ``renderer.finish()``, ``write`` of its text to each sink
(only if non-empty), ``flush`` of each sink, ``aclose`` of each sink.
Strictly sequential: no fan-out, so output order is deterministic.

Deliberate improvements over the reference (``rendering_spec.md`` §13 #4):
opening stops at the first sink that fails; whatever goes wrong (a renderer
or sink error, an error from the event stream, cancellation,
KeyboardInterrupt), every sink whose opening was attempted (including the one
that failed) is flushed and closed before the exception propagates, shielded
from cancellation and bounded by ``close_timeout`` seconds for each sink's flush and
for its close.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import trio

from .._events import Event
from .._redact import redact_text
from ._text import view

__all__ = ["RenderSummary", "Renderer", "RenderingError", "Sink", "render_stream"]

EventLike = Event | Mapping[str, Any]


@runtime_checkable
class Renderer(Protocol):
    """Turns events into text: ``render(event) -> str`` and ``finish() -> str``.

    Renderers are synchronous and do no I/O; ``render`` may return ``""``.
    """

    def render(self, event: Any) -> str: ...

    def finish(self) -> str: ...


@runtime_checkable
class Sink(Protocol):
    """Where text and events go; an async resource (see ``trio_stream_session.rendering``).

    ``open`` and ``aclose`` must be idempotent; ``flush`` and ``aclose`` must
    tolerate a sink that is closed or whose ``open`` failed.
    """

    async def open(self) -> None: ...

    async def write_event(self, event: Any, text: str) -> None: ...

    async def write(self, text: str) -> None: ...

    async def flush(self) -> None: ...

    async def aclose(self) -> None: ...


class RenderingError(Exception):
    """A renderer or a sink failed inside :func:`render_stream`.

    ``.sink`` is the failing sink, or None when the renderer failed;
    ``.operation`` names the step (``"open"``, ``"write_event"``, ``"write"``,
    ``"flush"``, ``"aclose"``, ``"render"``, ``"finish"``). The original
    exception is ``__cause__``. By the time it is raised every opened sink has
    been flushed and closed; failures during that cleanup are added as notes.
    """

    def __init__(self, message: str, *, sink: Any = None, operation: str = "") -> None:
        super().__init__(message)
        self.sink = sink
        self.operation = operation


@dataclass(frozen=True, slots=True)
class RenderSummary:
    """What :func:`render_stream` saw: events rendered, tool calls started
    (``tool_call_started``) and errors (``run_failed`` and ``error_occurred``)."""

    events: int = 0
    tools: int = 0
    errors: int = 0


def _describe(exc: BaseException) -> str:
    return redact_text(f"{type(exc).__name__}: {exc}")


def _sink_error(sink: Any, operation: str, exc: Exception) -> RenderingError:
    message = f"{sink!r} failed in {operation}: {_describe(exc)}"
    return RenderingError(message, sink=sink, operation=operation)


class _SyncEvents:
    """An async iterator over a plain iterable, with a checkpoint per event."""

    def __init__(self, events: Iterable[Any]) -> None:
        self._it: Iterator[Any] = iter(events)

    def __aiter__(self) -> _SyncEvents:
        return self

    async def __anext__(self) -> Any:
        await trio.lowlevel.checkpoint()
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None


def _events_of(stream: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[Any]:
    if isinstance(stream, AsyncIterable):
        return aiter(stream)
    if isinstance(stream, Iterable):
        return _SyncEvents(stream)
    kind = type(stream).__name__
    raise TypeError(f"render_stream needs an (async) iterable of events, got {kind}")


class _Run:
    """The state of one ``render_stream`` call."""

    def __init__(self, renderer: Renderer, sinks: Sequence[Sink], close_timeout: float) -> None:
        self.renderer = renderer
        self.sinks = sinks
        self.close_timeout = close_timeout
        self.opened: list[Sink] = []
        self.events = self.tools = self.errors = 0

    async def open_sinks(self) -> None:
        for sink in self.sinks:
            # Listed before opening: a failed or cancelled open may still have
            # acquired something, and aclose() is idempotent.
            self.opened.append(sink)
            try:
                await sink.open()
            except Exception as exc:
                raise _sink_error(sink, "open", exc) from exc

    def render(self, event: Any) -> str:
        try:
            text = self.renderer.render(event)
        except Exception as exc:
            raise RenderingError(
                f"{self.renderer!r} failed to render event #{self.events + 1}: {_describe(exc)}",
                operation="render",
            ) from exc
        if not isinstance(text, str):
            raise RenderingError(
                f"{self.renderer!r}.render returned {type(text).__name__}, expected str",
                operation="render",
            )
        self.count(event)
        return text

    def count(self, event: Any) -> None:
        kind = view(event).type
        self.events += 1
        self.tools += kind == "tool_call_started"
        self.errors += kind in ("run_failed", "error_occurred")

    def finish(self) -> str:
        try:
            text = self.renderer.finish()
        except Exception as exc:
            raise RenderingError(
                f"{self.renderer!r} failed in finish: {_describe(exc)}", operation="finish"
            ) from exc
        if not isinstance(text, str):
            raise RenderingError(
                f"{self.renderer!r}.finish returned {type(text).__name__}, expected str",
                operation="finish",
            )
        return text

    async def each_sink(self, operation: str, *args: Any) -> None:
        for sink in self.opened:
            try:
                await getattr(sink, operation)(*args)
            except Exception as exc:
                raise _sink_error(sink, operation, exc) from exc

    async def cleanup(self, *, flush: bool) -> list[tuple[Sink, str, Exception]]:
        """Flush (optionally) and close every opened sink; return what failed.

        Shielded from outside cancellation. Flushing and closing each get
        ``close_timeout`` seconds per sink, separately, so a flush that runs out
        of time never prevents the close.
        """
        failures: list[tuple[Sink, str, Exception]] = []
        operations = ("flush", "aclose") if flush else ("aclose",)
        with trio.CancelScope(shield=True):
            for sink in self.opened:
                for operation in operations:
                    failure = await self._bounded(sink, operation)
                    if failure is not None:
                        failures.append((sink, operation, failure))
        self.opened.clear()
        return failures

    async def _bounded(self, sink: Sink, operation: str) -> Exception | None:
        with trio.move_on_after(self.close_timeout) as scope:
            try:
                await getattr(sink, operation)()
            except Exception as exc:
                return exc
        if scope.cancelled_caught:
            return TimeoutError(f"gave up after {self.close_timeout}s")
        return None

    def summary(self) -> RenderSummary:
        return RenderSummary(events=self.events, tools=self.tools, errors=self.errors)


async def render_stream(
    stream: AsyncIterable[EventLike] | Iterable[EventLike],
    *,
    renderer: Renderer,
    sinks: Sequence[Sink] = (),
    close_timeout: float = 5.0,
) -> RenderSummary:
    """Render every event of *stream* with *renderer* and deliver it to *sinks*.

    *stream* is any async iterable of events — typically the ``StreamSession``
    from :func:`~trio_stream_session.open_stream_session` — or a plain iterable
    (handy in tests). Events may be :class:`~trio_stream_session.Event` objects
    or mappings. The stream is **not** closed here: its owner closes it.

    *sinks* are opened here, in order, and always closed before this returns or
    raises; a sink is used by one ``render_stream`` call. Returns a
    :class:`RenderSummary` once the stream is exhausted and every sink has been
    flushed and closed.

    Errors: a failing renderer or sink raises :class:`RenderingError` (naming
    the sink; the original exception is its ``__cause__``) after every opened
    sink was flushed and closed. An exception from *stream* itself propagates
    unchanged, after the same cleanup.

    Cancellation: this is a checkpoint per event. If cancelled, the sinks are
    flushed and closed (shielded, at most *close_timeout* seconds for each
    sink's flush and for its close) and ``trio.Cancelled`` propagates; text
    already written stays written. ::

        async with open_stream_session(adapter=adapter, input=prompt) as stream:
            await render_stream(stream, renderer=CompactRenderer(), sinks=[TTYSink()])
    """
    if math.isnan(close_timeout) or close_timeout < 0:
        raise ValueError(f"close_timeout must be >= 0, got {close_timeout!r}")
    if not isinstance(renderer, Renderer):
        raise TypeError(f"renderer needs render(event) and finish() methods, got {renderer!r}")
    sink_list = list(sinks)
    for sink in sink_list:
        if not isinstance(sink, Sink):
            raise TypeError(
                f"a sink needs open/write_event/write/flush/aclose methods, got {sink!r}"
            )
    events = _events_of(stream)
    run = _Run(renderer, sink_list, close_timeout)
    try:
        await trio.lowlevel.checkpoint()
        await run.open_sinks()
        async for event in events:
            text = run.render(event)
            await run.each_sink("write_event", event, text)
        final = run.finish()
        if final:
            await run.each_sink("write", final)
        await run.each_sink("flush")
    except BaseException as exc:
        failures = await run.cleanup(flush=True)
        if isinstance(exc, Exception):
            for sink, operation, failure in failures:
                exc.add_note(f"during cleanup {sink!r} failed in {operation}: {_describe(failure)}")
        raise
    failures = await run.cleanup(flush=False)
    if failures:
        sink, operation, failure = failures[0]
        err = _sink_error(sink, operation, failure)
        for other_sink, other_op, other in failures[1:]:
            err.add_note(f"{other_sink!r} also failed in {other_op}: {_describe(other)}")
        raise err from failure
    return run.summary()
