"""Session stores: in-memory (default) and SQLite (durable)."""

from ._memory import InMemorySessionStore as InMemorySessionStore
from ._sqlite import SQLiteSessionStore as SQLiteSessionStore

__all__ = ["InMemorySessionStore", "SQLiteSessionStore"]
