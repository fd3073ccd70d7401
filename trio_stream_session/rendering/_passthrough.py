"""``PassthroughRenderer``: renders nothing, for sinks that want events only."""

from __future__ import annotations

from typing import Any

__all__ = ["PassthroughRenderer"]


class PassthroughRenderer:
    """A renderer whose text is always ``""``.

    Use it with :class:`JSONLSink` or :class:`CallbackSink`, which work from the
    event itself; a :class:`TTYSink` or :class:`FileSink` then receives only
    empty writes. Stateless, no I/O, nothing to close.

    >>> PassthroughRenderer().render({"type": "run_started"})
    ''
    """

    def __repr__(self) -> str:
        return "PassthroughRenderer()"

    def render(self, event: Any) -> str:
        """Always ``""``."""
        return ""

    def finish(self) -> str:
        """Always ``""``."""
        return ""
