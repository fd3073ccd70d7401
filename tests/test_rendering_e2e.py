"""render_stream fed by a real StreamSession (MockAdapter), into real sinks."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_stream_session import Event, EventType, SessionError, open_stream_session
from trio_stream_session.rendering import (
    CallbackSink,
    CompactRenderer,
    FileSink,
    JSONLSink,
    RenderSummary,
    StudioRenderer,
    TTYSink,
    VerboseRenderer,
    render_stream,
)
from trio_stream_session.testing import MockAdapter

PROMPT = {"prompt": "Say hello"}


async def test_streaming_session_to_every_sink(tmp_path: Path) -> None:
    # Real clock: the file sinks work in threads, which an autojump clock treats as idle.
    seen: list[Event] = []
    tty = io.StringIO()
    log_path, jsonl_path = tmp_path / "run.log", tmp_path / "run.jsonl"
    async with open_stream_session(adapter=MockAdapter(mode="streaming"), input=PROMPT) as stream:
        summary = await render_stream(
            stream,
            renderer=CompactRenderer(color=True),
            sinks=[
                TTYSink(tty),
                FileSink(log_path),
                JSONLSink(jsonl_path),
                CallbackSink(lambda e, t: seen.append(e)),
            ],
        )
        # render_stream consumed the stream but left closing it to its owner.
        assert stream.result is not None
    types = [e.type for e in seen]
    assert types[0] is EventType.RUN_STARTED
    assert types[-1] is EventType.RUN_COMPLETED
    assert summary == RenderSummary(events=len(seen), tools=0, errors=0)

    log = await trio.Path(log_path).read_text(encoding="utf-8")
    assert "\x1b[" in tty.getvalue()
    assert "\x1b[" not in log
    assert log.startswith("r+")
    assert log.endswith(f"{len(seen)} events, 0 tools\n")

    lines = (await trio.Path(jsonl_path).read_text(encoding="utf-8")).splitlines()
    assert [Event.from_dict(json.loads(line)) for line in lines] == seen


async def test_failed_session_renders_its_error_event(
    autojump_clock: trio.testing.MockClock,
) -> None:
    adapter = MockAdapter(mode="failing", fail_with=SessionError("provider_error", "no luck"))
    out = io.StringIO()
    async with open_stream_session(adapter=adapter, input=PROMPT) as stream:
        summary = await render_stream(
            stream, renderer=VerboseRenderer(color=False), sinks=[TTYSink(out)]
        )
    assert summary.errors == 1
    assert "[error] error_code=provider_error error_message=no luck\n" in out.getvalue()


async def test_studio_transcript_of_a_session(autojump_clock: trio.testing.MockClock) -> None:
    out = io.StringIO()
    async with open_stream_session(adapter=MockAdapter(mode="streaming"), input=PROMPT) as stream:
        await render_stream(
            stream, renderer=StudioRenderer(color=False, tty=False), sinks=[TTYSink(out)]
        )
    text = out.getvalue()
    assert "session started" in text
    assert "● Session complete (" in text


async def test_cancelling_render_closes_sinks(tmp_path: Path) -> None:
    # Real clock: the file sink works in threads, which an autojump clock treats as idle.
    path = tmp_path / "run.log"
    sink = FileSink(path)
    received: list[Any] = []
    async with open_stream_session(
        adapter=MockAdapter(mode="streaming", chunk_delay=10.0), input=PROMPT
    ) as stream:
        with trio.move_on_after(0.5) as scope:
            await render_stream(
                stream,
                renderer=CompactRenderer(color=False),
                sinks=[sink, CallbackSink(lambda e, t: received.append(e))],
            )
    assert scope.cancelled_caught
    assert received  # run_started arrived before the deadline
    assert (await trio.Path(path).read_text(encoding="utf-8")).startswith("r+")
    with pytest.raises(trio.ClosedResourceError):
        await sink.write("late")
