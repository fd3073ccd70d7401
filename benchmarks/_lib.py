"""The library's side: ``open_stream_session`` doing what ``_raw`` does by hand."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import trio

from trio_stream_session import InMemorySessionStore, Run, Session, open_stream_session
from trio_stream_session.testing import MockAdapter

from ._measure import MemoryWatch, Sample, Stopwatch, deep_size

INPUT: Mapping[str, Any] = {"prompt": "benchmark"}
_RESULT: Mapping[str, Any] = {"output": None, "token_usage": {}, "events": []}


class _BenchAdapter:
    """Shared plumbing of the small adapters below (borrowed, no resources)."""

    name = "bench"

    async def capabilities(self) -> Sequence[Any]:
        await trio.lowlevel.checkpoint()
        return ()

    async def cancel(self, run_id: str) -> None:
        await trio.lowlevel.checkpoint()


class StampingAdapter(_BenchAdapter):
    """Emits *events* ``message_streamed`` events, each stamped with
    ``perf_counter_ns()`` in ``data["t_ns"]`` as it is handed to ``emit``;
    *paced*: ``trio.lowlevel.checkpoint()`` after each (see ``_raw.latency``)."""

    def __init__(self, events: int, paced: bool = False) -> None:
        self.events = events
        self.paced = paced

    async def execute(
        self, run: Run, session: Session, *, emit: Callable[..., Awaitable[Any]], **opts: Any
    ) -> Mapping[str, Any]:
        clock = time.perf_counter_ns
        for index in range(self.events):
            await emit(
                {
                    "type": "message_streamed",
                    "data": {"delta": "x", "content": "x", "index": index, "t_ns": clock()},
                }
            )
            if self.paced:
                await trio.lowlevel.checkpoint()
        return _RESULT


class TinyAdapter(_BenchAdapter):
    """One ``message_received`` event, then done: the smallest useful session."""

    async def execute(
        self, run: Run, session: Session, *, emit: Callable[..., Awaitable[Any]], **opts: Any
    ) -> Mapping[str, Any]:
        await emit({"type": "message_received", "data": {"content": "ok", "role": "assistant"}})
        return _RESULT


class IdleAdapter(_BenchAdapter):
    """Emits ``run_started``, then waits for :attr:`release` (an idle live session)."""

    def __init__(self) -> None:
        self.release = trio.Event()

    async def execute(
        self, run: Run, session: Session, *, emit: Callable[..., Awaitable[Any]], **opts: Any
    ) -> Mapping[str, Any]:
        await emit({"type": "run_started", "data": {"model": "bench"}})
        await self.release.wait()
        return _RESULT


# -- optional parts: each returns (thing, None) or (None, note) --------------------------


def sqlite_store_class() -> tuple[Any, str | None]:
    try:
        from trio_stream_session import SQLiteSessionStore
    except ImportError as top_level_error:
        try:
            from trio_stream_session.stores import SQLiteSessionStore
        except ImportError:
            return None, f"SQLiteSessionStore not importable yet ({top_level_error})"
        return SQLiteSessionStore, "SQLiteSessionStore imported from trio_stream_session.stores"
    return SQLiteSessionStore, None


def rendering() -> tuple[Any, str | None]:
    try:
        from trio_stream_session import rendering as module
        from trio_stream_session.rendering import (  # noqa: F401
            JSONLSink,
            PassthroughRenderer,
            render_stream,
        )
    except ImportError as exc:
        return None, f"render_stream/JSONLSink not importable yet ({exc})"
    return module, None


class TempFiles:
    """Fresh file paths in one temporary directory, removed by :meth:`cleanup`."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tss-bench-")
        self._count = 0

    def path(self, suffix: str) -> Path:
        self._count += 1
        return Path(self._dir.name) / f"run{self._count}{suffix}"

    def discard(self, path: Path) -> None:
        for extra in ("", "-wal", "-shm", "-journal"):
            candidate = Path(str(path) + extra)
            if candidate.exists():
                os.unlink(candidate)

    def cleanup(self) -> None:
        self._dir.cleanup()


# -- scenarios ------------------------------------------------------------------------


async def _consume(store: Any, adapter: Any) -> int:
    seen = 0
    async with open_stream_session(adapter=adapter, input=INPUT, store=store) as stream:
        async for _event in stream:
            seen += 1
    return seen


async def throughput(events: int) -> Sample:
    """(b): ``MockAdapter("burst")`` through the default in-memory store."""
    adapter = MockAdapter("burst", burst_events=events)
    memory = MemoryWatch()
    with Stopwatch() as watch:
        seen = await _consume(None, adapter)
    return memory.finish(Sample(watch.seconds, watch.cpu_seconds, seen))


