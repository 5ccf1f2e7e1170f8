"""Developer workflow: `nox` runs tests, lint, typecheck and docs; `nox -s bench` measures."""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def _pyenv_pythons() -> None:
    """Make pyenv's interpreters resolvable as python3.X without touching PYENV_VERSION:
    their bin folders go at the END of PATH, so they only fill names that are missing."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    extra = []
    for version in SUPPORTED:
        if shutil.which(f"python{version}"):
            continue
        found = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        if found:
            extra.append(found[-1])
    if extra:
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *extra])


_pyenv_pythons()
#: Every supported Python this machine has (CI fails on a missing interpreter otherwise).
PYTHONS = [v for v in SUPPORTED if shutil.which(f"python{v}")] or ["3.11"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit tests (aioresponses) and integration tests (bundled server, real sockets)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[lint,test]")
    session.run("mypy", "--strict", "polar_links")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and references fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks against the bundled server; writes benchmarks/results/latest.md."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "benchmarks.run", *session.posargs)
