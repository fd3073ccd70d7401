"""``replay_session``: a stored session's events as a receive channel."""

from __future__ import annotations

from collections import deque
from typing import Final, final

import trio

from ._events import Event
from ._ports import EventTypeFilter, SessionStore

__all__ = ["ReplayStream", "replay_session"]

_PAGE: Final = 500


@final
class ReplayStream(trio.abc.ReceiveChannel[Event]):
    """Pages through ``store.get_events`` lazily: no background task, nothing to
    leak. Ends (``EndOfChannel``) after the last stored event, unless
    ``follow=True``, in which case it waits for new ones until closed."""

    def __init__(
        self,
        store: SessionStore,
        session_id: str,
        *,
        run_id: str | None = None,
        type: EventTypeFilter | None = None,
        follow: bool = False,
        page_size: int = _PAGE,
    ) -> None:
        self._store = store
        self._session_id = session_id
        self._run_id = run_id
        self._type = type
        self._follow = follow
        self._page_size = page_size
        self._cursor = 0
        self._buffer: deque[Event] = deque()
        self._closed = False
        self._exhausted = False

    async def receive(self) -> Event:
        """The next stored event; ``EndOfChannel`` at the end, ``ClosedResourceError``
        after :meth:`aclose`. Always a checkpoint."""
        while not self._buffer:
            if self._closed:
                raise trio.ClosedResourceError("the replay stream was closed")
            if self._exhausted:
                raise trio.EndOfChannel
            page = await self._store.get_events(
                self._session_id,
                run_id=self._run_id,
                type=self._type,
                after=self._cursor,
                limit=self._page_size,
                wait=3600.0 if self._follow else 0.0,
            )
            if page:
                self._cursor = page[-1].sequence_number or self._cursor
                self._buffer.extend(page)
            elif not self._follow:
                self._exhausted = True
        await trio.lowlevel.checkpoint()
        return self._buffer.popleft()

    async def __anext__(self) -> Event:
        try:
            return await self.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop the replay; idempotent. The store is not closed (it is borrowed)."""
        self._closed = True
        self._buffer.clear()
        await trio.lowlevel.checkpoint()


def replay_session(
    store: SessionStore,
    session_id: str,
    *,
    run_id: str | None = None,
    type: EventTypeFilter | None = None,
    follow: bool = False,
) -> ReplayStream:
    """A stored session's events, in sequence order, as a receive channel, so
    any renderer or sink can show a past session::

        async with SQLiteSessionStore("sessions.db") as store:
            await render_stream(replay_session(store, session_id), renderer=CompactRenderer())

    ``run_id``/``type`` filter as ``get_events`` does; ``follow=True`` keeps
    waiting for new events (tail a running session) until the stream is closed.
    """
    return ReplayStream(store, session_id, run_id=run_id, type=type, follow=follow)
