"""The run-wide idle timer that enforces every stream's ``idle_timeout``."""

from __future__ import annotations

import gc
import logging
import weakref

import pytest
import trio
import trio.testing

from trio_stream_session import _idle


class Stream:
    """A watched stream: progress is a counter; expiry is recorded."""

    def __init__(self) -> None:
        self.progress = 0
        self.busy = False
        self.expired_at: float | None = None
        self.expirations = 0

    def _idle_progress(self) -> object:
        return self.progress

    def _idle_busy(self) -> bool:
        return self.busy

    def _idle_expired(self) -> None:
        self.expirations += 1
        self.expired_at = trio.current_time()


async def test_fires_between_the_timeout_and_an_eighth_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = Stream()
    start = trio.current_time()
    _idle.watch(stream, 8.0)
    await trio.sleep(5)
    stream.progress += 1  # activity at t=5: the timeout counts from there
    last_activity = trio.current_time()
    await trio.sleep(20)
    assert stream.expirations == 1
    assert stream.expired_at is not None
    assert last_activity + 8 <= stream.expired_at <= last_activity + 9
    assert stream.expired_at > start + 8


async def test_busy_counts_as_activity(autojump_clock: trio.testing.MockClock) -> None:
    stream = Stream()
    _idle.watch(stream, 4.0)
    stream.busy = True
    await trio.sleep(100)
    assert stream.expirations == 0
    stream.busy = False
    stream.progress += 1  # as a stream does: the blocked hand-over completes
    released = trio.current_time()
    await trio.sleep(10)
    assert stream.expired_at is not None and released + 4 <= stream.expired_at <= released + 4.5


async def test_a_cancelled_watch_never_fires_and_keeps_no_reference(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = Stream()
    entry = _idle.watch(stream, 1.0)
    entry.cancel()
    entry.cancel()  # idempotent
    ref = weakref.ref(stream)
    del stream
    gc.collect()
    assert ref() is None
    await trio.sleep(5)


async def test_a_shorter_timeout_added_later_wakes_the_timer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow, fast = Stream(), Stream()
    _idle.watch(slow, 1000.0)
    await trio.sleep(1)  # the timer now sleeps until t=125
    start = trio.current_time()
    _idle.watch(fast, 2.0)
    await trio.sleep(3)
    assert fast.expired_at is not None and start + 2 <= fast.expired_at <= start + 2.25
    assert slow.expirations == 0


async def test_many_streams_each_fire_once(autojump_clock: trio.testing.MockClock) -> None:
    streams = [Stream() for _ in range(50)]
    for index, stream in enumerate(streams):
        _idle.watch(stream, 1.0 + index % 5)
    await trio.sleep(10)
    assert [s.expirations for s in streams] == [1] * 50


async def test_unwatched_entries_are_compacted(autojump_clock: trio.testing.MockClock) -> None:
    keep = Stream()
    _idle.watch(keep, 60.0)
    for _ in range(2000):
        _idle.watch(Stream(), 60.0).cancel()
    timers = _idle._TIMERS.get()
    assert timers is not None
    assert len(timers._heap) <= 2 * _idle._COMPACT_MIN
    await trio.sleep(70)
    assert keep.expirations == 1


async def test_a_failing_expiry_is_logged_and_the_timer_goes_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Stream):
        def _idle_expired(self) -> None:
            raise RuntimeError("boom")

    broken, healthy = Broken(), Stream()
    _idle.watch(broken, 1.0)
    _idle.watch(healthy, 2.0)
    with caplog.at_level(logging.ERROR, logger="trio_stream_session"):
        await trio.sleep(5)
    assert "idle timeout check failed" in caplog.text
    assert healthy.expirations == 1


async def test_one_timer_task_per_run() -> None:
    first, second = Stream(), Stream()
    _idle.watch(first, 60.0).cancel()
    timers = _idle._TIMERS.get()
    _idle.watch(second, 60.0).cancel()
    assert _idle._TIMERS.get() is timers
    root = trio.lowlevel.current_root_task()
    names = [t.name for n in root.child_nurseries for t in n.child_tasks]
    assert names.count("trio_stream_session idle timeouts") == 1


async def test_a_failing_progress_read_drops_the_stream_once(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreadable(Stream):
        def _idle_progress(self) -> object:
            if trio.current_time() > 0.5:
                raise RuntimeError("cannot read")
            return 0

    entry = _idle.watch(Unreadable(), 1.0)
    timers = _idle._TIMERS.get()
    assert timers is not None
    live = timers._live
    with caplog.at_level(logging.ERROR, logger="trio_stream_session"):
        await trio.sleep(2)
    entry.cancel()  # after the timer dropped it: no second decrement
    assert timers._live == live - 1
