"""The floor: the seed's "before" code hand-rolled in Trio.

One session is a nursery, a ``trio.open_memory_channel(64)``, a producer task
sending plain dict events and a consumer iterating the receive side. No
store, no event objects, no timeouts: what any library on Trio pays at least.
"""

from __future__ import annotations

import time
from typing import Any

import trio

from ._measure import MemoryWatch, Sample, Stopwatch

BUFFER = 64


def _event(index: int) -> dict[str, Any]:
    return {"type": "message_streamed", "data": {"delta": "x", "content": "x", "index": index}}


async def _produce(send: trio.MemorySendChannel[dict[str, Any]], events: int) -> None:
    async with send:
        for index in range(events):
            await send.send(_event(index))


async def _session(events: int) -> int:
    """One raw session: producer and consumer over one channel; returns events seen."""
    send, receive = trio.open_memory_channel[dict[str, Any]](BUFFER)
    seen = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_produce, send, events)
        async with receive:
            async for _ in receive:
                seen += 1
    return seen


async def throughput(events: int) -> Sample:
    memory = MemoryWatch()
    with Stopwatch() as watch:
        seen = await _session(events)
    return memory.finish(Sample(watch.seconds, watch.cpu_seconds, seen))


async def latency(events: int, paced: bool = False) -> Sample:
    """Emit -> receive latency: the producer stamps ``perf_counter_ns`` into each event.

    Back to back, producer and consumer run in lockstep and the latency is
    whole scheduler cycles (how far ahead the producer got at the start);
    *paced* adds ``trio.lowlevel.checkpoint()`` after each send, so every event finds the
    consumer waiting: the latency of the path itself.
    """
    send, receive = trio.open_memory_channel[dict[str, Any]](BUFFER)
    clock = time.perf_counter_ns
    latencies: list[int] = []

    async def produce() -> None:
        async with send:
            for index in range(events):
                await send.send(
                    {
                        "type": "message_streamed",
                        "data": {"delta": "x", "content": "x", "index": index, "t_ns": clock()},
                    }
                )
                if paced:
                    await trio.lowlevel.checkpoint()

    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            async with receive:
                async for event in receive:
                    latencies.append(clock() - event["data"]["t_ns"])
    return Sample(watch.seconds, watch.cpu_seconds, len(latencies), latencies_ns=latencies)


async def session_cycles(sessions: int) -> Sample:
    """Open and close *sessions* one-event sessions, one after the other."""
    with Stopwatch() as watch:
        for _ in range(sessions):
            await _session(1)
    return Sample(watch.seconds, watch.cpu_seconds, sessions)


async def concurrent(sessions: int, events: int) -> Sample:
    """*sessions* sessions of *events* events each, all at once."""
    seen = 0

    async def one() -> None:
        nonlocal seen
        count = await _session(events)  # not `seen += await ...`: that reads seen first
        seen += count

    memory = MemoryWatch()
    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one)
    sample = Sample(watch.seconds, watch.cpu_seconds, seen, extra={"sessions": sessions})
    return memory.finish(sample)


async def idle(sessions: int) -> Sample:
    """*sessions* sessions that delivered one event and now wait; RSS measured then."""
    release = trio.Event()
    ready = trio.Event()
    delivered = 0

    async def produce(send: trio.MemorySendChannel[dict[str, Any]]) -> None:
        async with send:
            await send.send(_event(0))
            await release.wait()

    async def one() -> None:
        nonlocal delivered
        send, receive = trio.open_memory_channel[dict[str, Any]](BUFFER)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce, send)
            async with receive:
                async for _ in receive:
                    delivered += 1
                    if delivered == sessions:
                        ready.set()

    memory = MemoryWatch()
    with Stopwatch() as watch:
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one)
            await ready.wait()
            memory.mark_level()
            release.set()
    return memory.finish(Sample(watch.seconds, watch.cpu_seconds, sessions))
