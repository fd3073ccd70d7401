"""Run cost from token usage and the price table (reference cost_calculator tests,
assert_in_delta 1e-7)."""

from __future__ import annotations

from typing import Any

import pytest

from trio_stream_session._cost import calculate_cost, load_pricing

DELTA = 1e-7


def approx(value: float) -> Any:
    return pytest.approx(value, abs=DELTA)


# -- the reference tests ---------------------------------------------------------------------


def test_opus_input_and_output() -> None:
    cost = calculate_cost({"input_tokens": 1000, "output_tokens": 500}, "claude", "claude-opus-4-6")
    assert cost == approx(1000 * 15e-6 + 500 * 75e-6)
    assert cost == approx(0.0525)


def test_opus_with_cache_tokens() -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 500,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
    }
    expected = 1000 * 15e-6 + 500 * 75e-6 + 800 * 1.5e-6 + 200 * 18.75e-6
    assert calculate_cost(usage, "claude", "claude-opus-4-6") == approx(expected)


def test_cache_read_falls_back_to_the_input_rate() -> None:
    usage = {"input_tokens": 100, "output_tokens": 50, "cache_read_input_tokens": 800}
    expected = 100 * 10e-6 + 50 * 40e-6 + 800 * 10e-6
    assert calculate_cost(usage, "codex", "o3") == approx(expected)


def test_cache_creation_falls_back_to_the_input_rate() -> None:
    usage = {"cache_creation_input_tokens": 1000}
    assert calculate_cost(usage, "codex", "gpt-4o") == approx(1000 * 2.5e-6)


def test_output_only() -> None:
    assert calculate_cost({"output_tokens": 500}, "claude", "claude-opus-4-6") == approx(
        500 * 75e-6
    )


def test_unknown_provider_has_no_rates() -> None:
    assert calculate_cost({"input_tokens": 1}, "unknown") is None
    assert calculate_cost({"input_tokens": 1}, "gemini", "gemini-pro") is None
    assert calculate_cost({"input_tokens": 1}, "mock", "mock-model") is None


# -- rate resolution ------------------------------------------------------------------------


def test_longest_prefix_wins() -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}
    # "o3-mini-2025" matches both "o3" and "o3-mini": the longer prefix applies.
    assert calculate_cost(usage, "codex", "o3-mini-2025-01-31") == approx(1.1 + 4.4)
    assert calculate_cost(usage, "codex", "gpt-4o-mini-2024") == approx(0.15 + 0.6)
    assert calculate_cost(usage, "codex", "gpt-4o-2024-08-06") == approx(2.5 + 10)
    assert calculate_cost(usage, "claude", "claude-haiku-4-5-20251001") == approx(0.8 + 4)


def test_exact_model_beats_prefix() -> None:
    usage = {"input_tokens": 1_000_000}
    assert calculate_cost(usage, "codex", "o3") == approx(10)
    assert calculate_cost(usage, "codex", "o3-mini") == approx(1.1)


def test_default_rates_for_unknown_model_or_none() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 1000}
    expected = 1000 * 3e-6 + 1000 * 15e-6
    assert calculate_cost(usage, "claude", "claude-unknown") == approx(expected)
    assert calculate_cost(usage, "claude") == approx(expected)
    assert calculate_cost(usage, "claude", None) == approx(expected)
    assert calculate_cost(usage, "amp", "anything") == approx(expected)
    assert calculate_cost(usage, "codex", "x") == approx(expected)


def test_sonnet_and_haiku_rates() -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_read_input_tokens": 10,
        "cache_creation_input_tokens": 1,
    }
    assert calculate_cost(usage, "claude", "claude-sonnet-4-5") == approx(
        1000 * 3e-6 + 100 * 15e-6 + 10 * 0.3e-6 + 1 * 3.75e-6
    )
    assert calculate_cost(usage, "claude", "claude-haiku-4-5") == approx(
        1000 * 0.8e-6 + 100 * 4e-6 + 10 * 0.08e-6 + 1 * 1e-6
    )


