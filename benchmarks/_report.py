"""From samples to medians, ratios, targets and the printed table."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ._measure import Sample, latency_summary, median
from ._suite import BASELINE, Section

Metric = Callable[[Sample], float]

# -- metrics --------------------------------------------------------------------------


def ns_per_event(s: Sample) -> float:
    return s.seconds / s.count * 1e9 if s.count else math.nan


def cpu_ns_per_event(s: Sample) -> float:
    return s.cpu_seconds / s.count * 1e9 if s.count else math.nan


def us_per_item(s: Sample) -> float:
    return s.seconds / s.count * 1e6 if s.count else math.nan


def idle_kib_per_session(s: Sample) -> float:
    if s.level_kib is None or s.base_kib is None or not s.count:
        return math.nan
    return (s.level_kib - s.base_kib) / s.count


def peak_delta_kib(s: Sample) -> float:
    if s.peak_kib is None or s.base_kib is None:
        return math.nan
    return float(max(0, s.peak_kib - s.base_kib))


def peak_kib_per_session(s: Sample) -> float:
    sessions = s.extra.get("sessions", s.count)
    return peak_delta_kib(s) / sessions if sessions else math.nan


def _lat(key: str) -> Metric:
    return lambda s: latency_summary(s.latencies_ns or [])[key]


_METRICS: dict[str, dict[str, Metric]] = {
    "throughput": {"ns_per_event": ns_per_event, "cpu_ns_per_event": cpu_ns_per_event},
    "scale": {
        "ns_per_event": ns_per_event,
        "cpu_ns_per_event": cpu_ns_per_event,
        "peak_delta_kib": peak_delta_kib,
    },
    "latency": {
        "p50_us": _lat("p50_us"),
        "p99_us": _lat("p99_us"),
        "max_us": _lat("max_us"),
        "ns_per_event": ns_per_event,
    },
    "sessions": {"us_per_session": us_per_item, "cpu_ns_per_event": cpu_ns_per_event},
    "idle": {
        "kib_per_session": idle_kib_per_session,
        "peak_kib_per_session": peak_kib_per_session,
    },
    "concurrent": {
        "seconds": lambda s: s.seconds,
        "us_per_event": us_per_item,
        "peak_delta_kib": peak_delta_kib,
        "kib_per_session": peak_kib_per_session,
    },
}


# -- summaries ------------------------------------------------------------------------


def _values(samples: Sequence[Sample | None], metric: Metric) -> list[float]:
    return [metric(s) if s is not None else math.nan for s in samples]


def _paired(
    section: Section, key: str, metric: Metric, combine: Callable[[float, float], float]
) -> list[float]:
    """combine(variant, baseline) per rep, from the same rep's runs."""
    mine = _values(section.samples[key], metric)
    base = _values(section.samples[BASELINE], metric)
    return [
        combine(a, b) if b and not math.isnan(b) else math.nan
        for a, b in zip(mine, base, strict=True)
    ]


def _ratio(a: float, b: float) -> float:
    return a / b


def _diff(a: float, b: float) -> float:
    return a - b


