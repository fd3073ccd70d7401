"""Sinks: the reference's TTY/File/JSONL/Callback sink tests, ported (spec §12.8-12.11)."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_stream_session import Event, EventType
from trio_stream_session.rendering import (
    CallbackSink,
    CompactRenderer,
    FileSink,
    JSONLSink,
    TTYSink,
    render_stream,
)

GOLDEN = json.loads(
    (Path(__file__).parent / "rendering" / "golden_renderers.json").read_text(encoding="utf-8")
)
SIMPLE: list[dict[str, Any]] = GOLDEN["event_sets"]["simple"]
TOOL: list[dict[str, Any]] = GOLDEN["event_sets"]["tool"]


def ev(type_: str, **data: Any) -> dict[str, Any]:
    return {"type": type_, "data": data, "session_id": "ses_test_123", "run_id": "run_test_456"}


async def read(path: Path) -> str:
    return await trio.Path(path).read_text(encoding="utf-8")


# TTYSink (§12.8)


async def test_tty_default_stream() -> None:
    assert TTYSink().stream is sys.stdout


async def test_tty_custom_stream() -> None:
    buf = io.StringIO()
    assert TTYSink(buf).stream is buf


async def test_tty_write_verbatim() -> None:
    buf = io.StringIO()
    async with TTYSink(buf) as sink:
        await sink.write("Hello world\n")
    assert buf.getvalue() == "Hello world\n"


async def test_tty_writes_concatenate() -> None:
    buf = io.StringIO()
    async with TTYSink(buf) as sink:
        await sink.write("\x1b[0;34mHello\x1b[0m")
        await sink.write(" world")
    assert buf.getvalue() == "\x1b[0;34mHello\x1b[0m world"


async def test_tty_write_event_writes_text() -> None:
    buf = io.StringIO()
    async with TTYSink(buf) as sink:
        await sink.write_event(ev("run_started"), "r+ sonnet")
    assert buf.getvalue() == "r+ sonnet"


async def test_tty_flush() -> None:
    buf = io.StringIO()
    async with TTYSink(buf) as sink:
        await sink.flush()


async def test_tty_close_leaves_stream_open() -> None:
    buf = io.StringIO()
    sink = TTYSink(buf)
    await sink.aclose()
    await sink.aclose()
    assert not buf.closed
    with pytest.raises(trio.ClosedResourceError):
        await sink.write("x")


# FileSink (§12.9)


async def test_file_open_creates_file(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        assert await trio.Path(path).exists()
        assert sink.owns_file


async def test_file_requires_path_or_file() -> None:
    with pytest.raises(TypeError):
        FileSink()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="path or an open text file"):
        FileSink(42)  # type: ignore[arg-type]


async def test_file_borrowed_io_is_not_owned() -> None:
    sink = FileSink(io.StringIO())
    assert not sink.owns_file
    await sink.aclose()


async def test_file_strips_sgr(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        await sink.write("\x1b[0;34mHello\x1b[0m world\n")
    assert await read(path) == "Hello world\n"


async def test_file_fragments_concatenate(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        for fragment in ("r+", " >> Hello", " world", "\n"):
            await sink.write(fragment)
    assert await read(path) == "r+ >> Hello world\n"


async def test_file_strips_cursor_control(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        await sink.write("line one\r\x1b[2Kline two\r\n")
    content = await trio.Path(path).read_bytes()
    assert content == b"line oneline two\r\n"  # a CRLF's \r is kept, a lone \r is not


async def test_file_write_event_strips(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        await sink.write_event(ev("run_failed"), "\x1b[0;31mERROR\x1b[0m\n")
    assert await read(path) == "ERROR\n"


async def test_file_flush_makes_content_readable(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        await sink.write("flushed\n")
        await sink.flush()
        assert await read(path) == "flushed\n"


async def test_file_close_owned(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "out.log")
    await sink.open()
    await sink.aclose()
    await sink.aclose()
    await sink.flush()  # a no-op once closed
    with pytest.raises(trio.ClosedResourceError):
        await sink.write("late")


async def test_file_borrowed_stays_writable(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with await trio.open_file(path, "w", encoding="utf-8") as f:
        async with FileSink(f) as sink:
            await sink.write("body\n")
        await f.write("after\n")
    assert await read(path) == "body\nafter\n"


async def test_file_borrowed_sync_io_strips_ansi() -> None:
    buf = io.StringIO()
    async with FileSink(buf) as sink:
        await sink.write("\x1b[2mdim\x1b[0m\n")
    assert buf.getvalue() == "dim\n"
    assert not buf.closed


async def test_file_header_preserved(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    with path.open("w", encoding="utf-8") as f:
        f.write("HEADER\n")
        async with FileSink(f) as sink:
            await sink.write("body\n")
    assert path.read_text(encoding="utf-8") == "HEADER\nbody\n"


async def test_file_writes_real_utf8(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(trio.Path(path)) as sink:
        await sink.write("héllo ✓\n")
    assert await trio.Path(path).read_bytes() == "héllo ✓\n".encode()


async def test_file_open_failure_raises_oserror(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "missing" / "x.log")
    with pytest.raises(FileNotFoundError):
        await sink.open()
    await sink.aclose()


# JSONLSink (§12.10)


async def test_jsonl_open_creates_file(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        assert await trio.Path(path).exists()
        assert sink.mode == "full"


async def test_jsonl_requires_target() -> None:
    with pytest.raises(TypeError):
        JSONLSink()  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="mode"):
        JSONLSink(io.StringIO(), mode="tiny")  # type: ignore[arg-type]


async def test_jsonl_compact_mode_stored(tmp_path: Path) -> None:
    assert JSONLSink(tmp_path / "e.jsonl", mode="compact").mode == "compact"


async def test_jsonl_write_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        await sink.write("finish text\n")
    assert await read(path) == ""


async def test_jsonl_full_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        await sink.write_event(SIMPLE[0], "ignored")
    lines = (await read(path)).splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["type"] == "run_started"
    assert isinstance(entry["ts"], str)


async def test_jsonl_three_events(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        for event in SIMPLE[:3]:
            await sink.write_event(event, "")
    types = [json.loads(line)["type"] for line in (await read(path)).splitlines()]
    assert types == ["run_started", "message_streamed", "message_streamed"]


async def test_jsonl_compact_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path, mode="compact") as sink:
        await sink.write_event(SIMPLE[0], "")
    entry = json.loads(await read(path))
    assert isinstance(entry["t"], int)
    assert isinstance(entry["e"], dict)
    assert entry["e"]["t"] == "rs"


async def test_jsonl_compact_tool_events(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path, mode="compact") as sink:
        await sink.write_event(TOOL[2], "")
        await sink.write_event(TOOL[3], "")
    started, completed = (json.loads(line)["e"] for line in (await read(path)).splitlines())
    assert (started["t"], started["n"]) == ("ts", "Read")
    assert completed["t"] == "tc"


async def test_jsonl_flush(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        await sink.write_event(SIMPLE[0], "")
        await sink.flush()
        assert "run_started" in await read(path)


async def test_jsonl_close(tmp_path: Path) -> None:
    sink = JSONLSink(tmp_path / "e.jsonl")
    await sink.open()
    await sink.aclose()
    await sink.aclose()


async def test_jsonl_full_round_trips_events(tmp_path: Path) -> None:
    events = [
        Event(type=EventType.RUN_STARTED, session_id="ses_1", run_id="run_1", data={"model": "m"}),
        Event(
            type=EventType.TOOL_CALL_COMPLETED,
            session_id="ses_1",
            run_id="run_1",
            sequence_number=2,
            provider="mock",
            data={"tool_name": "Read", "tool_output": {"output": "é ✓", "exit_code": 0}},
            metadata={"k": [1, 2]},
        ),
    ]
    path = tmp_path / "e.jsonl"
    async with JSONLSink(path) as sink:
        for event in events:
            await sink.write_event(event, "")
    lines = (await read(path)).splitlines()
    assert [Event.from_dict(json.loads(line)) for line in lines] == events
    first = json.loads(lines[0])
    assert first["ts"].endswith("Z")
    assert {"ts", "type", "data", "session_id", "run_id"} <= first.keys()
    assert lines[0] == json.dumps(first, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# CallbackSink (§12.11)


async def test_callback_init() -> None:
    sink = CallbackSink(lambda event, text: None)
    assert callable(sink.fn)


async def test_callback_requires_callable() -> None:
    with pytest.raises(TypeError):
        CallbackSink()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="callable"):
        CallbackSink("not a function")  # type: ignore[arg-type]


async def test_callback_write_does_not_call() -> None:
    seen: list[Any] = []
    async with CallbackSink(lambda event, text: seen.append(text)) as sink:
        await sink.write("finish")
    assert seen == []


async def test_callback_write_event_calls() -> None:
    seen: list[tuple[Any, str]] = []
    event = ev("run_started")
    async with CallbackSink(lambda e, text: seen.append((e, text))) as sink:
        await sink.write_event(event, "rendered text")
    assert seen == [(event, "rendered text")]


async def test_callback_once_per_event() -> None:
    seen: list[str] = []
    async with CallbackSink(lambda e, text: seen.append(e["type"])) as sink:
        for event in SIMPLE:
            await sink.write_event(event, "")
    assert seen == [e["type"] for e in SIMPLE]


async def test_callback_flush_and_close() -> None:
    sink = CallbackSink(lambda e, t: None)
    await sink.flush()
    await sink.aclose()
    await sink.aclose()


async def test_callback_async_function() -> None:
    seen: list[str] = []

    async def record(event: Any, text: str) -> None:
        await trio.lowlevel.checkpoint()
        seen.append(text)

    async with CallbackSink(record) as sink:
        await sink.write_event(ev("run_started"), "a")
        await sink.write_event(ev("run_completed"), "b")
    assert seen == ["a", "b"]


async def test_sink_reprs_name_their_target(tmp_path: Path) -> None:
    assert repr(FileSink("x.log")) == "FileSink('x.log')"
    assert repr(JSONLSink("e.jsonl", mode="compact")) == "JSONLSink('e.jsonl', mode='compact')"
    assert repr(CallbackSink(print)) == "CallbackSink(print)"
    assert repr(TTYSink(io.StringIO())) == "TTYSink(stream='StringIO')"


async def test_owned_file_gets_lines_in_batches_and_all_of_them(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    sink = JSONLSink(path, mode="compact")
    await sink.open()
    assert sink._file is not None
    writes: list[bytes] = []
    original = sink._file.write

    async def counting_write(text: bytes) -> Any:
        writes.append(text)
        return await original(text)

    sink._file.write = counting_write  # type: ignore[method-assign]
    for index in range(2000):
        await sink.write_event(ev("message_streamed", content=f"chunk {index}"), "")
    await sink.aclose()
    lines = (await read(path)).splitlines()
    assert len(lines) == 2000
    assert [json.loads(line)["e"]["l"] for line in lines] == [
        len(f"chunk {i}") for i in range(2000)
    ]
    # One worker-thread hop per ~8 KiB instead of one per line.
    assert len(writes) < 2000 / 50
    assert all(len(text) < 8192 + 200 for text in writes)


async def test_a_cancelled_render_still_writes_buffered_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    sink = JSONLSink(path)
    with trio.CancelScope() as scope:
        async with sink:
            await sink.write_event(SIMPLE[0], "")
            scope.cancel()
            await trio.sleep_forever()
    assert "run_started" in await read(path)


async def test_borrowed_file_gets_each_line_at_once() -> None:
    buffer = io.StringIO()
    sink = JSONLSink(buffer)
    await sink.write_event(SIMPLE[0], "")
    assert "run_started" in buffer.getvalue()
    await sink.aclose()


# Text UTF-8 cannot encode: lone surrogates (issue 16 #5)

ROOT = Path(__file__).resolve().parent.parent
HIGH = "\ud83d"  # what json.loads makes of a JSON "\ud83d" escape
FS_NAME = os.fsdecode(b"caf\xe9.txt")  # "caf\udce9.txt": a Latin-1 file name


def surrogate_events() -> list[Event]:
    """Events before, with and after lone surrogates (in a value, a key, tool output)."""
    before = [
        Event(type=EventType.MESSAGE_STREAMED, session_id="ses_1", data={"delta": f"chunk {i}"})
        for i in range(3)
    ]
    tool = Event(
        type=EventType.TOOL_CALL_COMPLETED,
        session_id="ses_1",
        data={"tool_name": "Read", "tool_output": f"smile {HIGH} in {FS_NAME}", f"k{HIGH}": 1},
    )
    after = Event(type=EventType.MESSAGE_STREAMED, session_id="ses_1", data={"delta": "after"})
    return [*before, tool, after]


@pytest.mark.parametrize("borrowed", [False, True], ids=["path", "borrowed"])
async def test_jsonl_writes_lone_surrogates_as_json_escapes_that_read_back(
    tmp_path: Path, borrowed: bool
) -> None:
    path = tmp_path / "e.jsonl"
    events = surrogate_events()
    async with await trio.open_file(path, "w", encoding="utf-8") as borrowed_file:  # strict
        sink = JSONLSink(borrowed_file if borrowed else path)
        await render_stream(events, renderer=CompactRenderer(color=False), sinks=[sink])
    raw = path.read_bytes()
    assert b"smile \\ud83d in caf\\udce9.txt" in raw
    lines = raw.decode("utf-8").splitlines()  # valid UTF-8
    assert [Event.from_dict(json.loads(line)) for line in lines] == events


async def test_file_sink_writes_lone_surrogates_backslash_escaped(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    async with FileSink(path) as sink:
        await sink.write("before\n")
        await sink.write(f"\x1b[1mopened {FS_NAME}\x1b[0m {HIGH}\n")
        await sink.write("after\n")
    assert path.read_text(encoding="utf-8") == "before\nopened caf\\udce9.txt \\ud83d\nafter\n"


async def test_a_failing_stream_leaves_every_delivered_event_in_the_files(tmp_path: Path) -> None:
    """The stream breaks after an event with a lone surrogate, within the first
    batch: both files hold everything delivered up to the failure."""
    events = surrogate_events()

    async def breaking() -> AsyncIterator[Event]:
        for event in events:
            yield event
        raise LookupError("the stream broke")

    jsonl, log = tmp_path / "e.jsonl", tmp_path / "e.log"
    with pytest.raises(LookupError, match="the stream broke") as info:
        await render_stream(
            breaking(),
            renderer=CompactRenderer(color=False),
            sinks=[JSONLSink(jsonl), FileSink(log)],
        )
    assert not getattr(info.value, "__notes__", None)  # no sink failed during cleanup
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    assert [Event.from_dict(json.loads(line)) for line in lines] == events
    text = log.read_text(encoding="utf-8")
    assert "tr:smile \\ud83d in caf\\udce9.txt" in text
    assert text.startswith(">> chunk 0") and text.endswith(">> after")


_FILE_SIZE_LIMITED = """
import json, resource, sys, trio
from trio_stream_session import Event, EventType
from trio_stream_session.rendering import CompactRenderer, JSONLSink, RenderingError, render_stream

