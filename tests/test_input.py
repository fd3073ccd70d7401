"""Run input validation and the message_sent messages it implies (reference
InputMessageNormalizer)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from trio_stream_session._input import check_input, input_messages


def test_reference_example() -> None:
    value = {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "USER", "content": "u"},
            {"content": "noRole"},
            {"role": "user", "content": ""},
            {"role": "user", "content": {"x": 1}},
            "notamap",
        ]
    }
    assert input_messages(value) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "u"},
        {"role": "user", "content": "noRole"},
        {"role": "user", "content": "{'x': 1}"},
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("assistant", "assistant"),
        ("Tool", "tool"),
        ("  System ", "system"),
        ("custom", "custom"),
        ("", "user"),
        ("   ", "user"),
        (None, "user"),
        (3, "user"),
    ],
)
def test_roles(role: Any, expected: str) -> None:
    assert input_messages({"messages": [{"role": role, "content": "c"}]}) == [
        {"role": expected, "content": "c"}
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [("text", "text"), (5, "5"), ([1, "a"], [1, "a"]), (True, "True"), (0, "0")],
)
def test_content(content: Any, expected: object) -> None:
    assert input_messages({"messages": [{"content": content}]}) == [
        {"role": "user", "content": expected}
    ]


def test_none_content_is_dropped() -> None:
    assert input_messages({"messages": [{"role": "user", "content": None}, {"role": "user"}]}) == []


def test_messages_tuple_and_mapping_items() -> None:
    messages = ({"content": "a"}, MappingProxyType({"role": "assistant", "content": "b"}))
    assert input_messages({"messages": messages}) == [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]


def test_prompt() -> None:
    assert input_messages({"prompt": "hello"}) == [{"role": "user", "content": "hello"}]
    assert input_messages({"prompt": ""}) == []
    assert input_messages({"prompt": 5}) == []
    assert input_messages({}) == []


def test_messages_list_wins_over_prompt() -> None:
    assert input_messages({"messages": [], "prompt": "ignored"}) == []
    assert input_messages({"messages": [{"content": "m"}], "prompt": "p"}) == [
        {"role": "user", "content": "m"}
    ]


def test_non_list_messages_fall_back_to_prompt() -> None:
    assert input_messages({"messages": "not a list", "prompt": "p"}) == [
        {"role": "user", "content": "p"}
    ]
    assert input_messages({"messages": {"content": "x"}}) == []


def test_input_messages_does_not_modify_its_input() -> None:
    value = {"messages": [{"role": "USER", "content": "hi"}]}
    input_messages(value)
    assert value == {"messages": [{"role": "USER", "content": "hi"}]}


# -- check_input -----------------------------------------------------------------------------


def test_check_input_string_is_a_prompt() -> None:
    assert check_input("hello") == {"prompt": "hello"}


def test_check_input_mapping_is_returned_as_is() -> None:
    value = {"messages": [{"role": "user", "content": "x"}]}
    assert check_input(value) is value

    class Custom(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            return {"prompt": "p"}[key]

        def __iter__(self) -> Iterator[str]:
            return iter(["prompt"])

        def __len__(self) -> int:
            return 1

    custom = Custom()
    assert check_input(custom) is custom


@pytest.mark.parametrize("value", [None, 5, ["hello"], b"hello", ("prompt", "x")])
def test_check_input_rejects_other_types(value: Any) -> None:
    with pytest.raises(TypeError) as info:
        check_input(value)
    message = str(info.value)
    assert "messages" in message
    assert "prompt" in message
    assert type(value).__name__ in message
