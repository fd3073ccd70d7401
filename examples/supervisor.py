"""Run sessions under a supervisor: one failing session never disturbs the others."""

import trio

from trio_stream_session import SessionError, StreamSession, open_session_supervisor
from trio_stream_session.testing import MockAdapter


async def report(name: str, stream: StreamSession) -> None:
    async for event in stream:
        if event.type == "error_occurred":
            print(f"{name}: failed with {event.data['error_code']}")
    if stream.result is not None:
        print(f"{name}: {stream.result.output['content']}")


async def main() -> None:
    async with open_session_supervisor() as supervisor:
        good = await supervisor.start(adapter=MockAdapter("streaming"), input="Hi")
        bad = await supervisor.start(
            adapter=MockAdapter(fail_with=SessionError("provider_rate_limited")),
            input="Hi",
        )
        slow = await supervisor.start(adapter=MockAdapter("timeout"), input="Hi", idle_timeout=0.5)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(report, "good", good)
            nursery.start_soon(report, "bad", bad)
            nursery.start_soon(report, "slow", slow)
        print(supervisor.statistics())


if __name__ == "__main__":
    trio.run(main)
