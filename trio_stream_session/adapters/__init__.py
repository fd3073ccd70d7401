"""Provider adapters: Claude (the ``anthropic`` SDK), Codex and Amp (CLI subprocesses).

Each adapter is imported on first use, so ``import trio_stream_session``
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._amp import AmpAdapter as AmpAdapter
    from ._claude import ClaudeAdapter as ClaudeAdapter
    from ._codex import CodexAdapter as CodexAdapter

__all__ = ["AmpAdapter", "ClaudeAdapter", "CodexAdapter"]

_MODULES = {"AmpAdapter": "._amp", "ClaudeAdapter": "._claude", "CodexAdapter": "._codex"}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
