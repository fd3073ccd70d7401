"""Autodoc helpers: short cross-references, and dataclass signatures Sphinx can parse.

Resolve a short cross-reference to the one public object it can mean.

Docstrings say :func:`run_once` or :class:`SessionError` wherever they live
(a private module, a subpackage); Sphinx registers the objects under their
public names (``trio_stream_session.run_once``). When a Python reference finds
nothing, this looks for documented objects whose full name ends with
``.<target>`` and, if there is exactly one, links to it. Anything else stays a
broken reference, and ``-n -W`` fails the build on it.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode


def _resolve(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    if node.get("refdomain") != "py":
        return None
    target = str(node["reftarget"]).lstrip(".~")
    if not target or target.startswith("trio_stream_session."):
        return None
    domain: Any = env.get_domain("py")
    suffix = "." + target
    found = [
        (name, obj)
        for name, obj in domain.objects.items()
        if name.endswith(suffix) and name.startswith("trio_stream_session") and not obj.aliased
    ]
    if len(found) != 1:
        return None
    name, obj = found[0]
    builder = app.builder
    return make_refnode(builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


def _signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    """A dataclass field's ``default_factory`` shows as ``<factory>``, which is
    not Python: Sphinx then cannot parse the signature and links garbage
    (``Mapping[str``). Show it as ``...``."""
    if signature is None or "<factory>" not in signature:
        return None
    return signature.replace("<factory>", "..."), return_annotation


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("missing-reference", _resolve)
    app.connect("autodoc-process-signature", _signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
