"""Per-run cancel scopes: what makes ``adapter.cancel(run_id)`` work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from .._errors import SessionError
from .._ports import Emit

__all__ = ["RunScopes"]

_T = TypeVar("_T")


class RunScopes:
    """The cancel scope of every run an adapter is executing.

    :meth:`execute` runs one ``execute`` body in its own scope; :meth:`cancel`
    cancels it from any task, after which the body's own cleanup runs, the
    adapter emits ``run_cancelled`` and raises ``SessionError("cancelled")``.
    """

    def __init__(self) -> None:
        self._scopes: dict[str, trio.CancelScope] = {}

    async def execute(self, run_id: str, emit: Emit, body: Callable[[], Awaitable[_T]]) -> _T:
        if run_id in self._scopes:
            raise SessionError("invalid_operation", f"Run {run_id} is already executing")
        scope = self._scopes[run_id] = trio.CancelScope()
        try:
            with scope:
                return await body()
        finally:
            del self._scopes[run_id]
        # Reached only when cancel(run_id) stopped the run.
        await emit({"type": "run_cancelled", "data": {}})
        raise SessionError("cancelled", "Run was cancelled")

    def cancel(self, run_id: str) -> None:
        """Cancel *run_id*; ``SessionError("run_not_found")`` if it is not executing."""
        scope = self._scopes.get(run_id)
        if scope is None:
            raise SessionError("run_not_found", f"Run not found: {run_id}")
        scope.cancel()

    def cancel_all(self) -> None:
        for scope in list(self._scopes.values()):
            scope.cancel()
