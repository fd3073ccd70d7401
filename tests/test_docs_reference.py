"""Every public name has a place in the reference (``docs/reference/``)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"
MODULES = [
    "trio_stream_session",
    "trio_stream_session.adapters",
    "trio_stream_session.stores",
    "trio_stream_session.rendering",
    "trio_stream_session.testing",
]
_DIRECTIVE = re.compile(
    r"^\.\. (?:auto)?(?:function|class|exception|data|module|attribute)::\s*(\S+)", re.M
)


def _documented() -> set[str]:
    names: set[str] = set()
    for page in REFERENCE.glob("*.rst"):
        for target in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            names.add(target.rsplit(".", 1)[-1])
    return names


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_in_the_reference(module: str) -> None:
    public = set(importlib.import_module(module).__all__) - {"store_conformance"}
    assert public - _documented() == set()
