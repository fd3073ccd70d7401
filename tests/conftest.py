"""Shared fixtures. Time-based tests use pytest-trio's ``autojump_clock``.

Property tests (Hypothesis) take their example counts from a settings profile,
never from the test: ``quick`` by default (a sample that keeps the default suite
fast), ``stress`` (thorough) when ``HYPOTHESIS_PROFILE=stress``, which
``nox -s stress`` sets. Both drop the deadline and the too-slow health check:
on a loaded machine wall-clock time says nothing about the code. A failing
example is still found again first on the next run (Hypothesis's example
database).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from trio_stream_session import InMemorySessionStore

for _name, _examples in (("quick", 25), ("stress", 1000)):
    settings.register_profile(
        _name, max_examples=_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


@pytest.fixture
async def store() -> InMemorySessionStore:
    # Borrowed by the tests; closing is the test's business, not the library's.
    return InMemorySessionStore()


# A real PostgreSQL server for the PostgresSessionStore tests (see tests/_postgres.py).
from _postgres import new_postgres_store as new_postgres_store  # noqa: E402
from _postgres import postgres_dsn as postgres_dsn  # noqa: E402
