"""A conversation: several runs in one session, each seeing the ones before."""

import trio

from trio_stream_session import InMemorySessionStore, open_stream_session
from trio_stream_session.testing import MockAdapter


async def main() -> None:
    adapter = MockAdapter("streaming")
    async with InMemorySessionStore() as store:
        async with open_stream_session(adapter=adapter, input="Plan it", store=store) as first:
            async for _ in first:
                pass
        session_id = first.session_id
        assert session_id is not None

        # The same session, a new run: the adapter gets the conversation so far.
        async with open_stream_session(
            adapter=adapter, input="Now do it", store=store, session_id=session_id
        ) as second:
            async for _ in second:
                pass
        assert second.session_id == session_id and second.run_id != first.run_id
        history = adapter.executions[-1].session.context["history"]
        print(f"the second run saw {len(history)} earlier events")
        print([run.status.value for run in await store.list_runs(session_id)])

        # An unknown session ends the stream with one error event, as any failure does.
        async with open_stream_session(
            adapter=adapter, input="Hi", store=store, session_id="ses_unknown"
        ) as stream:
            async for event in stream:
                print(event.type.value, event.data["error_code"])


if __name__ == "__main__":
    trio.run(main)
