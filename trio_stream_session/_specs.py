"""Adapter and store specs: borrowed instances vs owned ``(Class, {options})``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import trio

from ._errors import ErrorCode, SessionError
from ._ports import ProviderAdapter, SessionStore, is_provider_adapter, is_session_store
from .stores import InMemorySessionStore

__all__ = ["ResourceSpec", "adapter_spec", "store_spec"]

_T = TypeVar("_T")
logger = logging.getLogger("trio_stream_session")
_ADAPTER_FORMS: Final = (
    "an adapter instance (borrowed), an adapter class, or (AdapterClass, {options}) (owned)"
)
_STORE_FORMS: Final = (
    "None (an owned InMemorySessionStore), a store instance (borrowed), "
    "a store class, or (StoreClass, {options}) (owned)"
)


@dataclass(frozen=True, slots=True)
class ResourceSpec(Generic[_T]):
    """A validated adapter or store spec: an instance to borrow, or a class to own."""

    instance: _T | None
    factory: Callable[..., Any] | None
    options: Mapping[str, Any]
    kind: str  # "adapter" or "store"

    @property
    def meta(self) -> object:
        """What ``StreamSession.meta`` reports: the class if owned, else the instance."""
        return self.factory if self.factory is not None else self.instance

    async def open(self, stack: AsyncExitStack, grace: float) -> _T:
        """The resource to use. An owned one is built and entered, and its exit
        is pushed on *stack* (shielded, bounded by *grace*)."""
        if self.factory is None:
            assert self.instance is not None
            return self.instance
        code = (
            ErrorCode.PROVIDER_UNAVAILABLE
            if self.kind == "adapter"
            else ErrorCode.STORAGE_CONNECTION_FAILED
        )
        name = getattr(self.factory, "__name__", repr(self.factory))
        try:
            resource = self.factory(**self.options)
            enter = getattr(resource, "__aenter__", None)
            if enter is not None:
                entered = await enter()
                stack.push_async_callback(_close_bounded, resource, grace)
                resource = resource if entered is None else entered
        except SessionError as exc:
            raise SessionError(
                exc.code if exc.code.category.value in ("provider", "storage") else code,
                f"could not open {self.kind} {name}: {exc.message}",
                details=exc.details,
                provider_error=exc.provider_error,
            ) from exc
        except Exception as exc:
            raise SessionError(code, f"could not open {self.kind} {name}: {exc!r}") from exc
        return resource  # type: ignore[no-any-return]


async def _close_bounded(resource: Any, grace: float) -> None:
    """Exit an owned resource even when cancelled, but never for longer than *grace*."""
    with trio.CancelScope(shield=True), trio.move_on_after(grace):
        try:
            await resource.__aexit__(None, None, None)
        except Exception:  # closing must not mask the session's own outcome
            logger.warning("closing %r failed", resource, exc_info=True)


def _split(spec: object, forms: str, kind: str) -> tuple[Any, Mapping[str, Any]] | None:
    if isinstance(spec, type):
        return spec, {}
    if isinstance(spec, tuple):
        if len(spec) == 2 and isinstance(spec[0], type) and isinstance(spec[1], Mapping):
            return spec[0], spec[1]
        raise TypeError(f"{kind} must be {forms}; got the tuple {spec!r}")
    return None


def adapter_spec(spec: object) -> ResourceSpec[ProviderAdapter]:
    if spec is None:
        raise TypeError(f"adapter is required: {_ADAPTER_FORMS}")
    split = _split(spec, _ADAPTER_FORMS, "adapter")
    if split is not None:
        return ResourceSpec(None, split[0], dict(split[1]), "adapter")
    if not is_provider_adapter(spec):
        raise TypeError(f"adapter must be {_ADAPTER_FORMS}; got {spec!r}")
    return ResourceSpec(spec, None, {}, "adapter")


def store_spec(spec: object) -> ResourceSpec[SessionStore]:
    if spec is None:  # the one place the default store is made
        return ResourceSpec(InMemorySessionStore(), None, {}, "store")
    split = _split(spec, _STORE_FORMS, "store")
    if split is not None:
        return ResourceSpec(None, split[0], dict(split[1]), "store")
    if not is_session_store(spec):
        raise TypeError(f"store must be {_STORE_FORMS}; got {spec!r}")
    return ResourceSpec(spec, None, {}, "store")
