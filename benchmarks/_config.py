"""Benchmark sizes: ``full`` (the default, ~2-3 min), ``quick`` (~20 s) and ``tiny`` (smoke)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Config:
    """How big each benchmark is and how often it runs.

    ``reps`` repetitions of the light sections, ``heavy_reps`` of the
    expensive ones (10k concurrent sessions, 1M events). ``events`` is N for
    the per-event comparison of raw and library; ``io_events`` the smaller N
    for the variants that write to disk (JSONL sink, SQLite store), whose
    cost per event is two orders of magnitude higher. ``peer_events`` and
    ``peer_sessions`` size the peers section (see ``_peers``).
    """

    name: str
    reps: int
    heavy_reps: int
    events: int
    io_events: int
    latency_events: int
    io_latency_events: int
    sessions: int
    idle_sessions: int
    concurrent_sessions: tuple[int, ...]
    heavy_concurrent_sessions: tuple[int, ...]
    events_per_session: int
    scale_events: tuple[int, ...]
    heavy_scale_events: tuple[int, ...]
    peer_events: int
    peer_sessions: int

    def with_reps(self, reps: int | None, heavy_reps: int | None) -> Config:
        return replace(
            self,
            reps=self.reps if reps is None else reps,
            heavy_reps=self.heavy_reps if heavy_reps is None else heavy_reps,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FULL = Config(
    name="full",
    reps=5,
    heavy_reps=1,
    events=200_000,
    io_events=10_000,
    latency_events=10_000,
    io_latency_events=2_000,
    sessions=2_000,
    idle_sessions=1_000,
    concurrent_sessions=(1_000,),
    heavy_concurrent_sessions=(10_000,),
    events_per_session=100,
    scale_events=(10_000, 100_000),
    heavy_scale_events=(1_000_000,),
    peer_events=2_000,
    peer_sessions=100,
)

QUICK = Config(
    name="quick",
    reps=3,
    heavy_reps=1,
    events=30_000,
    io_events=2_000,
    latency_events=5_000,
    io_latency_events=500,
    sessions=500,
    idle_sessions=500,
    concurrent_sessions=(),
    heavy_concurrent_sessions=(1_000,),
    events_per_session=50,
    scale_events=(10_000,),
    heavy_scale_events=(100_000,),
    peer_events=500,
    peer_sessions=30,
)

TINY = Config(
    name="tiny",
    reps=1,
    heavy_reps=1,
    events=2_000,
    io_events=100,
    latency_events=500,
    io_latency_events=50,
    sessions=30,
    idle_sessions=30,
    concurrent_sessions=(20,),
    heavy_concurrent_sessions=(40,),
    events_per_session=10,
    scale_events=(1_000,),
    heavy_scale_events=(2_000,),
    peer_events=50,
    peer_sessions=3,
)

PRESETS = {c.name: c for c in (FULL, QUICK, TINY)}
