"""Render one session to the terminal and to a JSON-lines file, then read it back."""

import json

import trio

from trio_stream_session import Event, open_stream_session
from trio_stream_session.rendering import CompactRenderer, JSONLSink, TTYSink, render_stream
from trio_stream_session.testing import MockAdapter


async def main() -> None:
    async with open_stream_session(adapter=MockAdapter("streaming"), input="Say hello") as stream:
        summary = await render_stream(
            stream,
            renderer=CompactRenderer(color=False),
            sinks=[TTYSink(), JSONLSink("session.jsonl")],
        )
    print(summary)

    # Every line of the JSONL file rebuilds the event it came from.
    lines = (await trio.Path("session.jsonl").read_text(encoding="utf-8")).splitlines()
    events = [Event.from_dict(json.loads(line)) for line in lines]
    print([event.type.value for event in events])


if __name__ == "__main__":
    trio.run(main)
