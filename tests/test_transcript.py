"""build_transcript: stored events collapsed into conversation messages (reference
transcript_builder_test)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trio_stream_session import Event, EventType, Transcript, TranscriptMessage
from trio_stream_session._transcript import build_transcript

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_events(*specs: tuple[EventType, dict[str, Any]], run_id: str = "run_1") -> list[Event]:
    return [
        Event(
            id=f"evt_{i:03d}",
            type=type_,
            session_id="ses_1",
            run_id=run_id,
            sequence_number=i,
            timestamp=T0 + timedelta(seconds=i),
            data=data,
        )
        for i, (type_, data) in enumerate(specs, start=1)
    ]


def roles_and_content(transcript: Transcript) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in transcript.messages]


def test_empty() -> None:
    transcript = build_transcript("ses_1", [])
    assert transcript == Transcript(session_id="ses_1", messages=(), last_sequence=None)


def test_user_and_assistant_messages() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "hello", "role": "user"}),
        (EventType.MESSAGE_RECEIVED, {"content": "hi there", "role": "assistant"}),
        (EventType.MESSAGE_SENT, {"content": "sys", "role": "system"}),
        (EventType.MESSAGE_SENT, {"content": "no role"}),
        (EventType.MESSAGE_RECEIVED, {"content": "no role either"}),
    )
    transcript = build_transcript("ses_1", events)
    assert roles_and_content(transcript) == [
        ("user", "hello"),
        ("assistant", "hi there"),
        ("system", "sys"),
        ("user", "no role"),
        ("assistant", "no role either"),
    ]
    assert transcript.last_sequence == 5
    assert transcript.session_id == "ses_1"


def test_streamed_chunks_collapse_into_one_assistant_message() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "q"}),
        (EventType.RUN_STARTED, {"model": "m"}),
        (EventType.MESSAGE_STREAMED, {"delta": "Hel", "content": "ignored"}),
        (EventType.MESSAGE_STREAMED, {"content": "lo"}),
        (EventType.MESSAGE_STREAMED, {"delta": "!"}),
        (EventType.RUN_COMPLETED, {"stop_reason": "end_turn"}),
    )
    transcript = build_transcript("ses_1", events)
    assert roles_and_content(transcript) == [("user", "q"), ("assistant", "Hello!")]
    # The collapsed message carries the first chunk's metadata.
    assert transcript.messages[1].metadata["event_id"] == "evt_003"


def test_received_message_replaces_buffered_chunks() -> None:
    events = make_events(
        (EventType.MESSAGE_STREAMED, {"delta": "Mock "}),
        (EventType.MESSAGE_STREAMED, {"delta": "resp"}),
        (EventType.MESSAGE_RECEIVED, {"content": "Mock response", "role": "assistant"}),
    )
    assert roles_and_content(build_transcript("ses_1", events)) == [("assistant", "Mock response")]


def test_empty_received_message_keeps_the_chunks() -> None:
    events = make_events(
        (EventType.MESSAGE_STREAMED, {"delta": "kept"}),
        (EventType.MESSAGE_RECEIVED, {"content": "", "role": "assistant"}),
    )
    assert roles_and_content(build_transcript("ses_1", events)) == [("assistant", "kept")]


def test_chunks_at_the_end_are_flushed() -> None:
    events = make_events((EventType.MESSAGE_STREAMED, {"delta": "tail"}))
    assert roles_and_content(build_transcript("ses_1", events)) == [("assistant", "tail")]


def test_empty_chunks_alone_make_no_message() -> None:
    events = make_events(
        (EventType.MESSAGE_STREAMED, {"delta": ""}),
        (EventType.MESSAGE_STREAMED, {"content": 5}),
        (EventType.RUN_COMPLETED, {}),
    )
    assert build_transcript("ses_1", events).messages == ()


def test_empty_and_non_string_content_is_skipped() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": ""}),
        (EventType.MESSAGE_SENT, {"content": None}),
        (EventType.MESSAGE_SENT, {"content": {"x": 1}}),
        (EventType.MESSAGE_RECEIVED, {}),
    )
    assert build_transcript("ses_1", events).messages == ()


def test_tool_calls_and_results() -> None:
    events = make_events(
        (
            EventType.TOOL_CALL_STARTED,
            {"tool_call_id": "c1", "tool_name": "bash", "tool_input": {"cmd": "ls"}},
        ),
        (
            EventType.TOOL_CALL_COMPLETED,
            {"tool_call_id": "c1", "tool_name": "bash", "tool_output": "a.txt"},
        ),
        (
            EventType.TOOL_CALL_FAILED,
            {"tool_call_id": "c2", "tool_name": "rm", "error_message": "denied"},
        ),
        (EventType.TOOL_CALL_FAILED, {"tool_call_id": "c3", "tool_name": "x", "tool_output": 1}),
    )
    messages = build_transcript("ses_1", events).messages
    assert [dataclasses.replace(m, metadata={}) for m in messages] == [
        TranscriptMessage(
            role="assistant", tool_call_id="c1", tool_name="bash", tool_input={"cmd": "ls"}
        ),
        TranscriptMessage(role="tool", tool_call_id="c1", tool_name="bash", tool_output="a.txt"),
        TranscriptMessage(role="tool", tool_call_id="c2", tool_name="rm", tool_output="denied"),
        TranscriptMessage(role="tool", tool_call_id="c3", tool_name="x", tool_output=1),
    ]
    assert all(m.content == "" for m in messages)


def test_tool_approval_request_pauses() -> None:
    events = make_events(
        (
            EventType.TOOL_APPROVAL_REQUESTED,
            {"tool_call_id": "c9", "tool_name": "deploy", "policy_name": "p"},
        ),
    )
    [message] = build_transcript("ses_1", events).messages
    assert (message.role, message.tool_call_id, message.tool_name, message.tool_output) == (
        "tool",
        "c9",
        "deploy",
        "[Execution paused: awaiting human approval]",
    )


def test_tool_event_flushes_streamed_text_first() -> None:
    events = make_events(
        (EventType.MESSAGE_STREAMED, {"delta": "Let me look."}),
        (EventType.TOOL_CALL_STARTED, {"tool_call_id": "c1", "tool_name": "read"}),
        (EventType.MESSAGE_STREAMED, {"delta": "Done."}),
    )
    messages = build_transcript("ses_1", events).messages
    assert [(m.role, m.content, m.tool_name) for m in messages] == [
        ("assistant", "Let me look.", None),
        ("assistant", "", "read"),
        ("assistant", "Done.", None),
    ]


def test_other_event_types_are_ignored() -> None:
    events = make_events(
        (EventType.SESSION_CREATED, {}),
        (EventType.RUN_STARTED, {"content": "not a message"}),
        (EventType.TOKEN_USAGE_UPDATED, {"input_tokens": 1}),
        (EventType.ERROR_OCCURRED, {"error_message": "x"}),
    )
    transcript = build_transcript("ses_1", events)
    assert transcript.messages == ()
    assert transcript.last_sequence == 4


def test_metadata_carries_event_fields_merged_with_event_metadata() -> None:
    event = Event(
        id="evt_m",
        type=EventType.MESSAGE_SENT,
        session_id="ses_1",
        run_id="run_7",
        sequence_number=3,
        timestamp=T0,
        data={"content": "hi"},
        metadata={"source": "test", "latency_ms": 4},
    )
    [message] = build_transcript("ses_1", [event]).messages
    assert message.metadata == {
        "event_id": "evt_m",
        "run_id": "run_7",
        "timestamp": T0.isoformat(),
        "sequence_number": 3,
        "source": "test",
        "latency_ms": 4,
    }


def test_events_are_sorted_by_sequence_then_timestamp_then_id() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "first"}),
        (EventType.MESSAGE_RECEIVED, {"content": "second"}),
        (EventType.MESSAGE_SENT, {"content": "third"}),
    )
    transcript = build_transcript("ses_1", reversed(events))
    assert [m.content for m in transcript.messages] == ["first", "second", "third"]
    assert transcript.last_sequence == 3

    same_seq = [
        Event(
            id=i,
            type=EventType.MESSAGE_SENT,
            session_id="s",
            timestamp=T0 + timedelta(seconds=ts),
            data={"content": i},
        )
        for i, ts in [("b", 0), ("c", -1), ("a", 0)]
    ]
    assert [m.content for m in build_transcript("s", same_seq).messages] == ["c", "a", "b"]


def test_max_messages_keeps_the_newest() -> None:
    events = make_events(*[(EventType.MESSAGE_SENT, {"content": f"m{i}"}) for i in range(5)])
    assert [m.content for m in build_transcript("s", events, max_messages=2).messages] == [
        "m3",
        "m4",
    ]
    assert build_transcript("s", events, max_messages=0).messages == ()
    assert len(build_transcript("s", events, max_messages=10).messages) == 5
    assert len(build_transcript("s", events, max_messages=-1).messages) == 5


def test_max_chars_keeps_the_newest_that_fit() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "aaaa"}),
        (EventType.MESSAGE_RECEIVED, {"content": "bbb"}),
        (EventType.MESSAGE_SENT, {"content": "cc"}),
    )
    contents = [m.content for m in build_transcript("s", events, max_chars=5).messages]
    assert contents == ["bbb", "cc"]
    assert [m.content for m in build_transcript("s", events, max_chars=4).messages] == ["cc"]
    assert build_transcript("s", events, max_chars=1).messages == ()
    assert len(build_transcript("s", events, max_chars=9).messages) == 3


def test_max_tokens_approx_uses_four_chars_per_token() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "x" * 8}),
        (EventType.MESSAGE_SENT, {"content": "y" * 8}),
    )
    assert [m.content for m in build_transcript("s", events, max_tokens_approx=2).messages] == [
        "y" * 8
    ]
    assert len(build_transcript("s", events, max_tokens_approx=4).messages) == 2
    # max_chars wins over max_tokens_approx.
    assert len(build_transcript("s", events, max_chars=16, max_tokens_approx=1).messages) == 2


def test_limits_combine() -> None:
    events = make_events(*[(EventType.MESSAGE_SENT, {"content": "abc"}) for _ in range(6)])
    transcript = build_transcript("s", events, max_messages=4, max_chars=7)
    assert len(transcript.messages) == 2
    assert transcript.last_sequence == 6


def test_tool_messages_count_zero_chars() -> None:
    events = make_events(
        (EventType.MESSAGE_SENT, {"content": "abcd"}),
        (EventType.TOOL_CALL_STARTED, {"tool_name": "t"}),
    )
    messages = build_transcript("s", events, max_chars=4).messages
    assert [(m.role, m.tool_name) for m in messages] == [("user", None), ("assistant", "t")]


def test_records_are_frozen() -> None:
    message = TranscriptMessage(role="user", content="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.content = "y"  # type: ignore[misc]
    assert message.metadata == {}
    transcript = Transcript(session_id="s")
    assert (transcript.messages, transcript.last_sequence) == ((), None)
