"""Sinks: where rendered text (and the events themselves) go.

Every sink is a Trio async resource with the same life cycle:

* ``await sink.open()`` (or ``async with sink:``) acquires what it needs, e.g.
  creates/truncates a file; idempotent. Writing to a sink that was never opened
  opens it first. ``render_stream`` opens every sink it is given.
* ``await sink.write_event(event, text)`` receives each event and its rendered
  text; ``await sink.write(text)`` receives the renderer's closing text only.
* ``await sink.flush()`` pushes buffered output to the OS (a no-op once closed).
* ``await sink.aclose()`` releases what the sink owns; idempotent. A file the
  caller passed in is borrowed: flushed, never closed. Writing after close
  raises :class:`trio.ClosedResourceError`.

Each method is a checkpoint. A cancelled ``write_event``/``write`` either wrote
its text or did not start (file writes run in a worker thread, which finishes
the write it started). A sink a file path was given to encodes each text as it
receives it and collects about 8 KiB before handing them to the OS, so text
reaches the OS at ``flush()``/``aclose()`` or in 8 KiB steps; a borrowed file
gets each write at once. A sink is used by one task at a time.

Text that UTF-8 cannot encode, a lone surrogate such as ``"\\ud83d"`` (from a
JSON ``\\ud83d`` escape in tool output, or a file name from ``os.fsdecode``),
never fails a write: the file sinks write it as its escape, the six characters
``\\ud83d`` (Python's ``backslashreplace``). In a :class:`JSONLSink` line that
is the JSON escape, so the line reads back to the same string. Because each
text is encoded when it is received, nothing received can fail a later batch:
if the file itself fails (disk full, file size limit), everything received
before the failing write is in the file, as far as the OS took it.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, Self, TextIO, runtime_checkable

import trio

from ._ansi import strip_ansi

__all__ = ["AsyncTextFile", "BaseSink", "CallbackSink", "FileSink", "FileTarget", "TTYSink"]


@runtime_checkable
class AsyncTextFile(Protocol):
    """An async text file as returned by :func:`trio.open_file` / :func:`trio.wrap_file`."""

    async def write(self, data: str, /) -> Any: ...

    async def flush(self) -> Any: ...

    async def aclose(self) -> None: ...


FileTarget = str | os.PathLike[str] | AsyncTextFile | TextIO


class BaseSink(trio.abc.AsyncResource):
    """Shared life cycle (``open``/``aclose`` state) for the built-in sinks.

    Subclasses override ``_open``, ``_write_event``, ``_write``, ``_flush`` and
    ``_close``; the public methods add idempotence, lazy opening, the
    closed-resource check and a checkpoint.
    """

    _state: Literal["new", "open", "closed"] = "new"

    async def open(self) -> None:
        """Acquire the sink's resources (idempotent). Raises ``ClosedResourceError`` if closed."""
        if self._state == "closed":
            raise trio.ClosedResourceError(f"{self!r} is closed")
        # Checkpoint first: once _open has acquired something, no cancellation may
        # come between it and the state change that makes aclose() release it.
        await trio.lowlevel.checkpoint()
        if self._state == "new":
            await self._open()
            self._state = "open"

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def write_event(self, event: Any, text: str) -> None:
        """Deliver one event and the renderer's text for it."""
        await self.open()
        await self._write_event(event, text)

    async def write(self, text: str) -> None:
        """Deliver text that belongs to no event (the renderer's ``finish()`` text)."""
        await self.open()
        await self._write(text)

    async def flush(self) -> None:
        """Push buffered output to the OS; a no-op unless open."""
        if self._state == "open":
            await self._flush()
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Release owned resources (idempotent; the sink is closed even if this fails)."""
        state, self._state = self._state, "closed"
        if state == "open":
            await self._close()
        await trio.lowlevel.checkpoint()

    async def _open(self) -> None:
        pass

    async def _write_event(self, event: Any, text: str) -> None:
        await self._write(text)

    async def _write(self, text: str) -> None:
        pass

    async def _flush(self) -> None:
        pass

    async def _close(self) -> None:
        pass


class TTYSink(BaseSink):
    """Write rendered text, ANSI codes included, to a terminal stream.

    ``stream`` defaults to ``sys.stdout`` as it is when the sink is created.
    Each write is followed by ``stream.flush()`` so text appears as it streams.
    The writes are synchronous, on purpose: a terminal takes a chunk in
    microseconds and a worker-thread hop per chunk would cost more than the
    write. (If stdout is a pipe to a slow reader this can stall the event loop;
    use a :class:`FileSink` for that.) The stream is borrowed: ``aclose()``
    flushes it and never closes it.

    >>> sink = TTYSink()  # then: await render_stream(..., sinks=[sink])
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream: TextIO = sys.stdout if stream is None else stream

    def __repr__(self) -> str:
        return f"TTYSink(stream={getattr(self.stream, 'name', type(self.stream).__name__)!r})"

    async def _write(self, text: str) -> None:
        await trio.lowlevel.checkpoint()
        if text:
            self.stream.write(text)
            self.stream.flush()

    async def _flush(self) -> None:
        self.stream.flush()

    async def _close(self) -> None:
        self.stream.flush()


#: Bytes an owned file's sink collects before handing them to the file (the
#: size of the file's own buffer, so a batch goes straight to the OS).
_BATCH_BYTES = 8192


class _AsyncBinaryFile(Protocol):
    """An async binary file as returned by ``trio.open_file(path, "wb")``."""

    async def write(self, data: bytes, /) -> Any: ...

    async def flush(self) -> Any: ...

    async def aclose(self) -> None: ...

    def fileno(self) -> int: ...


