"""Run the Codex CLI on one prompt and print the events it streams.

    python examples/codex_agent.py "Fix the failing test"

Install it with ``npm install -g @openai/codex`` and sign in (``codex login``) or set
``CODEX_API_KEY``.
``CODEX_EXECUTABLE`` names the executable (default: ``codex`` on ``PATH``).
"""

import os
import sys

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.adapters import CodexAdapter


async def main(prompt: str) -> None:
    agent = CodexAdapter(
        executable=os.environ.get("CODEX_EXECUTABLE", "codex"),
        cwd=".",
        sandbox="workspace-write",  # may edit files in cwd
    )
    async with open_stream_session(adapter=agent, input={"prompt": prompt}) as stream:
        async for event in stream:
            print(event.type, dict(event.data))
    if stream.result is None:
        sys.exit(1)  # the last event says what went wrong
    print(stream.result.output["content"])


if __name__ == "__main__":
    trio.run(main, " ".join(sys.argv[1:]) or "List the files in this directory.")
