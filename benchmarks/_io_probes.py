"""Measured causes for the SQLite, JSONL and ``MockAdapter`` streaming targets.

Each probe times or counts one quantity next to raw Trio in the same
process: how many worker-thread hops the library path makes per event and
what one hop costs, what the store's appender or the sink's JSON encoding
costs alone, and what one ``trio.sleep(0)`` per event adds to the raw
channel. ``cause()`` turns them into the one-line note printed under a
missed target.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import trio

from . import _lib, _raw
from ._diagnose import _per_call_ns
from ._measure import Sample, Stopwatch, settle

_HOPS = 200


def _ns(sample: Sample) -> float:
    return sample.seconds / sample.count * 1e9 if sample.count else math.nan


@contextlib.contextmanager
def _counting_thread_hops() -> Iterator[list[int]]:
    """Count calls of ``trio.to_thread.run_sync`` (the stores and Trio's async
    files both go through it) while the block runs."""
    original = trio.to_thread.run_sync
    count = [0]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await original(*args, **kwargs)

    trio.to_thread.run_sync = counted  # type: ignore[assignment]
    try:
        yield count
    finally:
        trio.to_thread.run_sync = original


async def _hop_ns() -> float:
    """Wall time of one worker-thread round trip doing nothing."""
    with Stopwatch() as watch:
        for _ in range(_HOPS):
            await trio.to_thread.run_sync(int)
    return watch.seconds / _HOPS * 1e9


async def _hops_per_event(run: Callable[[], Awaitable[Sample]]) -> float:
    settle()
    with _counting_thread_hops() as count:
        sample = await run()
    return count[0] / sample.count if sample.count else math.nan


async def _sqlite(events: int, files: _lib.TempFiles) -> dict[str, float]:
    from ._sqlite_commit import _appenders

    path = files.path(".sqlite3")
    appender = await _appenders(path, 1, events)
    files.discard(path)
    return {
        "hops_per_event": await _hops_per_event(lambda: _lib.throughput_sqlite(events, files)),
        "appender_ns": _ns(appender),
    }


async def _jsonl(events: int, files: _lib.TempFiles) -> dict[str, float]:
    from trio_stream_session import InMemorySessionStore, open_stream_session
    from trio_stream_session.rendering import JSONLSink

    sink = JSONLSink(files.path(".jsonl"))
    adapter = _lib.streaming_adapter(1)
    async with InMemorySessionStore() as store:
        async with open_stream_session(adapter=adapter, input=_lib.INPUT, store=store) as stream:
            async for _event in stream:
                pass
        assert stream.session_id is not None
        stored = await store.get_events(stream.session_id)
    [chunk] = [e for e in stored if e.type == "message_streamed"]
    return {
        "hops_per_event": await _hops_per_event(lambda: _lib.throughput_jsonl(events, files)),
        "line_ns": _per_call_ns(lambda: sink.line(chunk), repeat=2_000),
    }


async def _adapter_alone_ns(adapter: Any) -> float:
    """Wall time per event of *adapter*'s ``execute`` with an ``emit`` that only counts."""
    from trio_stream_session import Run, Session

    count = 0

    async def emit(raw: Any) -> None:
        nonlocal count
        count += 1

    session = Session(agent_id="bench")
    run = Run(session_id=session.id, input=dict(_lib.INPUT))
    settle()
    start = time.perf_counter_ns()
    await adapter.execute(run, session, emit=emit)
    return (time.perf_counter_ns() - start) / count


async def _mock(events: int) -> dict[str, float]:
    from trio_stream_session.testing import MockAdapter

    settle()
    raw = await _raw.throughput(events)
    settle()
    burst = await _lib.throughput(events)
    settle()
    streaming = await _lib.throughput_mock_streaming(events)
    return {
        "burst_ratio": _ns(burst) / _ns(raw),
        "streaming_ratio": _ns(streaming) / _ns(raw),
        "streaming_alone_ns": await _adapter_alone_ns(_lib.streaming_adapter(events)),
        "burst_alone_ns": await _adapter_alone_ns(MockAdapter("burst", burst_events=events)),
    }


async def probe(events: int, io_events: int, files: _lib.TempFiles) -> dict[str, Any]:
    """Every probe; a part the current library cannot run is left out."""
    result: dict[str, Any] = {
        "raw_ns": _ns(await _raw.throughput(events)),
        "hop_ns": await _hop_ns(),
        "mock": await _mock(events),
    }
    if _lib.sqlite_store_class()[0] is not None:
        result["sqlite"] = await _sqlite(io_events, files)
    if _lib.rendering()[0] is not None:
        result["jsonl"] = await _jsonl(io_events, files)
    return result


def cause(probes: dict[str, Any] | None, target: str) -> str:
    """A one-line measured cause for a missed store/sink/mock *target*."""
    if not probes:
        return ""
    hop_us = probes["hop_ns"] / 1000
    raw_us = probes["raw_ns"] / 1000
    if target == "sqlite_per_event" and "sqlite" in probes:
        s = probes["sqlite"]
        return (
            f"{s['hops_per_event']:.2f} worker-thread hops per event, one hop ~{hop_us:.0f} us "
            f"(raw event {raw_us:.1f} us); store.appender alone {s['appender_ns'] / 1000:.0f} "
            "us/event (commit and its wait)"
        )
    if target == "jsonl_per_event" and "jsonl" in probes:
        j = probes["jsonl"]
        return (
            f"JSON line encoding {j['line_ns'] / 1000:.1f} us/event (raw event {raw_us:.1f} us); "
            f"{j['hops_per_event']:.3f} worker-thread hops per event at ~{hop_us:.0f} us each"
        )
    if target == "mock_streaming_per_event":
        m = probes["mock"]
        return (
            f"MockAdapter's own work per chunk {m['streaming_alone_ns'] / 1000:.1f} us streaming "
            f"vs {m['burst_alone_ns'] / 1000:.1f} us in burst (emit only counting): a full "
            "envelope per chunk (utc_now(), ids, provider, all checked by the library) and a "
            f"trio.sleep(0); library burst {m['burst_ratio']:.2f}x raw"
        )
    return ""
