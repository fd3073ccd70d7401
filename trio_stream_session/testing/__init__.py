"""Test helpers that are part of the product: a mock adapter and the store
conformance suite. Importing this package does not import pytest."""

from . import store_conformance as store_conformance
from ._mock_adapter import MockAdapter as MockAdapter
from ._mock_adapter import MockExecution as MockExecution

__all__ = ["MockAdapter", "MockExecution", "store_conformance"]
