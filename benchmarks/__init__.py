"""Benchmarks of ``trio_stream_session`` against the raw Trio floor.

Run ``python -m benchmarks`` (or ``nox -s bench``) from the repository root;
``--quick`` for a ~20 s run, ``--reps N`` for more repetitions, ``--help`` for
the rest. Every variant runs in the same process, once per repetition, in
rotated order; figures are medians and every ratio is taken against the raw
floor measured in the same repetition (see ``shared/reference/perf_floor.md``).
Results go to ``benchmarks/results/latest.json`` (git-ignored) and a table is
printed.
"""

from ._cli import main as main
from ._config import Config as Config

__all__ = ["Config", "main"]
