"""Idle timeouts for every live stream of a Trio run, from one system task.

A per-stream watchdog task costs a task, a nursery and a cancel scope per
session; a cancel scope whose deadline is pushed on every event costs a
deadline update per event. Instead, a producer only counts its events, and
one system task per ``trio.run`` samples the counters of all live streams,
each every eighth of its timeout. A stream therefore times out between
``idle_timeout`` and ``1.125 * idle_timeout`` after its last sign of life,
never early.

The system task holds no stream longer than the stream is watched, never
raises (a failing callback is logged), and is cancelled with the run.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from typing import Final, Protocol

import trio

__all__ = ["IdleWatch", "Watched", "watch"]

logger = logging.getLogger("trio_stream_session")

#: A timed-out stream is checked this many times per timeout.
_CHECKS_PER_TIMEOUT: Final = 8
#: Drop unwatched entries from the heap once they outnumber live ones by this factor.
_COMPACT_FACTOR: Final = 2
_COMPACT_MIN: Final = 256


class Watched(Protocol):
    """What the timer reads and calls on a stream."""

    def _idle_progress(self) -> object:
        """Anything that changes whenever the stream makes progress."""

    def _idle_busy(self) -> bool:
        """True while silence does not count (blocked on a slow consumer).

        Leaving the busy state must also change :meth:`_idle_progress`, or
        the silence is counted from the last check that saw it busy."""

    def _idle_expired(self) -> None:
        """Called once, in the timer task, when the timeout has passed."""


class IdleWatch:
    """One watched stream: its timeout, and what it last looked like."""

    __slots__ = ("last_progress", "seen", "stream", "timeout")

    def __init__(self, stream: Watched, timeout: float, now: float) -> None:
        self.stream: Watched | None = stream
        self.timeout = timeout
        self.seen = stream._idle_progress()
        self.last_progress = now

    def cancel(self) -> None:
        """Stop watching (idempotent, synchronous, from any task)."""
        if self.stream is not None:
            self.stream = None
            timers = _TIMERS.get(None)
            if timers is not None:
                timers.dropped()

    def _check(self, now: float) -> float | None:
        """The next time to check, or None once the stream has timed out."""
        stream = self.stream
        assert stream is not None
        progress = stream._idle_progress()
        if progress != self.seen or stream._idle_busy():
            self.seen = progress
            self.last_progress = now
        elif now >= self.last_progress + self.timeout:
            self.stream = None
            stream._idle_expired()
            return None
        return min(self.last_progress + self.timeout, now + self.timeout / _CHECKS_PER_TIMEOUT)


class _Timers:
    """The heap of watched streams and the system task that checks them."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, IdleWatch]] = []
        self._order = itertools.count()
        self._live = 0
        self._wakeup = trio.CancelScope()

    def add(self, entry: IdleWatch, at: float) -> None:
        self._live += 1
        heapq.heappush(self._heap, (at, next(self._order), entry))
        if at < self._wakeup.deadline:
            self._wakeup.deadline = at

    def dropped(self) -> None:
        self._live -= 1
        heap = self._heap
        if len(heap) > _COMPACT_MIN and len(heap) > _COMPACT_FACTOR * max(self._live, 1):
            heap[:] = [item for item in heap if item[2].stream is not None]
            heapq.heapify(heap)

    async def run(self) -> None:
        heap = self._heap
        while True:
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                _, _, entry = heapq.heappop(heap)
                if entry.stream is None:
                    continue
                try:
                    at = entry._check(now)
                except Exception:  # a system task must not raise
                    logger.exception("idle timeout check failed; the stream is no longer watched")
                    entry.stream = None
                    at = None
                if at is None:
                    self._live -= 1
                else:
                    heapq.heappush(heap, (at, next(self._order), entry))
            self._wakeup = trio.CancelScope(deadline=heap[0][0] if heap else math.inf)
            with self._wakeup:
                await trio.sleep_forever()


_TIMERS: Final = trio.lowlevel.RunVar[_Timers | None](
    "trio_stream_session_idle_timers", default=None
)


def watch(stream: Watched, timeout: float) -> IdleWatch:
    """Start enforcing *timeout* seconds of idleness on *stream*; synchronous.

    Must be called from inside a Trio run; starts the run's timer task on first use.
    """
    timers = _TIMERS.get()
    if timers is None:
        timers = _Timers()
        _TIMERS.set(timers)
        trio.lowlevel.spawn_system_task(timers.run, name="trio_stream_session idle timeouts")
    now = trio.current_time()
    entry = IdleWatch(stream, timeout, now)
    timers.add(entry, now + timeout / _CHECKS_PER_TIMEOUT)
    return entry
