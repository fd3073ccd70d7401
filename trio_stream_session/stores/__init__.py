"""Session stores: in-memory (default) and SQLite (durable), and what custom stores reuse."""

from ._appender import AppendEventAppender as AppendEventAppender
from ._memory import InMemorySessionStore as InMemorySessionStore
from ._named import store_from_name as store_from_name
from ._postgres import PostgresSessionStore as PostgresSessionStore
from ._sqlite import SQLiteSessionStore as SQLiteSessionStore

__all__ = [
    "AppendEventAppender",
    "InMemorySessionStore",
    "PostgresSessionStore",
    "SQLiteSessionStore",
    "store_from_name",
]
