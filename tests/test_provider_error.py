"""normalize_provider_error, truncate_text and error_payload (reference provider_error_test)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_stream_session import SessionError, normalize_provider_error
from trio_stream_session._provider_error import (
    KNOWN_KINDS,
    MAX_STDERR_BYTES,
    MAX_STDERR_LINES,
    error_payload,
    resolve_provider,
    truncate_text,
)

KEYS = {"provider", "kind", "message", "exit_code", "stderr", "truncated"}


def normalize(attrs: Any, provider: Any = "codex", **opts: Any) -> dict[str, Any]:
    provider_error, _details = normalize_provider_error(provider, attrs, **opts)
    return provider_error


# -- the reference tests ---------------------------------------------------------------------


def test_contract_keys_and_codex_transport_exit() -> None:
    provider_error, details = normalize_provider_error(
        "codex",
        {
            "kind": "transport_exit",
            "message": "codex executable exited with status 2",
            "details": {
                "exit_status": 2,
                "stderr": "permission denied",
                "stderr_truncated?": True,
                "original_kind": "transport_exit",
            },
        },
    )
    assert set(provider_error) == KEYS
    assert "retryable" not in provider_error
    assert provider_error == {
        "provider": "codex",
        "kind": "transport_exit",
        "message": "codex executable exited with status 2",
        "exit_code": 2,
        "stderr": "permission denied",
        "truncated": True,
    }
    assert details == {"original_kind": "transport_exit"}


def test_lines_then_bytes() -> None:
    stderr = "\n".join(f"line{i}" for i in range(1, 7))
    provider_error = normalize({"stderr": stderr}, max_bytes=11, max_lines=3)
    assert provider_error["stderr"] == "line1\nline2"
    assert provider_error["truncated"] is True


# -- truncate_text ---------------------------------------------------------------------------


def test_truncate_text_doctest_example() -> None:
    assert truncate_text("line1\nline2\nline3\nline4", max_bytes=11, max_lines=3) == (
        "line1\nline2",
        True,
    )


def test_truncate_never_splits_a_character() -> None:
    assert truncate_text("ééé", max_bytes=3, max_lines=None) == ("é", True)
    assert truncate_text("ééé", max_bytes=4, max_lines=None) == ("éé", True)
    assert truncate_text("a😀", max_bytes=4, max_lines=None) == ("a", True)


def test_truncate_within_limits_is_unchanged() -> None:
    assert truncate_text("ab\ncd", max_bytes=5, max_lines=2) == ("ab\ncd", False)
    assert truncate_text("", max_bytes=1, max_lines=1) == ("", False)


def test_truncate_keeps_empty_lines() -> None:
    assert truncate_text("a\n\n\nb", max_bytes=None, max_lines=3) == ("a\n\n", True)


def test_truncate_none_and_non_strings() -> None:
    assert truncate_text(None) == (None, False)
    assert truncate_text(42) == ("42", True)
    assert truncate_text(["x"]) == ("['x']", True)


@pytest.mark.parametrize("limit", [None, 0, -1, "3", 2.0])
def test_non_positive_or_non_integer_limits_are_ignored(limit: Any) -> None:
    text = "\n".join(["x" * 50] * 10)
    assert truncate_text(text, max_bytes=limit, max_lines=limit) == (text, False)


def test_defaults() -> None:
    assert (MAX_STDERR_BYTES, MAX_STDERR_LINES) == (16_384, 200)
    many_lines = "\n".join("l" for _ in range(300))
    text, cut = truncate_text(many_lines)
    assert cut and text is not None and text.count("\n") == 199
    big = "x" * 20_000
    text, cut = truncate_text(big)
    assert cut and text == "x" * 16_384


# -- truncated flag --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attrs",
    [
        {"truncated": True},
        {"truncated?": "true"},
        {"stderr_truncated": "1"},
        {"stderr_truncated?": True},
        {"details": {"stderr_truncated?": True}},
        {"details": {"stderr_truncated": "true"}},
        {"details": {"truncated": "1"}},
    ],
)
def test_truncated_flags(attrs: dict[str, Any]) -> None:
    assert normalize(attrs)["truncated"] is True


@pytest.mark.parametrize("value", [False, "false", "yes", "TRUE", 1, 0, "0", None, "", [True]])
def test_only_true_true_string_and_one_string_are_truthy(value: Any) -> None:
    # Never False: "not truncated" is None.
    assert normalize({"truncated": value, "stderr": "short"})["truncated"] is None


def test_truncated_is_none_without_flags() -> None:
    assert normalize({})["truncated"] is None


# -- exit code -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"exit_code": 2}, 2),
        ({"exit_code": 0}, 0),
        ({"exit_code": -9}, -9),
        ({"exit_code": "2"}, 2),
        ({"exit_code": " 17 "}, 17),
        ({"exit_code": "-1"}, -1),
        ({"exit_code": "2x"}, None),
        ({"exit_code": 2.0}, None),
        ({"exit_code": True}, None),
        ({"exit_code": ""}, None),
        ({"exit_code": None}, None),
        ({"details": {"exit_code": 3}}, 3),
        ({"details": {"exit_status": "4"}}, 4),
        ({"exit_status": 5}, 5),
        ({"exit_code": 1, "details": {"exit_code": 2, "exit_status": 3}}, 1),
        ({"details": {"exit_code": 2, "exit_status": 3}}, 2),
    ],
)
def test_exit_code(attrs: dict[str, Any], expected: int | None) -> None:
    assert normalize(attrs)["exit_code"] == expected


# -- message ---------------------------------------------------------------------------------


def test_message_sources_in_order() -> None:
    assert normalize({"message": "top", "details": {"message": "inner"}})["message"] == "top"
    assert normalize({"details": {"message": "inner"}})["message"] == "inner"
    from_stderr = normalize({"message": "", "stderr": "  first line  \nsecond"})
    assert from_stderr["message"] == "first line"
    assert normalize({"message": 42, "stderr": "\n"})["message"] == "Provider execution failed"
    assert normalize({})["message"] == "Provider execution failed"


def test_message_comes_from_truncated_stderr() -> None:
    provider_error = normalize({"stderr": "abcdefgh\nrest"}, max_bytes=3)
    assert provider_error["message"] == "abc"


def test_message_is_never_truncated() -> None:
    message = "m" * 50_000
    assert normalize({"message": message})["message"] == message


def test_non_mapping_attrs_become_a_message() -> None:
    provider_error, details = normalize_provider_error("amp", ["boom", 1])
    assert provider_error["message"] == "['boom', 1]"
    assert provider_error["provider"] == "amp"
    assert details == {}
    assert normalize(None)["message"] == "None"


# -- kind and provider -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KNOWN_KINDS))
def test_known_kinds_are_kept(kind: str) -> None:
    assert normalize({"kind": kind})["kind"] == kind
    assert normalize({"kind": f"  {kind.upper()} "})["kind"] == kind
    assert normalize({"details": {"kind": kind}})["kind"] == kind


def test_known_kinds() -> None:
    assert set(KNOWN_KINDS) == {
        "transport_exit",
        "process_error",
        "parse_error",
        "protocol_error",
        "cli_not_found",
        "timeout",
        "http_error",
        "unknown",
    }


@pytest.mark.parametrize("kind", ["rate_limit", "stream_timeout", "", " ", 5, ["timeout"], True])
def test_other_kinds_are_unknown(kind: Any) -> None:
    assert normalize({"kind": kind})["kind"] == "unknown"


def test_missing_kind_is_none() -> None:
    assert normalize({})["kind"] is None
    assert normalize({"kind": None, "details": {"kind": None}})["kind"] is None


def test_attrs_kind_beats_details_kind() -> None:
    assert normalize({"kind": "timeout", "details": {"kind": "parse_error"}})["kind"] == "timeout"


def test_mixed_case_provider_and_kind() -> None:
    provider_error = normalize({"kind": "Parse_Error"}, provider="Claude")
    assert (provider_error["provider"], provider_error["kind"]) == ("claude", "parse_error")


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("codex", "codex"),
        ("amp", "amp"),
        ("claude", "claude"),
        ("gemini", "gemini"),
        (" GEMINI ", "gemini"),
        ("openai", "unknown"),
        ("mock", "unknown"),
        (None, "unknown"),
        (1, "unknown"),
        ("", "unknown"),
    ],
)
def test_provider(provider: Any, expected: str) -> None:
    assert normalize({}, provider=provider)["provider"] == expected
    assert resolve_provider(provider) == expected


def test_provider_fallback() -> None:
    assert normalize({}, provider="weird", fallback_provider="Amp")["provider"] == "amp"
    assert normalize({}, provider="codex", fallback_provider="amp")["provider"] == "codex"
    assert normalize({}, provider=None, fallback_provider="nope")["provider"] == "unknown"
    assert resolve_provider(None, "claude") == "claude"


# -- details ---------------------------------------------------------------------------------


def test_returned_details_drop_the_folded_keys() -> None:
    _, details = normalize_provider_error(
        "codex",
        {
            "details": {
                "stderr": "x",
                "stderr_truncated?": True,
                "stderr_truncated": True,
                "exit_code": 1,
                "exit_status": 1,
                "other": 1,
                "original_kind": "transport_exit",
            }
        },
    )
    assert details == {"other": 1, "original_kind": "transport_exit"}


@pytest.mark.parametrize("raw", [None, "text", [1, 2], 5])
def test_non_mapping_details_are_ignored(raw: Any) -> None:
    provider_error, details = normalize_provider_error("codex", {"details": raw})
    assert details == {}
    assert set(provider_error) == KEYS


def test_details_do_not_alias_the_input() -> None:
    raw = {"transport": {"pid": 1}}
    _, details = normalize_provider_error("codex", {"details": raw})
    assert details == raw
    details["transport"]["pid"] = 2
    assert raw == {"transport": {"pid": 1}}


# -- redaction -------------------------------------------------------------------------------

KEY = "sk-ant-api03-" + "a" * 30


def test_stderr_message_and_details_are_redacted() -> None:
    provider_error, details = normalize_provider_error(
        "claude",
        {
            "message": f"bad key {KEY}",
            "stderr": f"Authorization: Bearer {'b' * 30}\nkey {KEY}",
            "details": {"env": {"token": KEY}},
        },
    )
    text = repr((provider_error, details))
    assert KEY not in text and "b" * 30 not in text
    assert provider_error["message"] == "bad key [REDACTED]"
    assert provider_error["stderr"] == "Authorization: [REDACTED]\nkey [REDACTED]"
    assert details == {"env": {"token": "[REDACTED]"}}


def test_secret_cut_by_truncation_is_still_removed() -> None:
    prefix = "x" * (MAX_STDERR_BYTES - 15) + " "
    provider_error = normalize({"stderr": prefix + KEY})
    stderr = provider_error["stderr"]
    assert "sk-ant" not in stderr and "aaaa" not in stderr
    assert len(stderr.encode()) <= MAX_STDERR_BYTES


def test_stderr_first_line_message_is_redacted() -> None:
    assert normalize({"stderr": f"{KEY}\nmore"})["message"] == "[REDACTED]"


def test_non_string_stderr_is_bounded() -> None:
    # A non-string stderr (bytes from a subprocess, a list of lines, ...) is repr-ed; the
    # contract bounds the stored text just as for a string.
    provider_error = normalize({"stderr": b"x" * 50_000})
    assert provider_error["truncated"] is True
    assert len(provider_error["stderr"].encode()) <= MAX_STDERR_BYTES


def test_non_string_stderr_stays_bounded_after_redaction() -> None:
    # Each 6-character "XKEY=1" becomes the 10-character "[REDACTED]": redacting after the
    # cut would grow the text past the limit.
    provider_error = normalize({"stderr": b"XKEY=1 " * 2_500})
    assert "XKEY=1" not in provider_error["stderr"]
    assert len(provider_error["stderr"].encode()) <= MAX_STDERR_BYTES


def test_non_string_stderr_secret_cut_by_truncation_is_removed() -> None:
    stderr = ["x" * (MAX_STDERR_BYTES - 20) + " " + KEY]
    provider_error = normalize({"stderr": stderr})
    assert "sk-ant" not in provider_error["stderr"]
    assert len(provider_error["stderr"].encode()) <= MAX_STDERR_BYTES


# -- error_payload ---------------------------------------------------------------------------


def test_payload_for_a_non_provider_code() -> None:
    assert error_payload(SessionError("internal_error", "boom")) == {
        "error_code": "internal_error",
        "error_message": "boom",
    }
    with_details = error_payload(SessionError("internal_error", "boom", details={"a": 1}))
    assert with_details == {
        "error_code": "internal_error",
        "error_message": "boom",
        "details": {"a": 1},
    }


def test_payload_for_a_provider_code_without_provider_error() -> None:
    data = error_payload(SessionError("provider_error", "Configured to fail"))
    assert data == {
        "error_code": "provider_error",
        "error_message": "Configured to fail",
        "provider_error": {
            "provider": "unknown",
            "kind": None,
            "message": "Configured to fail",
            "exit_code": None,
            "stderr": None,
            "truncated": None,
        },
    }


def test_payload_uses_the_fallback_provider() -> None:
    data = error_payload(SessionError("provider_timeout"), fallback_provider="codex")
    assert data["provider_error"]["provider"] == "codex"
    hinted = error_payload(
        SessionError("provider_error", provider_error={"provider": "amp"}),
        fallback_provider="codex",
    )
    assert hinted["provider_error"]["provider"] == "amp"


def test_payload_with_provider_error_and_details() -> None:
    err = SessionError(
        "provider_error",
        "codex executable exited with status 2",
        provider_error={
            "provider": "codex",
            "kind": "transport_exit",
            "exit_code": 2,
            "stderr": "permission denied",
        },
        details={"transport": "stdio", "exit_status": 2},
    )
    data = error_payload(err)
    assert data["error_code"] == "provider_error"
    assert data["error_message"] == "codex executable exited with status 2"
    assert data["provider_error"] == {
        "provider": "codex",
        "kind": "transport_exit",
        "message": "codex executable exited with status 2",
        "exit_code": 2,
        "stderr": "permission denied",
        "truncated": None,
    }
    assert data["details"]["transport"] == "stdio"


def test_payload_with_provider_error_on_a_non_provider_code() -> None:
    err = SessionError("internal_error", "x", provider_error={"provider": "amp", "kind": "timeout"})
    data = error_payload(err)
    assert set(data["provider_error"]) == KEYS
    assert (data["provider_error"]["provider"], data["provider_error"]["kind"]) == (
        "amp",
        "timeout",
    )
    assert "details" not in data


def test_payload_amp_exit_code_example() -> None:
    err = SessionError(
        "provider_error",
        "amp failed",
        provider_error={"provider": "amp", "kind": "transport_exit", "exit_code": 17},
    )
    pe = error_payload(err)["provider_error"]
    assert (pe["provider"], pe["kind"], pe["exit_code"]) == ("amp", "transport_exit", 17)


# -- property --------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=30)
    | st.sampled_from(["true", "1", "timeout", " Parse_Error ", "XKEY=1", KEY, "2", "\n"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=15,
)
attr_keys = st.sampled_from(
    [
        "message",
        "stderr",
        "kind",
        "exit_code",
        "exit_status",
        "truncated",
        "truncated?",
        "stderr_truncated",
        "stderr_truncated?",
        "details",
        "provider",
    ]
)
big_stderr = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "é\n", "XKEY=1 ", "line\n", "😀"]),
    st.integers(min_value=0, max_value=30_000),
)
stderr_values = big_stderr | big_stderr.map(str.encode) | big_stderr.map(lambda s: [s])
attrs_strategy = st.builds(
    lambda attrs, details: attrs if details is None else {**attrs, "details": details},
    st.dictionaries(attr_keys | st.text(max_size=5), values | stderr_values, max_size=6),
    st.none() | st.dictionaries(attr_keys, values | stderr_values, max_size=6),
)


@given(provider=values, attrs=attrs_strategy | values)
def test_property_never_raises_and_is_bounded(provider: Any, attrs: Any) -> None:
    provider_error, details = normalize_provider_error(provider, attrs)
    assert set(provider_error) == KEYS
    assert isinstance(details, dict)
    assert provider_error["provider"] in {"codex", "amp", "claude", "gemini", "unknown"}
    assert provider_error["kind"] is None or provider_error["kind"] in KNOWN_KINDS
    assert isinstance(provider_error["message"], str) and provider_error["message"]
    exit_code = provider_error["exit_code"]
    assert exit_code is None or (type(exit_code) is int)
    assert provider_error["truncated"] in (True, None)
    stderr = provider_error["stderr"]
    if stderr is not None:
        assert isinstance(stderr, str)
        assert len(stderr.encode("utf-8", "surrogatepass")) <= MAX_STDERR_BYTES
        assert stderr.count("\n") < MAX_STDERR_LINES
