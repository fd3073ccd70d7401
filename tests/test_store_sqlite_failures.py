"""SQLiteSessionStore when the file is bad, read-only or full: always a coded SessionError.

Real files and real child processes: a full disk is ``RLIMIT_FSIZE`` in a child
(``SIGXFSZ`` ignored); read-only files are read by a child that cannot write them
(when the suite runs as root, who may write anything: as root without capabilities).
These run on the real clock: worker-thread time confuses an autojump MockClock.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from _support import USER_INPUT

from trio_stream_session import (
    ErrorCode,
    Event,
    EventType,
    Run,
    Session,
    SessionError,
    SQLiteSessionStore,
    open_stream_session,
)
from trio_stream_session.testing import MockAdapter

_CHILD_DEADLINE = 60  # seconds; a loaded machine starts Python slowly, a hang fails


def _event(i: int, session_id: str = "ses_s", pad: int = 0) -> Event:
    return Event(
        type=EventType.MESSAGE_STREAMED, session_id=session_id, data={"i": i, "pad": "x" * pad}
    )


async def _store_with_events(path: Path, count: int, pad: int = 400) -> None:
    async with SQLiteSessionStore(path) as store:
        for i in range(count):
            await store.append_event(_event(i, pad=pad))


async def _expect(code: ErrorCode, call: Any) -> SessionError:
    with pytest.raises(SessionError) as info:
        await call
    assert info.value.code is code, info.value
    return info.value


# -- files that are not (whole) databases -------------------------------------------------


async def test_not_a_database_is_the_same_error_borrowed_and_owned(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    code = ErrorCode.STORAGE_CONNECTION_FAILED
    borrowed = SQLiteSessionStore(path)
    error = await _expect(code, borrowed.get_session("ses_x"))  # opened on first use
    assert "not a database" in error.message and str(path) in error.message
    assert error.details == {"sqlite_error": "SQLITE_NOTADB"}
    await _expect(code, SQLiteSessionStore(path).__aenter__())
    with pytest.raises(SessionError) as info:
        async with open_stream_session(
            adapter=MockAdapter(), input=USER_INPUT, store=(SQLiteSessionStore, {"path": path})
        ):
            raise AssertionError("the owned store must not open")
    assert info.value.code is code
    async with open_stream_session(adapter=MockAdapter(), input=USER_INPUT, store=borrowed) as s:
        [end] = [e async for e in s]
    assert end.type is EventType.ERROR_OCCURRED
    assert end.data["error_code"] == code
    assert path.read_bytes().startswith(b"these are my notes")


async def test_truncated_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.sqlite3"
    await _store_with_events(path, 100)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    with pytest.raises(SessionError) as info:
        async with SQLiteSessionStore(path) as store:
            await store.get_events("ses_s")
    assert info.value.code in (ErrorCode.STORAGE_CONNECTION_FAILED, ErrorCode.STORAGE_READ_FAILED)
    assert info.value.details == {"sqlite_error": "SQLITE_CORRUPT"}


async def test_corrupt_pages_fail_reads_and_writes_with_their_codes(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite3"
    await _store_with_events(path, 100)
    size = path.stat().st_size
    page = 4096
    with path.open("r+b") as file:  # keep the header and the first tables' root pages
        file.seek(4 * page)
        file.write(b"\xa5" * (size - 5 * page))
    async with SQLiteSessionStore(path) as store:
        await _expect(ErrorCode.STORAGE_READ_FAILED, store.get_events("ses_s"))
        await _expect(ErrorCode.STORAGE_READ_FAILED, store.get_latest_sequence("ses_s"))
        await _expect(ErrorCode.STORAGE_WRITE_FAILED, store.append_event(_event(100)))
        session = Session(agent_id="a")
        flush = store.flush(session, Run(session_id=session.id), [_event(101)])
        await _expect(ErrorCode.STORAGE_WRITE_FAILED, flush)
        assert await store.list_sessions() == []  # the intact table still reads


async def test_a_record_that_does_not_decode_is_a_read_failure(tmp_path: Path) -> None:
    path = tmp_path / "record.sqlite3"
    session = Session(agent_id="a")
    async with SQLiteSessionStore(path) as store:
        await store.save_session(session)
        stored = await store.append_event(_event(0))
    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET record = '{not json'")
    conn.execute("UPDATE sessions SET record = '{\"id\": 5}'")
    conn.commit()
    conn.close()
    async with SQLiteSessionStore(path) as store:
        error = await _expect(ErrorCode.STORAGE_READ_FAILED, store.get_events("ses_s"))
        assert "stored Event record is corrupt" in error.message
        await _expect(ErrorCode.STORAGE_READ_FAILED, store.get_session(session.id))
        duplicate = await _expect(ErrorCode.STORAGE_READ_FAILED, store.append_event(stored))
        assert "stored Event record is corrupt" in duplicate.message


# -- read-only databases ------------------------------------------------------------------


async def test_read_only_option_reads_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    await _store_with_events(path, 20)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    store = SQLiteSessionStore(path, read_only=True)
    assert repr(store) == f"<SQLiteSessionStore {str(path)!r} read-only unopened>"
    async with store:
        assert [e.data["i"] for e in await store.get_events("ses_s")] == list(range(20))
        assert await store.get_latest_sequence("ses_s") == 20
        session = Session(agent_id="a")
        code = ErrorCode.STORAGE_WRITE_FAILED
        await _expect(code, store.append_event(_event(20)))
        await _expect(code, store.save_session(session))
        await _expect(code, store.save_run(Run(session_id=session.id)))
        await _expect(code, store.flush(session, Run(session_id=session.id)))
        await _expect(code, store.delete_session("ses_s"))
        assert await store.get_latest_sequence("ses_s") == 20
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


async def test_read_only_needs_an_existing_store(tmp_path: Path) -> None:
    code = ErrorCode.STORAGE_CONNECTION_FAILED
    missing = tmp_path / "missing.sqlite3"
    await _expect(code, SQLiteSessionStore(missing, read_only=True).__aenter__())
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    error = await _expect(code, SQLiteSessionStore(empty, read_only=True).__aenter__())
    assert "not a trio_stream_session store" in error.message


_WRITER = textwrap.dedent(
    """
    import sys, trio
    from trio_stream_session import Event, EventType, SQLiteSessionStore

    async def main(path, count):
        async with SQLiteSessionStore(path) as store:
            for i in range(count):
                await store.append_event(Event(
                    type=EventType.MESSAGE_STREAMED, session_id="ses_s", data={"i": i}))
            print("written", flush=True)
            # Until stdin closes (a clean close), or SIGKILL (-wal and -shm stay).
            await trio.to_thread.run_sync(sys.stdin.read)

    trio.run(main, sys.argv[1], int(sys.argv[2]))
    """
)

_READER = textwrap.dedent(
    """
    import json, sys, trio
    from trio_stream_session import Event, EventType, SessionError, SQLiteSessionStore

    path = sys.argv[1]

    async def attempt(read_only):
        try:
            async with SQLiteSessionStore(path, read_only=read_only) as store:
                events = [e.data["i"] for e in await store.get_events("ses_s")]
                try:
                    await store.append_event(Event(type=EventType.SESSION_CREATED, session_id="s"))
                except SessionError as exc:
                    return {"events": events, "append": exc.code}
                return {"events": events, "append": "appended"}
        except SessionError as exc:
            return {"open": exc.code, "message": exc.message}

    async def main():
        print(json.dumps({"default": await attempt(False), "read_only": await attempt(True)}))

    trio.run(main)
    """
)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory made read-only (with its files) by :func:`_make_read_only`."""
    path = tmp_path / "read-only"
    path.mkdir()
    try:
        yield path
    finally:
        path.chmod(0o755)


