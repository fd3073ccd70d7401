"""render_stream: the reference's rendering_test (spec §12.1), call order, failures, cleanup."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_stream_session.rendering import (
    CallbackSink,
    CompactRenderer,
    FileSink,
    PassthroughRenderer,
    RenderingError,
    RenderSummary,
    StudioRenderer,
    TTYSink,
    render_stream,
)

GOLDEN = json.loads(
    (Path(__file__).parent / "rendering" / "golden_renderers.json").read_text(encoding="utf-8")
)
SIMPLE: list[dict[str, Any]] = GOLDEN["event_sets"]["simple"]
TOOL: list[dict[str, Any]] = GOLDEN["event_sets"]["tool"]
CANONICAL = [
    "run_started",
    "message_streamed",
    "tool_call_started",
    "tool_call_completed",
    "token_usage_updated",
    "message_received",
    "run_completed",
    "run_failed",
    "run_cancelled",
    "error_occurred",
]


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_test_123", "run_id": "run_test_456"}


class Recorder:
    """A sink that logs every call into a shared list, optionally failing one operation."""

    def __init__(self, name: str, log: list[Any], *, fail: str | None = None) -> None:
        self.name = name
        self.log = log
        self.fail = fail
        self.closed = False

    def __repr__(self) -> str:
        return f"Recorder({self.name!r})"

    async def _step(self, operation: str, *detail: Any) -> None:
        self.log.append((operation, self.name, *detail))
        await trio.lowlevel.checkpoint()
        if self.fail == operation:
            raise OSError(f"{operation} broke in {self.name}")

    async def open(self) -> None:
        await self._step("open")

    async def write_event(self, event: Any, text: str) -> None:
        await self._step("write_event", event["type"])

    async def write(self, text: str) -> None:
        await self._step("write", text)

    async def flush(self) -> None:
        await self._step("flush")

    async def aclose(self) -> None:
        self.closed = True
        await self._step("aclose")


class RecordingRenderer:
    def __init__(self, log: list[Any], final: str = "FIN", fail_on: str | None = None) -> None:
        self.log = log
        self.final = final
        self.fail_on = fail_on

    def render(self, event: Any) -> str:
        self.log.append(("render", event["type"]))
        if event["type"] == self.fail_on:
            raise ValueError("renderer broke")
        return str(event["type"])

    def finish(self) -> str:
        self.log.append(("finish",))
        return self.final


# The reference's rendering_test (§12.1)


async def test_simple_session_through_callback() -> None:
    seen: list[str] = []
    summary = await render_stream(
        SIMPLE,
        renderer=PassthroughRenderer(),
        sinks=[CallbackSink(lambda e, t: seen.append(e["type"]))],
    )
    assert summary == RenderSummary(events=6, tools=0, errors=0)
    assert {"run_started", "message_streamed", "run_completed"} <= set(seen)


async def test_tool_session_through_callback() -> None:
    seen: list[str] = []
    summary = await render_stream(
        TOOL,
        renderer=PassthroughRenderer(),
        sinks=[CallbackSink(lambda e, t: seen.append(e["type"]))],
    )
    assert {"tool_call_started", "tool_call_completed"} <= set(seen)
    assert summary.tools == 1


async def test_passthrough_forwards_empty_text() -> None:
    texts: list[str] = []
    await render_stream(
        SIMPLE[:1],
        renderer=PassthroughRenderer(),
        sinks=[CallbackSink(lambda e, t: texts.append(t))],
    )
    assert texts == [""]


async def test_two_callback_sinks() -> None:
    a: list[str] = []
    b: list[str] = []
    await render_stream(
        SIMPLE[:1],
        renderer=PassthroughRenderer(),
        sinks=[
            CallbackSink(lambda e, t: a.append(e["type"])),
            CallbackSink(lambda e, t: b.append(e["type"])),
        ],
    )
    assert a == b == ["run_started"]


async def test_empty_stream() -> None:
    assert await render_stream([], renderer=PassthroughRenderer()) == RenderSummary(0, 0, 0)


async def test_callback_sink_without_callback_is_an_error() -> None:
    with pytest.raises(TypeError):
        CallbackSink(None)  # type: ignore[arg-type]


async def test_all_canonical_types_delivered() -> None:
    seen: list[str] = []
    summary = await render_stream(
        [ev(t) for t in CANONICAL],
        renderer=CompactRenderer(),
        sinks=[CallbackSink(lambda e, t: seen.append(e["type"]))],
    )
    assert seen == CANONICAL
    assert summary == RenderSummary(events=10, tools=1, errors=2)


# Call order (spec §2.2 traces)


async def test_call_order() -> None:
    log: list[Any] = []
    sinks = [Recorder("a", log), Recorder("b", log)]
    await render_stream(
        [ev("run_started"), ev("run_completed")], renderer=RecordingRenderer(log), sinks=sinks
    )
    assert log == [
        ("open", "a"),
        ("open", "b"),
        ("render", "run_started"),
        ("write_event", "a", "run_started"),
        ("write_event", "b", "run_started"),
        ("render", "run_completed"),
        ("write_event", "a", "run_completed"),
        ("write_event", "b", "run_completed"),
        ("finish",),
        ("write", "a", "FIN"),
        ("write", "b", "FIN"),
        ("flush", "a"),
        ("flush", "b"),
        ("aclose", "a"),
        ("aclose", "b"),
    ]


async def test_empty_finish_text_is_not_written() -> None:
    log: list[Any] = []
    await render_stream([], renderer=RecordingRenderer(log, final=""), sinks=[Recorder("a", log)])
    assert log == [("open", "a"), ("finish",), ("flush", "a"), ("aclose", "a")]


async def test_no_sinks() -> None:
    log: list[Any] = []
    await render_stream([ev("run_started")], renderer=RecordingRenderer(log))
    assert log == [("render", "run_started"), ("finish",)]


# Failures: RenderingError after every opened sink was flushed and closed


async def test_open_failure_stops_and_closes_opened_sinks() -> None:
    log: list[Any] = []
    a, b, c = Recorder("a", log), Recorder("b", log, fail="open"), Recorder("c", log)
    with pytest.raises(RenderingError) as info:
        await render_stream(SIMPLE, renderer=RecordingRenderer(log), sinks=[a, b, c])
    assert info.value.sink is b
    assert info.value.operation == "open"
    assert isinstance(info.value.__cause__, OSError)
    assert "Recorder('b')" in str(info.value)
    # b's open was attempted, so b is closed too; c was never touched.
    assert log == [
        ("open", "a"),
        ("open", "b"),
        ("flush", "a"),
        ("aclose", "a"),
        ("flush", "b"),
        ("aclose", "b"),
    ]


async def test_write_event_failure_names_sink_and_closes_all() -> None:
    log: list[Any] = []
    a, b = Recorder("a", log), Recorder("b", log, fail="write_event")
    with pytest.raises(RenderingError) as info:
        await render_stream(SIMPLE, renderer=RecordingRenderer(log), sinks=[a, b])
    assert info.value.sink is b
    assert info.value.operation == "write_event"
    assert "write_event broke in b" in str(info.value)
    assert log[-4:] == [("flush", "a"), ("aclose", "a"), ("flush", "b"), ("aclose", "b")]
    assert a.closed and b.closed


async def test_renderer_failure() -> None:
    log: list[Any] = []
    sink = Recorder("a", log)
    renderer = RecordingRenderer(log, fail_on="message_streamed")
    with pytest.raises(RenderingError) as info:
        await render_stream(SIMPLE, renderer=renderer, sinks=[sink])
    assert info.value.sink is None
    assert info.value.operation == "render"
    assert isinstance(info.value.__cause__, ValueError)
    assert sink.closed


async def test_renderer_returning_non_text() -> None:
    class Bad:
        def render(self, event: Any) -> Any:
            return None

        def finish(self) -> str:
            return ""

    with pytest.raises(RenderingError, match="expected str"):
        await render_stream([ev("run_started")], renderer=Bad())


async def test_callback_exception() -> None:
    def boom(event: Any, text: str) -> None:
        raise RuntimeError("cb boom")

    sink = CallbackSink(boom)
    with pytest.raises(RenderingError) as info:
        await render_stream(SIMPLE, renderer=PassthroughRenderer(), sinks=[sink])
    assert info.value.sink is sink
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "cb boom"


async def test_stream_error_propagates_unchanged_after_cleanup(tmp_path: Path) -> None:
    class Broken:
        def __init__(self) -> None:
            self.sent = False

        def __aiter__(self) -> Broken:
            return self

        async def __anext__(self) -> Any:
            await trio.lowlevel.checkpoint()
            if self.sent:
                raise KeyError("stream broke")
            self.sent = True
            return ev("run_started", model="claude-sonnet-4-5")

    path = tmp_path / "out.log"
    with pytest.raises(KeyError, match="stream broke"):
        await render_stream(Broken(), renderer=CompactRenderer(color=True), sinks=[FileSink(path)])
    assert await trio.Path(path).read_text(encoding="utf-8") == "r+ sonnet-4-5"


async def test_close_failure_on_normal_path_closes_the_rest() -> None:
    log: list[Any] = []
    a, b = Recorder("a", log, fail="aclose"), Recorder("b", log)
    with pytest.raises(RenderingError) as info:
        await render_stream([], renderer=RecordingRenderer(log, final=""), sinks=[a, b])
    assert info.value.sink is a
    assert info.value.operation == "aclose"
    assert b.closed


async def test_cleanup_failures_become_notes() -> None:
    log: list[Any] = []
    a = Recorder("a", log, fail="aclose")
    b = Recorder("b", log, fail="write_event")
    with pytest.raises(RenderingError) as info:
        await render_stream(SIMPLE, renderer=RecordingRenderer(log), sinks=[a, b])
    assert info.value.sink is b
    assert any("Recorder('a') failed in aclose" in note for note in info.value.__notes__)


async def test_hung_close_is_bounded(autojump_clock: trio.testing.MockClock) -> None:
    class Hangs(Recorder):
        async def aclose(self) -> None:
            await trio.sleep_forever()

    log: list[Any] = []
    start = trio.current_time()
    with pytest.raises(RenderingError, match=r"gave up after 2\.0s"):
        await render_stream(
            [], renderer=PassthroughRenderer(), sinks=[Hangs("h", log)], close_timeout=2.0
        )
    assert trio.current_time() - start == pytest.approx(2.0)


# Cancellation


async def test_cancellation_flushes_and_closes(tmp_path: Path) -> None:
    send, receive = trio.open_memory_channel[dict[str, Any]](10)
    path = tmp_path / "out.log"
    log: list[Any] = []
    recorder = Recorder("r", log)
    file_sink = FileSink(path)
    async with send:
        await send.send(ev("run_started", model="claude-sonnet-4-5"))
        with trio.CancelScope() as scope:
            # Cancel once the first event has been delivered; render_stream then
            # waits for a second event that never comes, and is cancelled there.
            canceller = CallbackSink(lambda e, t: scope.cancel())
            await render_stream(
                receive,
                renderer=CompactRenderer(color=False),
                sinks=[file_sink, recorder, canceller],
            )
    assert scope.cancelled_caught
    assert recorder.closed
    assert log[-2:] == [("flush", "r"), ("aclose", "r")]
    assert await trio.Path(path).read_text(encoding="utf-8") == "r+ sonnet-4-5"
    with pytest.raises(trio.ClosedResourceError):
        await file_sink.write("late")
    # The input stream belongs to the caller: render_stream did not close it.
    with pytest.raises(trio.EndOfChannel):
        receive.receive_nowait()
    await receive.aclose()


async def test_cancelled_while_opening_still_closes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # The clock jumps while the file is opened in a worker thread, so the
    # deadline passes mid-open; the opened file must still be closed (no
    # ResourceWarning, which pytest turns into an error).
    sink = FileSink(tmp_path / "out.log")
    with trio.move_on_after(0.001):
        await render_stream(SleepingStream(), renderer=PassthroughRenderer(), sinks=[sink])
    with pytest.raises(trio.ClosedResourceError):
        await sink.open()


class SleepingStream:
    def __aiter__(self) -> SleepingStream:
        return self

    async def __anext__(self) -> Any:
        await trio.sleep_forever()


# Sinks fed by renderers


async def test_tty_sink_gets_colour_file_sink_gets_plain(tmp_path: Path) -> None:
    buf = io.StringIO()
    path = tmp_path / "out.log"
    await render_stream(
        SIMPLE, renderer=CompactRenderer(color=True), sinks=[TTYSink(buf), FileSink(path)]
    )
    assert buf.getvalue().startswith("\x1b[0;34mr+\x1b[0m \x1b[0;35msonnet-4-5\x1b[0m")
    assert await trio.Path(path).read_text(encoding="utf-8") == (
        "r+ sonnet-4-5 >> Hello world\nmsg Hello world tk:100/20 r-:end\n6 events, 0 tools\n"
    )


async def test_studio_tty_stream_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    events = [
        ev("tool_call_started", tool_name="bash", tool_input={"command": "ls"}),
        ev("tool_call_completed", tool_name="bash", tool_output="a\nb", exit_code=0),
    ]
    await render_stream(
        events, renderer=StudioRenderer(color=True, tty=True), sinks=[FileSink(path)]
    )
    text = await trio.Path(path).read_text(encoding="utf-8")
    assert text == "  ◐ Running: ls  ✓ Ran: ls (exit 0, 3 chars)\n"


async def test_render_stream_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="renderer needs"):
        await render_stream([], renderer=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a sink needs"):
        await render_stream([], renderer=PassthroughRenderer(), sinks=[print])  # type: ignore[list-item]


async def test_render_stream_rejects_non_iterables() -> None:
    with pytest.raises(TypeError, match="iterable"):
        await render_stream(42, renderer=PassthroughRenderer())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="close_timeout"):
        await render_stream([], renderer=PassthroughRenderer(), close_timeout=-1)


def test_summary_is_frozen() -> None:
    summary = RenderSummary(events=1)
    with pytest.raises(AttributeError):
        summary.events = 2  # type: ignore[misc]
