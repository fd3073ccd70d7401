"""Command line: ``python -m benchmarks [--quick] [--reps N] ...``."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import trio

import trio_stream_session

from . import _diagnose, _io_probes, _lib, _peers, _profile, _rst
from ._config import PRESETS, Config
from ._measure import load_average, reset_peak_rss
from ._plot import plot_latency
from ._report import summarize, targets
from ._suite import Section, build_sections, progress, run_sections
from ._table import render

RESULTS = Path(__file__).resolve().parent / "results"
RST = Path(__file__).resolve().parent.parent / "docs" / "_generated" / "benchmarks.rst"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="trio_stream_session against the raw Trio floor (nursery + channel(64)).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, ~20 s")
    size.add_argument("--tiny", action="store_true", help="minimal sizes for the smoke test")
    parser.add_argument("--reps", type=int, help="repetitions of the light benchmarks")
    parser.add_argument(
        "--heavy-reps", type=int, help="repetitions of 10k-concurrent and 1M-event runs"
    )
    parser.add_argument(
        "--only",
        help="comma-separated section name prefixes (throughput, latency, sessions, idle, "
        "concurrent, scale, peers)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="result file")
    parser.add_argument("--plot", type=Path, default=RESULTS / "latency.png", help="plot file")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the latency plot")
    parser.add_argument(
        "--profile", action="store_true", help="profile the library runs (needs pyinstrument)"
    )
    parser.add_argument(
        "--no-diagnose",
        action="store_true",
        help="skip the cause probes (GC share, scheduler passes, objects per session)",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="skip the peers section (see benchmarks._peers)"
    )
    parser.add_argument(
        "--rst",
        type=Path,
        help=f"reStructuredText tables (default {RST.relative_to(RST.parents[2])}, "
        "except with --tiny)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _config(args: argparse.Namespace) -> Config:
    name = "tiny" if args.tiny else "quick" if args.quick else "full"
    for value, flag in ((args.reps, "--reps"), (args.heavy_reps, "--heavy-reps")):
        if value is not None and value < 1:
            raise SystemExit(f"{flag} must be >= 1")
    return PRESETS[name].with_reps(args.reps, args.heavy_reps)


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "trio": trio.__version__,
        "trio_stream_session": trio_stream_session.__version__,
        "library_path": str(Path(trio_stream_session.__file__).parent),
        "peak_rss_resettable": reset_peak_rss(),
        "loadavg_start": load_average(),
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _select(sections: list[Section], only: str | None) -> list[Section]:
    if not only:
        return sections
    prefixes = [p.strip() for p in only.split(",") if p.strip()]
    return [s for s in sections if any(s.key == p or s.key.startswith(p + "_") for p in prefixes)]


def _wants(only: str | None, key: str) -> bool:
    return not only or key in [p.strip() for p in only.split(",")]


async def run(
    config: Config,
    *,
    only: str | None,
    profile: bool,
    diagnose: bool,
    verbose: bool,
    peers: bool = True,
) -> dict[str, Any]:
    """Run the suite for *config* and return the result document (JSON-ready)."""
    started = time.perf_counter()
    environment = _environment()
    files = _lib.TempFiles()
    try:
        sections, notes = build_sections(config, files)
        sections = _select(sections, only)
        await run_sections(sections, verbose=verbose)
        extras: dict[str, dict[str, Any]] = {}
        if any(s.key == "idle" for s in sections):
            extras["idle"] = {"stored_events": await _lib.idle_stored_events()}
        peer_section = None
        if peers and _wants(only, "peers"):
            report = progress if verbose else None
            peer_section = await _peers.run_peers(
                config.peer_events, config.peer_sessions, config.reps, report
            )
        diagnostics = await _diagnose.diagnose(config) if diagnose else None
        probes = (
            await _io_probes.probe(config.events, config.io_events, files) if diagnose else None
        )
        profiles: dict[str, Any] | None = None
        if profile:
            missing = _profile.available()
            if missing:
                notes.append(missing)
            else:
                profiles = await _profile.profile_library(config.events, config.sessions)
    finally:
        files.cleanup()
    summaries = {s.key: summarize(s, extras.get(s.key)) for s in sections}
    checked = targets(summaries)
    for target in checked:
        if target["met"] is False:
            causes = [
                _diagnose.cause(diagnostics, target["name"]),
                _profile.cause(profiles, target["name"]),
                _io_probes.cause(probes, target["name"]),
            ]
            target["cause"] = " | ".join(c for c in causes if c)
    if diagnostics:
        notes.append(_diagnose.concurrency_note(diagnostics))
    if not environment["peak_rss_resettable"]:
        notes.append("peak RSS could not be reset (/proc/self/clear_refs): peaks are upper bounds")
    environment["loadavg_end"] = load_average()
    document = {
        "schema": 1,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "config": config.to_json(),
        "environment": environment,
        "duration_s": time.perf_counter() - started,
        "sections": summaries,
        "targets": checked,
        "peers": peer_section,
        "notes": notes,
        "diagnostics": diagnostics,
        "io_probes": probes,
        "profile": profiles,
    }
    document["latencies_ns"] = {
        f"{v.label}, {'paced' if section.key.endswith('paced') else 'back to back'}": [
            n for s in section.samples[v.key] if s is not None for n in s.latencies_ns or []
        ]
        for section in sections
        if section.kind == "latency"
        for v in section.variants
    }
    return document


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON (and the plot)."""
    args = _parser().parse_args(argv)
    config = _config(args)
    document = trio.run(
        lambda: run(
            config,
            only=args.only,
            profile=args.profile,
            diagnose=not args.no_diagnose,
            verbose=not args.quiet,
            peers=not args.no_peers,
        )
    )
    latencies = document.pop("latencies_ns")
    if not args.no_plot:
        document["notes"].append(plot_latency(latencies, args.plot))
    print(render(document))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(_json_safe(document), indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.json}")
    rst = args.rst if args.rst is not None or args.tiny else RST
    if rst is not None:
        rst.parent.mkdir(parents=True, exist_ok=True)
        rst.write_text(_rst.render(document), encoding="utf-8")
        print(f"tables written to {rst}")
    return 0
