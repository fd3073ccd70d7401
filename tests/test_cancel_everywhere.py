"""Cancel a stream session at every scheduler step of its life and check what is left.

After each cancellation: no task left behind, owned adapter and store closed,
the store consistent (nothing left pending/running, sequence numbers
contiguous, every session's events complete), no warnings (pytest turns them
into errors).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

import pytest
import trio
import trio.testing
from _support import USER_INPUT

from trio_stream_session import InMemorySessionStore, open_stream_session
from trio_stream_session.stores._query import EventQuery
from trio_stream_session.testing import MockAdapter


class StepCanceller(trio.abc.Instrument):
    """Cancels *scope* just before the *target*-th task step; tracks live tasks."""

    def __init__(self, scope: trio.CancelScope, target: int) -> None:
        self.scope = scope
        self.target = target
        self.steps = 0
        self.live: set[trio.lowlevel.Task] = set()

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.live.add(task)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.live.discard(task)

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps += 1
        if self.steps == self.target:
            self.scope.cancel()


class KeptStore(InMemorySessionStore):
    """An owned store we can still inspect after the session closed it."""

    last: ClassVar[KeptStore | None] = None

    def __init__(self) -> None:
        super().__init__()
        KeptStore.last = self


class KeptAdapter(MockAdapter):
    last: ClassVar[KeptAdapter | None] = None

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        KeptAdapter.last = self


def check_consistent(store: InMemorySessionStore) -> None:
    for session_id, session in store._sessions.items():
        events = store._query(EventQuery.build(session_id))  # synchronous read
        assert [e.sequence_number for e in events] == list(range(1, len(events) + 1))
        runs = [r for r in store._runs.values() if r.session_id == session_id]
        for run in runs:
            assert run.status.terminal, f"run left {run.status}"
        assert session.status.terminal or not runs, f"session left {session.status}"
        types = [e.type.value for e in events]
        if session.status.value == "cancelled":
            assert types[-1] == "session_cancelled"
        if runs and runs[0].status.value == "cancelled":
            assert "run_cancelled" in types


async def run_cancelled_at(target: int, mode: str) -> bool:
    """One session cancelled at step *target*; True if the cancel landed mid-session."""
    KeptStore.last = KeptAdapter.last = None
    outer = trio.CancelScope()
    instrument = StepCanceller(outer, target)
    before = set(instrument.live)
    trio.lowlevel.add_instrument(instrument)
    completed = False
    try:
        with outer:
            async with open_stream_session(
                adapter=(KeptAdapter, {"mode": mode, "chunk_delay": 0.5, "delay": 0.5}),
                input=USER_INPUT,
                store=KeptStore,
                shutdown_timeout=2,
            ) as stream:
                async for _ in stream:
                    pass
            completed = True
    finally:
        trio.lowlevel.remove_instrument(instrument)
    # System tasks live with the run, not the block.
    root = trio.lowlevel.current_root_task()
    live = {t for t in instrument.live if t.parent_nursery not in root.child_nurseries}
    assert live <= before | {trio.lowlevel.current_task()}, "a task outlived the block"
    store, adapter = KeptStore.last, KeptAdapter.last
    if store is not None:
        assert store.closed
        check_consistent(store)
    if adapter is not None:
        assert adapter.entered == adapter.exited
    return not completed


@pytest.mark.parametrize("mode", ["instant", "streaming", "delayed", "failing"])
async def test_cancel_at_every_step(mode: str, autojump_clock: trio.testing.MockClock) -> None:
    target = 1
    interrupted = 0
    while await run_cancelled_at(target, mode):
        interrupted += 1
        target += 1
        assert target < 2000, "the session never finished"
    # Every step up to the end was tried, and the sweep really cut sessions short.
    # (A failing run has few schedule points: a store's run operations are
    # cancellation points but not schedule points.)
    assert interrupted >= 5


@pytest.mark.stress
@pytest.mark.parametrize("seed", range(300))
async def test_cancel_at_random_steps(seed: int, autojump_clock: trio.testing.MockClock) -> None:
    rng = random.Random(seed)
    mode = rng.choice(["instant", "streaming", "delayed", "failing"])
    await run_cancelled_at(rng.randint(1, 30), mode)  # sessions take 17-27 steps
