"""SQLite store write throughput: one producer and many concurrent ones sharing one store.

``python -m benchmarks._sqlite_commit [--events N] [--reps R] [--json PATH]``

Every variant writes *events* events (split evenly over its producers) to one
``SQLiteSessionStore`` on a fresh file, and is timed from the first append to
the last acknowledged commit:

* ``appender xN``: N tasks, each with its own session and
  ``store.appender(...)``, appending back to back (the store alone);
* ``session xN``: N concurrent ``open_stream_session`` runs of
  ``MockAdapter("burst")`` borrowing the store (the whole library path; the
  count is every event the store committed, lifecycle events included);
* ``raw xN``: N raw Trio memory-channel sessions (``_raw``), the floor the
  ratios are taken against (same N, same repetition);
* ``thread hop x1``: one ``trio.to_thread.run_sync`` round trip per event,
  the least a commit per event off the event loop costs.

Variants run in rotated order once per repetition; figures are medians.
Per-event time is wall time over events committed: with a commit per
worker-thread hop it is the hop's cost, and group commit shares one hop among
every producer waiting meanwhile.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import trio

from trio_stream_session import EventType, SQLiteSessionStore, open_stream_session
from trio_stream_session.testing import MockAdapter

from . import _raw
from ._lib import INPUT, TempFiles
from ._measure import Sample, Stopwatch, settle

PRODUCERS = (1, 8, 64)
_DATA = {"delta": "x", "content": "x", "index": 0}


async def _appenders(path: Path, producers: int, events: int) -> Sample:
    async with SQLiteSessionStore(path) as store:
        each = events // producers

        async def produce(index: int) -> None:
            append = store.appender(f"ses_{index}", f"run_{index}", provider="bench")
            for _ in range(each):
                await append(EventType.MESSAGE_STREAMED, datetime.now(UTC), dict(_DATA), {})

        with Stopwatch() as watch:
            async with trio.open_nursery() as nursery:
                for index in range(producers):
                    nursery.start_soon(produce, index)
        return Sample(watch.seconds, watch.cpu_seconds, each * producers)


async def _sessions(path: Path, producers: int, events: int) -> Sample:
    async with SQLiteSessionStore(path) as store:
        session_ids: list[str] = []

        async def one() -> None:
            adapter = MockAdapter("burst", burst_events=events // producers)
            async with open_stream_session(adapter=adapter, input=INPUT, store=store) as stream:
                async for _event in stream:
                    pass
            assert stream.session_id is not None
            session_ids.append(stream.session_id)

        with Stopwatch() as watch:
            async with trio.open_nursery() as nursery:
                for _ in range(producers):
                    nursery.start_soon(one)
        stored = 0
        for session_id in session_ids:
            stored += await store.get_latest_sequence(session_id)
        return Sample(watch.seconds, watch.cpu_seconds, stored)


async def _raw_sessions(producers: int, events: int) -> Sample:
    return await _raw.concurrent(producers, events // producers)


async def _thread_hops(producers: int, events: int) -> Sample:
    """One ``trio.to_thread.run_sync`` round trip per event: the floor of a
    store that commits each event off the event loop before acknowledging it."""

    async def hops() -> None:
        for _ in range(events // producers):
            await trio.to_thread.run_sync(_nothing)

    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            for _ in range(producers):
                nursery.start_soon(hops)
    return Sample(watch.seconds, watch.cpu_seconds, events // producers * producers)


def _nothing() -> None:
    pass


async def _on_fresh_file(files: TempFiles, run: Callable[[Path], Awaitable[Sample]]) -> Sample:
    path = files.path(".sqlite3")
    try:
        return await run(path)
    finally:
        files.discard(path)


async def measure(events: int, reps: int) -> dict[str, dict[str, float]]:
    files = TempFiles()
    variants: dict[str, Callable[[], Awaitable[Sample]]] = {}
    for n in PRODUCERS:
        variants[f"raw x{n}"] = partial(_raw_sessions, n, events)
        if n == 1:
            variants[f"thread hop x{n}"] = partial(_thread_hops, n, events)
        variants[f"appender x{n}"] = partial(
            _on_fresh_file, files, partial(_appenders, producers=n, events=events)
        )
        variants[f"session x{n}"] = partial(
            _on_fresh_file, files, partial(_sessions, producers=n, events=events)
        )
    samples: dict[str, list[Sample]] = {name: [] for name in variants}
    names = list(variants)
    try:
        for rep in range(reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                settle()
                samples[name].append(await variants[name]())
    finally:
        files.cleanup()
    result: dict[str, dict[str, float]] = {}
    for name, runs in samples.items():
        producers = name.rsplit("x", 1)[1]
        floors = samples[f"raw x{producers}"]
        per_event = [s.seconds / s.count * 1e6 for s in runs]
        ratios = [
            (s.seconds / s.count) / (r.seconds / r.count) for s, r in zip(runs, floors, strict=True)
        ]
        result[name] = {
            "events": statistics.median(s.count for s in runs),
            "events_per_s": statistics.median(s.count / s.seconds for s in runs),
            "wall_us_per_event": statistics.median(per_event),
            "cpu_us_per_event": statistics.median(s.cpu_seconds / s.count * 1e6 for s in runs),
            "over_raw": statistics.median(ratios),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._sqlite_commit")
    parser.add_argument("--events", type=int, default=2048, help="events per variant")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = trio.run(measure, args.events, args.reps)
    print(
        f"{'variant':<15} {'events':>7} {'events/s':>10} {'us/event':>9} {'cpu us':>8} {'x raw':>7}"
    )
    for name, row in result.items():
        print(
            f"{name:<15} {row['events']:7.0f} {row['events_per_s']:10.0f} "
            f"{row['wall_us_per_event']:9.1f} {row['cpu_us_per_event']:8.1f} {row['over_raw']:7.1f}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
