"""Shared-store throughput and latency across processes: PostgreSQL beside SQLite.

``python -m benchmarks._postgres [--dsn DSN] [--events N] [--tasks T] [--latency N] [--json PATH]``

The DSN comes from ``--dsn``, else ``TRIO_STREAM_SESSION_DSN``, else
``TRIO_STREAM_SESSION_TEST_DSN``; each run uses a schema of its own, dropped
afterwards. The SQLite figures use a fresh file in a temporary directory.

* **events/s, 1 and 8 writer processes**: every process opens the store, says
  it is ready, and on the word appends its share of *events* through *tasks*
  concurrent ``store.appender(...)`` calls (one session each), back to back;
  the figure is all events over the wall time from the word to the last
  process's last acknowledged commit.
* **emit-to-receive latency**: one process appends *latency* events, one at a
  time (every 10 ms), each carrying the wall-clock time just before its
  append; another process tails the session with ``get_events(after=..,
  wait=..)`` and records the time each event reaches it (same host, same
  clock). Median, 95th percentile and maximum.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from trio_stream_session import EventType, PostgresSessionStore, SessionStore, SQLiteSessionStore

WRITERS = (1, 8)
_DATA = {"delta": "x", "content": "x", "index": 0}


def _open_store(kind: str, where: str, schema: str) -> PostgresSessionStore | SQLiteSessionStore:
    if kind == "postgres":
        return PostgresSessionStore(where, schema=schema, poll_interval=5.0)
    return SQLiteSessionStore(where)


# -- the child processes ---------------------------------------------------------------------


async def _child_write(store: SessionStore, events: int, tasks: int) -> None:
    tag = uuid.uuid4().hex[:8]
    print("ready", flush=True)
    sys.stdin.readline()  # the word

    async def produce(index: int) -> None:
        append = store.appender(f"ses_{tag}_{index}", f"run_{tag}_{index}", provider="bench")
        for _ in range(events // tasks):
            await append(EventType.MESSAGE_STREAMED, datetime.now(UTC), dict(_DATA), {})

    async with trio.open_nursery() as nursery:
        for index in range(tasks):
            nursery.start_soon(produce, index)
    print("done", flush=True)


async def _child_emit(store: SessionStore, count: int) -> None:
    append = store.appender("ses_latency", "run_latency", provider="bench")
    print("ready", flush=True)
    sys.stdin.readline()
    for index in range(count):
        await append(
            EventType.MESSAGE_STREAMED, datetime.now(UTC), {"t": time.time(), "i": index}, {}
        )
        await trio.sleep(0.01)


async def _child_tail(store: SessionStore, count: int) -> None:
    await store.get_events("ses_latency")  # connected and ready
    print("ready", flush=True)
    delays: list[float] = []
    last = 0
    while len(delays) < count:
        for event in await store.get_events("ses_latency", after=last, wait=30):
            delays.append(time.time() - event.data["t"])
            last = event.sequence_number or last
    print(json.dumps(delays), flush=True)


async def _child(kind: str, where: str, schema: str, role: str, count: int, tasks: int) -> None:
    async with _open_store(kind, where, schema) as store:
        if role == "write":
            await _child_write(store, count, tasks)
        elif role == "emit":
            await _child_emit(store, count)
        else:
            await _child_tail(store, count)


# -- the parent ------------------------------------------------------------------------------


def _spawn(kind: str, where: str, schema: str, role: str, count: int, tasks: int) -> Any:
    args = ["--child", kind, where, schema, role, str(count), str(tasks)]
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks._postgres", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _ready(procs: list[Any]) -> None:
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise SystemExit(f"a benchmark process failed to start (said {line!r})")


def _go(procs: list[Any]) -> None:
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()


def _finish(procs: list[Any]) -> None:
    for proc in procs:
        proc.stdin.close()
        if proc.wait(timeout=600) != 0:
            raise SystemExit(f"a benchmark process failed (exit {proc.returncode})")


def throughput(kind: str, where: str, schema: str, writers: int, events: int, tasks: int) -> float:
    """Events per second for *writers* processes appending *events* in all."""
    procs = [_spawn(kind, where, schema, "write", events // writers, tasks) for _ in range(writers)]
    try:
        _ready(procs)
        start = time.perf_counter()
        _go(procs)
        for proc in procs:
            if proc.stdout.readline().strip() != "done":
                raise SystemExit("a writer failed")
        seconds = time.perf_counter() - start
        _finish(procs)
    finally:
        for proc in procs:
            proc.kill()
    return (events // writers // tasks) * tasks * writers / seconds


def latency(kind: str, where: str, schema: str, count: int) -> dict[str, float]:
    """Emit-to-receive delays (ms) from one process to another."""
    tail = _spawn(kind, where, schema, "tail", count, 1)
    emit = _spawn(kind, where, schema, "emit", count, 1)
    try:
        _ready([tail, emit])
        _go([emit])
        delays = sorted(1000 * d for d in json.loads(tail.stdout.readline()))
        _finish([emit, tail])
    finally:
        tail.kill()
        emit.kill()
    return {
        "median_ms": statistics.median(delays),
        "p95_ms": delays[int(0.95 * (len(delays) - 1))],
        "max_ms": delays[-1],
    }


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _measure(
    kind: str, where: Callable[[str], str], schema: str, args: argparse.Namespace
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for writers in WRITERS:
        run = f"{writers}w"
        rate = throughput(kind, where(run), schema, writers, args.events, args.tasks)
        result[f"events_per_s_{writers}_writers"] = round(rate)
    result["latency"] = {
        k: round(v, 2) for k, v in latency(kind, where("lat"), schema, args.latency).items()
    }
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        kind, where, schema, role, count, tasks = argv[1:7]
        trio.run(_child, kind, where, schema, role, int(count), int(tasks))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks._postgres", description=__doc__)
    parser.add_argument("--dsn", default=None, help="PostgreSQL DSN (see above)")
    parser.add_argument("--events", type=int, default=8000, help="events per throughput run")
    parser.add_argument("--tasks", type=int, default=8, help="appending tasks per process")
    parser.add_argument("--latency", type=int, default=200, help="events in the latency run")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    dsn = (
        args.dsn
        or os.environ.get("TRIO_STREAM_SESSION_DSN")
        or os.environ.get("TRIO_STREAM_SESSION_TEST_DSN")
    )
    if not dsn:
        parser.error("no DSN: pass --dsn or set TRIO_STREAM_SESSION_DSN")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    results: dict[str, Any] = {}
    try:
        results["postgres"] = _measure("postgres", lambda _: dsn, schema, args)
    finally:
        _drop_schema(dsn, schema)
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = _measure("sqlite", lambda run: f"{tmp}/{run}.sqlite3", "-", args)
    print(f"{'store':<10} {'1 writer':>12} {'8 writers':>12} {'latency median/p95/max (ms)':>30}")
    for kind, figures in results.items():
        lat = figures["latency"]
        print(
            f"{kind:<10} {figures['events_per_s_1_writers']:>10}/s"
            f" {figures['events_per_s_8_writers']:>10}/s"
            f" {lat['median_ms']:>12} / {lat['p95_ms']} / {lat['max_ms']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
