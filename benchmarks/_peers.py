"""Peers: CPU per event and per session of what users would otherwise pick.

Each system streams replies of text deltas with its own test model (see
``_peers_systems``), in a child process of its own: the peers in an asyncio
event loop (``asyncio.run``), this library under ``trio.run`` with a minimal
adapter (``MockAdapter("burst")`` through ``open_stream_session`` and the
default in-memory store). A child measures process CPU time
(``time.process_time``) per repetition of

* one session of ``sessions`` one-delta replies, one after the other: CPU per
  session;
* one session of an ``events``-delta reply: CPU per event is its cost above
  one short session, over the events the caller received above the short
  session's (so per event does not include the session's fixed cost);

after one warm-up of each; figures are medians over repetitions. The
``anthropic`` SDK's child serves its replies from ``FakeAnthropicServer`` in
a grandchild process (loopback), so the server's CPU is not counted.

Peers run only when importable (``pip install trio_stream_session[bench-peers]``);
the others are listed as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import trio

from ._child import ROOT
from ._peers_systems import LOCAL, PEERS, Stream, anthropic_sdk

LIBRARY = "trio_stream_session"


def installed() -> tuple[list[str], list[str]]:
    """(peers that can be imported, peers that cannot)."""
    present = [name for name, module in PEERS.items() if importlib.util.find_spec(module)]
    return present, [name for name in PEERS if name not in present]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    return env


async def measure(system: str, events: int, sessions: int, reps: int) -> dict[str, Any]:
    """Run *system*'s measurement in a child process and return its result."""
    command = [sys.executable, "-m", "benchmarks._peers", system]
    command += [str(events), str(sessions), str(reps)]
    done = await trio.run_process(
        command, capture_stdout=True, capture_stderr=True, check=False, env=_env()
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{system} failed: {tail}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


async def run_peers(
    events: int, sessions: int, reps: int, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The peers section: this library and every installed peer, or why not."""
    present, missing = installed()
    systems: dict[str, Any] = {}
    notes = [f"{name} not installed: skipped" for name in missing]
    if missing:
        notes.append("install the peers with: pip install 'trio_stream_session[bench-peers]'")
    for system in [LIBRARY, *present]:
        try:
            systems[system] = await measure(system, events, sessions, reps)
        except RuntimeError as exc:
            notes.append(str(exc))
            continue
        if progress is not None:
            s = systems[system]
            progress(
                f"  peers {system:20s} {s['cpu_us_per_event']:.1f} us/event, "
                f"{s['cpu_us_per_session']:.0f} us/session (CPU)"
            )
    return {
        "events": events,
        "sessions": sessions,
        "reps": reps,
        "systems": systems,
        "notes": notes,
    }


# -- the child ----------------------------------------------------------------------------


def _medians(
    timed: Callable[[int, int], tuple[float, float]], events: int, sessions: int, reps: int
) -> dict[str, Any]:
    timed(events, 1), timed(1, 1)  # warm up: imports, caches, connections
    per_session: list[float] = []
    per_event: list[float] = []
    received = 0.0
    for _ in range(reps):
        short_cpu, short_events = timed(1, sessions)
        long_cpu, received = timed(events, 1)
        one = short_cpu / sessions
        per_session.append(one * 1e6)
        per_event.append((long_cpu - one) / (received - short_events / sessions) * 1e6)
    return {
        "cpu_us_per_event": statistics.median(per_event),
        "cpu_us_per_session": statistics.median(per_session),
        "events_received": received,
    }


def _library(events: int, sessions: int, reps: int) -> dict[str, Any]:
    from trio_stream_session import open_stream_session
    from trio_stream_session.testing import MockAdapter

    from ._lib import INPUT

    async def stream(n: int) -> int:
        count = 0
        adapter = MockAdapter("burst", burst_events=n)
        async with open_stream_session(adapter=adapter, input=INPUT) as session:
            async for _event in session:
                count += 1
        return count

    async def many(n: int, times: int) -> tuple[float, float]:
        start = time.process_time()
        received = 0
        for _ in range(times):
            received += await stream(n)
        return time.process_time() - start, received

    def timed(n: int, times: int) -> tuple[float, float]:
        return trio.run(many, n, times)

    return _medians(timed, events, sessions, reps)


@contextlib.contextmanager
def _fake_server() -> Iterator[str]:
    """A ``FakeAnthropicServer`` in a child process; yields its URL."""
    command = [sys.executable, "-m", "benchmarks._peers", "--serve"]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_env(), text=True
    ) as child:
        assert child.stdout is not None and child.stdin is not None
        try:
            yield child.stdout.readline().strip()
        finally:
            child.stdin.close()
            child.wait(timeout=30)


async def serve() -> None:
    """Serve replies of ``max_tokens`` text deltas until stdin closes."""
    from trio_stream_session.testing import FakeAnthropicServer

    from ._claude import reply

    def respond(request: Any) -> Any:
        return reply(int(request.json["max_tokens"]))

    async with FakeAnthropicServer(responder=respond) as server:
        print(server.url, flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)


def _peer(system: str, events: int, sessions: int, reps: int) -> dict[str, Any]:
    loop = asyncio.new_event_loop()

    def timed_with(stream: Stream) -> Callable[[int, int], tuple[float, float]]:
        async def many(n: int, times: int) -> tuple[float, float]:
            start = time.process_time()
            received = 0
            for _ in range(times):
                received += await stream(n)
            return time.process_time() - start, received

        return lambda n, times: loop.run_until_complete(many(n, times))

    try:
        if system != "anthropic":
            return _medians(timed_with(LOCAL[system]), events, sessions, reps)
        import anthropic

        from ._claude import KEY

        with _fake_server() as url:
            client = anthropic.AsyncAnthropic(base_url=url, api_key=KEY, max_retries=0)
            try:
                return _medians(timed_with(anthropic_sdk(client)), events, sessions, reps)
            finally:
                loop.run_until_complete(client.close())
    finally:
        loop.close()


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        trio.run(serve)
        return 0
    system, events, sessions, reps = argv[0], *map(int, argv[1:])
    if system == LIBRARY:
        result = _library(events, sessions, reps)
    elif system in PEERS:
        result = _peer(system, events, sessions, reps)
    else:
        raise SystemExit(f"unknown system {system!r}; one of {[LIBRARY, *PEERS]}")
    print(json.dumps({"system": system, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
