"""Session stores: in-memory (default) and SQLite (durable)."""

from ._memory import InMemorySessionStore as InMemorySessionStore

__all__ = ["InMemorySessionStore"]
