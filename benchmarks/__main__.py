"""``python -m benchmarks``: run the suite (see ``benchmarks/__init__.py``)."""

from ._cli import main

raise SystemExit(main())
