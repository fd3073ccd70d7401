"""Standard output of the command line: the rendered stream, a progress
spinner while the agent is silent, and a clean line when interrupted."""

from __future__ import annotations

import math
from typing import Final, TextIO

import trio

from .rendering import TTYSink

__all__ = ["SILENCE", "TerminalSink", "elapsed"]

#: Seconds of silence before the spinner shows (streamed text pauses for less).
SILENCE: Final = 0.5
#: Seconds between spinner frames.
TICK: Final = 0.1
FRAMES: Final = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def elapsed(seconds: float) -> str:
    """``0.7s``, ``12.3s``, ``1m05s``, ``2h03m``: the spinner's clock."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole // 60 % 60:02d}m"


class TerminalSink(TTYSink):
    """A :class:`TTYSink` that knows where the cursor is.

    It remembers whether the last text ended a line (so an interrupted run can
    end its partial line cleanly), and, with ``spinner=True`` (a terminal, colour
    allowed), :meth:`run_spinner` shows ``⠹ 12s`` (time since the run started)
    after the text while nothing has been written for :data:`SILENCE` seconds.
    The spinner is erased before any other text, so it never mixes with it.
    """

    def __init__(self, stream: TextIO, *, spinner: bool) -> None:
        super().__init__(stream)
        self.spinner = spinner
        self.at_line_start = True
        self._shown = 0  # characters of spinner on screen
        self._last_write = -math.inf

    async def _write(self, text: str) -> None:
        self._erase()
        await super()._write(text)
        if text:
            self.at_line_start = text.endswith("\n")
            self._last_write = trio.current_time()

    async def _close(self) -> None:
        self._erase()
        await super()._close()

    def end_line(self) -> None:
        """Erase the spinner and end a partial line (synchronous: for Ctrl-C)."""
        self._erase()
        if not self.at_line_start:
            self.stream.write("\n")
            self.at_line_start = True
        self.stream.flush()

    def _erase(self) -> None:
        if self._shown:
            self.stream.write(f"\x1b[{self._shown}D\x1b[K")
            self.stream.flush()
            self._shown = 0

    def _draw(self, frame: int, seconds: float) -> None:
        text = f"{FRAMES[frame % len(FRAMES)]} {elapsed(seconds)}"
        if not self.at_line_start:
            text = " " + text
        self._erase()
        self.stream.write(text)
        self.stream.flush()
        self._shown = len(text)

    async def run_spinner(self) -> None:
        """Draw the spinner during silences until cancelled (a no-op without ``spinner``)."""
        if not self.spinner:
            return
        started = trio.current_time()
        self._last_write = started
        frame = 0
        try:
            while True:
                await trio.sleep(TICK)
                now = trio.current_time()
                if now - self._last_write >= SILENCE and self._state != "closed":
                    self._draw(frame, now - started)
                    frame += 1
        finally:
            self._erase()
