"""``--profile``: where the library's time goes, by function (needs pyinstrument).

A sampling profile of one library run per profiled benchmark, reduced to the
functions with the most self time. It names the cause of a missed target in
the table; the sampler's own overhead inflates call-heavy code somewhat, so
read the shares as a ranking, not as exact costs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from . import _lib

TOP = 10


def available() -> str | None:
    """None if pyinstrument can be imported, else why not."""
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return "pyinstrument is not installed (pip install pyinstrument): --profile skipped"
    return None


def _label(frame: Any) -> str:
    name = frame.function
    if frame.class_name:
        name = f"{frame.class_name}.{name}"
    path = str(frame.file_path_short or frame.file_path or "?")
    return f"{name} ({path}:{frame.line_no})"


async def _profile(run: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    try:
        await run()
    finally:
        profiler.stop()
    session = profiler.last_session
    root = session.root_frame() if session is not None else None
    if root is None:
        return {"total_s": 0.0, "top": []}
    self_times: defaultdict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        own = frame.total_self_time
        if own > 0 and not frame.is_synthetic:
            self_times[_label(frame)] += own
    total = sum(self_times.values()) or 1.0
    top = [
        {"function": label, "self_s": seconds, "share": seconds / total}
        for label, seconds in sorted(self_times.items(), key=lambda item: -item[1])[:TOP]
    ]
    return {"total_s": total, "top": top}


async def profile_library(events: int, sessions: int) -> dict[str, Any]:
    """Profiles of (b) per-event streaming and of sequential session open+close."""
    return {
        "per_event": await _profile(lambda: _lib.throughput(events)),
        "session_open_close": await _profile(lambda: _lib.session_cycles(sessions)),
    }


def cause(profile: dict[str, Any] | None, target: str, count: int = 3) -> str:
    """A short "top self time" note for the table, from the matching profile."""
    if not profile:
        return ""
    key = "session_open_close" if target == "session_open_close" else "per_event"
    if not target.startswith(("per_event", "latency_", "session_open_close")):
        return ""
    top = profile.get(key, {}).get("top", [])[:count]
    return "; ".join(f"{t['function']} {t['share'] * 100:.0f}%" for t in top)
