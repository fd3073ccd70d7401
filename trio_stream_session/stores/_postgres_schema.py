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
  one round trip; per event, ``(ord, seq, stored)`` where ``stored`` is the
  stored record's text when the id was already there (a duplicate).

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
RETURNS TABLE (o_ord integer, o_seq bigint, o_stored text)
LANGUAGE plpgsql AS $$
DECLARE
    sids text[];
    seqs bigint[];
    item jsonb;
    sid text;
    k integer;
    found_seq bigint;
    found_record text;
BEGIN
    IF jsonb_array_length(batch) = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(DISTINCT e->>'session_id' COLLATE "C" ORDER BY e->>'session_id' COLLATE "C")
        INTO sids FROM jsonb_array_elements(batch) AS e;
    LOOP  -- again if a session was deleted between the two statements
        INSERT INTO {s}.heads (session_id, seq) SELECT unnest(sids), 0 ON CONFLICT DO NOTHING;
        SELECT array_agg(h.seq ORDER BY h.session_id COLLATE "C") INTO seqs FROM (
            SELECT session_id, seq FROM {s}.heads WHERE session_id = ANY (sids)
            ORDER BY session_id COLLATE "C" FOR UPDATE
        ) AS h;
        EXIT WHEN cardinality(seqs) = cardinality(sids);
    END LOOP;
    o_ord := 0;
    FOR item IN SELECT value FROM jsonb_array_elements(batch) LOOP
        o_ord := o_ord + 1;
        SELECT e.seq, e.record::text INTO found_seq, found_record
            FROM {s}.events AS e WHERE e.id = item->>'id';
        IF FOUND THEN
            o_seq := found_seq;
            o_stored := found_record;
        ELSE
            sid := item->>'session_id';
            k := array_position(sids, sid);
            seqs[k] := seqs[k] + 1;
            INSERT INTO {s}.events (session_id, seq, id, run_id, type, ts, record) VALUES (
                sid, seqs[k], item->>'id', item->>'run_id', item->>'type',
                (item->>'timestamp')::timestamptz,
                jsonb_set(item, '{{sequence_number}}', to_jsonb(seqs[k]))
            );
            o_seq := seqs[k];
            o_stored := NULL;
        END IF;
        RETURN NEXT;
    END LOOP;
    UPDATE {s}.heads AS h SET seq = v.seq FROM unnest(sids, seqs) AS v (session_id, seq)
        WHERE h.session_id = v.session_id AND h.seq <> v.seq;
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
