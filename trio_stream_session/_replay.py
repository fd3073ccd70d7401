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
    ``follow=True``, in which case it waits for new ones until closed.

    As with Trio's own channels, :meth:`aclose` from another task wakes a
    task blocked in :meth:`receive` (a ``follow=True`` long poll): its store
    call is cancelled and it raises ``ClosedResourceError`` (``async for``
    ends). A store call already running in a worker thread finishes first."""

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
        self._fetches: set[trio.CancelScope] = set()  # store calls aclose() cancels

    async def receive(self) -> Event:
        """The next stored event; ``EndOfChannel`` at the end, ``ClosedResourceError``
        after :meth:`aclose`. Always a checkpoint."""
        while not self._buffer:
            self._raise_if_closed()
            if self._exhausted:
                raise trio.EndOfChannel
            page = await self._next_page()
            self._raise_if_closed()  # aclose() came while the page was being fetched
            if page:
                self._cursor = page[-1].sequence_number or self._cursor
                self._buffer.extend(page)
            elif not self._follow:
                self._exhausted = True
        await trio.lowlevel.checkpoint()
        return self._buffer.popleft()

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError("the replay stream was closed")

    async def _next_page(self) -> list[Event]:
        """The events after the cursor (long-polling if following); ``[]`` when
        :meth:`aclose` cancelled the call."""
        with trio.CancelScope() as scope:
            self._fetches.add(scope)
            try:
                return await self._store.get_events(
                    self._session_id,
                    run_id=self._run_id,
                    type=self._type,
                    after=self._cursor,
                    limit=self._page_size,
                    wait=3600.0 if self._follow else 0.0,
                )
            finally:
                self._fetches.discard(scope)
        return []

    async def __anext__(self) -> Event:
        try:
            return await self.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Stop the replay and wake any task blocked in :meth:`receive`; idempotent.
        The store is not closed (it is borrowed)."""
        self._closed = True
        self._buffer.clear()
        for scope in self._fetches:
            scope.cancel()
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
