"""Secret redaction: API keys, tokens, passwords and private keys out of text and data.

The first 22 default patterns follow the reference's ``EventRedactor`` (same
categories, same order, applied one after another to the already-redacted
text), compiled with :data:`re.ASCII` as the reference's PCRE patterns are.
Deliberate improvements:

* ``openai_key`` also takes service-account, admin and ``sk-None-`` keys.
* A 23rd pattern, ``quoted_secret``, takes the value of a quoted assignment to
  a secret-named key (``"password": "..."``, ``'ANTHROPIC_API_KEY': '...'``,
  JSON inside a JSON string ``\\"token\\": \\"...\\"``); the key and quotes stay.
* A private key is redacted through its ``END`` line (the first before the
  next ``BEGIN`` line), or through the base64 body that follows a lone
  ``BEGIN`` line, not just its header.
* :func:`redact_value` also replaces the whole value under a secret-named
  mapping key (:func:`is_secret_name`), whatever that value is.

**Linear time.** Redacting text of length *n* takes O(n) time whatever the
text, as nothing else may stall the event loop. Every pattern is written so
that a failed match attempt scans a stretch of text no later attempt scans
again: possessive quantifiers (no backtracking where the next character
cannot follow anyway), and, where several attempts would share one stretch
(``eyJeyJeyJ...``, ``http://a:b,http://a:b,...``, ``a.b.c.d...``), a second
alternative, the ``keep`` group, that consumes the stretch unchanged once the
first attempt in it has failed. Every later attempt in such a stretch would
fail for the same reason, so the result is what the plain pattern gives.
:func:`redact_value_async` moves large payloads off the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import trio

__all__ = [
    "ASYNC_INLINE_LIMIT",
    "DEFAULT_PATTERNS",
    "REDACTED",
    "is_secret_name",
    "redact_text",
    "redact_value",
    "redact_value_async",
]

REDACTED: Final = "[REDACTED]"

_ASSIGN = r"\s*[=:]\s*\S+"

#: Words that make a key name secret wherever they appear in it (any case) ...
_NAME_ANYWHERE = (
    r"pass(?:w(?:or)?d|phrase)|secret|credential|authorization|cookie"
    r"|(?:api|access|private|signing|encryption|master|client)[_.-]?key"
)
#: ... and words that do so at its end (``access_token`` but not ``token_usage``
#: or ``max_tokens``; ``DB_PASS`` but not ``bypass``; ``MYSQL_PWD`` but not ``PWD``).
_NAME_AT_END = r"token|[_.-](?:pass|pwd)"


def _secret_name(char: str) -> str:
    """A pattern matching a whole secret-looking name made of *char* characters.

    The atomic group takes the first secret word and never retries a later one:
    the rest of the name is the same whichever word was found.
    """
    return (
        rf"(?>{char}*?(?:{_NAME_ANYWHERE})){char}*+"
        rf"|{char}*?(?:{_NAME_AT_END})|pass"
    )


# A quoted key made of word characters, dots and hyphens, as in JSON or a Python repr.
_KEY = _secret_name(r"[\w.-]")
# The value of a quoted assignment up to (not including) its closing quote: backslash
# escapes are part of it; it stops at a line end. For JSON inside a JSON string
# (quotes written \"), an escape of the inner string is written \\ followed by one
# character of the outer one (\\\" is an escaped quote, \\\\ an escaped backslash).
_QUOTED_VALUE = r"(?:\\.|(?!(?P=q))[^\\\n])*+"
_ESCAPED_VALUE = r"(?:[^\\\"\n]++|\\\\(?:\\.|[^\\\n])|\\[^\"\\\n])*+"

DEFAULT_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, re.ASCII))
    for name, pattern in (
        ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("aws_secret_key", r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+=]{40}"),
        ("gcp_api_key", r"AIza[0-9A-Za-z_-]{35}"),
        ("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
        ("openai_key", r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"),
        ("openai_legacy_key", r"\bsk-[A-Za-z0-9]{32,}"),
        ("github_pat", r"ghp_[A-Za-z0-9]{36}"),
        ("github_oauth", r"gho_[A-Za-z0-9]{36}"),
        ("github_app", r"(?:ghu|ghs)_[A-Za-z0-9]{36}"),
        ("github_refresh", r"ghr_[A-Za-z0-9]{36}"),
        ("github_fine_pat", r"github_pat_[A-Za-z0-9_]{22,}"),
        ("gitlab_token", r"glpat-[A-Za-z0-9_-]{20,}"),
        (
            "jwt_token",
            r"eyJ(?:[A-Za-z0-9_-]++\.eyJ[A-Za-z0-9_-]++\.[A-Za-z0-9_-]++"
            # Any later eyJ in the same run reaches the same dot: it fails too.
            r"|(?P<keep>[A-Za-z0-9_-]*+))",
        ),
        ("bearer_token", r"(?i)bearer\s+[A-Za-z0-9._~+/-]{20,}=*"),
        ("password", r"(?i)\bpass(?:word|wd)" + _ASSIGN),
        ("api_key_generic", r"(?i)api[_-]?key" + _ASSIGN),
        ("secret_key", r"(?i)secret[_-]?key" + _ASSIGN),
        ("access_token", r"(?i)access[_-]?token" + _ASSIGN),
        ("auth_token", r"(?i)auth[_-]?token" + _ASSIGN),
        (
            "connection_string",
            r"\b[A-Za-z][A-Za-z0-9+.-]*+(?:://[^\s:/@]++:[^\s@]++@\S+"
            # Any later scheme start up to the end of this scheme run, or up to the
            # whitespace that ended this password without an "@", fails too. Keeping
            # is only worth a call for a long run (the lookbehind); a short one is
            # left to the plain scan, at most 33 steps an attempt.
            r"|(?P<keep>://[^\s:/@]++:[^\s@]*+|(?<=[A-Za-z0-9+.-]{33})))",
        ),
        (
            "private_key",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----"
            r"(?:(?:[^-]++|-(?!----(?:BEGIN|END) [A-Z ]*PRIVATE KEY-----))*+"
            r"-----END [A-Z ]*PRIVATE KEY-----"
            r"|(?:\r?\n[A-Za-z0-9+/=]{16,})*)",
        ),
        (
            "env_secret",
            r"\b[A-Z][A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|URL|CREDENTIALS?)"
            r"\s*=\s*\S+",
        ),
        (
            "quoted_secret",
            # The opening is a quote, or the backslash of \" (then "escaped" is set).
            rf"(?i)(?P<lead>(?P<q>[\"'\\])(?P<escaped>(?<=\\)\")?(?(escaped)|(?<!\\))"
            # Cheap test first: the name is followed by a quote or backslash.
            rf"(?=[\w.-]*+[\"'\\])(?:{_KEY})"
            rf"(?(escaped)\\\"|(?P=q))\s*[:=]\s*(?(escaped)\\\"|(?P=q)))"
            rf"(?(escaped){_ESCAPED_VALUE}|{_QUOTED_VALUE})",
        ),
    )
)

_SECRET_NAME: Final = re.compile(rf"(?is){_secret_name('.')}", re.ASCII)

_MAX_DEPTH: Final = 32
_MAX_NODES: Final = 100_000

#: Above this much work (characters of text plus items of containers; a few
#: milliseconds of redaction), :func:`redact_value_async` uses a worker thread.
ASYNC_INLINE_LIMIT: Final = 32 * 1024


def is_secret_name(name: object) -> bool:
    """Whether *name* (a mapping key) names a secret, so its value is one.

    Any case; ``_``, ``.`` and ``-`` separate words. True for names containing
    ``password``/``passwd``/``passphrase``, ``secret``, ``credential``,
    ``authorization``, ``cookie`` or ``api``/``access``/``private``/``signing``/
    ``encryption``/``master``/``client`` + ``key``; for names ending in
    ``token`` or a separate ``pass``/``pwd``; and for ``pass`` itself.

    >>> [is_secret_name(k) for k in ("AWS_SECRET_ACCESS_KEY", "apiKey", "token_usage")]
    [True, True, False]
    """
    return isinstance(name, str) and _SECRET_NAME.fullmatch(name) is not None


def _replacer(pattern: re.Pattern[str], replacement: str) -> Callable[[re.Match[str]], str]:
    """The ``sub`` function for *pattern*: a function, not a template, so the
    replacement is used literally. A ``keep`` match stays as it is; a ``lead``
    (a quoted assignment's key) stays in front of the replacement."""
    if "keep" in pattern.groupindex:
        return lambda m: m[0] if m["keep"] is not None else replacement
    if "lead" in pattern.groupindex:
        return lambda m: m["lead"] + replacement
    return lambda _m: replacement


_RULES: Final = tuple(
    (pattern, _replacer(pattern, REDACTED), _replacer(pattern, f"[REDACTED:{name}]"))
    for name, pattern in DEFAULT_PATTERNS
)


def redact_text(text: str, *, categorized: bool = False) -> str:
    """Return *text* with every secret the default patterns find replaced.

    Each match becomes ``[REDACTED]`` (``[REDACTED:<category>]`` with
    ``categorized=True``). Linear in ``len(text)``.

    >>> redact_text("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456")
    'Authorization: [REDACTED]'
    """
    for pattern, flat, category in _RULES:
        text = pattern.sub(category if categorized else flat, text)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside *value* (mappings, lists and tuples, recursively).

    Mappings come back as ``dict``; keys are kept, and the value under a
    secret-named key (:func:`is_secret_name`) becomes ``"[REDACTED]"``,
    whatever it is. Numbers, booleans and ``None`` never change otherwise. A
    container nested deeper than 32 levels, one that contains itself, and
    everything after the first 100,000 containers are replaced by
    ``"[REDACTED]"`` rather than passed through unscanned.
    """
    return _redact(value, 0, set(), [_MAX_NODES])


def _redact(value: Any, depth: int, path: set[int], budget: list[int]) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if not isinstance(value, Mapping | list | tuple):
        return value
    budget[0] -= 1
    key = id(value)
    if depth >= _MAX_DEPTH or budget[0] < 0 or key in path:
        return REDACTED
    path.add(key)
    try:
        if isinstance(value, Mapping):
            return {
                k: REDACTED if is_secret_name(k) else _redact(v, depth + 1, path, budget)
                for k, v in value.items()
            }
        items = [_redact(v, depth + 1, path, budget) for v in value]
        return items if isinstance(value, list) else tuple(items)
    finally:
        path.discard(key)


def _is_large(value: Any, limit: int) -> bool:
    """Whether redacting *value* means more than *limit* work (see
    :data:`ASYNC_INLINE_LIMIT`). Stops as soon as it knows, so it costs at most
    about *limit* steps, and ends on self-containing values."""
    work = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            work += len(item)
        elif isinstance(item, Mapping):
            work += len(item) + 1
            if work <= limit:
                pending.extend(item.values())
        elif isinstance(item, list | tuple):
            work += len(item) + 1
            if work <= limit:
                pending.extend(item)
        if work > limit:
            return True
    return False


async def redact_value_async(value: Any) -> Any:
    """:func:`redact_value`, off the event loop when *value* is large.

    Up to :data:`ASYNC_INLINE_LIMIT` characters of text (plus container items)
    are redacted inline, without a checkpoint: a small event costs no trip
    through the scheduler. A larger value is redacted in a worker thread
    (:func:`trio.to_thread.run_sync`), so other tasks keep running meanwhile
    (the regex engine holds the GIL for one pattern pass at a time, so they
    are slowed, not stopped). Cancellation can interrupt only the wait to
    start the thread; once started, the thread is never abandoned and its
    result is returned.
    """
    if not _is_large(value, ASYNC_INLINE_LIMIT):
        return redact_value(value)
    return await trio.to_thread.run_sync(redact_value, value, abandon_on_cancel=False)
