"""A store named by a string, as the command line takes it: ``memory``,
``sqlite:PATH`` or ``postgres:DSN``."""

from __future__ import annotations

from pathlib import Path

from ._memory import InMemorySessionStore
from ._postgres import PostgresSessionStore
from ._sqlite import SQLiteSessionStore

__all__ = ["store_from_name"]


def store_from_name(
    name: str, *, read_only: bool = False
) -> InMemorySessionStore | SQLiteSessionStore | PostgresSessionStore:
    """A new store for *name*, to open with ``async with``: ``memory``, ``sqlite:PATH`` (*read_only*
    opens it for reading only) or ``postgres:DSN``. ``ValueError`` for another
    name (the message never quotes a DSN, which may hold a password)."""
    if name == "memory":
        return InMemorySessionStore()
    kind, _, where = name.partition(":")
    if kind == "sqlite" and where:
        return SQLiteSessionStore(Path(where), read_only=read_only)
    if kind == "postgres" and where:
        return PostgresSessionStore(where)
    raise ValueError(f"a store is 'memory', 'sqlite:PATH' or 'postgres:DSN', not {kind!r}")
