"""Smoke test of ``python -m benchmarks``: it runs and writes the JSON it promises.

No timing is asserted: the point is that the suite still runs end to end
against the current library (``--tiny`` sizes, about a second of work).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {
    "per_event",
    "latency_p50",
    "latency_p99",
    "latency_p50_back_to_back",
    "latency_p99_back_to_back",
    "session_open_close",
    "sqlite_per_event",
    "jsonl_per_event",
    "mock_streaming_per_event",
    "idle_memory",
    "flat",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("bench")
    result_file = out / "result.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--tiny",
            "--quiet",
            "--no-plot",
            "--no-peers",
            "--json",
            str(result_file),
            "--rst",
            str(out / "benchmarks.rst"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(result_file.read_text(encoding="utf-8")), done.stdout, out


def test_result_document_has_every_section(run: tuple[dict[str, Any], str, Path]) -> None:
    document, _, _ = run
    assert {"config", "environment", "sections", "targets", "notes", "duration_s"} <= set(document)
    assert document["config"]["name"] == "tiny"
    sections = document["sections"]
    for key in ("throughput", "latency_paced", "latency", "sessions", "idle"):
        assert key in sections
    assert any(k.startswith("concurrent_") for k in sections)
    assert len([k for k in sections if k.startswith("scale_")]) >= 2


def test_every_section_compares_the_library_with_raw(run: tuple[dict[str, Any], str, Path]) -> None:
    document, _, _ = run
    for key, section in document["sections"].items():
        variants = section["variants"]
        assert {"raw", "lib"} <= set(variants), key
        assert variants["raw"]["runs"] >= 1 and variants["lib"]["runs"] >= 1, key
        # Raw against itself is exactly 1 in every metric that has a value.
        for metric, ratio in variants["raw"]["ratio"].items():
            assert ratio is None or math.isclose(ratio, 1.0), (key, metric)


def test_measurements_are_plausible(run: tuple[dict[str, Any], str, Path]) -> None:
    document, _, _ = run
    throughput = document["sections"]["throughput"]["variants"]
    # the library streams the adapter's N events plus run_started,
    # message_received and run_completed
    assert throughput["lib"]["size"] == document["config"]["events"]
    assert throughput["lib"]["median"]["ns_per_event"] > 0
    assert throughput["raw"]["events_per_s"] > 0
    for section in ("latency", "latency_paced"):
        latency = document["sections"][section]["variants"]
        for variant in ("raw", "lib"):
            summary = latency[variant]["median"]
            assert 0 < summary["p50_us"] <= summary["p99_us"] <= summary["max_us"]
    idle = document["sections"]["idle"]
    assert idle["stored_events"]["events"] >= 1


def test_targets_are_all_reported(run: tuple[dict[str, Any], str, Path]) -> None:
    """Every target is measured, judged from its own measurement and limit, and
    shown in the table with that verdict (whether it is met is not asserted)."""
    document, stdout, _ = run
    targets = {t["name"]: t for t in document["targets"]}
    assert set(targets) == TARGETS
    table = stdout[stdout.index("Targets") :].splitlines()
    for name, target in targets.items():
        measured, limit = target["measured"], target["limit"]
        assert isinstance(measured, float) and math.isfinite(measured), name
        assert target["met"] is (measured <= limit), name
        if target["unit"] == "x":  # a ratio to raw Trio
            assert measured > 0, name
        status = "met" if target["met"] else "MISSED"
        [row] = [line for line in table if target["target"] in line]
        _, shown_unit, shown_status, *_ = row.split(target["target"], 1)[1].split()
        assert (shown_unit, shown_status) == (target["unit"], status), row


def test_store_targets_have_a_measured_cause_when_missed(
    run: tuple[dict[str, Any], str, Path],
) -> None:
    document, _, _ = run
    for target in document["targets"]:
        if target["name"] in {"sqlite_per_event", "jsonl_per_event", "mock_streaming_per_event"}:
            assert target["met"] or "us" in target["cause"], target
    assert document["peers"] is None  # --no-peers


def test_rst_tables_hold_every_target(run: tuple[dict[str, Any], str, Path]) -> None:
    document, _, out = run
    text = (out / "benchmarks.rst").read_text(encoding="utf-8")
    assert text.count(".. list-table::") >= 3
    for target in document["targets"]:
        assert f"* - {target['target']}" in text


def test_peers_child_measures_the_library() -> None:
    """The peers section's child for this library (no peer needed): positive CPU per
    session and the events a 20-delta reply delivers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._peers", "trio_stream_session", "20", "3", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["system"] == "trio_stream_session"
    assert result["cpu_us_per_session"] > 0
    assert result["events_received"] >= 20
