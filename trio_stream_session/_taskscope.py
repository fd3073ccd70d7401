"""A nursery for context managers that run background tasks around user code."""

from __future__ import annotations

from types import TracebackType
from typing import final

import trio

__all__ = ["TaskScope"]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


@final
class TaskScope:
    """``async with TaskScope() as nursery``: ``trio.open_nursery()`` that does
    not wrap the body's exception in a group.

    Our background tasks turn every ``Exception`` into an event, so a group
    out of the nursery holds only ``Cancelled`` and, rarely, a
    ``KeyboardInterrupt``-like ``BaseException``. The body's own exception
    propagates as itself (the nursery never sees it: its tasks are stopped
    by the code around the body, not by the body's failure); a single
    background ``BaseException`` is re-raised alone; only several distinct
    failures stay grouped. A class rather than ``@asynccontextmanager``: it is
    on every session's path, and a generator frame per scope costs.
    """

    __slots__ = ("_manager",)

    def __init__(self) -> None:
        self._manager = trio.open_nursery()

    async def __aenter__(self) -> trio.Nursery:
        return await self._manager.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        body_exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            await self._manager.__aexit__(None, None, None)
        except BaseExceptionGroup as group:
            others = [
                e for e in _leaves(group) if not isinstance(e, trio.Cancelled) and e is not body_exc
            ]
            if isinstance(body_exc, trio.Cancelled) and others:
                body_exc = None  # the body was cancelled because a background task failed
            if not others and body_exc is None:
                raise  # only Cancelled: the cancel scope that caused it handles the group
            if len(others) == 1 and body_exc is None:
                raise others[0] from None
            if others:
                failures = [body_exc, *others] if body_exc is not None else others
                raise BaseExceptionGroup("several failures in a session scope", failures) from None
            # Only Cancelled besides the body's own exception: the body's wins.
        return False  # the body's exception, if any, propagates unchanged
