"""The PostgreSQL store's schema: versioned migrations, applied on open, and the append function.

Everything lives in one PostgreSQL schema (``trio_stream_session`` unless the
store is given another), so several independent stores can share a database:

* ``schema_version (version)``: one row, the version of the tables below.
* ``sessions`` and ``runs``: one row per record, the record as ``jsonb`` plus
  the columns the store filters on; ``pos`` keeps insertion order.
* ``events``: one row per event, keyed by ``(session_id, seq)``, ``id`` unique;
  the record as ``jsonb`` (``sequence_number`` filled in).
* ``heads (session_id, seq)``: the last sequence number of each session. An
  append locks its sessions' head rows (``FOR UPDATE``, in ``session_id``
  order, so two batches never deadlock) for the rest of its transaction:
  sequence numbers are gap-free, and N+1 is never visible before N, so "the
  events after N" is a safe tail query.
* ``append_events(batch jsonb)``: appends a JSON array of event records in
  one round trip and a few set-based statements; per event, ``(ord, seq,
  stored)`` where ``stored`` is the stored record's text when the id was
  already there (a duplicate, also of an earlier event of the same batch).

Migration ``i`` takes the schema from version ``i`` to ``i + 1``. Opening a
store applies the missing ones in one transaction under an advisory lock (so
processes opening at once agree) and refuses a schema newer than this code
(``migration_required``: upgrade the library).
"""

from __future__ import annotations

import re
from typing import Final

import psycopg
from psycopg import sql

from .._errors import SessionError

__all__ = ["SCHEMA_VERSION", "check_schema_name", "migrate"]

_V1: Final = """
CREATE TABLE {s}.sessions (
    pos bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    agent_id text NOT NULL,
    status text NOT NULL,
    record jsonb NOT NULL
);
CREATE INDEX ON {s}.sessions (pos);
CREATE TABLE {s}.runs (
    pos bigint GENERATED ALWAYS AS IDENTITY,
    id text PRIMARY KEY,
    session_id text NOT NULL,
    status text NOT NULL,
    record jsonb NOT NULL
);
CREATE INDEX ON {s}.runs (session_id, pos);
CREATE TABLE {s}.heads (session_id text PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE {s}.events (
    session_id text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL UNIQUE,
    run_id text,
    type text NOT NULL,
    ts timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE FUNCTION {s}.append_events(batch jsonb)
RETURNS TABLE (o_ord bigint, o_seq bigint, o_stored text)
LANGUAGE plpgsql AS $$
DECLARE
    sids text[];
    locked integer;
BEGIN
    SELECT array_agg(DISTINCT e->>'session_id' COLLATE "C" ORDER BY e->>'session_id' COLLATE "C")
        INTO sids FROM jsonb_array_elements(batch) AS e;
    IF sids IS NULL THEN
        RETURN;
    END IF;
    LOOP  -- again if a session was deleted between the two statements
        INSERT INTO {s}.heads (session_id, seq) SELECT unnest(sids), 0 ON CONFLICT DO NOTHING;
        SELECT count(*) INTO locked FROM (
            SELECT 1 FROM {s}.heads WHERE session_id = ANY (sids)
            ORDER BY session_id COLLATE "C" FOR UPDATE
        ) AS h;
        EXIT WHEN locked = cardinality(sids);
    END LOOP;
    RETURN QUERY
    WITH items AS (
        SELECT t.ord, t.item, t.item->>'id' AS id, t.item->>'session_id' AS sid
        FROM jsonb_array_elements(batch) WITH ORDINALITY AS t (item, ord)
    ), old AS (
        SELECT e.id, e.seq, e.record::text AS stored
        FROM {s}.events AS e WHERE e.id IN (SELECT id FROM items)
    ), firsts AS (
        SELECT DISTINCT ON (i.id) i.ord, i.item, i.id, i.sid FROM items AS i
        WHERE NOT EXISTS (SELECT FROM old WHERE old.id = i.id) ORDER BY i.id, i.ord
    ), counted AS (
        SELECT f.ord, f.id, f.sid, f.item,
            h.seq + row_number() OVER (PARTITION BY f.sid ORDER BY f.ord) AS seq
        FROM firsts AS f JOIN {s}.heads AS h ON h.session_id = f.sid
    ), numbered AS (
        SELECT c.ord, c.id, c.sid, c.seq,
            jsonb_set(c.item, '{{sequence_number}}', to_jsonb(c.seq)) AS record
        FROM counted AS c
    ), inserted AS (
        INSERT INTO {s}.events (session_id, seq, id, run_id, type, ts, record)
        SELECT n.sid, n.seq, n.id, n.record->>'run_id', n.record->>'type',
            (n.record->>'timestamp')::timestamptz, n.record
        FROM numbered AS n
    ), bumped AS (
        UPDATE {s}.heads AS h SET seq = m.seq
        FROM (SELECT sid, max(seq) AS seq FROM numbered GROUP BY sid) AS m
        WHERE h.session_id = m.sid
    )
    SELECT i.ord, coalesce(o.seq, n.seq),
        CASE WHEN o.id IS NOT NULL THEN o.stored WHEN n.ord <> i.ord THEN n.record::text END
    FROM items AS i
    LEFT JOIN old AS o ON o.id = i.id
    LEFT JOIN numbered AS n ON n.id = i.id
    ORDER BY i.ord;
END
$$;
"""

