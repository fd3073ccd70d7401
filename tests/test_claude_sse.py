"""The Claude stream parser and event accumulator, without any I/O."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session.adapters._claude_events import (
    ServerSentEvent,
    SSEParser,
    StreamDataError,
    decode_payload,
)
from trio_stream_session.adapters._claude_message import MessageAccumulator
from trio_stream_session.testing._fake_anthropic import FakeResponse

WIRE = b"".join(e.encode() for e in FakeResponse.tool_use("f", {"k": "v ✓"}, text="é").events)


def parse(chunks: list[bytes]) -> list[ServerSentEvent]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


@given(st.lists(st.integers(min_value=0, max_value=len(WIRE)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(WIRE)]
    chunks = [WIRE[a:b] for a, b in itertools.pairwise(points)]
    assert parse(chunks) == parse([WIRE])


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_line_endings_comments_and_multiline_data(newline: bytes) -> None:
    raw = newline.join(
        [b": keep-alive comment", b"event: e1", b"data: first", b"data:second", b"id: 7", b"", b""]
    )
    # Cut mid-stream: a "\r" at the cut may be the first half of a "\r\n" pair.
    middle = len(raw) // 2
    events = parse([raw[:middle], raw[middle:]])
    assert events == [ServerSentEvent("e1", "first\nsecond")]
    assert parse([b"event: e\r", b"\ndata: x\r", b"\n\r\n"]) == [ServerSentEvent("e", "x")]


def test_event_without_data_is_not_dispatched_and_unterminated_one_is_dropped() -> None:
    assert parse([b"event: lonely\n\n", b"event: cut\ndata: {}\n"]) == []


def test_invalid_utf8_and_non_object_data_are_parse_errors() -> None:
    with pytest.raises(StreamDataError) as bad_bytes:
        SSEParser().feed(b"data: \xff\xfe\n\n")
    assert bad_bytes.value.kind == "parse_error"
    with pytest.raises(StreamDataError) as not_object:
        decode_payload(ServerSentEvent("message_start", "[1, 2]"))
    assert not_object.value.kind == "parse_error"
    assert not_object.value.details == {"event": "message_start", "data": "[1, 2]"}


def test_accumulator_ignores_everything_after_message_stop() -> None:
    message = MessageAccumulator()
    start = {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {}}}
    assert [e["type"] for e in message.handle(start)] == ["run_started"]
    assert message.handle(start) == []  # a second message_start is not a second run
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "a"},
    }
    block = {"type": "text", "text": ""}
    message.handle({"type": "content_block_start", "index": 0, "content_block": block})
    message.handle(delta)
    message.handle({"type": "content_block_stop", "index": 0})
    message.handle({"type": "message_stop"})
    assert message.handle(delta) == []
    assert message.content == [{"type": "text", "text": "a"}]
    assert message.stop_reason is None
