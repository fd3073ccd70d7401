"""Run Claude Code on one prompt and print the events it streams.

    python examples/claude_code_agent.py "Fix the failing test"

Install it with ``npm install -g @anthropic-ai/claude-code`` and sign in (``claude``)
or set ``ANTHROPIC_API_KEY``.
``CLAUDE_EXECUTABLE`` names the executable (default: ``claude`` on ``PATH``).
"""

import os
import sys

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.adapters import ClaudeCodeAdapter


async def main(prompt: str) -> None:
    agent = ClaudeCodeAdapter(
        executable=os.environ.get("CLAUDE_EXECUTABLE", "claude"),
        cwd=".",
        permission_mode="accept_edits",
        allowed_tools=["Read", "Grep", "Glob"],
    )
    async with open_stream_session(adapter=agent, input={"prompt": prompt}) as stream:
        async for event in stream:
            print(event.type, dict(event.data))
    if stream.result is None:
        sys.exit(1)  # the last event says what went wrong
    print(stream.result.output["content"])


if __name__ == "__main__":
    trio.run(main, " ".join(sys.argv[1:]) or "List the files in this directory.")
