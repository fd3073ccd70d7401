"""The readable table printed after a run (plain text, fixed-width columns)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _fmt(value: Any, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int | float):
        return format(value, spec)
    return str(value)


def _grid(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    indent: str = "  ",
    left: frozenset[int] = frozenset({0}),
) -> list[str]:
    """Columns in *left* are left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return indent + "  ".join(padded).rstrip()

    return [line(header), indent + "  ".join("-" * w for w in widths), *map(line, rows)]


def _variants(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(summary["variants"].items())


def _throughput(summary: dict[str, Any]) -> list[str]:
    header = ["variant", "N", "ns/event", "events/s", "x raw", "cpu x raw"]
    rows = []
    for _key, v in _variants(summary):
        rate = v.get("events_per_s")
        rows.append(
            [
                v["label"],
                str(v["size"]),
                _fmt(v["median"]["ns_per_event"], ".0f"),
                _fmt(rate / 1000 if rate else None, ".0f") + ("k" if rate else ""),
                _fmt(v["ratio"]["ns_per_event"]),
                _fmt(v["ratio"]["cpu_ns_per_event"]),
            ]
        )
    return _grid(header, rows)


def _latency(summary: dict[str, Any]) -> list[str]:
    header = ["variant", "N", "p50 us", "p99 us", "max us", "p50 - raw", "p99 x raw"]
    rows = [
        [
            v["label"],
            str(v["size"]),
            _fmt(v["median"]["p50_us"], ".1f"),
            _fmt(v["median"]["p99_us"], ".1f"),
            _fmt(v["median"]["max_us"], ".0f"),
            _fmt(v.get("p50_minus_raw_us"), "+.1f"),
            _fmt(v["ratio"]["p99_us"]),
        ]
        for _key, v in _variants(summary)
    ]
    return _grid(header, rows)


def _sessions(summary: dict[str, Any]) -> list[str]:
    header = ["variant", "sessions", "us/session", "x raw"]
    rows = [
        [
            v["label"],
            str(v["size"]),
            _fmt(v["median"]["us_per_session"], ".0f"),
            _fmt(v["ratio"]["us_per_session"]),
        ]
        for _key, v in _variants(summary)
    ]
    return _grid(header, rows)


def _idle(summary: dict[str, Any]) -> list[str]:
    header = ["variant", "sessions", "KiB/session", "peak KiB/session", "x raw"]
    rows = [
        [
            v["label"],
            str(v["size"]),
            _fmt(v["median"]["kib_per_session"], ".1f"),
            _fmt(v["median"]["peak_kib_per_session"], ".1f"),
            _fmt(v["ratio"]["kib_per_session"]),
        ]
        for _key, v in _variants(summary)
    ]
    lines = _grid(header, rows)
    stored = summary.get("stored_events")
    if stored:
        lines.append(
            f"  library stores {stored['events']} events per idle session "
            f"(~{stored['kib']:.1f} KiB, deep size)"
        )
    return lines


def _concurrent(summary: dict[str, Any]) -> list[str]:
    header = ["variant", "time s", "us/event", "x raw", "peak RSS +MiB", "KiB/session"]
    rows = [
        [
            v["label"],
            _fmt(v["median"]["seconds"]),
            _fmt(v["median"]["us_per_event"], ".1f"),
            _fmt(v["ratio"]["us_per_event"]),
            _fmt(v["median"]["peak_delta_kib"] / 1024, ".1f"),
            _fmt(v["median"]["kib_per_session"], ".1f"),
        ]
        for _key, v in _variants(summary)
    ]
    return _grid(header, rows)


def _scale(summaries: dict[str, Any]) -> list[str]:
    keys = sorted((k for k in summaries if k.startswith("scale_")), key=lambda k: int(k[6:]))
    header = ["N", "raw ns/event", "lib ns/event", "x raw", "lib peak RSS +MiB", "reps"]
    rows = []
    for key in keys:
        s = summaries[key]["variants"]
        rows.append(
            [
                key[6:],
                _fmt(s["raw"]["median"]["ns_per_event"], ".0f"),
                _fmt(s["lib"]["median"]["ns_per_event"], ".0f"),
                _fmt(s["lib"]["ratio"]["ns_per_event"]),
                _fmt(s["lib"]["median"]["peak_delta_kib"] / 1024, ".0f"),
                str(summaries[key]["reps"]),
            ]
        )
    return _grid(header, rows)


PEERS_TITLE = "Peers: CPU per event and per session, each system with its own test model"


def peer_rows(peers: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the peers table (shared with the reStructuredText output)."""
    header = ["system", "CPU us/event", "CPU us/session", "events/reply"]
    rows = [
        [
            name,
            _fmt(s["cpu_us_per_event"], ".1f"),
            _fmt(s["cpu_us_per_session"], ".0f"),
            _fmt(s["events_received"], ".0f"),
        ]
        for name, s in peers["systems"].items()
    ]
    return header, rows


def _peers(peers: dict[str, Any]) -> list[str]:
    header, rows = peer_rows(peers)
    lines = ["", f"{PEERS_TITLE} ({peers['events']} deltas per reply)", *_grid(header, rows)]
    return lines + [f"  note: {note}" for note in peers["notes"]]


def target_rows(targets: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the targets table (a miss's cause in its own row)."""
    header = ["target", "measured", "status", "detail"]
    rows: list[list[str]] = []
    for t in targets:
        status = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        unit = t["unit"]
        measured = _fmt(t["measured"], "+.2f" if unit == "us" else ".2f")
        rows.append([t["target"], f"{measured} {unit}", status, t["detail"]])
        if t.get("cause"):
            rows.append(["", "", "", "cause: " + t["cause"]])
    return header, rows


def _targets(targets: Sequence[dict[str, Any]]) -> list[str]:
    header, rows = target_rows(targets)
    return _grid(header, rows, left=frozenset({0, 2, 3}))


_RENDER = {
    "throughput": _throughput,
    "latency": _latency,
    "sessions": _sessions,
    "idle": _idle,
    "concurrent": _concurrent,
}


def render(result: dict[str, Any]) -> str:
    """The whole table for a result document (see ``_cli.run``)."""
    summaries = result["sections"]
    env = result["environment"]
    lines = [
        f"trio_stream_session benchmarks ({result['config']['name']}, "
        f"{result['config']['reps']} reps, heavy {result['config']['heavy_reps']}; "
        f"medians; ratios vs raw in the same rep)",
        f"Python {env['python']}, trio {env['trio']}, {env['cpus']} CPUs, "
        f"load avg at start {_fmt(env.get('loadavg_start'), '')}, "
        f"run took {result['duration_s']:.0f} s",
    ]
    for summary in summaries.values():
        if summary["kind"] == "scale":
            continue
        lines += ["", summary["title"], *_RENDER[summary["kind"]](summary)]
        lines += [f"  note: {note}" for note in summary["notes"]]
    if any(k.startswith("scale_") for k in summaries):
        lines += ["", "Cost vs N (in-memory store keeps every event)", *_scale(summaries)]
    if result.get("peers"):
        lines += _peers(result["peers"])
    lines += ["", "Targets", *_targets(result["targets"])]
    lines += [f"note: {note}" for note in result["notes"]]
    return "\n".join(lines)
