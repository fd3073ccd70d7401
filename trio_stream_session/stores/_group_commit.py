"""Group commit: the writes of concurrent tasks share one transaction and one worker-thread hop.

A durable store pays per transaction (a worker-thread hop, a commit), not
per row. :class:`GroupCommit` queues each write; the first caller that
finds no commit in flight leads: it lets the scheduler run once (so the
tasks woken at the same moment, typically the last batch's producers with
their next writes, queue too), then takes every write queued so far as one
batch and commits it in one hop, while new writes queue for the next batch.
When a hop ends, the callers of the committed batch wake and return their
results, and one caller waiting in the next batch wakes to lead it. A lone
producer therefore commits at once (a batch of one, one scheduler pass of
delay), and N producers share each hop.

Each caller returns only once *its* write is committed, so batching changes
no durability promise. Cancellation is atomic: a caller cancelled while its
batch is still queued withdraws its write and raises ``Cancelled``; once
its batch is committing it waits for the commit, shielded, and returns the
result (as ``trio.to_thread.run_sync`` does without ``abandon_on_cancel``),
its cancellation taking effect at its next checkpoint.

:func:`write_batch` is the transaction side, run in the store's worker
thread: all writes in one transaction; if one write fails, the transaction
is rolled back and each write is retried alone, so a failing write fails
only its own caller. A failure to begin or commit the transaction (the
database busy or full, an I/O error) fails every write of the batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast, final

import trio

__all__ = ["GroupCommit", "Transaction", "Write", "write_batch"]

C = TypeVar("C")  # a connection
C_contra = TypeVar("C_contra", contravariant=True)
R = TypeVar("R")


@final
class Write(Generic[C, R]):
    """One caller's write: *apply* runs on the connection inside the batch's
    transaction; the batch settles it with a result or an error."""

    __slots__ = ("apply", "error", "result", "settled")

    def __init__(self, apply: Callable[[C], R]) -> None:
        self.apply = apply
        self.result: R | None = None
        self.error: BaseException | None = None
        self.settled = False

    def succeed(self, result: R) -> None:
        self.result, self.error, self.settled = result, None, True

    def fail(self, error: BaseException) -> None:
        self.result, self.error, self.settled = None, error, True

    def unwrap(self) -> R:
        if self.error is not None:
            raise self.error
        return cast(R, self.result)


class Transaction(Protocol[C_contra]):
    """How a store runs one transaction on a connection (in its worker thread)."""

    def begin(self, conn: C_contra) -> None: ...
    def commit(self, conn: C_contra) -> None: ...
    def rollback(self, conn: C_contra) -> None: ...
    def error(self, exc: Exception) -> BaseException:
        """What a caller sees for *exc* (e.g. a driver error as a ``SessionError``)."""
        ...


def write_batch(conn: C, writes: Sequence[Write[C, Any]], transaction: Transaction[C]) -> None:
    """Settle every write of *writes* in one transaction on *conn* (blocking).

    A write that raises rolls the transaction back, and then each write is
    committed alone in its own transaction: only the failing caller sees
    the failure. A failure to begin or commit fails every write of the
    batch, each with its own exception from ``transaction.error``. Anything
    other than an ``Exception`` rolls back and propagates.
    """
    in_writes = False
    try:
        transaction.begin(conn)
        in_writes = True
        for write in writes:
            write.succeed(write.apply(conn))
        in_writes = False
        transaction.commit(conn)
    except Exception as exc:
        transaction.rollback(conn)
        if in_writes and len(writes) > 1:
            for write in writes:
                write_batch(conn, (write,), transaction)
        else:
            for write in writes:
                write.fail(transaction.error(exc))
    except BaseException:
        transaction.rollback(conn)
        raise


@final
class _Batch(Generic[C]):
    __slots__ = ("done", "lot", "started", "writes")

    def __init__(self) -> None:
        self.writes: list[Write[C, Any]] = []
        self.lot = trio.lowlevel.ParkingLot()  # its callers, waiting
        self.started = False  # its commit is in flight: its writes can no longer withdraw
        self.done = False  # every write is settled


@final
class GroupCommit(Generic[C]):
    """Batches concurrent writes: one *commit* call per batch (see the module).

    *commit* must settle every write it is given (``write_batch`` in a
    worker thread does); if it raises, every write it left unsettled fails
    with that exception, and the leading caller raises it.
    """

    __slots__ = ("_collecting", "_commit", "_committing")

    def __init__(self, commit: Callable[[Sequence[Write[C, Any]]], Awaitable[None]]) -> None:
        self._commit = commit
        self._collecting: _Batch[C] = _Batch()  # the next batch, not started
        self._committing = False

    async def submit(self, apply: Callable[[C], R]) -> R:
        """Commit ``apply(conn)`` with the writes queued meanwhile; its result.

        A cancellation point (and a schedule point); atomic under cancellation.
        """
        write: Write[C, R] = Write(apply)
        batch = self._collecting
        batch.writes.append(write)
        gathered = False
        try:
            while not batch.done:
                if self._committing:
                    await batch.lot.park()
                elif not gathered:
                    # One scheduler pass before leading: the callers woken with
                    # us (the last batch's) queue their next writes into ours.
                    gathered = True
                    await trio.lowlevel.checkpoint()
                else:
                    await self._lead(batch)
        except trio.Cancelled:
            if not batch.started:
                self._withdraw(batch, write)
                raise
            with trio.CancelScope(shield=True):
                while not batch.done:
                    await batch.lot.park()
        except BaseException:  # e.g. KeyboardInterrupt
            if not batch.started:
                self._withdraw(batch, write)
            raise
        return write.unwrap()

    def _withdraw(self, batch: _Batch[C], write: Write[C, Any]) -> None:
        """Take a queued write out of its batch; if the caller was woken to
        lead the batch, another waiting caller leads it instead."""
        batch.writes.remove(write)
        if not self._committing:
            batch.lot.unpark()

    async def _lead(self, batch: _Batch[C]) -> None:
        self._committing = True
        batch.started = True
        self._collecting = _Batch()
        try:
            with trio.CancelScope(shield=True):
                await self._commit(batch.writes)
        except BaseException as exc:
            for write in batch.writes:
                if not write.settled:
                    write.fail(exc)
            raise
        finally:
            batch.done = True
            self._committing = False
            batch.lot.unpark_all()
            self._collecting.lot.unpark()  # one waiter of the next batch leads it
