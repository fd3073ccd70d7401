"""A provider adapter of your own: it streams the prompt back, word by word."""

from collections.abc import Sequence
from typing import Any

import trio

from trio_stream_session import (
    AdapterResult,
    Capability,
    CapabilityType,
    Emit,
    Run,
    Session,
    SessionError,
    open_stream_session,
)


class EchoAdapter:
    """Answers every prompt with the prompt itself."""

    name = "echo"  # the provider's name: events' ``provider``, the default agent id

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self._runs: dict[str, trio.CancelScope] = {}

    async def capabilities(self) -> Sequence[Capability]:
        await trio.lowlevel.checkpoint()
        return [Capability(name="echo", type=CapabilityType.SAMPLING)]

    async def execute(
        self, run: Run, session: Session, *, emit: Emit, **opts: Any
    ) -> AdapterResult:
        # run.input was checked by the core: a prompt, or messages with a user turn.
        text = run.input.get("prompt") or run.input["messages"][-1]["content"]
        with trio.CancelScope() as scope:
            self._runs[run.id] = scope
            try:
                await emit({"type": "run_started", "data": {"model": "echo-1"}})
                for word in text.split():
                    await trio.sleep(self.delay)
                    chunk = word + " "
                    await emit(
                        {"type": "message_streamed", "data": {"content": chunk, "delta": chunk}}
                    )
                await emit({"type": "message_received", "data": {"content": text}})
                usage = {"input_tokens": len(text.split()), "output_tokens": len(text.split())}
                await emit({"type": "token_usage_updated", "data": usage})
                await emit({"type": "run_completed", "data": {"stop_reason": "end_turn"}})
                return {
                    "output": {"content": text, "stop_reason": "end_turn", "tool_calls": []},
                    "token_usage": usage,
                    "events": [],
                }
            finally:
                del self._runs[run.id]
        # Only reached when cancel() stopped the run.
        await emit({"type": "run_cancelled", "data": {}})
        raise SessionError("cancelled", "Run was cancelled")

    async def cancel(self, run_id: str) -> None:
        await trio.lowlevel.checkpoint()
        scope = self._runs.get(run_id)
        if scope is not None:
            scope.cancel()


async def main() -> None:
    async with open_stream_session(adapter=EchoAdapter(), input="hello from trio") as stream:
        async for event in stream:
            print(event.sequence_number, event.type.value, dict(event.data))
    assert stream.result is not None
    print(stream.result.output["content"], stream.result.token_usage)


if __name__ == "__main__":
    trio.run(main)
