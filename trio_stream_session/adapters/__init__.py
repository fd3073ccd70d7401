"""Provider adapters: Claude (the ``anthropic`` SDK); Claude Code, Codex and Amp
(CLI subprocesses).

Each adapter is imported on first use, so ``import trio_stream_session``
stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._amp import AmpAdapter as AmpAdapter
    from ._claude import ClaudeAdapter as ClaudeAdapter
    from ._claude_code import ClaudeCodeAdapter as ClaudeCodeAdapter
    from ._codex import CodexAdapter as CodexAdapter
    from ._tools import Tool as Tool
    from ._tools import ToolCall as ToolCall

__all__ = ["AmpAdapter", "ClaudeAdapter", "ClaudeCodeAdapter", "CodexAdapter", "Tool", "ToolCall"]

_MODULES = {
    "AmpAdapter": "._amp",
    "ClaudeAdapter": "._claude",
    "ClaudeCodeAdapter": "._claude_code",
    "CodexAdapter": "._codex",
    "Tool": "._tools",
    "ToolCall": "._tools",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