async def throughput_jsonl(events: int, files: TempFiles) -> Sample:
    """(c): the same stream rendered by ``render_stream`` into a ``JSONLSink`` file."""
    from trio_stream_session.rendering import JSONLSink, PassthroughRenderer, render_stream

    path = files.path(".jsonl")
    adapter = MockAdapter("burst", burst_events=events)
    with Stopwatch() as watch:
        async with open_stream_session(adapter=adapter, input=INPUT) as stream:
            summary = await render_stream(
                stream, renderer=PassthroughRenderer(), sinks=[JSONLSink(path)]
            )
    size = path.stat().st_size
    files.discard(path)
    return Sample(watch.seconds, watch.cpu_seconds, summary.events, extra={"file_bytes": size})


async def throughput_sqlite(events: int, files: TempFiles) -> Sample:
    """(d): the same stream with an owned ``SQLiteSessionStore`` on a fresh file."""
    store_class, _note = sqlite_store_class()
    path = files.path(".sqlite3")
    adapter = MockAdapter("burst", burst_events=events)
    with Stopwatch() as watch:
        seen = await _consume((store_class, {"path": path}), adapter)
    files.discard(path)
    return Sample(watch.seconds, watch.cpu_seconds, seen)


def streaming_adapter(events: int) -> MockAdapter:
    """``MockAdapter("streaming", chunk_delay=0)`` whose reply is *events* chunks
    (the adapter streams 10 characters per ``message_streamed`` event)."""
    return MockAdapter("streaming", chunk_delay=0, response={"content": "0123456789" * events})


async def throughput_mock_streaming(events: int) -> Sample:
    """(e): what users' own benchmarks see: ``MockAdapter`` streaming, zero delays."""
    with Stopwatch() as watch:
        seen = await _consume(None, streaming_adapter(events))
    return Sample(watch.seconds, watch.cpu_seconds, seen)


async def latency(events: int, store: Any = None, paced: bool = False) -> Sample:
    """Adapter ``emit`` -> consumer latency, stamped in the event data."""
    clock = time.perf_counter_ns
    latencies: list[int] = []
    adapter = StampingAdapter(events, paced)
    with Stopwatch() as watch:
        async with open_stream_session(adapter=adapter, input=INPUT, store=store) as stream:
            async for event in stream:
                stamp = event.data.get("t_ns")
                if stamp is not None:
                    latencies.append(clock() - stamp)
    return Sample(watch.seconds, watch.cpu_seconds, len(latencies), latencies_ns=latencies)


async def latency_sqlite(events: int, files: TempFiles, paced: bool = False) -> Sample:
    store_class, _note = sqlite_store_class()
    path = files.path(".sqlite3")
    sample = await latency(events, (store_class, {"path": path}), paced)
    files.discard(path)
    return sample


async def session_cycles(sessions: int) -> Sample:
    """Open and close *sessions* one-event sessions (owned in-memory store each)."""
    adapter = TinyAdapter()
    with Stopwatch() as watch:
        for _ in range(sessions):
            await _consume(None, adapter)
    return Sample(watch.seconds, watch.cpu_seconds, sessions)


async def concurrent(sessions: int, events: int) -> Sample:
    """*sessions* burst sessions of *events* events each, all at once, each with
    its own adapter and owned in-memory store (which keeps its events)."""
    seen = 0

    async def one() -> None:
        nonlocal seen
        count = await _consume(None, MockAdapter("burst", burst_events=events))
        seen += count

    memory = MemoryWatch()
    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one)
    sample = Sample(watch.seconds, watch.cpu_seconds, seen, extra={"sessions": sessions})
    return memory.finish(sample)


async def idle(sessions: int) -> Sample:
    """*sessions* live sessions, each past its first event and waiting on its
    adapter; the RSS is read at that point."""
    adapter = IdleAdapter()
    ready = trio.Event()
    delivered = 0

    async def one() -> None:
        nonlocal delivered
        async with open_stream_session(adapter=adapter, input=INPUT) as stream:
            async for _event in stream:
                delivered += 1
                if delivered == sessions:
                    ready.set()

    memory = MemoryWatch()
    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one)
            await ready.wait()
            memory.mark_level()
            adapter.release.set()
    return memory.finish(Sample(watch.seconds, watch.cpu_seconds, sessions))


async def idle_stored_events() -> dict[str, float]:
    """What one idle session keeps in its store: event count and their bytes."""
    adapter = IdleAdapter()
    store = InMemorySessionStore()
    async with store, open_stream_session(adapter=adapter, input=INPUT, store=store) as stream:
        await stream.receive()
        assert stream.session_id is not None
        events = await store.get_events(stream.session_id)
        size = deep_size(events)
        adapter.release.set()
    return {"events": len(events), "kib": size / 1024}
