"""JSON for ``jsonb`` and keys for ``text`` columns: what PostgreSQL cannot hold, stored reversibly.

PostgreSQL text (and every string inside ``jsonb``) is UTF-8 without NUL: it
refuses ``\\u0000`` and lone surrogates (what ``json.loads`` makes of a
``"\\ud83d"`` escape, what ``os.fsdecode`` makes of a stray byte). ``jsonb``
also stores numbers as ``numeric``: a float written with an exponent
(``1e+300``) reads back as an integer, and ``NaN`` is no JSON at all.

So such a value is stored as a *marked string*: ``MARK`` (U+E000, a private
use character) followed by the value's own JSON text, ASCII-escaped
(``"\\ue000\\"caf\\\\udce9\\""`` for ``"caf\\udce9"``, ``"\\ue0001e+300"`` for
``1e300``). A string that itself starts with ``MARK`` is marked too, so
decoding is exact: every marked string is decoded, nothing else is. Object
keys and key columns (ids, ``agent_id``) are encoded the same way, so a
lookup binds the same text the write stored. Everything else is stored as
plain ``jsonb``, queryable as usual. ``jsonb`` keeps no key order: objects
read back with their keys in ``jsonb`` order (shorter first), equal but not
in the order written.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["MARK", "dumps", "key", "loads"]

MARK: Final = "\ue000"

#: In ``json.dumps(..., ensure_ascii=False)`` text: where a value may need a mark
#: (false positives only cost the exact walk).
_SUSPECT: Final = re.compile(r"[\ud800-\udfff\ue000]|\\u0000|e\+|NaN|Infinity")
_BAD_TEXT: Final = re.compile("[\ud800-\udfff\x00]")


def key(text: str) -> str:
    """*text* as PostgreSQL can store it (itself, unless it needs a mark)."""
    if _BAD_TEXT.search(text) or text.startswith(MARK):
        return MARK + json.dumps(text)
    return text


def _marked_float(number: float) -> float | str:
    text = repr(number)
    if "e+" in text or number != number or number in (float("inf"), float("-inf")):
        return MARK + json.dumps(number)
    return number


def _encode(value: Any) -> Any:
    if isinstance(value, str):
        return key(value)
    if isinstance(value, float):
        return _marked_float(value)
    if isinstance(value, dict):
        return {key(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def dumps(record: Any) -> str:
    """*record* (JSON-safe: str keys, lists, dicts, scalars) as text for ``::jsonb``."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    if _SUSPECT.search(text) is None:
        return text
    return json.dumps(_encode(record), ensure_ascii=False, separators=(",", ":"))


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value[1:]) if value.startswith(MARK) else value
    if isinstance(value, dict):
        return {_decode(k): _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def loads(text: str) -> Any:
    """The record :func:`dumps` stored, from the ``jsonb`` text PostgreSQL returns."""
    value = json.loads(text)
    return _decode(value) if MARK in text else value
