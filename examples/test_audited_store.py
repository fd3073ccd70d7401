"""A store of your own, checked by the store conformance suite.

``AuditedStore`` keeps everything in memory (it extends the in-memory store)
and counts the events it stores, by type: the shape of a store that adds
something to every write. Its runs append through ``append_event``, by
returning ``AppendEventAppender`` from ``appender``. Run with
``pytest examples/test_audited_store.py`` (needs ``pytest-trio``).
"""

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from trio_stream_session import (
    Event,
    EventAppender,
    InMemorySessionStore,
    SessionStore,
    open_stream_session,
)
from trio_stream_session.stores import AppendEventAppender
from trio_stream_session.testing import MockAdapter, store_conformance

pytestmark = pytest.mark.trio


class AuditedStore(InMemorySessionStore):
    """The in-memory store, counting stored events by type."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def appender(
        self,
        session_id: str,
        run_id: str | None = None,
        *,
        provider: str | None = None,
        correlation_id: str | None = None,
    ) -> EventAppender:
        # Every event a run stores goes through append_event below.
        return AppendEventAppender(
            self, session_id, run_id, provider=provider, correlation_id=correlation_id
        )

    async def append_event(self, event: Event) -> Event:
        stored = await super().append_event(event)
        self.counts[stored.type.value] += 1
        return stored


@asynccontextmanager
async def fresh_store() -> AsyncIterator[SessionStore]:
    """The factory the checks take: a fresh, empty, open store per check."""
    async with AuditedStore() as store:
        yield store


@pytest.mark.parametrize("check", store_conformance.CHECKS.values(), ids=store_conformance.CHECKS)
async def test_conformance(check: store_conformance.Check) -> None:
    await check(fresh_store)


async def test_a_session_is_counted() -> None:
    store = AuditedStore()
    async with store, open_stream_session(adapter=MockAdapter(), input="Hi", store=store) as stream:
        async for _ in stream:
            pass
    assert store.counts["run_started"] == store.counts["run_completed"] == 1
    assert sum(store.counts.values()) == 7  # 3 of the session, 1 message_sent, 3 of the run
