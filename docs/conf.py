"""Sphinx configuration: ``nox -s docs`` (``sphinx-build -W -n``) builds ``docs/_build/html``.

The build needs no network: intersphinx reads inventories written here from a
table of the outside names the docs refer to (``_ext/offline_inventories.py``),
never downloaded ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from offline_inventories import write_inventories  # noqa: E402

import trio_stream_session  # noqa: E402

project = "trio_stream_session"
author = "trio_stream_session developers"
copyright = "trio_stream_session developers"
release = trio_stream_session.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "short_names",
]

exclude_patterns = ["_build"]
nitpicky = True
default_role = "py:obj"
add_module_names = False
toc_object_entries_show_parents = "hide"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True}
#: Private types in public signatures print as plain text (they have no page).
nitpick_ignore_regex = [(r"py:.*", r"trio_stream_session(\.\w+)*\._\w+(\.\w+)*")]
#: Names docstrings mention that are not public API (constants and modules of
#: private modules, private type aliases), and one outside class with no docs
#: inventory. They print as code, unlinked.
nitpick_ignore = [
    ("py:data", "RECORD_TIMEOUT"),
    ("py:data", "KNOWN_KINDS"),
    ("py:func", "is_secret_name"),
    ("py:mod", "_claude_loop"),
    ("py:mod", "_claude_history"),
    ("py:class", "State"),
    ("py:class", "EventTypeFilter"),
    ("py:class", "anthropic.AsyncAnthropic"),
]

intersphinx_mapping = write_inventories(HERE / "_build" / "inventories")
intersphinx_timeout = 1

html_theme = "furo"
html_title = f"trio_stream_session {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
