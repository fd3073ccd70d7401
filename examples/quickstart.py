"""Stream one offline session with the mock adapter and print its events."""

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.testing import MockAdapter


async def main() -> None:
    async with open_stream_session(
        adapter=(MockAdapter, {"mode": "streaming"}),
        input={"messages": [{"role": "user", "content": "Hello"}]},
    ) as stream:
        async for event in stream:
            print(event.sequence_number, event.type, dict(event.data))


if __name__ == "__main__":
    trio.run(main)