path, limit = sys.argv[1], int(sys.argv[2])
events = [
    Event(type=EventType.MESSAGE_STREAMED, session_id="s", data={"delta": f"{i} " + "x" * 100})
    for i in range(400)
]
expected = "".join(JSONLSink(path).line(event) + "\\n" for event in events)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    trio.run(lambda: render_stream(events, renderer=CompactRenderer(), sinks=[JSONLSink(path)]))
except RenderingError as exc:
    print(json.dumps({"error": str(exc), "operation": exc.operation, "expected": expected}))
"""


async def test_a_file_failing_mid_batch_keeps_everything_before_the_failure(
    tmp_path: Path,
) -> None:
    """A real write failure inside a batch (the file size limit, ``RLIMIT_FSIZE``,
    as on a full disk, in a child process): the file holds every byte the OS
    took, in order, and the error names the sink."""
    path, limit = tmp_path / "limited.jsonl", 50_000  # inside the 7th 8 KiB batch
    done = await trio.run_process(
        [sys.executable, "-c", _FILE_SIZE_LIMITED, str(path), str(limit)],
        capture_stdout=True,
        capture_stderr=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    outcome = json.loads(done.stdout)
    assert outcome["operation"] == "write_event"
    assert "JSONLSink" in outcome["error"] and "File too large" in outcome["error"]
    assert len(outcome["expected"]) > limit
    assert path.read_bytes() == outcome["expected"].encode("utf-8")[:limit]
