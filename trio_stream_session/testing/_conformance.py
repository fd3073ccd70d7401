"""The conformance suite's registry and the helpers its checks share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from .._errors import ErrorCode, SessionError
from .._events import Event, EventType
from .._models import Session
from .._ports import SessionStore

__all__ = ["CHECKS", "Check", "StoreFactory", "check", "make_event", "make_session", "raises"]

StoreFactory = Callable[[], AbstractAsyncContextManager[SessionStore]]
Check = Callable[[StoreFactory], Awaitable[None]]
CHECKS: Final[dict[str, Check]] = {}


def check(fn: Check) -> Check:
    """Register *fn* (``check_<name>``) in :data:`CHECKS` as ``<name>``."""
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


async def raises(code: ErrorCode, awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except SessionError as exc:
        assert exc.code == code, f"expected {code}, got {exc.code}: {exc}"
    else:
        raise AssertionError(f"expected SessionError({code.value})")


def make_session(agent_id: str = "agent", **kw: Any) -> Session:
    return Session(agent_id=agent_id, **kw)


def make_event(session_id: str, type: EventType = EventType.SESSION_CREATED, **kw: Any) -> Event:
    return Event(type=type, session_id=session_id, **kw)
