"""Shared fixtures. Time-based tests use pytest-trio's ``autojump_clock``."""

from __future__ import annotations

import pytest

from trio_stream_session import InMemorySessionStore


@pytest.fixture
async def store() -> InMemorySessionStore:
    # Borrowed by the tests; closing is the test's business, not the library's.
    return InMemorySessionStore()
