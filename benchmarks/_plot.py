"""Optional plot of the latency distributions (needs the ``bench`` extra: matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


def plot_latency(latencies: Mapping[str, Sequence[int]], path: Path) -> str:
    """Write a CDF of each variant's emit -> receive latency to *path*.

    Returns a one-line message: where the plot went, or why there is none.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    if not any(latencies.values()):
        return "plot skipped: no latency samples"
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, values in latencies.items():
        if not values:
            continue
        ordered = sorted(v / 1000 for v in values)
        count = len(ordered)
        style = "--" if label.endswith("back to back") else "-"
        ax.step(
            ordered,
            [(i + 1) / count for i in range(count)],
            where="post",
            linestyle=style,
            label=label,
        )
    ax.set_xscale("log")
    ax.set_xlabel("latency emit -> receive (us, log scale)")
    ax.set_ylabel("fraction of events")
    ax.set_title("trio_stream_session: per-event latency (all reps)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return f"latency plot written to {path}"
