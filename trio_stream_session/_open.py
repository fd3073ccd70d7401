"""The stream-session entry points: :func:`open_stream_session` and
:func:`start_stream_session` (the supervisor's ``start`` uses the latter)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Unpack, final

import trio

from ._input import check_input
from ._options import (
    AdapterSpec,
    RunInput,
    RunOptions,
    SessionOptions,
    check_run_options,
    check_session_options,
)
from ._session import StreamSession
from ._specs import adapter_spec, store_spec
from ._taskscope import TaskScope

__all__ = ["open_stream_session", "start_stream_session"]


def _run_options(options: Mapping[str, Any]) -> RunOptions:
    """The run options: ``run_opts`` with the top-level ``agent_id`` and
    ``session_id`` (which win), checked."""
    run_opts = options.get("run_opts")
    if run_opts is None:
        run_opts = {}
    if not isinstance(run_opts, Mapping):
        raise TypeError(f"run_opts must be a mapping, got {type(run_opts).__name__}")
    top = {k: options[k] for k in ("agent_id", "session_id") if options.get(k) is not None}
    return check_run_options({**run_opts, **top})


def _create(adapter: object, input: object, options: Mapping[str, Any]) -> StreamSession:
    idle_timeout, shutdown_timeout, max_buffer = check_session_options(options)
    return StreamSession(
        adapter=adapter_spec(adapter),
        store=store_spec(options.get("store")),
        input=check_input(input),
        run_opts=_run_options(options),
        idle_timeout=idle_timeout,
        shutdown_timeout=shutdown_timeout,
        max_buffer=max_buffer,
    )


async def start_stream_session(
    nursery: trio.Nursery,
    *,
    adapter: AdapterSpec,
    input: RunInput,
    **options: Unpack[SessionOptions],
) -> StreamSession:
    """Start a stream session as a task in *nursery* and return its stream.

    Takes the same options as :func:`open_stream_session`. Returns once the
    owned adapter and store are open and the run has started; a failure to
    open them raises :class:`SessionError` here. ``await stream.aclose()``
    stops it; otherwise it ends with the run (and *nursery* waits for it).
    """
    stream = _create(adapter, input, options)
    await stream._start(nursery)
    return stream


def open_stream_session(
    *,
    adapter: AdapterSpec,
    input: RunInput,
    **options: Unpack[SessionOptions],
) -> AbstractAsyncContextManager[StreamSession]:
    """Run one agent session and stream its events::

        spec = (ClaudeAdapter, {"model": "claude-haiku-4-5"})
        async with open_stream_session(adapter=spec, input={"prompt": "Hi"}) as stream:
            async for event in stream:
                print(event.type, event.data)

    ``adapter``: an instance (borrowed: never opened or closed here), or a class
    or ``(AdapterClass, {options})`` (owned: built, entered, and exited on the way
    out). Options (:class:`SessionOptions`): ``store``: None (an owned
    :class:`InMemorySessionStore`), an instance (borrowed) or a
    class/``(StoreClass, {options})`` (owned). ``run_opts`` are :func:`run_once`
    options (:class:`RunOptions`); ``agent_id`` wins over
    ``run_opts["agent_id"]``; a ``run_opts["event_callback"]`` is still called
    for every event, and its exceptions are ignored.

    ``idle_timeout`` (default 120): seconds of producer silence (time blocked
    on a full buffer does not count) before the run is cancelled, recorded as
    ``run_timeout``, and the stream ends with an ``error_occurred`` event of
    code ``timeout``. ``shutdown_timeout`` (default 5): seconds each owned
    resource gets for closing (the run's outcome is recorded regardless).
    ``max_buffer`` (default 64): the memory channel's size; a full buffer
    blocks the adapter (backpressure), nothing is dropped.

    The call raises ``TypeError``/``ValueError`` for bad arguments; entry raises
    :class:`SessionError` (``provider_unavailable`` / ``storage_connection_failed``)
    if an owned resource cannot be opened (after closing what was opened).
    Exit (normal, ``break``, exception, cancellation) closes the stream as
    :meth:`StreamSession.aclose` does; no task, process or connection outlives
    the block. Exceptions from the body propagate unchanged (not in a group).
    """
    return _OpenStreamSession(_create(adapter, input, options))


@final
class _OpenStreamSession:
    """What :func:`open_stream_session` returns: a one-shot async context manager.

    A class rather than ``@asynccontextmanager``: a generator frame per
    session costs measurably on the session's open+close path.
    """

    __slots__ = ("_scope", "_stream")

    def __init__(self, stream: StreamSession) -> None:
        self._stream = stream
        self._scope: TaskScope | None = None

    async def __aenter__(self) -> StreamSession:
        if self._scope is not None:
            raise RuntimeError("an open_stream_session() context can only be entered once")
        scope = self._scope = TaskScope()
        nursery = await scope.__aenter__()
        stream = self._stream
        try:
            await stream._start(nursery)
        except BaseException as exc:
            await scope.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self._scope is not None, "__aexit__ without __aenter__"
        try:
            await self._stream._shutdown()
        except BaseException as close_exc:
            await self._scope.__aexit__(type(close_exc), close_exc, close_exc.__traceback__)
            raise
        return await self._scope.__aexit__(exc_type, exc, tb)
