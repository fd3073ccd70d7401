"""Developer sessions: ``nox -s tests lint typecheck docs bench stress``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (the fast default subset; see ``stress`` for the heavy runs)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def stress(session: nox.Session) -> None:
    """Heavy fault, cancellation and load runs, and the property tests with many
    examples (the ``stress`` Hypothesis profile of ``tests/conftest.py``)."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-q",
        "-m",
        "stress or hypothesis",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "stress"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy>=2.4,<2.5")
    session.run("mypy", "trio_stream_session")
    session.run("mypy", "--strict", "examples")


@nox.session
def docs(session: nox.Session) -> None:
    """The Sphinx docs, off-line, warnings (and broken references) as errors:
    ``docs/_build/html/index.html``."""
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Event latency, throughput, session cost and scale against raw Trio."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)
