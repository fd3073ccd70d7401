"""A Trio app that runs several agent sessions at once, sharing one store."""

import trio

from trio_stream_session import InMemorySessionStore, open_stream_session
from trio_stream_session.testing import MockAdapter


async def ask(store: InMemorySessionStore, question: str, answers: dict[str, str]) -> None:
    """One session: stream it, keep the final answer."""
    adapter = MockAdapter("streaming", response={"content": f"Answer to {question!r}"})
    async with open_stream_session(adapter=adapter, input=question, store=store) as stream:
        async for event in stream:
            if event.type == "message_received":
                answers[question] = event.data["content"]


async def main() -> None:
    questions = ["What is Trio?", "What is a nursery?", "What is a cancel scope?"]
    answers: dict[str, str] = {}
    async with InMemorySessionStore() as store:
        async with trio.open_nursery() as nursery:
            for question in questions:
                nursery.start_soon(ask, store, question, answers)
        # The nursery has waited for every session; the store has kept them all.
        sessions = await store.list_sessions()
    for question in questions:
        print(f"{question} -> {answers[question]}")
    print(f"{len(sessions)} sessions stored, all {sessions[0].status.value}")


if __name__ == "__main__":
    trio.run(main)
