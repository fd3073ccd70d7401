"""Test helpers that are part of the product: a mock adapter, a fake
Anthropic Messages API server, and the store conformance suite. Importing this
package does not import pytest (nor hypercorn, until a fake server starts)."""

from . import store_conformance as store_conformance
from ._fake_anthropic import FakeAnthropicServer as FakeAnthropicServer
from ._fake_anthropic import RecordedRequest as RecordedRequest
from ._fake_anthropic import open_fake_anthropic_server as open_fake_anthropic_server
from ._fake_anthropic_blocks import SSEEvent as SSEEvent
from ._fake_anthropic_responses import FakeResponse as FakeResponse
from ._mock_adapter import MockAdapter as MockAdapter
from ._mock_adapter import MockExecution as MockExecution

__all__ = [
    "FakeAnthropicServer",
    "FakeResponse",
    "MockAdapter",
    "MockExecution",
    "RecordedRequest",
    "SSEEvent",
    "open_fake_anthropic_server",
    "store_conformance",
]
