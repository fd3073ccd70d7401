"""Intersphinx inventories for an off-line build.

Sphinx's intersphinx downloads ``objects.inv`` from each project's docs; the
docs build here has no network. Instead, the outside names these docs refer
to (Python's and Trio's) are listed below with their pages, and written as
inventory files that ``intersphinx_mapping`` reads from disk. A name missing
here is a broken reference, and ``sphinx-build -n -W`` fails on it: add it.
"""

from __future__ import annotations

import zlib
from pathlib import Path

PYTHON = "https://docs.python.org/3/"
TRIO = "https://trio.readthedocs.io/en/stable/"

#: (project, base URL, {page: {role: names}}); each name's anchor is the name itself.
TABLES: dict[str, tuple[str, dict[str, dict[str, tuple[str, ...]]]]] = {
    "python": (
        PYTHON,
        {
            "library/collections.abc.html": {
                "class": (
                    "collections.abc.AsyncIterator",
                    "collections.abc.AsyncIterable",
                    "collections.abc.Awaitable",
                    "collections.abc.Callable",
                    "collections.abc.Collection",
                    "collections.abc.Iterable",
                    "collections.abc.Iterator",
                    "collections.abc.Mapping",
                    "collections.abc.Sequence",
                ),
            },
            "library/typing.html": {
                "data": ("typing.Any", "typing.Literal", "typing.NotRequired", "typing.Unpack"),
                "class": ("typing.Protocol", "typing.TypedDict", "typing.TextIO"),
            },
            "library/contextlib.html": {
                "class": ("contextlib.AbstractAsyncContextManager",),
            },
            "library/datetime.html": {"class": ("datetime.datetime", "datetime.timedelta")},
            # What a stringified annotation ``datetime`` (``from datetime import datetime``)
            # refers to.
            "library/datetime.html#datetime.datetime": {"class": ("datetime",)},
            "library/enum.html": {"class": ("enum.StrEnum", "enum.Enum")},
            "library/os.html": {"class": ("os.PathLike",)},
            "library/pathlib.html": {"class": ("pathlib.Path",)},
            "library/exceptions.html": {
                "exception": (
                    "BaseException",
                    "Exception",
                    "KeyboardInterrupt",
                    "TypeError",
                    "ValueError",
                    "ImportError",
                    "RuntimeError",
                    "OSError",
                ),
            },
            "library/functions.html": {
                "class": (
                    "int",
                    "float",
                    "str",
                    "bool",
                    "dict",
                    "list",
                    "tuple",
                    "object",
                    "type",
                    "bytes",
                    "frozenset",
                    "set",
                )
            },
            "library/constants.html": {"data": ("None",)},
            "library/logging.html": {"class": ("logging.Logger",)},
            "library/sqlite3.html": {"module": ("sqlite3",)},
            "library/io.html": {"class": ("io.TextIOBase",)},
        },
    ),
    "trio": (
        TRIO,
        {
            "reference-core.html": {
                "class": (
                    "trio.Nursery",
                    "trio.CancelScope",
                    "trio.Event",
                    "trio.MemoryReceiveChannel",
                    "trio.MemorySendChannel",
                    "trio.TaskStatus",
                    "trio.CapacityLimiter",
                    "trio.Lock",
                ),
                "exception": (
                    "trio.Cancelled",
                    "trio.EndOfChannel",
                    "trio.ClosedResourceError",
                    "trio.BrokenResourceError",
                    "trio.WouldBlock",
                ),
                "function": (
                    "trio.open_nursery",
                    "trio.open_memory_channel",
                    "trio.move_on_after",
                    "trio.fail_after",
                    "trio.run",
                    "trio.sleep",
                    "trio.current_time",
                ),
            },
            "reference-io.html": {
                "class": (
                    "trio.abc.ReceiveChannel",
                    "trio.abc.AsyncResource",
                    "trio.Path",
                ),
                "function": ("trio.open_file", "trio.wrap_file", "trio.run_process"),
            },
            "reference-testing.html": {
                "class": ("trio.testing.MockClock",),
            },
            "reference-lowlevel.html": {
                "class": ("trio.lowlevel.Task",),
                "function": ("trio.lowlevel.checkpoint",),
            },
        },
    ),
}


def _inventory(project: str, entries: list[str]) -> bytes:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    return header.encode() + zlib.compress("".join(entries).encode())


def write_inventories(directory: Path) -> dict[str, tuple[str, str]]:
    """Write one ``objects.inv`` per project into *directory*; the
    ``intersphinx_mapping`` that reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    mapping: dict[str, tuple[str, str]] = {}
    for project, (base, pages) in TABLES.items():
        entries = [
            f"{name} py:{role} 1 {page if '#' in page else page + '#$'} -\n"
            for page, roles in pages.items()
            for role, names in roles.items()
            for name in names
        ]
        path = directory / f"{project}.inv"
        path.write_bytes(_inventory(project, entries))
        mapping[project] = (base, str(path))
    return mapping
