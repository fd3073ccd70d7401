"""The built-in adapters' capabilities (reference ``adapters_spec.md`` §3)."""

from __future__ import annotations

from typing import Final

from .._models import Capability, CapabilityType

__all__ = ["CLAUDE_CAPABILITIES", "CLI_CAPABILITIES"]

_STREAMING: Final = Capability(
    name="streaming", type=CapabilityType.SAMPLING, description="Real-time streaming of responses"
)
_TOOL_USE: Final = Capability(
    name="tool_use", type=CapabilityType.TOOL, description="Tool/function calling capability"
)
_INTERRUPT: Final = Capability(
    name="interrupt",
    type=CapabilityType.SAMPLING,
    description="Ability to interrupt/cancel in-progress requests",
)

CLAUDE_CAPABILITIES: Final = (
    _STREAMING,
    _TOOL_USE,
    Capability(
        name="vision", type=CapabilityType.RESOURCE, description="Image understanding capability"
    ),
    Capability(
        name="system_prompts", type=CapabilityType.PROMPT, description="System prompt support"
    ),
    _INTERRUPT,
)

#: Codex and Amp have the same list.
CLI_CAPABILITIES: Final = (
    _STREAMING,
    _TOOL_USE,
    _INTERRUPT,
    Capability(name="mcp", type=CapabilityType.TOOL, description="MCP server integration"),
    Capability(
        name="file_operations", type=CapabilityType.TOOL, description="File read/write operations"
    ),
    Capability(name="bash", type=CapabilityType.TOOL, description="Command execution capability"),
)
