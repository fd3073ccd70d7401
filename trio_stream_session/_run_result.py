"""What a completed run leaves behind: its :class:`RunResult` and its final records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._cost import calculate_cost
from ._models import Run, RunStatus, Session, SessionStatus, add_token_usage

__all__ = ["RunResult", "completed_records"]

_PROVIDER_IDS = ("provider_session_id", "session_id", "thread_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What :func:`run_once` returns after a successful run.

    ``events`` is what the adapter returned in its result (the persisted
    events are in the store).
    """

    output: Any
    token_usage: Mapping[str, Any]
    events: Sequence[Any]
    session_id: str
    run_id: str
    cost_usd: float | None = None


def completed_records(
    session: Session,
    run: Run,
    result: Mapping[str, Any],
    *,
    provider: str,
    run_started: Mapping[str, Any],
    reported_cost: float | None,
) -> tuple[Session, Run, RunResult]:
    """The session and run as a successful *result* of ``adapter.execute`` leaves them.

    The provider's own session id and model come from the run's
    ``run_started`` event; anything the adapter returns under
    ``"provider_session"`` (a mapping: a CLI's thread id, a running usage
    total) is kept with them in ``session.metadata["provider_sessions"][provider]``,
    where the session's next run finds it. The cost is the provider's reported
    ``total_cost_usd`` when there is one, else computed from the token usage.
    """
    token_usage = result.get("token_usage")
    token_usage = dict(token_usage) if isinstance(token_usage, Mapping) else {}
    events = result.get("events")
    events = tuple(events) if isinstance(events, list | tuple) else ()
    provider_session_id = next((run_started[k] for k in _PROVIDER_IDS if run_started.get(k)), None)
    model = run_started.get("model") if isinstance(run_started.get("model"), str) else None
    provider_session = {
        k: v for k, v in (("provider_session_id", provider_session_id), ("model", model)) if v
    }
    provider_metadata = {"provider": provider, **provider_session}
    cost = reported_cost
    if cost is None:
        cost = calculate_cost(token_usage, provider, model)
    run = run.with_status(
        RunStatus.COMPLETED,
        output=result.get("output"),
        token_usage=add_token_usage(run.token_usage, token_usage),
        provider=provider,
        provider_metadata=provider_metadata,
        metadata={**run.metadata, **provider_metadata},
        cost_usd=cost,
    )
    extra = result.get("provider_session")
    if isinstance(extra, Mapping):
        provider_session = {**provider_session, **extra}
    session_metadata = {
        k: v for k, v in session.metadata.items() if k not in ("provider_session_id", "model")
    }
    sessions = dict(session_metadata.get("provider_sessions") or {})
    sessions[provider] = {**sessions.get(provider, {}), **provider_session}
    session = session.with_status(
        SessionStatus.COMPLETED, metadata={**session_metadata, "provider_sessions": sessions}
    )
    run_result = RunResult(
        output=run.output,
        token_usage=token_usage,
        events=events,
        session_id=session.id,
        run_id=run.id,
        cost_usd=cost,
    )
    return session, run, run_result
