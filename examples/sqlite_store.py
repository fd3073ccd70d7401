"""Keep sessions in a SQLite file, then list and replay them."""

import trio

from trio_stream_session import SQLiteSessionStore, open_stream_session, replay_session
from trio_stream_session.rendering import CompactRenderer, TTYSink, render_stream
from trio_stream_session.testing import MockAdapter


async def main() -> None:
    # Owned: the session opens the store and closes it on the way out.
    store_spec = (SQLiteSessionStore, {"path": "sessions.db"})
    async with open_stream_session(
        adapter=MockAdapter("streaming"), input="Hello", store=store_spec
    ) as stream:
        async for _ in stream:
            pass
    session_id = stream.session_id
    assert session_id is not None

    # Borrowed, and read-only: yours to open and close; nothing is written.
    async with SQLiteSessionStore("sessions.db", read_only=True) as store:
        for session in await store.list_sessions():
            print(session.id == session_id, session.status.value, session.agent_id)
        replay = replay_session(store, session_id, type=["message_received", "run_completed"])
        await render_stream(replay, renderer=CompactRenderer(color=False), sinks=[TTYSink()])


if __name__ == "__main__":
    trio.run(main)