# -- token values ----------------------------------------------------------------------------


def test_empty_usage_costs_zero() -> None:
    cost = calculate_cost({}, "claude", "claude-opus-4-6")
    assert cost == 0.0
    assert isinstance(cost, float)


@pytest.mark.parametrize("bad", [-5, "100", None, True, [1], float("nan")])
def test_invalid_token_values_count_as_zero(bad: Any) -> None:
    usage = {"input_tokens": bad, "output_tokens": 10}
    assert calculate_cost(usage, "claude", "claude-opus-4-6") == approx(10 * 75e-6)


def test_float_tokens_are_truncated() -> None:
    assert calculate_cost({"input_tokens": 10.9}, "claude", "claude-opus-4-6") == approx(10 * 15e-6)


def test_short_cache_key_aliases() -> None:
    usage = {"cache_read_tokens": 800, "cache_creation_tokens": 200}
    assert calculate_cost(usage, "claude", "claude-opus-4-6") == approx(
        800 * 1.5e-6 + 200 * 18.75e-6
    )


def test_result_is_a_float_for_integer_rates() -> None:
    table = {"p": {"default": {"input": 1, "output": 2}}}
    cost = calculate_cost({"input_tokens": 3, "output_tokens": 4}, "p", table=table)
    assert cost == 11.0
    assert isinstance(cost, float)


# -- custom tables ---------------------------------------------------------------------------


def test_custom_table() -> None:
    table = {
        "acme": {
            "default": {"input": 1e-6, "output": 2e-6},
            "models": {"rocket": {"input": 5e-6, "output": 6e-6, "cache_read": 0.5e-6}},
        }
    }
    usage = {"input_tokens": 10, "output_tokens": 10, "cache_read_input_tokens": 10}
    assert calculate_cost(usage, "acme", "rocket-2", table=table) == approx(
        10 * 5e-6 + 10 * 6e-6 + 10 * 0.5e-6
    )
    assert calculate_cost(usage, "acme", table=table) == approx(10 * 1e-6 + 10 * 2e-6 + 10 * 1e-6)
    assert calculate_cost(usage, "claude", table=table) is None


def test_custom_table_entries_without_rates() -> None:
    assert calculate_cost({"input_tokens": 1}, "p", table={"p": "nonsense"}) is None
    assert calculate_cost({"input_tokens": 1}, "p", table={"p": {"models": {}}}) is None


# -- the packaged table ----------------------------------------------------------------------


def test_packaged_table() -> None:
    table = load_pricing()
    assert set(table) == {"claude", "codex", "amp"}
    assert table["claude"]["default"] == {"input": 3e-6, "output": 15e-6}
    assert table["claude"]["models"]["claude-opus-4-6"] == {
        "input": 15e-6,
        "output": 75e-6,
        "cache_read": 1.5e-6,
        "cache_creation": 18.75e-6,
    }
    assert table["claude"]["models"]["claude-sonnet-4-5"] == {
        "input": 3e-6,
        "output": 15e-6,
        "cache_read": 0.3e-6,
        "cache_creation": 3.75e-6,
    }
    assert table["claude"]["models"]["claude-haiku-4-5"] == {
        "input": 0.8e-6,
        "output": 4e-6,
        "cache_read": 0.08e-6,
        "cache_creation": 1e-6,
    }
    assert table["codex"]["default"] == {"input": 3e-6, "output": 15e-6}
    assert table["codex"]["models"] == {
        "o3": {"input": 10e-6, "output": 40e-6},
        "o3-mini": {"input": 1.1e-6, "output": 4.4e-6},
        "gpt-4o": {"input": 2.5e-6, "output": 10e-6},
        "gpt-4o-mini": {"input": 0.15e-6, "output": 0.6e-6},
    }
    assert table["amp"] == {"default": {"input": 3e-6, "output": 15e-6}, "models": {}}
    assert load_pricing() is table  # loaded once
