"""Golden outputs recorded from the reference renderers and JSONL sink.

Fixtures are copies of ``shared/reference/golden/``. Expected fragments are
used verbatim except where a documented deviation applies; each adaptation is
listed in ``_ADAPTED`` and must change the golden text it names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trio_stream_session.rendering import (
    CompactRenderer,
    PassthroughRenderer,
    StudioRenderer,
    VerboseRenderer,
)
from trio_stream_session.rendering._jsonl import _dumps, compact_entry, full_entry
from trio_stream_session.rendering._pipeline import Renderer

FIXTURES = Path(__file__).parent / "rendering"
GOLDEN = json.loads((FIXTURES / "golden_renderers.json").read_text(encoding="utf-8"))
CASES = {case["name"]: case for case in GOLDEN["cases"]}

# (case-name prefix, fragment index) -> (golden text, our text, why)
_NUMBERS = "numbers in Python's natural formatting"
_ADAPTED: dict[tuple[str, int], tuple[str, str, str]] = {
    ("compact_", 8): ("$2.0", "$2", _NUMBERS),
    ("compact_", 28): ('"string_type"', ":string_type", "every unknown type prints as ?:type"),
    ("verbose_", 7): ("cost=$5.0e-5", "cost=$5e-05", _NUMBERS),
    ("verbose_", 8): ("cost=$2.0", "cost=$2", _NUMBERS),
    ("verbose_", 14): ("output=\x01two", 'output=[1,"two"]', "list tool output as JSON"),
}


def _renderer(case: dict[str, Any]) -> Renderer:
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


def _events(case: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = GOLDEN["event_sets"][case["event_set"]]
    if case["verbose_filter"]:
        # The reference crashes on dict tool output in Verbose; those events were skipped.
        events = [
            e
            for e in events
            if not (
                e["type"] == "tool_call_completed"
                and isinstance(e["data"].get("tool_output"), dict)
            )
        ]
    return events


def _expected(case: dict[str, Any]) -> list[str]:
    fragments = list(case["fragments"])
    if not case["name"].endswith("_edge") or case["renderer"] == "StudioRenderer":
        return fragments
    for (prefix, index), (golden, ours, _why) in _ADAPTED.items():
        if case["name"].startswith(prefix):
            assert golden in fragments[index], (case["name"], index)
            fragments[index] = fragments[index].replace(golden, ours)
    return fragments


def test_all_32_cases_present() -> None:
    assert len(CASES) == 32


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_fragments(name: str) -> None:
    case = CASES[name]
    renderer = _renderer(case)
    got = [renderer.render(event) for event in _events(case)] + [renderer.finish()]
    assert got == _expected(case)


# JSONL goldens: our UTF-8 is compared with the reference's double-encoded bytes repaired.


def _lines(name: str) -> list[str]:
    raw = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [line.encode("latin-1").decode("utf-8") for line in raw]


JSONL_EVENTS = json.loads((FIXTURES / "jsonl_events.json").read_text(encoding="utf-8"))


def test_jsonl_full_golden() -> None:
    expected = _lines("jsonl_full.jsonl")
    assert len(expected) == len(JSONL_EVENTS) == 28
    assert [_dumps(full_entry(event)) for event in JSONL_EVENTS] == expected


def test_jsonl_compact_golden() -> None:
    expected = _lines("jsonl_compact.jsonl")
    got = [
        _dumps(compact_entry(event, now_ms=json.loads(line)["t"]))
        for event, line in zip(JSONL_EVENTS, expected, strict=True)
    ]
    assert got == expected


def test_jsonl_keeps_unicode() -> None:
    event = next(e for e in JSONL_EVENTS if "✓" in json.dumps(e, ensure_ascii=False))
    line = _dumps(full_entry(event))
    assert '"héllo ✓"' in line
    assert json.loads(_dumps(compact_entry(event)))["e"]["l"] == len("héllo ✓".encode())
