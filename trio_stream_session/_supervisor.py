"""``SessionSupervisor``: many stream sessions in one long-lived nursery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Unpack, final

import trio

from ._errors import SessionError
from ._open import start_stream_session
from ._options import AdapterSpec, RunInput, SessionOptions
from ._session import StreamSession
from ._taskscope import TaskScope

__all__ = ["SessionSupervisor", "SupervisorStatistics", "open_session_supervisor"]


@dataclass(frozen=True, slots=True)
class SupervisorStatistics:
    """``sessions_started`` in total; ``sessions_active``: still running or not yet closed."""

    sessions_started: int
    sessions_active: int
    closed: bool


@final
class SessionSupervisor:
    """Runs stream sessions side by side with fault isolation.

    A session's failure (adapter error, crash, timeout) is an event on its
    own stream; it never raises into the supervisor or disturbs the other
    sessions. Create one with :func:`open_session_supervisor`.
    """

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._active: set[StreamSession] = set()
        self._started = 0
        self._closed = False

    def __repr__(self) -> str:
        return f"<SessionSupervisor active={len(self._active)} started={self._started}>"

    async def start(
        self, *, adapter: AdapterSpec, input: RunInput, **options: Unpack[SessionOptions]
    ) -> StreamSession:
        """Start one session (options as :func:`open_stream_session`) and return its stream.

        The stream lives until its run ends and it is consumed or closed, or
        until the supervisor closes. Raises :class:`SessionError`
        (``invalid_operation``) once the supervisor is closed.
        """
        if self._closed:
            raise SessionError("invalid_operation", "the session supervisor is closed")
        stream = await start_stream_session(self._nursery, adapter=adapter, input=input, **options)
        self._started += 1
        self._active.add(stream)
        self._nursery.start_soon(self._forget_when_done, stream)
        return stream

    async def _forget_when_done(self, stream: StreamSession) -> None:
        await stream.wait_finished()
        self._active.discard(stream)

    def statistics(self) -> SupervisorStatistics:
        return SupervisorStatistics(self._started, len(self._active), self._closed)

    async def aclose(self) -> None:
        """Close every running session (each as ``StreamSession.aclose``), concurrently."""
        self._closed = True
        async with trio.open_nursery() as nursery:
            for stream in list(self._active):
                nursery.start_soon(stream.aclose)


@asynccontextmanager
async def open_session_supervisor() -> AsyncIterator[SessionSupervisor]:
    """A supervisor for many concurrent stream sessions::

        async with open_session_supervisor() as sup:
            stream = await sup.start(adapter=MockAdapter(), input={"prompt": "hi"})
            async for event in stream:
                ...

    Leaving the block closes every session still running and waits for them.
    """
    async with TaskScope() as nursery:
        supervisor = SessionSupervisor(nursery)
        try:
            yield supervisor
        finally:
            with trio.CancelScope(shield=True):
                await supervisor.aclose()