def _utf8(text: str) -> bytes:
    """*text* as a file sink writes it: UTF-8, a lone surrogate as its escape ``\\udXXX``."""
    return text.encode("utf-8", "backslashreplace")


class _FileSinkBase(BaseSink):
    """A sink writing text to a path it opens (owned) or a file it is given (borrowed)."""

    def __init__(self, target: FileTarget) -> None:
        self._file: _AsyncBinaryFile | None = None  # the owned file, once opened
        self._pending: list[bytes] = []  # owned file: encoded text not yet handed to it
        self._pending_bytes = 0
        self._path: str | os.PathLike[str] | None = None
        self._borrowed: AsyncTextFile | None = None
        if isinstance(target, str | os.PathLike):
            self._path = target
        elif isinstance(target, trio.abc.AsyncResource) and isinstance(target, AsyncTextFile):
            self._borrowed = target
        elif callable(getattr(target, "write", None)) and callable(getattr(target, "flush", None)):
            # A synchronous file: its writes go through a worker thread.
            self._borrowed = trio.wrap_file(target)
        else:
            kind = type(target).__name__
            raise TypeError(f"{type(self).__name__} needs a path or an open text file, got {kind}")

    @property
    def owns_file(self) -> bool:
        """True when the sink opened the file itself (and so closes it)."""
        return self._path is not None

    def _target_repr(self) -> str:
        if self._path is not None:
            return repr(os.fspath(self._path))
        name = getattr(self._borrowed, "name", None)
        return f"<file {name!r}>" if isinstance(name, str) else "<file>"

    async def _open(self) -> None:
        if self._path is not None:
            self._file = await trio.open_file(self._path, "wb")

    async def _write_line(self, text: str) -> None:
        """Write *text*. An owned file gets it encoded at once (see ``_utf8``)
        and in batches of about ``_BATCH_BYTES``: the file is block-buffered
        anyway (text reaches the OS at about the same times), and one
        worker-thread hop per batch instead of per line is most of the cost of
        a line. A borrowed file gets every write at once, with lone surrogates
        escaped the same way, and its own encoding and buffering apply."""
        if not text:
            return
        if self._borrowed is not None:
            await self._borrowed.write(text if text.isascii() else _utf8(text).decode("utf-8"))
            return
        data = _utf8(text)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= _BATCH_BYTES:
            await self._write_pending()

    async def _write_pending(self) -> None:
        if self._pending and self._file is not None:
            await self._file.write(b"".join(self._pending))
            self._pending.clear()  # only once written: a cancelled write keeps them
            self._pending_bytes = 0

    async def _flush(self) -> None:
        if self._borrowed is not None:
            await self._borrowed.flush()
        elif self._file is not None:
            await self._write_pending()
            await self._file.flush()
            await trio.to_thread.run_sync(os.fsync, self._file.fileno())

    async def _close(self) -> None:
        if self._borrowed is not None:
            await self._borrowed.flush()
            return
        try:
            # Even when cancelled: the lines were accepted by write_event. (A
            # worker-thread write cannot be interrupted once started anyway.)
            with trio.CancelScope(shield=True):
                await self._write_pending()
        finally:
            file, self._file = self._file, None
            if file is not None:
                await file.aclose()


class FileSink(_FileSinkBase):
    """Write rendered text, with ANSI codes and lone ``\\r`` removed, to a file.

    ``target`` is a path (``str``, ``os.PathLike``, :class:`trio.Path`): opened
    on :meth:`open`, created or truncated, written as UTF-8, closed by
    :meth:`aclose`. Or an open text file, either async (``trio.open_file``/
    ``trio.wrap_file``) or a plain one (written through a worker thread):
    borrowed, so ``aclose()`` flushes it and leaves it open. ``flush()`` also
    ``fsync``s an owned file. All file I/O runs in worker threads, never on
    the event loop. A lone surrogate in the text is written as its escape
    (``"a\\ud83db"`` becomes ``a\\ud83db``): the file stays valid UTF-8.

    A Studio TTY stream therefore becomes ``"  ◐ Running: ls  ✓ Ran: ls ...\\n"``
    in the file: the spinner line is not erased, only the control codes are.
    """

    def __repr__(self) -> str:
        return f"FileSink({self._target_repr()})"

    async def _write(self, text: str) -> None:
        await self._write_line(strip_ansi(text))


SyncCallback = Callable[[Any, str], object]
AsyncCallback = Callable[[Any, str], Awaitable[object]]


class CallbackSink(BaseSink):
    """Call ``fn(event, text)`` for every event; ``fn`` may be sync or async.

    The result is ignored (awaited first if it is awaitable). Exceptions from
    ``fn`` propagate (``render_stream`` wraps them in :class:`RenderingError`).
    ``write()`` (the renderer's closing text) does not call ``fn``. Nothing to
    open or close. Raises ``TypeError`` if ``fn`` is not callable.
    """

    def __init__(self, fn: SyncCallback | AsyncCallback) -> None:
        if not callable(fn):
            raise TypeError(f"CallbackSink needs a callable, got {type(fn).__name__}")
        self.fn = fn

    def __repr__(self) -> str:
        return f"CallbackSink({getattr(self.fn, '__qualname__', type(self.fn).__name__)})"

    async def _write_event(self, event: Any, text: str) -> None:
        result = self.fn(event, text)
        if inspect.isawaitable(result):
            await result
        else:
            await trio.lowlevel.checkpoint()
