"""Measured causes for the targets: GC share, scheduler passes, objects per session.

Each probe runs raw and library side by side once (a few seconds in all)
and reports a counted or timed quantity, not a guess; ``cause()`` turns them
into the short notes printed under a missed target.
"""

from __future__ import annotations

import gc
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from trio_stream_session import open_stream_session

from . import _lib, _raw
from ._config import Config
from ._measure import Sample, settle


class _SchedulerCount(trio.abc.Instrument):
    """Scheduler passes (one I/O wait each), task steps and tasks spawned."""

    def __init__(self) -> None:
        self.passes = 0
        self.steps = 0
        self.spawned = 0

    def after_io_wait(self, timeout: float) -> None:
        self.passes += 1

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.spawned += 1


class _GCTimer:
    """Counts collections per generation and the time spent in them."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> _GCTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def _without_gc(run: Callable[[], Awaitable[Sample]]) -> Sample:
    settle()
    gc.disable()
    try:
        return await run()
    finally:
        gc.enable()


async def _gc_share(events: int) -> dict[str, float]:
    """lib x raw per event with the cyclic GC on and off, paired."""
    settle()
    raw_on = await _raw.throughput(events)
    settle()
    lib_on = await _lib.throughput(events)
    raw_off = await _without_gc(lambda: _raw.throughput(events))
    lib_off = await _without_gc(lambda: _lib.throughput(events))
    on = (lib_on.seconds / lib_on.count) / (raw_on.seconds / raw_on.count)
    off = (lib_off.seconds / lib_off.count) / (raw_off.seconds / raw_off.count)
    return {"events": events, "ratio_gc_on": on, "ratio_gc_off": off}


async def _latency_gc(events: int) -> dict[str, Any]:
    """Collections during a back-to-back latency run, and lib p99 with GC off."""
    result: dict[str, Any] = {"events": events}
    for side, run in (("raw", _raw.latency), ("lib", _lib.latency)):
        settle()
        with _GCTimer() as timer:
            await run(events)
        result[f"{side}_collections"] = sum(timer.count)
        result[f"{side}_gc_ms"] = timer.seconds * 1000
    ordered = sorted((await _without_gc(lambda: _lib.latency(events))).latencies_ns or [0])
    result["lib_p99_us_gc_off"] = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1000
    return result


async def _scheduling(sessions: int) -> dict[str, Any]:
    """Scheduler passes, task steps and tasks per sequential session."""
    result: dict[str, Any] = {"sessions": sessions}
    for side, run in (("raw", _raw.session_cycles), ("lib", _lib.session_cycles)):
        counter = _SchedulerCount()
        trio.lowlevel.add_instrument(counter)
        try:
            await run(sessions)
        finally:
            trio.lowlevel.remove_instrument(counter)
        result[side] = {
            "passes": counter.passes / sessions,
            "task_steps": counter.steps / sessions,
            "tasks": counter.spawned / sessions,
        }
    return result


async def _tracked_objects(sessions: int) -> dict[str, Any]:
    """GC-tracked objects per idle library session, by type (stored events included)."""
    adapter = _lib.IdleAdapter()
    ready = trio.Event()
    delivered = 0
    counts: Counter[str] = Counter()

    async def one() -> None:
        nonlocal delivered
        async with open_stream_session(adapter=adapter, input=_lib.INPUT) as stream:
            async for _event in stream:
                delivered += 1
                if delivered == sessions:
                    ready.set()

    settle()
    before = Counter(type(o).__name__ for o in gc.get_objects())
    async with trio.open_nursery() as nursery:
        for _ in range(sessions):
            nursery.start_soon(one)
        await ready.wait()
        counts = Counter(type(o).__name__ for o in gc.get_objects()) - before
        adapter.release.set()
    top = {name: count / sessions for name, count in counts.most_common(8)}
    return {"sessions": sessions, "per_session": sum(counts.values()) / sessions, "top": top}


async def _concurrency_gc(sessions: int, events: int) -> dict[str, Any]:
    """Share of a concurrent library run spent in the cyclic GC."""
    settle()
    with _GCTimer() as timer:
        sample = await _lib.concurrent(sessions, events)
    return {
        "sessions": sessions,
        "events_per_session": events,
        "seconds": sample.seconds,
        "gc_seconds": timer.seconds,
        "full_collections": timer.count[2],
    }


def _per_call_ns(call: Callable[[], object], repeat: int = 20_000) -> float:
    best = math.inf
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(repeat):
            call()
        best = min(best, (time.perf_counter_ns() - start) / repeat)
    return best


def _drive(coroutine: Any) -> Any:
    """Run a coroutine that completes without suspending (the in-memory append)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the append suspended")


