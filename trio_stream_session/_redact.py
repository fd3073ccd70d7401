"""Secret redaction: API keys, tokens, passwords and private keys out of text.

The 22 default patterns follow the reference's ``EventRedactor`` (same
categories, same order, applied one after another to the already-redacted
text), compiled with :data:`re.ASCII` as the reference's PCRE patterns are.
One deliberate improvement: a private key is redacted through its ``END``
line (or through the base64 body that follows a lone ``BEGIN`` line), not just
its header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["DEFAULT_PATTERNS", "REDACTED", "redact_text", "redact_value"]

REDACTED: Final = "[REDACTED]"

_ASSIGN = r"\s*[=:]\s*\S+"

DEFAULT_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, re.ASCII))
    for name, pattern in (
        ("aws_access_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("aws_secret_key", r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+=]{40}"),
        ("gcp_api_key", r"AIza[0-9A-Za-z_-]{35}"),
        ("anthropic_key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
        ("openai_key", r"sk-proj-[A-Za-z0-9_-]{20,}"),
        ("openai_legacy_key", r"\bsk-[A-Za-z0-9]{32,}"),
        ("github_pat", r"ghp_[A-Za-z0-9]{36}"),
        ("github_oauth", r"gho_[A-Za-z0-9]{36}"),
        ("github_app", r"(?:ghu|ghs)_[A-Za-z0-9]{36}"),
        ("github_refresh", r"ghr_[A-Za-z0-9]{36}"),
        ("github_fine_pat", r"github_pat_[A-Za-z0-9_]{22,}"),
        ("gitlab_token", r"glpat-[A-Za-z0-9_-]{20,}"),
        ("jwt_token", r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
        ("bearer_token", r"(?i)bearer\s+[A-Za-z0-9._~+/-]{20,}=*"),
        ("password", r"(?i)\bpass(?:word|wd)" + _ASSIGN),
        ("api_key_generic", r"(?i)api[_-]?key" + _ASSIGN),
        ("secret_key", r"(?i)secret[_-]?key" + _ASSIGN),
        ("access_token", r"(?i)access[_-]?token" + _ASSIGN),
        ("auth_token", r"(?i)auth[_-]?token" + _ASSIGN),
        ("connection_string", r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@]+@\S+"),
        (
            "private_key",
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----"
            r"(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|(?:\r?\n[A-Za-z0-9+/=]{16,})*)",
        ),
        (
            "env_secret",
            r"\b[A-Z][A-Z0-9_]*(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|URL|CREDENTIALS?)"
            r"\s*=\s*\S+",
        ),
    )
)

_MAX_DEPTH: Final = 32
_MAX_NODES: Final = 100_000


def _literal(replacement: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: replacement


def redact_text(text: str, *, categorized: bool = False) -> str:
    """Return *text* with every secret the default patterns find replaced.

    Each match becomes ``[REDACTED]`` (``[REDACTED:<category>]`` with
    ``categorized=True``).

    >>> redact_text("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456")
    'Authorization: [REDACTED]'
    """
    for name, pattern in DEFAULT_PATTERNS:
        replacement = f"[REDACTED:{name}]" if categorized else REDACTED
        # A function, not a template: the replacement is used literally.
        text = pattern.sub(_literal(replacement), text)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside *value* (mappings, lists and tuples, recursively).

    Mappings come back as ``dict``; keys are kept; numbers, booleans and
    ``None`` never change. A container nested deeper than 32 levels, one that
    contains itself, and everything after the first 100,000 containers are
    replaced by ``"[REDACTED]"`` rather than passed through unscanned.
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
            return {k: _redact(v, depth + 1, path, budget) for k, v in value.items()}
        items = [_redact(v, depth + 1, path, budget) for v in value]
        return items if isinstance(value, list) else tuple(items)
    finally:
        path.discard(key)
