"""The benchmark results as a page of the docs.

::

    python -m benchmarks --plot docs/_generated/latency.png --docs docs/_generated/benchmarks.rst
    python -m benchmarks._docs_page [RESULT.json]    # the same page from a result file

``docs/explanation/performance.rst`` includes ``docs/_generated/benchmarks.rst``:
the numbers in the docs are a run's own, never pasted by hand. The latency
figure is the run's ``--plot`` file, when it is in ``docs/_generated/``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._table import render

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "docs" / "_generated"


def _literal(text: str) -> list[str]:
    return ["::", "", *(f"    {line}" if line else "" for line in text.splitlines()), ""]


def docs_page(document: dict[str, Any], *, figure: str | None) -> str:
    """reStructuredText for a result *document* (see ``_cli.run``): when and how
    it was measured, the table, and the latency figure (a docs path) if any."""
    env = document["environment"]
    config = document["config"]
    argv = " ".join(document["argv"])
    lines = [
        ".. Written by ``python -m benchmarks._docs_page`` from a result file: do not edit.",
        "",
        f"Measured {document['created']} with ``python -m benchmarks {argv}``".rstrip()
        + f" ({config['name']} sizes, {config['reps']} repetitions): Python {env['python']},"
        f" Trio {env['trio']}, {env['cpus']} CPUs, load average"
        f" {env['loadavg_start'][0]:.2f} at the start; the run took"
        f" {document['duration_s']:.0f} s.",
        "",
        *_literal(render(document)),
    ]
    if figure:
        lines += [
            f".. figure:: {figure}",
            "   :alt: Cumulative distribution of emit-to-receive latency per variant",
            "",
            "   Latency from the adapter's ``emit`` to the consumer's ``receive()``: the",
            "   share of events (y) delivered within a time (x), raw Trio and the library.",
            "",
        ]
    return "\n".join(lines)


def _figure(page: Path, plot: Path | None) -> str | None:
    """*plot* as a path from the docs root (the parent of *page*'s directory)."""
    if plot is None or not plot.exists():
        return None
    try:
        return "/" + plot.resolve().relative_to(page.resolve().parents[1]).as_posix()
    except ValueError:
        return None  # not inside the docs: no figure


def write_docs_page(document: dict[str, Any], path: Path, *, figure: Path | None) -> str:
    """Write the page for *document* to *path*; a one-line note of where it went."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docs_page(document, figure=_figure(path, figure)), encoding="utf-8")
    return f"docs page written to {path}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._docs_page")
    parser.add_argument(
        "results",
        nargs="?",
        type=Path,
        default=ROOT / "benchmarks" / "results" / "latest.json",
        help="a result file of python -m benchmarks (default: the latest)",
    )
    parser.add_argument("--out", type=Path, default=GENERATED / "benchmarks.rst")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text(encoding="utf-8"))
    print(write_docs_page(document, args.out, figure=args.out.parent / "latency.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
