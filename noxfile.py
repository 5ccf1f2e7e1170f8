"""Developer workflow: `nox` runs tests, lint, typecheck and docs; `nox -s bench` measures."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time

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
def dlt(session: nox.Session) -> None:
    """The dlt source (tests_dlt/): into DuckDB, and into a real PostgreSQL server started
    by the tests from Debian's package (``apt-get install postgresql``; a missing one
    fails the session). One Python only: the source is pure Python over the SDK, which
    ``tests`` checks on every version."""
    session.install("-e", ".[test,dlt]", "dlt[postgres]")
    session.run("pytest", "tests_dlt", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[lint,test,redis,dlt]")
    session.run("mypy", "--strict", "polar_links")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and references fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks against the bundled server; prints the results (`-- --write` also
    records them in the tracked benchmarks/results/ and docs/ pages). `-- --only dlt`:
    the dlt load into DuckDB next to the JSONL export (benchmarks/dlt_load.py)."""
    session.install("-e", ".[bench,redis,dlt]")
    session.run("python", "-m", "benchmarks.run", *session.posargs)


#: The core modules measured by ``nox -s mutation``, each with the tests that exercise it
#: (mutmut runs, for each mutant, only those of these tests that call the mutated function).
#: Ordered from the most settled module to the least.
MUTATION_MODULES: dict[str, list[str]] = {
    "_query.py": [
        "tests/test_query.py",
        "tests/test_pagination.py",
        "tests/test_argument_messages.py",
    ],
    "_validation.py": [
        "tests/test_misuse.py",
        "tests/test_query.py",
        "tests/test_crud.py",
        "tests/test_link_fields.py",
        "tests/test_argument_messages.py",
    ],
    "_link_fields.py": [
        "tests/test_link_fields.py",
        "tests/test_crud.py",
        "tests/test_argument_messages.py",
    ],
    "_requests.py": ["tests/test_link_fields.py", "tests/test_crud.py"],
    "_options.py": [
        "tests/test_options.py",
        "tests/test_raw_responses.py",
        "tests/test_call_bound.py",
        "tests/test_sentinels.py",
    ],
    "_retry.py": [
        "tests/test_retry_policy.py",
        "tests/test_retries.py",
        "tests/test_retry_edges.py",
    ],
    "_ratelimit.py": [
        "tests/test_ratelimit.py",
        "tests/test_retries.py",
        "tests/test_call_bound.py",
        "tests/test_rate_limit_waits.py",
    ],
    "_pagination.py": [
        "tests/test_pagination.py",
        "tests/test_walks.py",
        "tests/test_endless_walks.py",
        "tests/test_prefetch.py",
        "tests/test_walk_errors.py",
        "tests/test_resume.py",
        "tests/test_misuse.py",
    ],
    "_decoding.py": [
        "tests/test_decoding.py",
        "tests/test_decoding_layers.py",
        "tests/test_decoding_http.py",
        "tests/test_models.py",
        "tests/test_hostile_errors.py",
    ],
    "_transport.py": [
        "tests/test_client.py",
        "tests/test_tls.py",
        "tests/test_errors.py",
        "tests/test_retries.py",
        "tests/test_resilience.py",
        "tests/test_hostile_errors.py",
        "tests/test_secrets.py",
        "tests/test_call_bound.py",
        "tests/test_error_bodies.py",
        "tests/test_raw_responses.py",
        "tests/test_redirects.py",
        "tests/test_response_bodies.py",
        "tests/test_connection_pool.py",
        "tests/test_debug_log.py",
        "tests/test_transport_edges.py",
        "tests/test_rate_limit_waits.py",
        "tests/test_misuse.py",
    ],
}
#: One line per equivalent mutant: ``module  mutant-id  why it is equivalent``.
EQUIVALENTS_FILE = "mutation/equivalents.txt"
#: How mutmut's statuses count: a timeout is a detected mutant (the tests did not pass).
_DETECTED = {"killed", "timeout", "segfault", "caught by type check"}


