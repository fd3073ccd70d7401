"""Secret redaction: the 29 goldens and the reference EventRedactor string/map behaviour."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from trio_stream_session import redact_text, redact_value
from trio_stream_session._redact import DEFAULT_PATTERNS, REDACTED, is_secret_name

# The reference's 29 redaction goldens (reference/golden/redact.json), kept inline so the
# tests do not depend on files outside the repository: (input, flat, categorized).
GOLDEN = [
    (
        "key is AKIAIOSFODNN7EXAMPLE here",
        "key is [REDACTED] here",
        "key is [REDACTED:aws_access_key] here",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "[REDACTED]",
        "[REDACTED:aws_secret_key]",
    ),
    ("AIzaSyA1234567890abcdefghijklmnopqrstuvw", "[REDACTED]w", "[REDACTED:gcp_api_key]w"),
    ("sk-ant-api03-abcdefghijklmnopqrstuvwx", "[REDACTED]", "[REDACTED:anthropic_key]"),
    ("sk-proj-abcdefghijklmnopqrstuvwx", "[REDACTED]", "[REDACTED:openai_key]"),
    (
        "sk-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN1234",
        "[REDACTED]",
        "[REDACTED:openai_legacy_key]",
    ),
    ("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkL", "[REDACTED]kL", "[REDACTED:github_pat]kL"),
    ("github_pat_11ABCDEFGHIJKLMNOPQRST_uvwxyz", "[REDACTED]", "[REDACTED:github_fine_pat]"),
    ("glpat-abcdefghijklmnopqrst", "[REDACTED]", "[REDACTED:gitlab_token]"),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "[REDACTED]",
        "[REDACTED:jwt_token]",
    ),
    (
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456",
        "Authorization: [REDACTED]",
        "Authorization: [REDACTED:bearer_token]",
    ),
    ("PASSWORD: supersecret123", "[REDACTED]", "[REDACTED:password]"),
    ("api_key=sk12345678901234567890", "[REDACTED]", "[REDACTED:api_key_generic]"),
    ("secret_key = my_super_secret_value", "[REDACTED]", "[REDACTED:secret_key]"),
    ("access_token = my_access_token_value_123", "[REDACTED]", "[REDACTED:access_token]"),
    ("auth_token = my_auth_token_value_456", "[REDACTED]", "[REDACTED:auth_token]"),
    ("postgres://user:pass@localhost:5432/mydb", "[REDACTED]", "[REDACTED:connection_string]"),
    ("-----BEGIN RSA PRIVATE KEY-----", "[REDACTED]", "[REDACTED:private_key]"),
    ("DATABASE_URL=postgres://user:pass@host/db", "[REDACTED]", "[REDACTED:env_secret]"),
    ("redis://admin:password@redis.example.com:6379", "[REDACTED]", "[REDACTED:connection_string]"),
    (
        "AKIAIOSFODNN7EXAMPLE password=hunter2 Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456",  # noqa: E501
        "[REDACTED] [REDACTED] Authorization: [REDACTED]",
        "[REDACTED:aws_access_key] [REDACTED:password] Authorization: [REDACTED:bearer_token]",
    ),
    (
        "Votre clé: AKIAIOSFODNN7EXAMPLE",
        "Votre clé: [REDACTED]",
        "Votre clé: [REDACTED:aws_access_key]",
    ),
    ("password=héllo wörld", "[REDACTED] wörld", "[REDACTED:password] wörld"),
    ("password:\xa0secret\xa0more", "[REDACTED]", "[REDACTED:password]"),
    ("ghp_short", "ghp_short", "ghp_short"),
    (
        "Token: bearer  xxxxxxxxxxxxxxxxxxxxxxxxx",
        "Token: [REDACTED]",
        "Token: [REDACTED:bearer_token]",
    ),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "[REDACTED]\nabc", "[REDACTED:private_key]\nabc"),
    ("API-KEY: zzz", "[REDACTED]", "[REDACTED:api_key_generic]"),
    (
        "Found MYCO_TOKEN_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 in config",
        "Found MYCO_TOKEN_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 in config",
        "Found MYCO_TOKEN_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 in config",
    ),
]

CATEGORIES = [
    "aws_access_key",
    "aws_secret_key",
    "gcp_api_key",
    "anthropic_key",
    "openai_key",
    "openai_legacy_key",
    "github_pat",
    "github_oauth",
    "github_app",
    "github_refresh",
    "github_fine_pat",
    "gitlab_token",
    "jwt_token",
    "bearer_token",
    "password",
    "api_key_generic",
    "secret_key",
    "access_token",
    "auth_token",
    "connection_string",
    "private_key",
    "env_secret",
    # Not in the reference: the value of a quoted assignment to a secret-named key.
    "quoted_secret",
]

PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"

# One sample per category: (category, text, fragment that must disappear).
SAMPLES = [
    ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE end", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "key ASIAIOSFODNN7EXAMPLE end", "ASIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
    ),
    ("gcp_api_key", "AIzaSyA1234567890abcdefghijklmnopqrstuv", "AIzaSyA1234567890"),
    ("anthropic_key", "sk-ant-api03-abcdefghijklmnopqrstuvwx", "sk-ant-api03"),
    ("openai_key", "sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abc"),
    ("openai_key", "sk-svcacct-abcdefghijklmnopqrstuvwx_-0123", "abcdefghijklmnop"),
    ("openai_key", "sk-admin-ABCDEFGHIJKLMNOPQRSTUVWX-_0123", "ABCDEFGHIJKLMNOP"),
    ("openai_legacy_key", "sk-abcdefghijklmnopqrstuvwxyzABCDEF", "sk-abcdefgh"),
    ("github_pat", "ghp_" + "a" * 36, "ghp_aaaa"),
    ("github_oauth", "gho_" + "b" * 36, "gho_bbbb"),
    ("github_app", "ghu_" + "c" * 36, "ghu_cccc"),
    ("github_app", "ghs_" + "c" * 36, "ghs_cccc"),
    ("github_refresh", "ghr_" + "d" * 36, "ghr_dddd"),
    ("github_fine_pat", "github_pat_11ABCDEFGHIJKLMNOPQRST_uvwxyz", "github_pat_11"),
    ("gitlab_token", "glpat-abcdefghijklmnopqrst", "glpat-abc"),
    ("jwt_token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-123", "eyJhbGci"),
    ("bearer_token", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "abcdefghij"),
    ("password", "password=hunter2", "hunter2"),
    ("password", "PASSWD: hunter2", "hunter2"),
    ("api_key_generic", "api-key: zzz123", "zzz123"),
    ("secret_key", "secret_key=abc123xyz", "abc123xyz"),
    ("access_token", "access_token: tok123", "tok123"),
    ("auth_token", "AUTH-TOKEN=tok456", "tok456"),
    ("connection_string", "redis://user:pa55word@localhost:6379/0", "pa55word"),
    ("connection_string", "postgres://admin:s3cret@db.example.com/app", "s3cret"),
    (
        "private_key",
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
        PEM_BODY,
    ),
    ("env_secret", "MY_SERVICE_TOKEN=abcdef", "abcdef"),
    ("env_secret", "DATABASE_URL = sqlite:///x.db", "sqlite"),
    ("quoted_secret", '{"password": "hunter2"}', "hunter2"),
    ("quoted_secret", "{'ANTHROPIC_API_KEY': 'not-a-key-shape'}", "not-a-key-shape"),
]


# -- goldens -------------------------------------------------------------------------------


def test_golden_file_has_29_samples() -> None:
    assert len(GOLDEN) == 29


@pytest.mark.parametrize(("text", "flat", "categorized"), GOLDEN)
def test_goldens(text: str, flat: str, categorized: str) -> None:
    assert redact_text(text, categorized=True) == categorized
    assert redact_text(text) == flat


# -- patterns ------------------------------------------------------------------------------


def test_reference_patterns_in_reference_order_then_quoted_secret() -> None:
    assert [name for name, _ in DEFAULT_PATTERNS] == CATEGORIES
    assert all(isinstance(p, re.Pattern) for _, p in DEFAULT_PATTERNS)
    assert all(p.flags & re.ASCII for _, p in DEFAULT_PATTERNS)


def test_every_category_has_a_sample() -> None:
    assert {category for category, _, _ in SAMPLES} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("category", "text", "fragment"),
    SAMPLES,
    ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(SAMPLES)],
)
def test_each_category(category: str, text: str, fragment: str) -> None:
    flat = redact_text(text)
    assert REDACTED in flat
    assert fragment not in flat
    categorized = redact_text(text, categorized=True)
    assert f"[REDACTED:{category}]" in categorized
    assert fragment not in categorized


def test_clean_text_is_unchanged() -> None:
    for text in ["", "hello world", "ghp_short", "sk-short", "the password is strong", "é ü 漢字"]:
        assert redact_text(text) == text


def test_large_clean_text_is_unchanged() -> None:
    text = "lorem ipsum dolor sit amet " * 4_500
    assert len(text) > 120_000
    assert redact_text(text) == text


def test_three_secrets_in_one_string() -> None:
    text = (
        "AKIAIOSFODNN7EXAMPLE password=hunter2 "
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456"
    )
    assert redact_text(text) == "[REDACTED] [REDACTED] Authorization: [REDACTED]"
    assert redact_text(text, categorized=True) == (
        "[REDACTED:aws_access_key] [REDACTED:password] Authorization: [REDACTED:bearer_token]"
    )


def test_unicode_around_a_secret() -> None:
    assert redact_text("clé: AKIAIOSFODNN7EXAMPLE — fin") == "clé: [REDACTED] — fin"


def test_patterns_are_ascii_only() -> None:
    # \s does not match a non-breaking space under re.ASCII (as in the reference's PCRE).
    assert redact_text("password\u00a0= hunter2") == "password\u00a0= hunter2"
    assert redact_text("password = hunter2") == REDACTED


def test_replacement_is_literal() -> None:
    # A function replacement: backslashes and group references in text are never expanded.
    text = r"password=\1\g<0>"
    assert redact_text(text) == REDACTED


def test_private_key_through_end_line() -> None:
    text = (
        "before\n-----BEGIN PRIVATE KEY-----\n"
        f"{PEM_BODY}\n{PEM_BODY}\n-----END PRIVATE KEY-----\nafter"
    )
    assert redact_text(text) == f"before\n{REDACTED}\nafter"


def test_lone_begin_line_takes_the_base64_body() -> None:
    text = f"-----BEGIN EC PRIVATE KEY-----\n{PEM_BODY}\n{PEM_BODY}\nplain text follows"
    assert redact_text(text) == f"{REDACTED}\nplain text follows"


def test_private_key_with_crlf() -> None:
    text = f"-----BEGIN OPENSSH PRIVATE KEY-----\r\n{PEM_BODY}\r\n-----END OPENSSH PRIVATE KEY-----"
    assert redact_text(text) == REDACTED


def test_two_secrets_in_one_field() -> None:
    out = redact_text("ghp_" + "a" * 36 + " and gho_" + "b" * 36)
    assert out == f"{REDACTED} and {REDACTED}"


def test_redaction_is_idempotent() -> None:
    for _, text, _ in SAMPLES:
        once = redact_text(text)
        assert redact_text(once) == once


# -- redact_value --------------------------------------------------------------------------


def test_redact_value_nested_structures() -> None:
    value = {
        "tool_input": {"command": "export API_KEY=abc123", "args": ["--token", "ghp_" + "z" * 36]},
        "content": [{"type": "text", "text": "safe"}, {"type": "text", "text": "password=x"}],
        "provider_error": {"stderr": "AKIAIOSFODNN7EXAMPLE", "exit_code": 1},
        "tuple": ("sk-ant-" + "k" * 25, 2),
        "n": 1,
        "f": 2.5,
        "b": False,
        "none": None,
        3: "int key kept",
    }
    out = redact_value(value)
    assert out == {
        "tool_input": {"command": "export [REDACTED]", "args": ["--token", REDACTED]},
        "content": [{"type": "text", "text": "safe"}, {"type": "text", "text": REDACTED}],
        "provider_error": {"stderr": REDACTED, "exit_code": 1},
        "tuple": (REDACTED, 2),
        "n": 1,
        "f": 2.5,
        "b": False,
        "none": None,
        3: "int key kept",
    }
    assert isinstance(out["tuple"], tuple)
    assert "ghp_" in value["tool_input"]["args"][1]  # the input is not modified


def test_redact_value_scalars_and_strings() -> None:
    assert redact_value("password=x") == REDACTED
    for scalar in (None, 1, 1.5, True, b"password=x"):
        assert redact_value(scalar) is scalar


def test_redact_value_returns_plain_dicts() -> None:
    from types import MappingProxyType

    out = redact_value(MappingProxyType({"k": "password=x"}))
    assert type(out) is dict
    assert out == {"k": REDACTED}


def test_redact_value_does_not_redact_keys() -> None:
    # Keys are kept as they are, even one a text pattern would redact.
    assert redact_value({"AKIAIOSFODNN7EXAMPLE": "v"}) == {"AKIAIOSFODNN7EXAMPLE": "v"}


def depth_nested(levels: int, leaf: Any) -> Any:
    value = leaf
    for _ in range(levels):
        value = {"k": value}
    return value


def test_redact_value_depth_limit() -> None:
    shallow = redact_value(depth_nested(31, "password=x"))
    inner = shallow
    for _ in range(31):
        inner = inner["k"]
    assert inner == REDACTED

    # Deeper than the limit: replaced wholesale rather than passed through unscanned.
    deep = redact_value(depth_nested(40, "password=x"))
    inner = deep
    depth = 0
    while isinstance(inner, dict):
        inner = inner["k"]
        depth += 1
    assert inner == REDACTED
    assert depth == 32
    assert "password" not in repr(deep)


def test_redact_value_deep_clean_data_never_leaks_unscanned() -> None:
    deep_list: Any = "ghp_" + "q" * 36
    for _ in range(50):
        deep_list = [deep_list]
    assert "ghp_" not in repr(redact_value(deep_list))


def test_redact_value_terminates_on_cycles_and_shared_structures() -> None:
    cyclic: dict[str, object] = {"k": "password=hunter2"}
    cyclic["self"] = cyclic
    assert redact_value(cyclic) == {"k": "[REDACTED]", "self": "[REDACTED]"}
    shared: list[object] = ["api_key=abcdef"]
    for _ in range(60):
        shared = [shared, shared]
    assert "abcdef" not in repr(redact_value(shared))


# -- secrets the reference patterns missed (issue 16, item 4) ----------------------------


@pytest.mark.parametrize(
    "key",
    [
        "sk-svcacct-" + "Ab1_-" * 30,
        "sk-admin-" + "Zz9-_" * 12,
        "sk-None-" + "q" * 48,
        "sk-proj-" + "x" * 20,
    ],
)
def test_openai_key_formats(key: str) -> None:
    assert redact_text(f"OPENAI_KEY is {key}.") == f"OPENAI_KEY is {REDACTED}."
    assert redact_text(key, categorized=True) == "[REDACTED:openai_key]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"ANTHROPIC_API_KEY": "abc def"}', '{"ANTHROPIC_API_KEY": "[REDACTED]"}'),
        ('{"password":"hunter2","user":"bob"}', '{"password":"[REDACTED]","user":"bob"}'),
        ("{'password': 'hunter2'}", "{'password': '[REDACTED]'}"),
        ('"client_secret" : "x y z"', '"client_secret" : "[REDACTED]"'),
        ('"accessToken"="abc"', '"accessToken"="[REDACTED]"'),
        ('"DB_PASS": "p", "pass": "q"', '"DB_PASS": "[REDACTED]", "pass": "[REDACTED]"'),
        # Escaped quotes and backslashes belong to the value.
        (r'{"password": "a\"b\\", "n": 1}', r'{"password": "[REDACTED]", "n": 1}'),
        ("{'secret': 'it\\'s'}", "{'secret': '[REDACTED]'}"),
        # JSON inside a JSON string: the inner quotes are written \".
        (
            r'{"text": "{\"password\": \"hun\\\"ter\\\\\", \"n\": \"v\"}"}',
            r'{"text": "{\"password\": \"[REDACTED]\", \"n\": \"v\"}"}',
        ),
        # A value cut off by truncation is redacted to the end of its line.
        ('"password": "hunter2\nnext line', '"password": "[REDACTED]\nnext line'),
    ],
)
def test_quoted_assignments(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


def test_quoted_assignment_keeps_json_valid() -> None:
    document = {"ANTHROPIC_API_KEY": "value one", "password": 'x"y', "model": "m"}
    out = json.loads(redact_text(json.dumps(document)))
    assert out == {"ANTHROPIC_API_KEY": REDACTED, "password": REDACTED, "model": "m"}
    categorized = json.loads(redact_text(json.dumps(document), categorized=True))
    assert categorized["password"] == "[REDACTED:quoted_secret]"


@pytest.mark.parametrize(
    "text",
    [
        '{"token_usage": "5", "max_tokens": "9", "signature": "abc"}',
        '{"bypass": "y", "PWD": "/home/me", "name": "password"}',
        '"password" is the key; "x": "y"',
        "it's a 'token' of 'secret' appreciation",
    ],
)
def test_quoted_assignment_to_other_keys_is_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "PGPASSWORD",
        "db_passwd",
        "passphrase",
        "pass",
        "DB_PASS",
        "MYSQL_PWD",
        "client_secret",
        "AWS_SECRET_ACCESS_KEY",
        "ANTHROPIC_API_KEY",
        "apiKey",
        "x-api-key",
        "private_key",
        "access_key",
        "token",
        "GITHUB_TOKEN",
        "refreshToken",
        "Authorization",
        "Cookie",
        "credentials",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "token_usage",
        "max_tokens",
        "input_tokens",
        "cache_read_input_tokens",
        "tokenizer",
        "signature",
        "bypass",
        "compass",
        "PWD",
        "key",
        "monkey",
        "url",
        "author",
        "passed",
    ],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_non_string_keys_are_not_names() -> None:
    assert not is_secret_name(1)
    assert not is_secret_name(b"password")


def test_value_under_a_secret_named_key_is_redacted_whatever_it_is() -> None:
    value = {
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-K7MDENG-bPxRfiCY",
        "password": 123456,
        "token": None,
        "credentials": {"user": "bob", "pin": 1234},
        "apiKeys": ["k1", "k2"],
        "env": {"GITHUB_TOKEN": "plain", "HOME": "/home/me"},
        "items": [{"Authorization": "Basic Ym9iOnNlY3JldA=="}],
        "token_usage": {"input_tokens": 3, "output_tokens": 4},
        "signature": "sig",
    }
    assert redact_value(value) == {
        "AWS_SECRET_ACCESS_KEY": REDACTED,
        "password": REDACTED,
        "token": REDACTED,
        "credentials": REDACTED,
        "apiKeys": REDACTED,
        "env": {"GITHUB_TOKEN": REDACTED, "HOME": "/home/me"},
        "items": [{"Authorization": REDACTED}],
        "token_usage": {"input_tokens": 3, "output_tokens": 4},
        "signature": "sig",
    }
