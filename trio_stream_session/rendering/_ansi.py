"""ANSI escape codes shared by the renderers and the file sink.

The codes are written by hand (``ESC[0;34m`` rather than ``ESC[34m``) so the
output is byte-for-byte the reference's; ``colorama``/``rich`` would emit
different sequences.

Two colouring rules exist, as in the reference:

* :func:`paint` (Compact and Verbose renderers) wraps even an empty string, so
  ``paint(DIM, "", True)`` is ``"\\x1b[2m\\x1b[0m"``.
* :func:`green`, :func:`red`, ... (the Studio renderer) return ``""`` for empty
  text whatever *enabled* says.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "BLUE",
    "BOLD",
    "CYAN",
    "DIM",
    "FAILURE",
    "GREEN",
    "INFO",
    "MAGENTA",
    "RED",
    "RESET",
    "RUNNING",
    "SUCCESS",
    "blue",
    "bold",
    "clear_line",
    "cursor_up",
    "cyan",
    "dim",
    "green",
    "magenta",
    "paint",
    "red",
    "strip_ansi",
]

RED: Final = "\x1b[0;31m"
GREEN: Final = "\x1b[0;32m"
BLUE: Final = "\x1b[0;34m"
MAGENTA: Final = "\x1b[0;35m"
CYAN: Final = "\x1b[0;36m"
DIM: Final = "\x1b[2m"
BOLD: Final = "\x1b[1m"
RESET: Final = "\x1b[0m"

SUCCESS: Final = "✓"
FAILURE: Final = "✗"
INFO: Final = "●"
RUNNING: Final = "◐"

# SGR, cursor movement/erase, and a carriage return that does not start a CRLF:
# what a terminal interprets but a log file should not contain.
_ANSI_RE: Final = re.compile(r"\x1b\[[0-9;]*[mABCDHJK]|\r(?!\n)")


def paint(code: str, text: str, enabled: bool) -> str:
    """*text* wrapped in *code* and a reset when *enabled* (also when empty)."""
    return f"{code}{text}{RESET}" if enabled else text


def _studio(code: str, text: str, enabled: bool) -> str:
    if not text:
        return ""
    return f"{code}{text}{RESET}" if enabled else text


def red(text: str, enabled: bool = True) -> str:
    """*text* in red (``""`` stays ``""``)."""
    return _studio(RED, text, enabled)


def green(text: str, enabled: bool = True) -> str:
    """*text* in green (``""`` stays ``""``)."""
    return _studio(GREEN, text, enabled)


def blue(text: str, enabled: bool = True) -> str:
    """*text* in blue (``""`` stays ``""``)."""
    return _studio(BLUE, text, enabled)


def magenta(text: str, enabled: bool = True) -> str:
    """*text* in magenta (``""`` stays ``""``)."""
    return _studio(MAGENTA, text, enabled)


def cyan(text: str, enabled: bool = True) -> str:
    """*text* in cyan (``""`` stays ``""``)."""
    return _studio(CYAN, text, enabled)


def dim(text: str, enabled: bool = True) -> str:
    """*text* dimmed (``""`` stays ``""``)."""
    return _studio(DIM, text, enabled)


def bold(text: str, enabled: bool = True) -> str:
    """*text* in bold (``""`` stays ``""``)."""
    return _studio(BOLD, text, enabled)


def clear_line() -> str:
    """Return to column 0 and erase the line (overwrites a spinner line)."""
    return "\r\x1b[2K"


def cursor_up(n: int) -> str:
    """Move the cursor *n* lines up."""
    return f"\x1b[{n}A"


def strip_ansi(text: str) -> str:
    """*text* without SGR codes, cursor movement/erase codes and lone ``\\r``.

    >>> strip_ansi("line one\\r\\x1b[2Kline two\\n")
    'line oneline two\\n'
    """
    return _ANSI_RE.sub("", text)
