"""Rewrite the expected fragments of ``golden_renderers.json`` from the renderers.

Run it after a deliberate change to what a renderer prints, then read the diff
(``git diff tests/rendering/``) line by line: every changed fragment is a
change users will see. The event sets are not touched, except that
``--record`` first re-records ``agent_loop``, ``codex``, ``amp`` and
``claude_code`` from real adapter runs (``scenarios.py``), for when an
adapter's events change. Add a case or
an event set by editing the JSON (a case with ``"fragments": []`` is filled in).

    .venv/bin/python tests/rendering/regenerate.py [--record]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import trio

from trio_stream_session.rendering import (
    CompactRenderer,
    PassthroughRenderer,
    StudioRenderer,
    VerboseRenderer,
)
from trio_stream_session.rendering._pipeline import Renderer

PATH = Path(__file__).with_name("golden_renderers.json")


def load() -> dict[str, Any]:
    golden: dict[str, Any] = json.loads(PATH.read_text(encoding="utf-8"))
    return golden


def renderer_for(case: dict[str, Any]) -> Renderer:
    """A fresh renderer configured as *case* says."""
    options = dict(case["options"])
    kind = case["renderer"]
    if kind == "CompactRenderer":
        return CompactRenderer(**options)
    if kind == "VerboseRenderer":
        return VerboseRenderer(**options)
    if kind == "PassthroughRenderer":
        return PassthroughRenderer()
    options["tty"] = options.pop("is_tty")
    return StudioRenderer(**options)


def fragments(golden: dict[str, Any], case: dict[str, Any]) -> list[str]:
    """What the renderer of *case* returns for each event of its set, then ``finish()``."""
    renderer = renderer_for(case)
    events = golden["event_sets"][case["event_set"]]
    return [renderer.render(event) for event in events] + [renderer.finish()]


def main() -> None:
    golden = load()
    if "--record" in sys.argv[1:]:
        sys.path.insert(0, str(PATH.parents[1]))  # tests/, for fake_cli
        from scenarios import CLI_RUNS, claude_agent_run, cli_agent_run, golden_events

        sets = golden["event_sets"]
        sets["agent_loop"] = golden_events(trio.run(claude_agent_run))
        for name in CLI_RUNS:
            sets[name] = golden_events(trio.run(cli_agent_run, name))
    changed = 0
    for case in golden["cases"]:
        new = fragments(golden, case)
        if new != case["fragments"]:
            changed += 1
            case["fragments"] = new
    PATH.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{changed} of {len(golden['cases'])} cases changed; review: git diff {PATH}")


if __name__ == "__main__":
    main()
