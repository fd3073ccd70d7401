"""Smoke test of ``python -m benchmarks._claude``: it runs and writes the JSON it promises.

No timing is asserted (the machine may be busy); the point is that the benchmark of
ClaudeAdapter against the SDK still runs end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_claude_benchmark_runs(tmp_path: Path) -> None:
    result_file = tmp_path / "claude.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks._claude",
            "--deltas",
            "40",
            "--reps",
            "1",
            "--json",
            str(result_file),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(result_file.read_text(encoding="utf-8"))
    # message_start, content_block_start, 40 deltas, content_block_stop, message_delta, _stop
    assert result["events_per_stream"] == 45
    assert set(result["per_event"]) == {"sdk", "adapter", "run_once"}
    assert all(v["wall_us"] > 0 for v in result["per_event"].values())
    assert result["adapter_over_sdk_wall"] > 0 and result["adapter_over_sdk_cpu"] > 0
    assert "adapter / sdk" in done.stdout
