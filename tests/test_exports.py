"""The public surface: a sorted, complete ``__all__`` of objects that live at the top level."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import types

import pytest

import trio_stream_session
import trio_stream_session.stores
import trio_stream_session.testing

PUBLIC = trio_stream_session.__all__


def test_all_is_sorted_and_unique() -> None:
    assert list(PUBLIC) == sorted(PUBLIC)
    assert len(set(PUBLIC)) == len(PUBLIC)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in PUBLIC if not hasattr(trio_stream_session, name)]
    assert missing == []


def test_all_is_complete() -> None:
    # Every public attribute that is not a submodule or dunder is listed.
    public = {
        name
        for name, value in vars(trio_stream_session).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public - set(PUBLIC) == set()


@pytest.mark.parametrize("name", PUBLIC)
def test_star_import_and_from_import(name: str) -> None:
    namespace: dict[str, object] = {}
    exec("from trio_stream_session import *", namespace)
    assert namespace[name] is getattr(trio_stream_session, name)
    module = importlib.import_module("trio_stream_session")
    assert getattr(module, name) is getattr(trio_stream_session, name)


def public_objects() -> list[str]:
    return [
        name
        for name in PUBLIC
        if inspect.isclass(getattr(trio_stream_session, name))
        or inspect.isfunction(getattr(trio_stream_session, name))
    ]


@pytest.mark.parametrize("name", public_objects())
def test_public_objects_report_the_package_as_their_module(name: str) -> None:
    assert getattr(trio_stream_session, name).__module__ == "trio_stream_session"


def test_classes_and_functions_are_most_of_the_surface() -> None:
    # Only type aliases (Emit) may be neither a class nor a function.
    others = set(PUBLIC) - set(public_objects())
    assert others <= {"Emit"}


def test_version() -> None:
    assert isinstance(trio_stream_session.__version__, str)
    assert trio_stream_session.__version__.startswith("0.")


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (trio_stream_session.stores, ["InMemorySessionStore"]),
        (trio_stream_session.testing, ["MockAdapter", "MockExecution", "store_conformance"]),
    ],
)
def test_subpackage_exports(module: types.ModuleType, names: list[str]) -> None:
    assert list(module.__all__) == sorted(module.__all__)
    for name in names:
        assert name in module.__all__
    for name in module.__all__:
        assert hasattr(module, name)


def test_testing_package_does_not_import_pytest() -> None:
    code = "import sys, trio_stream_session.testing; print('pytest' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_every_error_and_event_name_is_reachable() -> None:
    assert len(trio_stream_session.EventType) == 28
    # the reference's 45 + run_interrupted + session_busy
    assert len(trio_stream_session.ErrorCode) == 47
