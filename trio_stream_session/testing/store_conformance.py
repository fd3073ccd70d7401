"""The store conformance suite: behaviour every :class:`SessionStore` must have.

Each check is an async function taking a *store factory* (a zero-argument
callable returning an async context manager that yields a fresh, empty,
open store) and raising ``AssertionError`` on a violation. It imports no test
framework; with pytest and pytest-trio::

    from trio_stream_session.testing import store_conformance

    checks = store_conformance.CHECKS

    @pytest.mark.parametrize("check", checks.values(), ids=checks)
    async def test_conformance(check):
        await check(lambda: MyStore(...))

Timing checks measure with :func:`trio.current_time`, so they also pass under
``trio.testing.MockClock(autojump_threshold=0)``.
"""

from __future__ import annotations

# Importing a module registers its checks in CHECKS.
from . import (  # noqa: F401
    _conformance_appender,
    _conformance_begin_run,
    _conformance_events,
    _conformance_records,
    _conformance_waits,
)
from ._conformance import CHECKS, Check, StoreFactory

__all__ = ["CHECKS", "Check", "StoreFactory"]
