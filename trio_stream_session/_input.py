"""Run input: validation and the ``message_sent`` messages it implies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["check_input", "input_messages"]


def check_input(value: object) -> Mapping[str, Any]:
    """Return the run input as a mapping, or raise ``TypeError`` naming the accepted forms.

    A plain string is shorthand for ``{"prompt": value}``.
    """
    if isinstance(value, str):
        return {"prompt": value}
    if isinstance(value, Mapping):
        return value
    raise TypeError(
        "input must be a mapping such as {'messages': [{'role': 'user', 'content': '...'}]} "
        f"or {{'prompt': '...'}} (or a prompt string), got {type(value).__name__}"
    )


def _role(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return "user"


def _content(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else repr(value)


def input_messages(value: Mapping[str, Any]) -> list[dict[str, str]]:
    """The ``{"role", "content"}`` messages of a run input, as the reference
    normalises them: roles lower-cased (``user`` when missing), non-string
    content ``repr``-ed, empty messages and non-mapping entries dropped.

    >>> input_messages({"messages": [{"role": "USER", "content": "hi"}, "junk"]})
    [{'role': 'user', 'content': 'hi'}]
    >>> input_messages({"prompt": "hello"})
    [{'role': 'user', 'content': 'hello'}]
    """
    messages = value.get("messages")
    if isinstance(messages, list | tuple):
        found = []
        for item in messages:
            if not isinstance(item, Mapping):
                continue
            content = _content(item.get("content"))
            if content:
                found.append({"role": _role(item.get("role")), "content": content})
        return found
    prompt = value.get("prompt")
    if isinstance(prompt, str) and prompt:
        return [{"role": "user", "content": prompt}]
    return []
