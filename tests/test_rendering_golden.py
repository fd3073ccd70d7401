"""Golden outputs of the renderers and the JSONL sink.

``rendering/golden_renderers.json`` holds event sets and, per case (renderer,
options, event set), the exact text of every ``render()`` and of ``finish()``.
The cases on the sets ``simple``, ``tool``, ``edge``, ``studio_tools`` and
``studio_edge`` were recorded from the reference renderers and updated where
this library deliberately differs (the file's ``_about`` lists how); the sets
``agent_loop``, ``codex``, ``amp`` and ``claude_code`` are recorded from real
adapter runs (``rendering/scenarios.py``) and, with ``lifecycle``, cover every
event type the library's adapters and core emit. ``rendering/regenerate.py`` rewrites the
fragments after a deliberate change.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rendering.regenerate import fragments, load

from trio_stream_session import EventType
from trio_stream_session.rendering._jsonl import _dumps, compact_entry, full_entry

FIXTURES = Path(__file__).parent / "rendering"
GOLDEN = load()
CASES = {case["name"]: case for case in GOLDEN["cases"]}
#: What Elixir terms look like in text: maps, nil, string-keyed maps, chardata.
ELIXIR = re.compile(r"%\{|\bnil\b|\s=>\s|\x01")


def test_cases_present() -> None:
    assert len(CASES) == 67
    assert all(case["fragments"] for case in CASES.values())


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_fragments(name: str) -> None:
    case = CASES[name]
    assert fragments(GOLDEN, case) == case["fragments"]


def test_goldens_cover_every_event_type() -> None:
    seen = {event["type"] for events in GOLDEN["event_sets"].values() for event in events}
    assert {t.value for t in EventType} <= seen
    kinds = {
        event["data"].get("kind")
        for event in GOLDEN["event_sets"]["agent_loop"]
        if event["type"] == "message_streamed"
    }
    assert {"text", "thinking"} <= kinds


def test_every_new_event_set_is_rendered_by_every_text_renderer() -> None:
    for event_set in ("agent_loop", "codex", "amp", "claude_code", "lifecycle"):
        renderers = {c["renderer"] for c in CASES.values() if c["event_set"] == event_set}
        assert renderers == {"CompactRenderer", "VerboseRenderer", "StudioRenderer"}


def test_goldens_show_no_elixir_syntax() -> None:
    for case in CASES.values():
        for fragment in case["fragments"]:
            assert not ELIXIR.search(fragment), (case["name"], fragment)


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