def _emit_parts() -> dict[str, float]:
    """What ``emit`` spends per event besides the channel hand-over raw also
    pays: each part timed alone (best of 5), in ns."""
    from datetime import UTC, datetime

    from trio_stream_session import EventType, InMemorySessionStore

    store = InMemorySessionStore()
    append = store.appender("ses_bench", "run_bench", provider="bench")
    data = {"delta": "x", "content": "x", "index": 1}
    kind = EventType.MESSAGE_STREAMED
    stamp = datetime.now(UTC)
    return {
        "store_and_event": _per_call_ns(lambda: _drive(append(kind, stamp, data, {}))),
        "timestamp": _per_call_ns(lambda: datetime.now(UTC)),
        "data_copy": _per_call_ns(data.copy),
    }


async def diagnose(config: Config) -> dict[str, Any]:
    """Every probe, sized from *config*."""
    concurrent = (config.concurrent_sessions or config.heavy_concurrent_sessions or (100,))[0]
    return {
        "gc_per_event": await _gc_share(config.events),
        "emit_parts": _emit_parts(),
        "latency_gc": await _latency_gc(config.latency_events),
        "scheduling": await _scheduling(max(10, config.sessions // 4)),
        "tracked_objects": await _tracked_objects(max(10, config.idle_sessions // 5)),
        "concurrency_gc": await _concurrency_gc(concurrent, config.events_per_session),
    }


def cause(diagnostics: dict[str, Any] | None, target: str) -> str:
    """A one-line measured cause for a missed *target* ("" if none applies)."""
    if not diagnostics:
        return ""
    d = diagnostics
    parts = d.get("emit_parts") or {}
    breakdown = (
        f"store + Event {parts.get('store_and_event', math.nan):.0f} ns, "
        f"timestamp {parts.get('timestamp', math.nan):.0f} ns, "
        f"data copy {parts.get('data_copy', math.nan):.0f} ns, + normalising/validating"
    )
    if target == "per_event" or target == "flat":
        g = d["gc_per_event"]
        return (
            f"emit's work per event: {breakdown}; cyclic GC "
            f"{g['ratio_gc_on'] - g['ratio_gc_off']:+.2f}x (GC off: {g['ratio_gc_off']:.2f}x)"
        )
    if target.startswith("latency_p50"):
        return f"an event is stored before the consumer can see it: {breakdown}"
    if target.startswith("latency_p99"):
        lat = d["latency_gc"]
        return (
            f"GC pauses: {lat['lib_collections']} collections ({lat['lib_gc_ms']:.1f} ms) per "
            f"{lat['events']} events vs raw {lat['raw_collections']}; lib p99 with GC off "
            f"{lat['lib_p99_us_gc_off']:.1f} us"
        )
    if target == "session_open_close":
        s = d["scheduling"]
        lib, raw = s["lib"], s["raw"]
        return (
            f"scheduler passes/session {lib['passes']:.1f} vs {raw['passes']:.1f}, "
            f"task steps {lib['task_steps']:.1f} vs {raw['task_steps']:.1f}, "
            f"tasks {lib['tasks']:.1f} vs {raw['tasks']:.1f}"
        )
    if target == "idle_memory":
        t = d["tracked_objects"]
        top = ", ".join(f"{name} {count:.0f}" for name, count in list(t["top"].items())[:6])
        return f"{t['per_session']:.0f} GC-tracked objects per idle session: {top}"
    return ""


def concurrency_note(diagnostics: dict[str, Any] | None) -> str:
    if not diagnostics:
        return ""
    c = diagnostics["concurrency_gc"]
    share = c["gc_seconds"] / c["seconds"] if c["seconds"] else math.nan
    return (
        f"{c['sessions']} concurrent library sessions: {share * 100:.0f}% of the time in the "
        f"cyclic GC ({c['full_collections']} full collections)"
    )
