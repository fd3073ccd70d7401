"""Run the Amp CLI on one prompt and print the events it streams.

    python examples/amp_agent.py "Fix the failing test"

Install it with ``npm install -g @sourcegraph/amp`` and sign in (``amp login``) or set
``AMP_API_KEY``.
``AMP_EXECUTABLE`` names the executable (default: ``amp`` on ``PATH``).
"""

import os
import sys

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.adapters import AmpAdapter


async def main(prompt: str) -> None:
    agent = AmpAdapter(
        executable=os.environ.get("AMP_EXECUTABLE", "amp"),
        cwd=".",
        mode="smart",
    )
    async with open_stream_session(adapter=agent, input={"prompt": prompt}) as stream:
        async for event in stream:
            print(event.type, dict(event.data))
    if stream.result is None:
        sys.exit(1)  # the last event says what went wrong
    print(stream.result.output["content"])


if __name__ == "__main__":
    trio.run(main, " ".join(sys.argv[1:]) or "List the files in this directory.")