def _without_write_access() -> list[str]:
    """A command prefix under which file modes hold: root ignores them, so a root
    suite runs the child as root without capabilities (``setpriv``, util-linux)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's capabilities"
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all", "--"]


async def _read_without_write_access(path: Path) -> dict[str, Any]:
    with trio.fail_after(_CHILD_DEADLINE):
        done = await trio.run_process(
            [*_without_write_access(), sys.executable, "-c", _READER, str(path)],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _make_read_only(directory: Path) -> None:
    for file in directory.iterdir():
        file.chmod(0o444)
    directory.chmod(0o555)


@pytest.mark.parametrize("writer_ended", ["closed", "killed"])
async def test_read_only_file_in_a_read_only_directory(
    read_only_dir: Path, writer_ended: str
) -> None:
    path = read_only_dir / "shared.sqlite3"
    command = [sys.executable, "-c", _WRITER, str(path), "30"]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        output = b""
        with trio.fail_after(_CHILD_DEADLINE):
            while not output.endswith(b"\n"):
                chunk = await process.stdout.receive_some()
                assert chunk, "the writer died early"
                output += chunk
            assert output == b"written\n"
            if writer_ended == "closed":
                await process.stdin.aclose()
            else:
                process.kill()
            await process.wait()
        assert process.returncode == (0 if writer_ended == "closed" else -signal.SIGKILL)
    finally:
        process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    await pipe.aclose()
    sidecars = set(os.listdir(read_only_dir)) - {path.name}
    if writer_ended == "killed":  # the committed events are still in the -wal only
        assert sidecars == {f"{path.name}-wal", f"{path.name}-shm"}
    else:
        assert sidecars == set()
    _make_read_only(read_only_dir)
    result = await _read_without_write_access(path)
    assert result["read_only"] == {"events": list(range(30)), "append": "storage_write_failed"}
    # The default mode needs write access: SQLite refuses it at once, or (with a
    # writer's -shm left) opens the file and refuses the first write.
    default = result["default"]
    if "open" in default:
        assert default["open"] == "storage_connection_failed"
        assert "pass read_only=True" in default["message"]
    else:
        assert default == {"events": list(range(30)), "append": "storage_write_failed"}


# -- a full disk --------------------------------------------------------------------------

_FILLER = textwrap.dedent(
    """
    import json, resource, signal, sys, trio
    from trio_stream_session import (
        Event, EventType, Run, Session, SessionError, SQLiteSessionStore)

    def report(**fields):
        print(json.dumps(fields), flush=True)

    def event(i):
        return Event(type=EventType.MESSAGE_STREAMED, session_id="ses_full",
                     data={"i": i, "text": "x" * 1000})

    async def main(path, limit):
        async with SQLiteSessionStore(path) as store:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
            failures, i = 0, 0
            while failures < 3 and i < 5000:
                new = event(i)
                try:
                    await store.append_event(new)
                except SessionError as exc:
                    failures += 1
                    report(op="append", code=exc.code, details=exc.details)
                else:
                    report(op="append", acknowledged=new.id)
                i += 1
            session = Session(agent_id="a")
            try:
                await store.flush(session, Run(session_id=session.id), [event(i)])
            except SessionError as exc:
                report(op="flush", code=exc.code)
            report(op="read", stored=[e.id for e in await store.get_events("ses_full")])
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space again
            again = event(i + 1)
            await store.append_event(again)
            report(op="append", acknowledged=again.id)

    trio.run(main, sys.argv[1], int(sys.argv[2]))
    """
)


async def test_disk_full_fails_appends_and_keeps_every_acknowledged_event(
    tmp_path: Path,
) -> None:
    path = tmp_path / "full.sqlite3"
    with trio.fail_after(_CHILD_DEADLINE):
        done = await trio.run_process(
            [sys.executable, "-c", _FILLER, str(path), str(256 * 1024)],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    reports = [json.loads(line) for line in done.stdout.decode().splitlines()]
    acknowledged = [r["acknowledged"] for r in reports if "acknowledged" in r]
    failed = [r for r in reports if r["op"] == "append" and "code" in r]
    assert len(acknowledged) >= 5, reports  # the limit leaves room for some appends
    assert len(failed) == 3, reports
    for failure in failed:
        assert failure["code"] == "storage_write_failed"
        sqlite_error = failure["details"]["sqlite_error"]  # the file system decides which
        assert sqlite_error == "SQLITE_FULL" or sqlite_error.startswith("SQLITE_IOERR"), failure
    assert [r["code"] for r in reports if r["op"] == "flush"] == ["storage_write_failed"]
    [read] = [r for r in reports if r["op"] == "read"]
    assert read["stored"] == acknowledged[:-1]  # what failed left nothing behind
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    async with SQLiteSessionStore(path) as store:
        events = await store.get_events("ses_full")
        assert [e.id for e in events] == acknowledged
        assert [e.sequence_number for e in events] == list(range(1, len(acknowledged) + 1))
        assert await store.list_sessions() == []
