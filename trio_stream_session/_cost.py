"""Run cost in USD from token usage and the per-model price table (``_pricing.json``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["calculate_cost", "load_pricing"]


@functools.cache
def load_pricing() -> Mapping[str, Any]:
    """The packaged price table: ``{provider: {"default": rates, "models": {name: rates}}}``."""
    text = resources.files("trio_stream_session").joinpath("_pricing.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    table.pop("_comment", None)
    return table


def _rates(
    provider: str, model: str | None, table: Mapping[str, Any]
) -> Mapping[str, float] | None:
    entry = table.get(provider)
    if not isinstance(entry, Mapping):
        return None
    models = entry.get("models") or {}
    if isinstance(model, str):
        if model in models:
            return models[model]  # type: ignore[no-any-return]
        prefixes = [name for name in models if model.startswith(name)]
        if prefixes:
            return models[max(prefixes, key=len)]  # type: ignore[no-any-return]
    return entry.get("default")


def _tokens(usage: Mapping[str, Any], *keys: str) -> int:
    for key in keys:
        value = usage.get(key)
        if not isinstance(value, bool) and isinstance(value, int | float) and value > 0:
            return int(value)
    return 0


def calculate_cost(
    usage: Mapping[str, Any],
    provider: str,
    model: str | None = None,
    table: Mapping[str, Any] | None = None,
) -> float | None:
    """Cost of *usage* for *provider*/*model*, or None without rates.

    Tokens: ``input_tokens``, ``output_tokens``, ``cache_read_input_tokens``,
    ``cache_creation_input_tokens`` (of which ``ephemeral_1h_input_tokens``
    are 1-hour cache writes, priced at ``cache_creation_1h``, by default twice
    the input rate); server-tool requests (``web_search_requests``, ...) at
    the provider's ``server_tools`` price per request.

    >>> usage = {"input_tokens": 1000, "output_tokens": 500}
    >>> round(calculate_cost(usage, "claude", "claude-opus-4-6"), 6)
    0.0525
    """
    table = load_pricing() if table is None else table
    rates = _rates(provider, model, table)
    if not isinstance(rates, Mapping):
        return None
    per_request = table[provider].get("server_tools") or {}
    input_rate = float(rates.get("input", 0.0))
    cache_writes = _tokens(usage, "cache_creation_input_tokens", "cache_creation_tokens")
    hour_writes = min(_tokens(usage, "ephemeral_1h_input_tokens"), cache_writes)
    cost = (
        _tokens(usage, "input_tokens") * input_rate
        + _tokens(usage, "output_tokens") * float(rates.get("output", 0.0))
        + _tokens(usage, "cache_read_input_tokens", "cache_read_tokens")
        * float(rates.get("cache_read", input_rate))
        + (cache_writes - hour_writes) * float(rates.get("cache_creation", input_rate))
        + hour_writes * float(rates.get("cache_creation_1h", 2 * input_rate))
        + sum(_tokens(usage, key) * float(price) for key, price in per_request.items())
    )
    return cost
