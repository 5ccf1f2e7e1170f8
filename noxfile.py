"""Developer workflow: `nox` runs tests, lint, typecheck and docs; `nox -s bench` measures."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "redis", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ("3.10", "3.11", "3.12", "3.13")


def _runs(executable: str) -> bool:
    """True if ``executable`` starts (a pyenv shim for a version that is not selected
    is on PATH but exits 127)."""
    try:
        return (
            subprocess.run([executable, "-c", ""], capture_output=True, timeout=30).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _find_pythons() -> list[str]:
    """Return the supported versions this machine can run, making each resolvable as
    ``python3.X`` for nox and uv.

    A version whose ``python3.X`` on PATH does not run (pyenv's shim outside
    ``PYENV_VERSION``) is taken from pyenv's versions folder through a symlink in a
    private folder put first on PATH; nothing else on PATH changes.
    """
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    links = os.path.join(tempfile.gettempdir(), f"polar-links-nox-pythons-{os.getuid()}")
    found = []
    for version in SUPPORTED:
        name = f"python{version}"
        on_path = shutil.which(name)
        if on_path and _runs(on_path):
            found.append(version)
            continue
        candidates = sorted(
            glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", name)),
            key=lambda path: [int(n) for n in re.findall(r"\d+", path.rsplit("versions", 1)[1])],
        )
        if candidates and _runs(candidates[-1]):
            os.makedirs(links, exist_ok=True)
            link = os.path.join(links, name)
            if os.path.lexists(link):
                os.remove(link)
            os.symlink(candidates[-1], link)
            found.append(version)
    if os.path.isdir(links):
        os.environ["PATH"] = os.pathsep.join([links, os.environ.get("PATH", "")])
    return found


# uv must use the interpreters found here; downloading one fails without internet.
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
#: Every supported Python this machine has (CI fails on a missing interpreter otherwise).
PYTHONS = _find_pythons() or ["3.11"]


#: The oldest Python the package supports: the oldest dependency versions run on it
#: (aiohttp and msgspec releases that old have no wheels for the newest Pythons).
OLDEST_PYTHON = "3.10"
_SHOW_VERSIONS = (
    "import sys, aiohttp, msgspec; "
    "print('python', sys.version.split()[0], 'aiohttp', aiohttp.__version__, "
    "'msgspec', msgspec.__version__)"
)


def _lowest_pins() -> list[str]:
    """``name==version`` for the lower bound of every runtime dependency in
    pyproject.toml, so the oldest versions the package admits are the ones tested."""
    with open("pyproject.toml", encoding="utf-8") as file:
        text = file.read()
    found = re.search(r"^dependencies = \[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if found is None:
        raise RuntimeError("pyproject.toml has no dependencies = [...] list")
    declared = re.findall(r'"([^"]+)"', found.group(1))
    pins = [re.sub(r"\s*>=\s*", "==", spec) for spec in declared]
    unpinned = [spec for spec in pins if "==" not in spec]
    if unpinned:
        raise RuntimeError(f"runtime dependencies without a lower bound: {unpinned}")
    return pins


def _suite(session: nox.Session, *install: str) -> None:
    session.install("-e", ".[test]", *install)
    session.run("python", "-c", _SHOW_VERSIONS)
    session.run("pytest", "-m", "not redis", *session.posargs)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit tests (aioresponses) and integration tests (bundled server, real sockets) on
    every Python, with the newest aiohttp and msgspec the declared range admits (upgraded
    in a reused environment too); the tests that start a redis-server run once, in the
    ``redis`` session."""
    _suite(session, "--upgrade")


@nox.session(name="tests-newest", python=PYTHONS[-1])
def tests_newest(session: nox.Session) -> None:
    """The suite on the newest Python only, with the newest aiohttp and msgspec the
    declared range admits: the same run as the last of ``tests``, for a quick check."""
    _suite(session, "--upgrade")


@nox.session(name="tests-oldest", python=OLDEST_PYTHON)
def tests_oldest(session: nox.Session) -> None:
    """The suite on the oldest Python with the oldest aiohttp and msgspec the declared
    range admits (each runtime dependency pinned to its lower bound in pyproject.toml)."""
    _suite(session, *_lowest_pins())


@nox.session(python="3.11")
def redis(session: nox.Session) -> None:
    """The shared budget's tests against real redis-server processes (Debian's
    redis-server must be installed; a missing one fails the session)."""
    session.install("-e", ".[test,redis]")
    session.run("pytest", "-m", "redis", *session.posargs, env={"POLAR_LINKS_REQUIRE_REDIS": "1"})


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[lint,test,redis]")
    session.run("mypy", "--strict", "polar_links")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and references fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks against the bundled server; prints the results (`-- --write` also
    records them in the tracked benchmarks/results/ and docs/ pages)."""
    session.install("-e", ".[bench,redis]")
    session.run("python", "-m", "benchmarks.run", *session.posargs)
