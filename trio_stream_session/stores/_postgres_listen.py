"""Long-polling for the PostgreSQL store: readers woken by this store's commits and,
through LISTEN/NOTIFY, by every other process's."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import psycopg
import trio
from psycopg import pq, sql

from .._errors import SessionError
from .._events import Event
from ._postgres_pool import Conn, ConnectSettings, close_quietly

__all__ = ["Listener"]

#: After the listening connection fails, wait this long before trying another.
RECONNECT_DELAY: Final = 1.0


class _Waiter:
    __slots__ = ("event", "woken")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.woken = False  # set by a wake-up; an event set without it hands over the pump


class Listener:
    """Readers waiting in ``get_events(wait=...)``, and what wakes them.

    One connection per store LISTENs on the store's channel, opened with the
    first long poll and kept. A reader registers before it fetches, and the
    connection listens before any reader fetches, so an append committed
    after a reader's fetch always wakes it: by :meth:`wake` from this store,
    by NOTIFY from any other. No thread and no task of its own: one waiting
    reader at a time, the *pump*, waits for the connection's socket
    (``trio.lowlevel.wait_readable``), reads its notifications and wakes the
    readers they name; when it returns, it hands the pump to another waiting
    reader. Readers also fetch every *poll_interval* seconds. A listening
    connection that fails is replaced (at most once per second, by a waiting
    reader), and every reader fetches once more: it may have missed a NOTIFY.
    """

    def __init__(self, settings: ConnectSettings, channel: str, poll_interval: float) -> None:
        if not isinstance(poll_interval, int | float) or not poll_interval > 0:
            raise ValueError(
                f"poll_interval must be a number of seconds > 0, got {poll_interval!r}"
            )
        self._settings = settings
        self._channel = channel
        self._interval = float(poll_interval)
        self._conn: Conn | None = None
        self._fd = -1  # its socket (psycopg cannot tell it once the connection is lost)
        self._retry_at = -math.inf
        self._connecting = trio.Lock()
        self._waiters: dict[str, set[_Waiter]] = {}
        self._pump: _Waiter | None = None
        self._pump_scope: trio.CancelScope | None = None
        self.closed = False

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def wake(self, session_ids: Iterable[str] | None) -> None:
        """Wake the readers of *session_ids* (of every session when None)."""
        if not self._waiters:
            return
        groups = (
            list(self._waiters.values())
            if session_ids is None
            else [self._waiters.get(sid, ()) for sid in session_ids]
        )
        for waiters in groups:
            for waiter in waiters:
                waiter.woken = True
                waiter.event.set()
        if self._pump is not None and self._pump.woken and self._pump_scope is not None:
            self._pump_scope.cancel()

    async def poll(
        self, session_id: str, fetch: Callable[[], Awaitable[list[Event]]], wait: float
    ) -> list[Event]:
        """``await fetch()`` until it finds events, *wait* seconds pass (``[]``), or the
        store closes (``[]``)."""
        deadline = trio.current_time() + wait
        while True:
            await self._listen()
            waiter = _Waiter()
            waiters = self._waiters.setdefault(session_id, set())
            waiters.add(waiter)
            try:
                found = await fetch()
                now = trio.current_time()
                if found or self.closed or now >= deadline:
                    return found
                until = min(deadline, now + self._interval)
                if self._conn is None:  # not listening: try again when allowed
                    until = min(until, max(self._retry_at, now + 0.01))
                await self._wait(waiter, until)
                if self.closed:
                    return []
            finally:
                waiters.discard(waiter)
                if not waiters and self._waiters.get(session_id) is waiters:
                    del self._waiters[session_id]
                self._hand_over()

    async def _wait(self, waiter: _Waiter, until: float) -> None:
        while not self.closed:
            if self._pump is None and self._conn is not None:
                await self._run_pump(waiter, self._conn, until)
                return
            with trio.move_on_at(until):
                await waiter.event.wait()
            if waiter.woken or not waiter.event.is_set():
                return
            waiter.event = trio.Event()  # handed the pump: take it

    async def _run_pump(self, waiter: _Waiter, conn: Conn, until: float) -> None:
        self._pump = waiter
        try:
            while not waiter.woken and not self.closed and trio.current_time() < until:
                with trio.move_on_at(until) as scope:
                    self._pump_scope = scope
                    await trio.lowlevel.wait_readable(self._fd)
                self._pump_scope = None
                if not scope.cancelled_caught:
                    self._read(conn)
                    if self._conn is not conn:
                        return
        except trio.ClosedResourceError:
            pass  # the store closed the connection
        finally:
            self._pump = self._pump_scope = None

    def _hand_over(self) -> None:
        if self._pump is not None or self._conn is None or self.closed:
            return
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.event.is_set():
                    waiter.event.set()
                    return

    def _read(self, conn: Conn) -> None:
        """Take what the server sent; wake the readers of the sessions it names."""
        try:
            conn.pgconn.consume_input()
            if conn.pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("the listening connection was closed")
        except psycopg.Error:
            self._drop(conn)
            self.wake(None)  # they fetch now, then every poll_interval
            return
        names: set[str] = set()
        everyone = False
        while (notify := conn.pgconn.notifies()) is not None:
            try:
                listed = json.loads(notify.extra)
                names.update(listed)
            except (ValueError, TypeError):
                everyone = True
        if everyone or names:
            self.wake(None if everyone else names)

    def _drop(self, conn: Conn) -> None:
        self._conn = None
        self._retry_at = trio.current_time() + RECONNECT_DELAY
        trio.lowlevel.notify_closing(self._fd)
        close_quietly(conn)

    async def _listen(self) -> None:
        """Open the listening connection, unless it is open, failed lately, or closed."""
        if self._conn is not None or self.closed or trio.current_time() < self._retry_at:
            return
        async with self._connecting:
            if self._conn is not None or self.closed:
                return
            try:
                conn = await trio.to_thread.run_sync(self._open)
            except SessionError:
                self._retry_at = trio.current_time() + RECONNECT_DELAY
                return
            if self.closed:
                await trio.to_thread.run_sync(close_quietly, conn)
                return
            self._conn, self._fd = conn, conn.pgconn.socket
            self.wake(None)  # what was missed while nobody listened

    def _open(self) -> Conn:
        conn = self._settings.connect()
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as exc:
            close_quietly(conn)
            raise SessionError("storage_connection_failed", str(exc)) from None
        return conn

    async def aclose(self) -> None:
        """Wake every reader (they return ``[]``) and close the connection."""
        self.closed = True
        self.wake(None)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            trio.lowlevel.notify_closing(self._fd)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(close_quietly, conn)
