"""Memory benchmarks in a fresh process: ``python -m benchmarks._child SIDE SCENARIO ARGS``.

RSS only shows growth if the heap has no free space to reuse; after the
throughput runs the parent's heap has plenty, which would hide most of a
session's footprint. Each idle/concurrent measurement therefore runs in its
own child process (timings included), which prints its :class:`Sample` as
one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path

import trio

from ._measure import Sample

ROOT = Path(__file__).resolve().parent.parent


async def in_child(side: str, scenario: str, *args: int) -> Sample:
    """Run ``_raw``/``_lib`` *scenario* with *args* in a child process."""
    env = dict(os.environ)
    # ROOT last, so a PYTHONPATH pointing at another copy of the library wins
    # in the child as it does in the parent.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    command = [sys.executable, "-m", "benchmarks._child", side, scenario, *map(str, args)]
    done = await trio.run_process(
        command, capture_stdout=True, capture_stderr=True, check=False, env=env
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"child {side} {scenario} failed: {tail}")
    fields = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return Sample(**fields)


def _scenario(side: str, scenario: str) -> Callable[..., Awaitable[Sample]]:
    from . import _lib, _raw

    module = {"raw": _raw, "lib": _lib}[side]
    if scenario not in ("idle", "concurrent"):
        raise SystemExit(f"unknown scenario {scenario!r}")
    function: Callable[..., Awaitable[Sample]] = getattr(module, scenario)
    return function


def main(argv: list[str]) -> int:
    side, scenario, *args = argv
    function = _scenario(side, scenario)
    sample = trio.run(function, *map(int, args))
    print(json.dumps(asdict(sample)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
