"""Stream one reply from Claude, printing the text as it arrives.

export ANTHROPIC_API_KEY=sk-ant-...
python examples/claude_chat.py "Why is the sky blue?"
"""

import sys

import trio

from trio_stream_session import open_stream_session
from trio_stream_session.adapters import ClaudeAdapter


async def main(prompt: str) -> None:
    spec = (ClaudeAdapter, {"model": "claude-haiku-4-5-20251001", "max_tokens": 1024})
    async with open_stream_session(adapter=spec, input=prompt) as stream:
        async for event in stream:
            if event.type == "message_streamed" and event.data.get("kind") == "text":
                print(event.data["delta"], end="", flush=True)
            elif event.type == "error_occurred":
                sys.exit(f"\nfailed: {event.data['error_message']}")
    assert stream.result is not None  # the stream ended without an error
    print(f"\n{stream.result.token_usage} ${stream.result.cost_usd}")


if __name__ == "__main__":
    trio.run(main, " ".join(sys.argv[1:]) or "Hello!")
