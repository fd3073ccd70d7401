"""Worker processes streaming sessions into PostgreSQL, and a live tail of all of them.

Needs a server and the extra: ``pip install 'trio_stream_session[postgres]'``. Then::

    python examples/postgres_workers.py demo postgresql://user@host/db    # 3 workers + the tail
    python examples/postgres_workers.py worker postgresql://user@host/db  # one worker (3 sessions)
    python examples/postgres_workers.py tail postgresql://user@host/db    # tail until Ctrl-C

The DSN may also come from ``TRIO_STREAM_SESSION_DSN``. Workers run offline
sessions with the mock adapter; run them on as many machines as you like: the
tail (any process, any machine) sees every session as its events are committed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial

import trio

from trio_stream_session import (
    EventType,
    PostgresSessionStore,
    open_stream_session,
    replay_session,
)
from trio_stream_session.testing import MockAdapter

SCHEMA = "workers_demo"  # a PostgreSQL schema of its own, so the demo stays apart
ENDED = {EventType.SESSION_COMPLETED, EventType.SESSION_FAILED, EventType.SESSION_CANCELLED}


async def worker(dsn: str, sessions: int = 3) -> None:
    """Run *sessions* sessions one after another; the store is shared by every worker."""
    async with PostgresSessionStore(dsn, schema=SCHEMA) as store:
        for _ in range(sessions):
            adapter = MockAdapter("streaming", chunk_delay=0.05)
            async with open_stream_session(adapter=adapter, input="Hello", store=store) as stream:
                async for _event in stream:
                    pass  # a real worker would do something with its events


async def tail(
    dsn: str,
    until: trio.Event | None = None,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Print every event of every session started after the tail, as it arrives (new
    sessions are picked up within a second). Once *until* is set, it looks for new
    sessions once more and returns when every session it follows has ended."""
    async with PostgresSessionStore(dsn, schema=SCHEMA) as store:
        seen = {session.id for session in await store.list_sessions()}
        task_status.started()  # every session from now on will be followed

        async def follow(session_id: str) -> None:
            async with replay_session(store, session_id, follow=True) as events:
                async for event in events:
                    print(f"{session_id[:16]} #{event.sequence_number:<3} {event.type}")
                    if event.type in ENDED:
                        break

        async with trio.open_nursery() as nursery:
            while True:
                last_look = until is not None and until.is_set()
                for session in await store.list_sessions():
                    if session.id not in seen:
                        seen.add(session.id)
                        nursery.start_soon(follow, session.id)
                if last_look:
                    break  # every session is found; the nursery waits for their ends
                await trio.sleep(1)


async def demo(dsn: str, workers: int = 3) -> None:
    """Start *workers* worker processes and tail them until they are done."""
    done = trio.Event()
    command = [sys.executable, __file__, "worker", dsn]
    async with trio.open_nursery() as nursery:
        await nursery.start(tail, dsn, done)
        async with trio.open_nursery() as procs:
            for _ in range(workers):
                procs.start_soon(partial(trio.run_process, command, stdin=subprocess.DEVNULL))
        done.set()
    print(f"{workers} workers done")


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "demo"
    dsn = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("TRIO_STREAM_SESSION_DSN", "")
    if mode not in ("demo", "worker", "tail") or not dsn:
        raise SystemExit(__doc__)
    if mode == "demo":
        trio.run(demo, dsn)
    elif mode == "worker":
        trio.run(worker, dsn)
    else:
        trio.run(tail, dsn)


if __name__ == "__main__":
    main()
