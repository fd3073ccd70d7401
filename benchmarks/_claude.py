"""Per-event cost of ``ClaudeAdapter`` against the SDK's own ``messages.create(stream=True)``.

    python -m benchmarks._claude [--deltas 2000] [--reps 7] [--json PATH]

A child process serves one long scripted text stream from ``FakeAnthropicServer``
on 127.0.0.1 (so the server's work is not in the measured process). In this
process, each repetition reads that stream, in rotated order:

* ``sdk``: ``await client.messages.create(..., stream=True)`` and ``async for`` over
  its events (the SDK parses every event into a pydantic model);
* ``adapter``: ``ClaudeAdapter.execute`` with the same client, an ``emit`` that
  only counts (the adapter's own parsing, accumulation and event mappings);
* ``run_once``: the whole library path, ``run_once`` with an in-memory store.

Figures are medians of wall-clock and CPU time (of this process only: the
client's own cost) per stream event; the ratios are ``adapter / sdk`` of the
same repetition, median over repetitions (the issue's target: at most 1.3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anthropic
import trio

from trio_stream_session import InMemorySessionStore, Run, Session, run_once
from trio_stream_session.adapters import ClaudeAdapter
from trio_stream_session.testing import FakeAnthropicServer, FakeResponse

KEY = "sk-ant-bench-0123456789abcdefghijkl"
REQUEST: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64000,
    "messages": [{"role": "user", "content": "Tell me a long story"}],
}


def reply(deltas: int) -> FakeResponse:
    return FakeResponse.text(*(f"word {i} " for i in range(deltas)))


async def serve(deltas: int) -> None:
    """The child: serve *deltas*-long replies until stdin closes."""
    async with FakeAnthropicServer(default=reply(deltas)) as server:
        print(server.url, flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)


async def sdk_variant(client: anthropic.AsyncAnthropic) -> int:
    stream = await client.messages.create(**REQUEST, stream=True)
    count = 0
    async for _ in stream:
        count += 1
    return count


async def adapter_variant(client: anthropic.AsyncAnthropic) -> int:
    count = 0

    async def emit(raw: Any) -> Any:
        nonlocal count
        count += 1

    adapter = ClaudeAdapter(client=client, model=REQUEST["model"], max_tokens=64000)
    session = Session(agent_id="bench")
    run = Run(session_id=session.id, input={"prompt": "Tell me a long story"})
    await adapter.execute(run, session, emit=emit)
    return count


async def run_once_variant(client: anthropic.AsyncAnthropic) -> int:
    adapter = ClaudeAdapter(client=client, model=REQUEST["model"], max_tokens=64000)
    async with InMemorySessionStore() as store:
        result = await run_once(store, adapter, {"prompt": "Tell me a long story"})
        return len(await store.get_events(result.session_id))


VARIANTS: dict[str, Callable[[anthropic.AsyncAnthropic], Awaitable[int]]] = {
    "sdk": sdk_variant,
    "adapter": adapter_variant,
    "run_once": run_once_variant,
}


async def measure(url: str, deltas: int, reps: int) -> dict[str, Any]:
    events = len(reply(deltas).events) - 1  # the SDK does not yield pings
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    async with anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0) as client:
        for name in VARIANTS:  # warm up: connections, imports, caches
            await VARIANTS[name](client)
        names = list(VARIANTS)
        for rep in range(reps):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                wall, cpu = time.perf_counter(), time.process_time()
                await VARIANTS[name](client)
                timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    per_event = {
        name: {
            "wall_us": statistics.median(w for w, _ in runs) / events * 1e6,
            "cpu_us": statistics.median(c for _, c in runs) / events * 1e6,
        }
        for name, runs in timings.items()
    }
    pairs = list(zip(timings["adapter"], timings["sdk"], strict=True))
    return {
        "events_per_stream": events,
        "reps": reps,
        "per_event": per_event,
        "adapter_over_sdk_wall": statistics.median(a[0] / s[0] for a, s in pairs),
        "adapter_over_sdk_cpu": statistics.median(a[1] / s[1] for a, s in pairs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._claude")
    parser.add_argument("--deltas", type=int, default=2000, help="text deltas per stream")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        trio.run(serve, args.deltas)
        return 0
    command = [sys.executable, "-m", "benchmarks._claude", "--serve", "--deltas", str(args.deltas)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdin is not None
            url = child.stdout.readline().strip()
            result = trio.run(measure, url, args.deltas, args.reps)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=10)
    for name, cost in result["per_event"].items():
        print(f"{name:<9} {cost['wall_us']:8.2f} us/event wall  {cost['cpu_us']:8.2f} us/event cpu")
    print(
        f"adapter / sdk, median of paired reps: {result['adapter_over_sdk_wall']:.2f} wall, "
        f"{result['adapter_over_sdk_cpu']:.2f} cpu"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
