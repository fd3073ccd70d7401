"""Clocks, memory readings and statistics shared by every benchmark."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import enum
import gc
import math
import resource
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _load_libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _load_libc()


@dataclass(slots=True)
class Sample:
    """One run of one variant: what it did and what it cost.

    ``count`` is events (or sessions); ``latencies_ns`` is set by latency runs;
    the memory fields (KiB) by runs that watch memory: ``base_kib`` is the RSS
    before, ``peak_kib`` the high-water mark during, ``level_kib`` the RSS at
    the measuring point (idle sessions).
    """

    seconds: float
    cpu_seconds: float
    count: int
    latencies_ns: list[int] | None = None
    base_kib: int | None = None
    peak_kib: int | None = None
    level_kib: int | None = None
    peak_reset: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Stopwatch:
    """Wall-clock (``perf_counter``) and process CPU time of a block."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self._wall = 0
        self._cpu = 0

    def __enter__(self) -> Stopwatch:
        self._cpu = time.process_time_ns()
        self._wall = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = (time.perf_counter_ns() - self._wall) / 1e9
        self.cpu_seconds = (time.process_time_ns() - self._cpu) / 1e9


def _status_kib(key: str) -> int | None:
    try:
        with open(_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_kib() -> int:
    """The current resident set size in KiB (0 where /proc is missing)."""
    return _status_kib("VmRSS") or 0


def peak_rss_kib() -> int:
    """The resident high-water mark in KiB (``VmHWM``, else ``ru_maxrss``)."""
    value = _status_kib("VmHWM")
    if value is None:
        # ru_maxrss is KiB on Linux, bytes on macOS.
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        value = maxrss // 1024 if sys.platform == "darwin" else maxrss
    return value


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux: write ``5`` to clear_refs).

    Returns False where that is not possible; the high-water mark is then
    the process's, and a peak reading is only an upper bound.
    """
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def settle() -> None:
    """Collect garbage and hand free heap back to the OS before a measurement,
    so one variant's leftovers do not bill (or subsidise) the next."""
    gc.collect()
    if _LIBC is not None:
        with contextlib.suppress(AttributeError):  # not glibc
            _LIBC.malloc_trim(0)


class MemoryWatch:
    """Base RSS at entry, high-water mark reset; ``finish()`` fills a :class:`Sample`."""

    def __init__(self) -> None:
        settle()
        self.base_kib = rss_kib()
        self.peak_reset = reset_peak_rss()
        self.level_kib: int | None = None

    def mark_level(self) -> None:
        """Record the RSS now (e.g. once every session is idle)."""
        self.level_kib = rss_kib()

    def finish(self, sample: Sample) -> Sample:
        sample.base_kib = self.base_kib
        sample.peak_kib = peak_rss_kib()
        sample.level_kib = self.level_kib
        sample.peak_reset = self.peak_reset
        return sample


def median(values: Iterable[float]) -> float:
    items = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(items) if items else math.nan


def percentile(sorted_values: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def latency_summary(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50, p99 and max in microseconds."""
    ordered = sorted(latencies_ns)
    return {
        "p50_us": percentile(ordered, 0.50) / 1000,
        "p99_us": percentile(ordered, 0.99) / 1000,
        "max_us": (ordered[-1] / 1000) if ordered else math.nan,
    }


def deep_size(objects: Iterable[object]) -> int:
    """Bytes held by *objects* and everything they reference, counted once.

    An estimate (``sys.getsizeof`` of each object reached through dicts,
    sequences and ``__slots__``); enum members and classes are shared by
    every session and are not counted.
    """
    seen: set[int] = set()
    total = 0
    stack = list(objects)
    while stack:
        obj = stack.pop()
        if obj is None or isinstance(obj, bool | type | enum.Enum) or id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            for name in getattr(type(obj), "__slots__", ()):
                stack.append(getattr(obj, name, None))
    return total


def load_average() -> tuple[float, float, float] | None:
    try:
        with open("/proc/loadavg", encoding="ascii") as loadavg:
            one, five, fifteen = loadavg.read().split()[:3]
    except (OSError, ValueError):
        return None
    return float(one), float(five), float(fifteen)
