"""``AdapterResult``: what :meth:`ProviderAdapter.execute` returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

__all__ = ["AdapterResult"]


class AdapterResult(TypedDict):
    """The mapping an adapter's ``execute`` returns once its run has succeeded.

    Annotate ``execute`` with it (``-> AdapterResult``) and mypy checks the
    keys: an adapter returning ``{"content": ..., "stop_reason": ...}`` at the
    top level would otherwise leave ``RunResult.output`` None without a word.
    It is a plain ``dict`` at run time, and a ``Mapping[str, Any]``, so it
    satisfies the :class:`ProviderAdapter` protocol.

    A failed run does not return: ``execute`` raises :class:`SessionError`.
    """

    output: Mapping[str, Any]
    """Becomes ``RunResult.output`` and ``Run.output``. The library's adapters
    return ``{"content": <final text>, "stop_reason": ..., "tool_calls": [...]}``
    plus provider extras (a CLI's ``thread_id``, Claude's ``content_blocks``);
    renderers and the command line read ``"content"``."""
    token_usage: Mapping[str, int | float]
    """The run's own token counts (``input_tokens``, ``output_tokens``, and any
    ``cache_*`` counts): ``RunResult.token_usage``; the cost is priced from it
    unless a ``run_completed`` event reported ``total_cost_usd``."""
    events: Sequence[Any]
    """Becomes ``RunResult.events``; usually ``[]``: the events that matter were
    emitted (and persisted) through ``emit`` as they happened."""
    provider_session: NotRequired[Mapping[str, Any]]
    """Optional: state the provider keeps for the session (a CLI's thread id, a
    running usage total). Stored in ``session.metadata["provider_sessions"]``
    under the adapter's name, where the session's next run finds it."""