def _equivalents() -> dict[str, str]:
    """mutant id -> why it is equivalent, from EQUIVALENTS_FILE."""
    found: dict[str, str] = {}
    with open(EQUIVALENTS_FILE, encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise RuntimeError(f"{EQUIVALENTS_FILE}:{number}: want 'module mutant-id why'")
            found[parts[1]] = parts[2]
    return found


#: Prints "-- survivor: <id>" and the diff of each mutant named in argv[2:] (of file argv[1]).
_SHOW_DIFFS = """
import sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for name in sys.argv[2:]:
    print(f"-- survivor: {name}")
    print(get_diff_for_mutant(name, path=sys.argv[1]))
"""


def _mutmut_config(module: str, tests: list[str]) -> str:
    """pyproject.toml with this module's ``only_mutate`` and test selection added to
    its [tool.mutmut] table."""
    with open("pyproject.toml", encoding="utf-8") as file:
        text = file.read()
    selection = ", ".join(f'"{test}"' for test in tests if os.path.exists(test))
    added = (
        f'[tool.mutmut]\nonly_mutate = ["polar_links/{module}"]\n'
        f"pytest_add_cli_args_test_selection = [{selection}]\n"
    )
    if "[tool.mutmut]\n" not in text:
        raise RuntimeError("pyproject.toml has no [tool.mutmut] table")
    return text.replace("[tool.mutmut]\n", added, 1)


@nox.session(python="3.11", default=False)
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core modules (tens of minutes; not in `nox` or CI).

    For each module (or only those named: ``nox -s mutation -- _query.py``) mutmut
    mutates it in a fresh scratch copy under .mutation/ and runs the module's tests
    against every mutant, two at a time. Prints per module: mutants, killed, equivalent
    (listed with the reason in mutation/equivalents.txt), survivors, the score over the
    non-equivalent mutants, and the diff of every survivor. Fails if any module has a
    survivor."""
    # aiohttp 3.13: the last minor that raises its own DecompressSizeError, so that the
    # transport's branch for it is measured too (3.14 never raises it; the tests skip it).
    session.install("-e", ".[test]", "mutmut>=3.8,<3.9", "aiohttp>=3.13,<3.14")
    wanted = [name if name.endswith(".py") else f"{name}.py" for name in session.posargs]
    unknown = [name for name in wanted if name not in MUTATION_MODULES]
    if unknown:
        session.error(f"not a measured module: {unknown}; choose from {list(MUTATION_MODULES)}")
    equivalents = _equivalents()
    root = os.getcwd()
    summary: list[str] = []
    failed = False
    for module, tests in MUTATION_MODULES.items():
        if wanted and module not in wanted:
            continue
        stem = module[:-3]
        work = os.path.join(root, ".mutation", stem)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        shutil.copytree("polar_links", os.path.join(work, "polar_links"))
        shutil.copytree("tests", os.path.join(work, "tests"))
        with open(os.path.join(work, "pyproject.toml"), "w", encoding="utf-8") as file:
            file.write(_mutmut_config(module, tests))
        session.chdir(work)
        session.log(f"mutmut on polar_links/{module} with {' '.join(tests)}")
        started = time.monotonic()
        session.run("mutmut", "run", "--max-children", "2", external=True, silent=True)
        seconds = time.monotonic() - started
        listing = session.run("mutmut", "results", "--all", "true", silent=True, external=True)
        statuses = {
            name.strip(): status.strip()
            for name, _, status in (line.rpartition(":") for line in str(listing).splitlines())
            if name.strip().startswith("polar_links.")
        }
        killed = sorted(n for n, s in statuses.items() if s in _DETECTED)
        equivalent = sorted(
            n for n, s in statuses.items() if s not in _DETECTED and n in equivalents
        )
        stale = sorted(
            n for n in equivalents if n.startswith(f"polar_links.{stem}.") and n in killed
        )
        survivors = sorted(
            n for n, s in statuses.items() if s not in _DETECTED and n not in equivalents
        )
        judged = len(statuses) - len(equivalent)
        score = 100.0 * len(killed) / judged if judged else 100.0
        line = (
            f"{module}: {len(statuses)} mutants, {len(killed)} killed, "
            f"{len(equivalent)} equivalent, {len(survivors)} survivors, "
            f"score {score:.1f}% of non-equivalent, {seconds:.0f} s"
        )
        summary.append(line)
        print(f"\n== {line}")
        if survivors:
            # One process for every diff (a `mutmut show` per survivor takes seconds each).
            diffs = session.run(
                "python", "-c", _SHOW_DIFFS, f"polar_links/{module}", *survivors, silent=True
            )
            print(diffs)
            for name in survivors:
                if statuses[name] != "survived":
                    print(f"-- {name} counts as a survivor: {statuses[name]}")
        for name in stale:
            print(f"-- listed as equivalent but killed (remove it from {EQUIVALENTS_FILE}): {name}")
        failed = failed or bool(survivors)
        session.chdir(root)
    print("\n" + "\n".join(summary))
    if failed:
        session.error("surviving mutants (listed above)")
