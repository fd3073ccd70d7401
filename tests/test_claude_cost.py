"""What a Claude run costs: cache writes by lifetime, web-search requests, compaction iterations."""

from __future__ import annotations

import pytest

from trio_stream_session._cost import calculate_cost
from trio_stream_session.adapters._claude_message import flat_usage


def test_one_hour_cache_writes_cost_twice_the_input_rate() -> None:
    usage = {"cache_creation_input_tokens": 1000, "ephemeral_1h_input_tokens": 400}
    # 600 five-minute writes at the table's rate, 400 one-hour writes at 2x input.
    expected = 600 * 18.75e-6 + 400 * 2 * 15e-6
    assert calculate_cost(usage, "claude", "claude-opus-4-6") == pytest.approx(expected)


def test_web_search_requests_are_priced_per_request() -> None:
    usage = {"input_tokens": 100, "output_tokens": 10, "web_search_requests": 3}
    expected = 100 * 3e-6 + 10 * 15e-6 + 3 * 0.01
    assert calculate_cost(usage, "claude", "claude-unknown-model") == pytest.approx(expected)
    # Other providers have no server tools: the count costs nothing there.
    assert calculate_cost({"web_search_requests": 3}, "codex", "o3") == 0


def test_compaction_iterations_are_what_is_billed() -> None:
    raw = {
        "input_tokens": 23000,
        "output_tokens": 1000,
        "iterations": [
            {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
            {"type": "message", "input_tokens": 23000, "output_tokens": 1000},
        ],
        "server_tool_use": {"web_search_requests": 2},
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    }
    assert flat_usage(raw) == {
        "input_tokens": 203000,
        "output_tokens": 4500,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "web_search_requests": 2,
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 0,
    }
