"""Long-polling for ``get_events(wait=...)``, shared by the stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from .._events import Event

__all__ = ["LongPoll"]


class LongPoll:
    """Readers waiting for a session's next append, and what wakes them.

    A store calls :meth:`wake` after every append and :meth:`close` when it
    closes; :meth:`poll` runs a reader's wait. Nothing is left registered once
    a reader returns, however it returns (found, timed out, cancelled).
    """

    def __init__(self) -> None:
        self.waiters: dict[str, set[trio.Event]] = {}
        self.closed = False

    def wake(self, session_id: str) -> None:
        """Wake every reader waiting on *session_id* (cheap when none is)."""
        if self.waiters:
            for waiter in self.waiters.pop(session_id, ()):
                waiter.set()

    def close(self) -> None:
        """Wake every reader; later polls return at once."""
        self.closed = True
        for waiters in self.waiters.values():
            for waiter in waiters:
                waiter.set()
        self.waiters.clear()

    async def poll(
        self,
        session_id: str,
        fetch: Callable[[], Awaitable[list[Event]]],
        wait: float,
        *,
        interval: float | None = None,
    ) -> list[Event]:
        """``await fetch()`` until it finds events, *wait* seconds pass (``[]``),
        or the store closes (``[]``). A fetch runs after each wake-up, and every
        *interval* seconds if given (to see other processes' appends)."""
        found = await fetch()
        deadline = trio.current_time() + wait
        while not found and not self.closed and trio.current_time() < deadline:
            until = deadline if interval is None else min(deadline, trio.current_time() + interval)
            await self._wait(session_id, until)
            if self.closed:
                return []
            found = await fetch()
        return found

    async def _wait(self, session_id: str, until: float) -> None:
        waiter = trio.Event()
        waiters = self.waiters.setdefault(session_id, set())
        waiters.add(waiter)
        try:
            with trio.move_on_at(until):
                await waiter.wait()
        finally:
            waiters.discard(waiter)
            if not waiters and self.waiters.get(session_id) is waiters:
                del self.waiters[session_id]
