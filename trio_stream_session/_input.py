"""Run input: validation and the ``message_sent`` messages it implies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["check_input", "input_messages"]


_FORMS = (
    "input must be a non-empty prompt string, {'prompt': '...'} or "
    "{'messages': [{'role': 'user', 'content': '...'}, ...]}"
)
_ROLES = frozenset({"user", "assistant", "system"})


def _invalid(problem: str) -> ValueError:
    return ValueError(f"{_FORMS}; {problem}")


def _check_message(index: int, message: object) -> bool:
    """Check one entry of ``messages``; True if it is a user or assistant turn."""
    where = f"messages[{index}]"
    if not isinstance(message, Mapping):
        raise _invalid(f"{where} is a {type(message).__name__}, not a mapping")
    role = message.get("role", "user")
    if not isinstance(role, str) or role.strip().lower() not in _ROLES:
        raise _invalid(f"{where}['role'] must be 'user', 'assistant' or 'system', got {role!r}")
    content = message.get("content")
    if isinstance(content, str):
        if not content.strip():
            raise _invalid(f"{where}['content'] is empty")
    elif isinstance(content, list | tuple):
        if not content or not all(isinstance(block, Mapping) for block in content):
            raise _invalid(f"{where}['content'] must be a non-empty list of content blocks")
    else:
        raise _invalid(
            f"{where}['content'] must be a string or a list of content blocks, "
            f"got {type(content).__name__}"
        )
    return role.strip().lower() != "system"


def check_input(value: object) -> Mapping[str, Any]:
    """Return the run input as a mapping, or raise naming the accepted forms.

    A plain string is shorthand for ``{"prompt": value}``. The same rules hold
    for every adapter (so a test against ``MockAdapter`` catches what a real
    provider would refuse): a prompt is a non-empty string; ``messages`` is a
    non-empty list of ``{"role", "content"}`` mappings (roles ``user``,
    ``assistant``, ``system``; content a non-empty string or a non-empty list
    of content blocks) with at least one user or assistant turn. A wrong type
    raises ``TypeError``, a wrong value ``ValueError``.
    """
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, Mapping):
        raise TypeError(
            "input must be a mapping such as {'messages': [{'role': 'user', 'content': '...'}]} "
            f"or {{'prompt': '...'}} (or a prompt string), got {type(value).__name__}"
        )
    if "messages" in value:
        messages = value["messages"]
        if not isinstance(messages, list | tuple):
            raise _invalid(f"'messages' is a {type(messages).__name__}, not a list")
        turns = [_check_message(i, m) for i, m in enumerate(messages)]
        if not any(turns):
            raise _invalid("'messages' has no user or assistant turn")
    elif "prompt" in value:
        prompt = value["prompt"]
        if not isinstance(prompt, str):
            raise _invalid(f"'prompt' is a {type(prompt).__name__}, not a string")
        if not prompt.strip():
            raise _invalid("the prompt is empty")
    else:
        raise _invalid(f"got a mapping with neither: {sorted(map(str, value))}")
    return value


def _role(value: object) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip().lower()
    return "user"


def _content(value: object) -> str | list[Any]:
    """A message's content: text, or its content blocks as a JSON-safe list."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [dict(block) if isinstance(block, Mapping) else block for block in value]
    return repr(value)


def input_messages(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``{"role", "content"}`` messages of a run input, as the reference
    normalises them: roles lower-cased (``user`` when missing), content blocks
    kept as a list, empty messages and non-mapping entries dropped.

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
