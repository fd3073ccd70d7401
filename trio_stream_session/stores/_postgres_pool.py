"""The PostgreSQL store's connections: the DSN (never shown with its password), a small
pool used from worker threads, and psycopg failures as ``SessionError``."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias, TypeVar
from urllib.parse import quote, unquote, urlsplit

import psycopg
import trio
from psycopg import conninfo, errors
from psycopg.pq import TransactionStatus

from .._errors import ErrorCode, SessionError
from .._redact import redact_text

__all__ = ["Conn", "ConnectSettings", "Pool", "describe_dsn"]

Conn: TypeAlias = psycopg.Connection[tuple[Any, ...]]
_T = TypeVar("_T")

#: Failures worth one more try on a fresh transaction: the transaction was rolled back
#: (a deadlock, a serialization failure, an event id raced in by another session).
_RETRY_SAME: Final = (errors.TransactionRollback, errors.UniqueViolation)


def _parse(dsn: str) -> dict[str, Any]:
    if not isinstance(dsn, str) or not dsn.strip():
        raise ValueError("dsn must be a non-empty PostgreSQL connection string")
    try:
        return conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        # libpq's message may quote the DSN, password included: never show it.
        raise ValueError(
            "dsn is not a valid PostgreSQL connection string (expected a "
            "postgresql://user@host:port/dbname URI or key=value pairs)"
        ) from None


def describe_dsn(dsn: str) -> str:
    """*dsn* as ``postgresql://user@host:port/dbname``, without its password or other
    parameters; ``ValueError`` (whose message never quotes *dsn*) if it is malformed."""
    params = _parse(dsn)
    user = params.get("user")
    host = params.get("host") or params.get("hostaddr") or ""
    port = params.get("port")
    where = f"{quote(str(user), safe='')}@" if user else ""
    where += str(host) + (f":{port}" if port else "")
    return f"postgresql://{where}/{params.get('dbname') or ''}"


def _secrets(dsn: str, params: dict[str, Any]) -> list[str]:
    found = [str(params[k]) for k in ("password", "sslpassword") if params.get(k)]
    with contextlib.suppress(ValueError):
        raw = urlsplit(dsn).password
        if raw:
            found += [raw, unquote(raw)]
    return sorted({s for s in found if s}, key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """How to open one connection: the DSN with the store's bounds added."""

    conninfo: str
    display: str
    secrets: tuple[str, ...]

    @classmethod
    def build(
        cls,
        dsn: str,
        *,
        connect_timeout: float,
        statement_timeout: float,
        lock_timeout: float,
    ) -> ConnectSettings:
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("statement_timeout", statement_timeout),
            ("lock_timeout", lock_timeout),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a number of seconds > 0, got {value!r}")
            if math.isinf(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
        params = _parse(dsn)
        ms = {
            k: max(1, round(v * 1000)) for k, v in (("s", statement_timeout), ("l", lock_timeout))
        }
        bounds = (
            f"-c statement_timeout={ms['s']} -c lock_timeout={ms['l']}"
            f" -c idle_in_transaction_session_timeout={ms['s'] + ms['l']}"
        )
        extra: dict[str, str | int] = {
            "options": f"{params.get('options', '')} {bounds}".strip(),
            # libpq counts whole seconds and treats less than 2 as 2.
            "connect_timeout": max(2, math.ceil(connect_timeout)),
            # A server that vanishes without a word (a cable, a VM) is noticed, not waited on.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": ms["s"] + ms["l"],
        }
        extra.setdefault(
            "application_name", params.get("application_name") or "trio_stream_session"
        )
        return cls(
            conninfo.make_conninfo(dsn, **extra), describe_dsn(dsn), tuple(_secrets(dsn, params))
        )

    def scrub(self, text: str) -> str:
        """*text* with the DSN's secrets (and anything else secret-looking) removed."""
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return redact_text(text)

    def error(self, code: ErrorCode, action: str, exc: BaseException) -> SessionError:
        """A ``SessionError`` for *exc*; ``details["sqlstate"]`` when the server sent one."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        sqlstate = getattr(exc, "sqlstate", None)
        return SessionError(
            code,
            self.scrub(f"{action} PostgreSQL at {self.display}: {reason}"),
            details={"sqlstate": sqlstate} if sqlstate else None,
        )

    def connect(self) -> Conn:
        """A new autocommit connection (blocking); ``storage_connection_failed`` if none."""
        try:
            return psycopg.Connection.connect(self.conninfo, autocommit=True)
        except psycopg.Error as exc:
            # Not chained: a psycopg error may carry connection details we do not show.
            raise self.error(
                ErrorCode.STORAGE_CONNECTION_FAILED, "cannot connect to", exc
            ) from None


def close_quietly(conn: Conn) -> None:
    with contextlib.suppress(psycopg.Error, OSError):
        conn.close()


def _close_all(conns: list[Conn]) -> None:
    for conn in conns:
        close_quietly(conn)


class Pool:
    """At most *size* connections, each used by one worker thread at a time.

    :meth:`run` calls ``fn(conn)`` in a worker thread; the caller's cancellation
    waits for it (every statement is bounded by ``statement_timeout``), so a
    connection goes back to the pool only when idle: never mid-transaction.
    A connection found broken (the server restarted, the network dropped) is
    closed and the call tried once more on a new one; so is a transaction the
    server rolled back (deadlock, serialization failure). Every operation of
    the store is idempotent (upserts, appends deduplicated by event id), so a
    retry after a lost commit acknowledgement cannot apply anything twice.
    """

    def __init__(self, settings: ConnectSettings, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"pool_size must be an integer >= 1, got {size!r}")
        self.settings = settings
        self._idle: list[Conn] = []
        self._slots = trio.CapacityLimiter(size)
        self.closed = False

    async def run(self, code: ErrorCode, fn: Callable[[Conn], _T]) -> _T:
        """``fn(conn)`` in a worker thread; psycopg failures become ``SessionError(code)``."""
        if self.closed:
            raise SessionError("storage_connection_failed", "the session store is closed")
        async with self._slots:
            slot: list[Conn | None] = [self._idle.pop() if self._idle else None]
            try:
                return await trio.to_thread.run_sync(self._call, slot, code, fn)
            finally:
                conn = slot[0]
                if conn is not None:
                    if self.closed:
                        with trio.CancelScope(shield=True):
                            await trio.to_thread.run_sync(close_quietly, conn)
                    else:
                        self._idle.append(conn)

    def _call(self, slot: list[Conn | None], code: ErrorCode, fn: Callable[[Conn], _T]) -> _T:
        for attempt in (1, 2):
            conn = slot[0]
            if conn is None:
                conn = slot[0] = self.settings.connect()
            try:
                result = fn(conn)
            except psycopg.Error as exc:
                if conn.broken or conn.closed:
                    slot[0] = None
                    close_quietly(conn)
                    if attempt == 1:
                        continue
                    raise self.settings.error(
                        ErrorCode.STORAGE_CONNECTION_FAILED, "lost the connection to", exc
                    ) from exc
                if not self._end_transaction(slot, conn):
                    raise self.settings.error(code, "failed on", exc) from exc
                if attempt == 1 and isinstance(exc, _RETRY_SAME):
                    continue
                raise self.settings.error(code, "failed on", exc) from exc
            except BaseException:
                self._end_transaction(slot, conn)
                raise
            if conn.info.transaction_status != TransactionStatus.IDLE:
                self._end_transaction(slot, conn)
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _end_transaction(slot: list[Conn | None], conn: Conn) -> bool:
        """Roll back whatever *conn* has open; a connection that cannot is dropped."""
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.rollback()
            return True
        except psycopg.Error:
            slot[0] = None
            close_quietly(conn)
            return False

    async def aclose(self) -> None:
        """Close the idle connections; those in use close when their call ends."""
        self.closed = True
        idle, self._idle = self._idle, []
        if idle:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_close_all, idle)
