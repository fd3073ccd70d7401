"""A nursery for context managers that run background tasks around user code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

__all__ = ["task_scope"]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


@asynccontextmanager
async def task_scope() -> AsyncIterator[trio.Nursery]:
    """``trio.open_nursery()`` that does not wrap the body's exception in a group.

    Our background tasks turn every ``Exception`` into an event, so a group
    out of the nursery holds only ``Cancelled`` and, rarely, a
    ``KeyboardInterrupt``-like ``BaseException``. The body's own exception is
    re-raised as itself; a single background ``BaseException`` is re-raised
    alone; only several distinct failures stay grouped.
    """
    body_exc: BaseException | None = None
    to_raise: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            try:
                yield nursery
            except BaseException as exc:
                body_exc = exc
    except BaseExceptionGroup as group:
        others = [
            e for e in _leaves(group) if not isinstance(e, trio.Cancelled) and e is not body_exc
        ]
        if isinstance(body_exc, trio.Cancelled) and others:
            body_exc = None  # the body was cancelled because a background task failed
        if not others and body_exc is None:
            raise  # only Cancelled: the cancel scope that caused it handles the group
        if len(others) == 1 and body_exc is None:
            to_raise = others[0]
        elif others:
            failures = [body_exc, *others] if body_exc is not None else others
            to_raise = BaseExceptionGroup("several failures in a session scope", failures)
    # Raised outside the except block so the body's exception keeps its own context.
    if to_raise is not None:
        raise to_raise
    if body_exc is not None:
        raise body_exc