def summarize(section: Section, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Medians over reps of each metric, and of each per-rep ratio to raw."""
    metrics = _METRICS[section.kind]
    variants: dict[str, Any] = {}
    for variant in section.variants:
        samples = section.samples[variant.key]
        entry: dict[str, Any] = {
            "label": variant.label,
            "size": variant.size,
            "runs": sum(s is not None for s in samples),
            "per_rep": {name: _values(samples, m) for name, m in metrics.items()},
        }
        entry["median"] = {name: median(v) for name, v in entry["per_rep"].items()}
        entry["ratio"] = {
            name: median(_paired(section, variant.key, m, _ratio)) for name, m in metrics.items()
        }
        if section.kind == "latency":
            entry["p50_minus_raw_us"] = median(
                _paired(section, variant.key, metrics["p50_us"], _diff)
            )
        if section.kind == "throughput":
            rate = entry["median"]["ns_per_event"]
            entry["events_per_s"] = 1e9 / rate if rate and not math.isnan(rate) else math.nan
        variants[variant.key] = entry
    summary = {
        "title": section.title,
        "kind": section.kind,
        "reps": section.reps,
        "params": section.params,
        "notes": section.notes,
        "variants": variants,
    }
    if extra:
        summary.update(extra)
    return summary


# -- targets --------------------------------------------------------------------------


def _get(summaries: dict[str, Any], section: str, key: str, *path: str) -> float:
    node: Any = summaries.get(section, {}).get("variants", {}).get(key)
    for part in path:
        if not isinstance(node, dict):
            return math.nan
        node = node.get(part)
    return float(node) if isinstance(node, int | float) else math.nan


def _target(
    name: str, goal: str, measured: float, limit: float, unit: str, detail: str
) -> dict[str, Any]:
    met = None if math.isnan(measured) else measured <= limit
    if met is None:
        detail = "not measured in this run"
    return {
        "name": name,
        "target": goal,
        "measured": measured,
        "limit": limit,
        "unit": unit,
        "met": met,
        "detail": detail,
    }


def _latency_targets(
    summaries: dict[str, Any], section: str, suffix: str, how: str
) -> list[dict[str, Any]]:
    def us(key: str, metric: str) -> str:
        return f"{_get(summaries, section, key, 'median', metric):.1f}"

    return [
        _target(
            "latency_p50" + suffix,
            f"p50 <= raw + 1 us ({how})",
            _get(summaries, section, "lib", "p50_minus_raw_us"),
            1.0,
            "us",
            f"p50 {us('lib', 'p50_us')} vs {us('raw', 'p50_us')} us",
        ),
        _target(
            "latency_p99" + suffix,
            f"p99 <= 2x raw ({how})",
            _get(summaries, section, "lib", "ratio", "p99_us"),
            2.0,
            "x",
            f"p99 {us('lib', 'p99_us')} vs {us('raw', 'p99_us')} us",
        ),
    ]


# name, throughput variant, goal, limit: per event against raw in the same rep
_VARIANT_TARGETS = (
    ("sqlite_per_event", "lib_sqlite", "(d) SQLite per event <= 5x raw", 5.0),
    ("jsonl_per_event", "lib_jsonl", "(c) JSONLSink per event <= 3x raw", 3.0),
    ("mock_streaming_per_event", "lib_mock", "(e) MockAdapter streaming <= 1.4x raw", 1.4),
)


def _variant_target(
    summaries: dict[str, Any], name: str, key: str, goal: str, limit: float
) -> dict[str, Any]:
    mine = _get(summaries, "throughput", key, "median", "ns_per_event")
    raw = _get(summaries, "throughput", "raw", "median", "ns_per_event")
    return _target(
        name,
        goal,
        _get(summaries, "throughput", key, "ratio", "ns_per_event"),
        limit,
        "x",
        f"{mine / 1000:.1f} vs {raw / 1000:.1f} us/event",
    )


def targets(summaries: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each a ratio (or difference) to raw from the same run."""
    per_event = _get(summaries, "throughput", "lib", "ratio", "ns_per_event")
    raw_ns = _get(summaries, "throughput", "raw", "median", "ns_per_event")
    lib_ns = _get(summaries, "throughput", "lib", "median", "ns_per_event")
    session = _get(summaries, "sessions", "lib", "ratio", "us_per_session")
    idle_lib = _get(summaries, "idle", "lib", "median", "kib_per_session")
    stored = summaries.get("idle", {}).get("stored_events", {}).get("kib", math.nan)
    scale_keys = sorted(
        (k for k in summaries if k.startswith("scale_")), key=lambda k: int(k.split("_")[1])
    )
    flat = math.nan
    flat_detail = "needs two scale sizes"
    if len(scale_keys) >= 2:
        small, large = scale_keys[0], scale_keys[-1]
        r_small = _get(summaries, small, "lib", "ratio", "ns_per_event")
        r_large = _get(summaries, large, "lib", "ratio", "ns_per_event")
        flat = r_large / r_small
        ns = ", ".join(
            f"{k.split('_')[1]}: {_get(summaries, k, 'lib', 'median', 'ns_per_event'):.0f}"
            for k in scale_keys
        )
        flat_detail = f"lib x raw {r_small:.2f} -> {r_large:.2f}; lib ns/event {ns}"
    return [
        _target(
            "per_event",
            "(b)/(a) per event <= 1.3x",
            per_event,
            1.3,
            "x",
            f"{lib_ns:.0f} vs {raw_ns:.0f} ns/event (+{lib_ns - raw_ns:.0f} ns)",
        ),
        *_latency_targets(summaries, "latency_paced", "", "paced"),
        *_latency_targets(summaries, "latency", "_back_to_back", "back to back"),
        *[_variant_target(summaries, *spec) for spec in _VARIANT_TARGETS],
        _target(
            "session_open_close",
            "open+close <= 3x raw",
            session,
            3.0,
            "x",
            f"{_get(summaries, 'sessions', 'lib', 'median', 'us_per_session'):.0f} vs "
            f"{_get(summaries, 'sessions', 'raw', 'median', 'us_per_session'):.0f} us/session",
        ),
        _target(
            "idle_memory",
            "<= 20 KiB/idle session + stored events",
            idle_lib - stored,
            20.0,
            "KiB",
            f"{idle_lib:.1f} KiB/session RSS, of which stored events ~{stored:.1f} KiB; "
            f"raw {_get(summaries, 'idle', 'raw', 'median', 'kib_per_session'):.1f} KiB",
        ),
        _target(
            "flat",
            "x raw at largest N <= 1.25 * at smallest N",
            flat,
            1.25,
            "x",
            flat_detail,
        ),
    ]
