"""Render a stream of session events to terminals, files and callbacks.

::

    async with open_stream_session(adapter=MockAdapter(), input={"prompt": "hi"}) as stream:
        await render_stream(stream, renderer=CompactRenderer(color=True), sinks=[TTYSink()])

Renderers (``CompactRenderer``, ``VerboseRenderer``, ``StudioRenderer``,
``PassthroughRenderer``) are synchronous objects turning one event into text;
sinks (``TTYSink``, ``FileSink``, ``JSONLSink``, ``CallbackSink``) are Trio
async resources; :func:`render_stream` drives one renderer and N sinks and
always flushes and closes the sinks, also on error or cancellation.

Output follows the reference (``agent_session_manager`` v0.8.0) byte for byte,
with these decisions (``rendering_spec.md`` §13):

1. Files are real UTF-8 (the reference double-encodes non-ASCII).
2. Verbose prints dict/list tool output as compact JSON (the reference raises
   on dicts and prints lists as chardata).
3. A non-number ``cost_usd`` is ignored and a non-string error message is
   converted to text (the reference raises).
4. ``render_stream`` stops opening sinks at the first failure and flushes and
   closes every opened sink on any error or cancellation (shielded, bounded);
   the reference leaks them. Failures raise :class:`RenderingError`.
5. An unknown event type prints as ``?:<type>`` (Compact) for every type.
6. A missing or non-mapping ``data`` is read as ``{}``.
7. Text is measured in code points, not grapheme clusters.
8. JSONL ``ts`` is ISO-8601 for datetimes; a string passes through unchanged.
9. Studio keeps two of the reference's quirks for parity and fixes three
   (see ``_studio``): it overwrites only a tool's own spinner line.
10. Numbers print in Python's natural form (``round`` then ``str``): ``$2``
    rather than ``$2.0``, ``5e-05`` rather than ``5.0e-5``; JSON floats as
    Python's ``json`` writes them.
11. Every event type has a rendering of its own in Compact, Verbose and
    Studio (the reference knew ten): tool failures and approvals, thinking,
    tool results sent back, cited sources, turns, timeouts, policy, session
    and workspace events. Values print in Python's form (``{'k': None}``),
    never Elixir's (``%{k: nil}``); counts use singulars (``1 tool``).

Renderers never raise on odd event shapes (missing keys, non-mapping data,
unknown types, non-string values).
"""

import contextlib as _contextlib

from ._compact import CompactRenderer as CompactRenderer
from ._jsonl import JSONLSink as JSONLSink
from ._passthrough import PassthroughRenderer as PassthroughRenderer
from ._pipeline import Renderer as Renderer
from ._pipeline import RenderingError as RenderingError
from ._pipeline import RenderSummary as RenderSummary
from ._pipeline import Sink as Sink
from ._pipeline import render_stream as render_stream
from ._sinks import BaseSink as BaseSink
from ._sinks import CallbackSink as CallbackSink
from ._sinks import FileSink as FileSink
from ._sinks import TTYSink as TTYSink
from ._studio import StudioRenderer as StudioRenderer
from ._verbose import VerboseRenderer as VerboseRenderer

__all__ = [
    "BaseSink",
    "CallbackSink",
    "CompactRenderer",
    "FileSink",
    "JSONLSink",
    "PassthroughRenderer",
    "RenderSummary",
    "Renderer",
    "RenderingError",
    "Sink",
    "StudioRenderer",
    "TTYSink",
    "VerboseRenderer",
    "render_stream",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("trio_stream_session.rendering."):
        with _contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "trio_stream_session.rendering"
del _name, _obj, _contextlib
