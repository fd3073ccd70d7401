"""PostgresSessionStore: the shared conformance suite against a real server, plus what
only this store has (jsonb text, migrations, the pool, the DSN kept secret).

These run on the real clock: worker-thread time confuses an autojump MockClock.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trio_stream_session import PostgresSessionStore
from trio_stream_session.testing import store_conformance

CHECKS = store_conformance.CHECKS
NewStore = Callable[..., PostgresSessionStore]


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
async def test_conformance(check: store_conformance.Check, new_postgres_store: NewStore) -> None:
    await check(new_postgres_store)
