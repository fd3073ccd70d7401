"""Which benchmarks run, and the loop that runs them: reps, rotation, one process."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from . import _lib, _raw
from ._child import in_child
from ._config import Config
from ._measure import Sample, settle

BASELINE = "raw"


@dataclass(slots=True)
class Variant:
    key: str
    label: str
    size: int
    run: Callable[[], Awaitable[Sample]]


@dataclass(slots=True)
class Section:
    """One comparison: its variants run once per rep, in rotated order.

    ``kind`` picks the metrics (``throughput``, ``latency``, ``sessions``,
    ``idle``, ``concurrent``, ``scale``); ``samples[key][rep]`` is None when
    that run failed.
    """

    key: str
    title: str
    kind: str
    reps: int
    heavy: bool
    variants: list[Variant]
    params: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[Sample | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def build_sections(config: Config, files: _lib.TempFiles) -> tuple[list[Section], list[str]]:
    """The sections for *config*, plus notes on what was skipped and why."""
    notes: list[str] = []
    _rendering, render_note = _lib.rendering()
    sqlite_class, sqlite_note = _lib.sqlite_store_class()
    if render_note:
        notes.append(f"(c) JSONL sink skipped: {render_note}")
    if sqlite_note:
        notes.append(
            f"(d) SQLite store skipped: {sqlite_note}" if sqlite_class is None else sqlite_note
        )
    n, io_n = config.events, config.io_events
    throughput = [
        Variant("raw", "(a) raw nursery + channel(64)", n, partial(_raw.throughput, n)),
        Variant("lib", "(b) open_stream_session, memory store", n, partial(_lib.throughput, n)),
    ]
    if render_note is None:
        throughput.append(
            Variant(
                "lib_jsonl",
                "(c) (b) + render_stream -> JSONLSink",
                io_n,
                partial(_lib.throughput_jsonl, io_n, files),
            )
        )
    if sqlite_class is not None:
        throughput.append(
            Variant(
                "lib_sqlite",
                "(d) (b) with SQLiteSessionStore",
                io_n,
                partial(_lib.throughput_sqlite, io_n, files),
            )
        )
    throughput.append(
        Variant(
            "lib_mock",
            '(e) MockAdapter("streaming", chunk_delay=0)',
            n,
            partial(_lib.throughput_mock_streaming, n),
        )
    )
    lat_n, io_lat_n = config.latency_events, config.io_latency_events
    latency: dict[bool, list[Variant]] = {}
    for paced in (True, False):
        latency[paced] = [
            Variant("raw", "(a) raw", lat_n, partial(_raw.latency, lat_n, paced)),
            Variant(
                "lib",
                "(b) library, memory store",
                lat_n,
                partial(_lib.latency, lat_n, None, paced),
            ),
        ]
        if sqlite_class is not None:
            latency[paced].append(
                Variant(
                    "lib_sqlite",
                    "(d) library, SQLite store",
                    io_lat_n,
                    partial(_lib.latency_sqlite, io_lat_n, files, paced),
                )
            )
    reps, heavy = config.reps, config.heavy_reps
    m, idle_k = config.sessions, config.idle_sessions
    sections = [
        Section("throughput", "Per event (burst, no delay)", "throughput", reps, False, throughput),
        Section(
            "latency_paced",
            "Latency emit -> receive, paced (a checkpoint after each emit)",
            "latency",
            reps,
            False,
            latency[True],
        ),
        Section(
            "latency",
            "Latency emit -> receive, back to back (lockstep: whole scheduler cycles)",
            "latency",
            reps,
            False,
            latency[False],
        ),
        Section(
            "sessions",
            "Session open+close (sequential, 1 event each)",
            "sessions",
            reps,
            False,
            [
                Variant("raw", "(a) raw nursery + channel", m, partial(_raw.session_cycles, m)),
                Variant("lib", "(b) open_stream_session", m, partial(_lib.session_cycles, m)),
            ],
        ),
        Section(
            "idle",
            "Idle live sessions (memory)",
            "idle",
            reps,
            False,
            [
                Variant("raw", "(a) raw", idle_k, partial(in_child, "raw", "idle", idle_k)),
                Variant("lib", "(b) library", idle_k, partial(in_child, "lib", "idle", idle_k)),
            ],
        ),
    ]
    per = config.events_per_session
    for count, is_heavy in [(k, False) for k in config.concurrent_sessions] + [
        (k, True) for k in config.heavy_concurrent_sessions
    ]:
        sections.append(
            Section(
                f"concurrent_{count}",
                f"{count} concurrent sessions x {per} events",
                "concurrent",
                heavy if is_heavy else reps,
                is_heavy,
                [
                    Variant(
                        "raw", "(a) raw", count, partial(in_child, "raw", "concurrent", count, per)
                    ),
                    Variant(
                        "lib",
                        "(b) library",
                        count,
                        partial(in_child, "lib", "concurrent", count, per),
                    ),
                ],
                params={"sessions": count, "events_per_session": per},
            )
        )
    for size, is_heavy in [(s, False) for s in config.scale_events] + [
        (s, True) for s in config.heavy_scale_events
    ]:
        sections.append(
            Section(
                f"scale_{size}",
                f"N = {size} events",
                "scale",
                heavy if is_heavy else reps,
                is_heavy,
                [
                    Variant("raw", "(a) raw", size, partial(_raw.throughput, size)),
                    Variant("lib", "(b) library", size, partial(_lib.throughput, size)),
                ],
                params={"events": size},
            )
        )
    for section in sections:
        section.samples = {v.key: [] for v in section.variants}
    return sections, notes


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _describe(sample: Sample) -> str:
    if sample.latencies_ns:
        ordered = sorted(sample.latencies_ns)
        return f"p50 {ordered[len(ordered) // 2] / 1000:.1f} us"
    return f"{sample.seconds:.2f} s"


async def run_sections(sections: list[Section], *, verbose: bool = True) -> None:
    """Run every section: the light ones rep by rep, then the heavy ones.

    Within a rep each section's variants run once, the order rotated by the
    rep number so no variant always goes first. A variant that raises is
    recorded as failed (None) and not run again.
    """
    for group in ([s for s in sections if not s.heavy], [s for s in sections if s.heavy]):
        if not group:
            continue
        for rep in range(max(s.reps for s in group)):
            for section in group:
                if rep >= section.reps:
                    continue
                shift = rep % len(section.variants)
                order = section.variants[shift:] + section.variants[:shift]
                for variant in order:
                    await _run_one(section, variant, rep, verbose=verbose)


async def _run_one(section: Section, variant: Variant, rep: int, *, verbose: bool) -> None:
    samples = section.samples[variant.key]
    if any(s is None for s in samples):
        samples.append(None)
        return
    settle()
    try:
        sample = await variant.run()
    except Exception as exc:
        samples.append(None)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        section.notes.append(f"{variant.key} failed in rep {rep + 1}: {detail}")
        if verbose:
            progress(f"  rep {rep + 1} {section.key:16s} {variant.key:10s} FAILED: {detail}")
        return
    samples.append(sample)
    if verbose:
        progress(f"  rep {rep + 1} {section.key:16s} {variant.key:10s} {_describe(sample)}")
