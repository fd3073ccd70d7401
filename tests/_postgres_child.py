"""A process using a PostgresSessionStore, for the multi-process tests.

``python _postgres_child.py MODE DSN SCHEMA ARGS...``, one line on stdout per fact:

* ``write COUNT TASKS SESSION...``: *TASKS* tasks append *COUNT* events in all,
  round-robin over the sessions; ``ack ID SESSION SEQ`` once each is acknowledged,
  then ``done``.
* ``stream SESSION``: appends until killed; ``ack ID SESSION SEQ`` after each.
* ``tail SESSION COUNT POLL_INTERVAL``: ``ready``, then long-polls (``wait=60``) until
  it has *COUNT* events: ``got ID SEQ`` for each, as it arrives.
"""

from __future__ import annotations

import sys

import trio

from trio_stream_session import Event, EventType, PostgresSessionStore


def _say(*words: object) -> None:
    print(*words, flush=True)


async def _write(store: PostgresSessionStore, count: int, tasks: int, sessions: list[str]) -> None:
    numbers = iter(range(count))

    async def worker() -> None:
        for i in numbers:
            event = Event(type=EventType.MESSAGE_STREAMED, session_id=sessions[i % len(sessions)])
            stored = await store.append_event(event)
            _say("ack", stored.id, stored.session_id, stored.sequence_number)

    async with trio.open_nursery() as nursery:
        for _ in range(tasks):
            nursery.start_soon(worker)
    _say("done")


async def _stream(store: PostgresSessionStore, session_id: str) -> None:
    while True:
        stored = await store.append_event(
            Event(type=EventType.MESSAGE_STREAMED, session_id=session_id)
        )
        _say("ack", stored.id, stored.session_id, stored.sequence_number)


async def _tail(store: PostgresSessionStore, session_id: str, count: int) -> None:
    _say("ready")
    last = 0
    while last < count:
        for event in await store.get_events(session_id, after=last, wait=60):
            last = event.sequence_number or last
            _say("got", event.id, event.sequence_number)


async def main(mode: str, dsn: str, schema: str, args: list[str]) -> None:
    poll_interval = float(args[2]) if mode == "tail" else 1.0
    async with PostgresSessionStore(dsn, schema=schema, poll_interval=poll_interval) as store:
        if mode == "write":
            await _write(store, int(args[0]), int(args[1]), args[2:])
        elif mode == "stream":
            await _stream(store, args[0])
        elif mode == "tail":
            await _tail(store, args[0], int(args[1]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