#: Migration ``i`` takes a schema from version ``i`` to ``i + 1``; ``{s}`` is the schema.
MIGRATIONS: Final[tuple[str, ...]] = (_V1,)
#: The schema version this code reads and writes.
SCHEMA_VERSION: Final = len(MIGRATIONS)

_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,47}")


def check_schema_name(name: object) -> str:
    """*name* if it can name the store's PostgreSQL schema, else ``ValueError``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"schema must be a lower-case SQL name of at most 48 characters "
            f"(letters, digits, _), not {name!r}"
        )
    return name


def _version(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> int | None:
    """The schema's version, or None when it has no ``schema_version`` table."""
    table = f"{schema}.schema_version"
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    if row is None or not row[0]:
        return None
    query = sql.SQL("SELECT version FROM {}.schema_version").format(sql.Identifier(schema))
    found = conn.execute(query).fetchone()
    return int(str(found[0])) if found else 0


def _check_not_newer(schema: str, version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise SessionError(
            "migration_required",
            f"the PostgreSQL schema {schema!r} has version {version}, newer than this "
            f"trio_stream_session understands ({SCHEMA_VERSION}); upgrade the library",
        )


def migrate(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> None:
    """Bring *schema* to :data:`SCHEMA_VERSION` (creating it if missing), or raise
    ``migration_required`` for a newer one (``storage_connection_failed`` for a
    database whose encoding is not UTF8). *conn* is in autocommit mode."""
    row = conn.execute("SELECT current_setting('server_encoding')").fetchone()
    if row is None or row[0] != "UTF8":
        encoding = row[0] if row else "unknown"
        raise SessionError(
            "storage_connection_failed",
            f"the database's encoding is {encoding}; trio_stream_session needs a UTF8 database",
        )
    version = _version(conn, schema)
    _check_not_newer(schema, version)
    if version == SCHEMA_VERSION:
        return
    ident = sql.Identifier(schema)
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"trio_stream_session:{schema}",)
        )
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        version = _version(conn, schema)  # again, now that we hold the lock
        _check_not_newer(schema, version)
        if version is None:
            conn.execute(
                sql.SQL("CREATE TABLE {}.schema_version (version integer NOT NULL)").format(ident)
            )
            conn.execute(sql.SQL("INSERT INTO {}.schema_version VALUES (0)").format(ident))
            version = 0
        for step in MIGRATIONS[version:]:
            conn.execute(sql.SQL(step).format(s=ident))
        conn.execute(
            sql.SQL("UPDATE {}.schema_version SET version = %s").format(ident), (SCHEMA_VERSION,)
        )
