"""Every ```python block of README.md and docs/*.md runs against the bundled test server.

Examples are written the way a user writes them: ``Polar()`` (token from
``POLAR_ACCESS_TOKEN``), ``Polar(access_token="polar_oat_...")`` against production, or
``Polar(..., base_url="http://127.0.0.1:8000")`` against ``polar-links serve --port 8000``
as the Quickstart starts it. None of that can run here (no token, no network, no server
on port 8000), so each block gets a fresh ``PolarTestServer`` with the data
``polar-links serve`` serves (250 links, seed 0: the ids the examples use),
``POLAR_ACCESS_TOKEN`` set to its token, and ``polar_links.Polar`` and
``polar_links.SyncPolar`` replaced by subclasses that send those clients to it, with its
token (``_redirecting``). A
client given any other ``base_url`` (an example's own ``PolarTestServer``, or a URL the
example expects to be refused) is left alone.

How a block runs:

* top-level ``await``, ``async with`` and ``async for`` work: the block is compiled with
  ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`` and the resulting coroutine run by ``asyncio.run``;
  ``__name__`` is ``"__main__"`` and the working directory is a fresh temporary one;
* a block that defines ``test_*`` functions is a pytest module: pytest runs it (with the
  ``polar_links`` plugin and pytest-asyncio in auto mode) and all its tests must pass;
* a block that calls ``print`` must print something.

Markers, HTML comments (invisible on the site) on the lines right above a fence:

* ``<!-- no-run: reason -->`` skips the block, for code that needs what the test
  environment lacks (such as FastAPI);
* ``<!-- name: NAME -->`` names a block, and ``<!-- uses: NAME -->`` runs the block of
  that name in the same file first, in the same namespace (or pytest module).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

import polar_links
from polar_links.testing import PolarTestServer

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Where ``polar-links serve --port 8000`` listens, as the Quickstart starts it.
LOCAL_SERVE_URL = "http://127.0.0.1:8000"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
_COMMENT = re.compile(r"^[ \t]*<!--.*-->[ \t]*$")
_MARKER = re.compile(
    r"^[ \t]*<!--[ \t]*(?P<key>no-run|name|uses)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*-->"
)
_PYTEST_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a Markdown file, with the markers above it."""

    path: str
    line: int
    code: str
    markers: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        """``<file>:<line of the opening fence>``, e.g. ``docs/listing.md:42``."""
        return f"{self.path}:{self.line}"

    def marker(self, key: str) -> str | None:
        """The value of the marker ``key``, or None if the block has none."""
        return next((value for k, value in self.markers if k == key), None)

    @property
    def tree(self) -> ast.Module:
        return ast.parse(self.code, filename=self.id)

    @property
    def is_pytest_module(self) -> bool:
        """True if the block defines top-level ``test_*`` functions."""
        return any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
            for node in self.tree.body
        )

    @property
    def prints(self) -> bool:
        """True if the block calls ``print`` anywhere."""
        return any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
            for node in ast.walk(self.tree)
        )


def parse_blocks(path: Path) -> list[Block]:
    """Return the ```python (or ```py) blocks of a Markdown file, in order."""
    relative = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not closing.match(lines[index]):
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1
        words = opening["info"].split()
        if not words or words[0].lower() not in ("python", "py"):
            continue
        blocks.append(
            Block(relative, start + 1, "\n".join(body) + "\n", _markers(lines, start, relative))
        )
    return blocks


def _markers(lines: list[str], fence: int, path: str) -> tuple[tuple[str, str], ...]:
    """Read the marker comments on the lines right above the fence at index ``fence``."""
    found: list[tuple[str, str]] = []
    index = fence - 1
    while index >= 0 and _COMMENT.match(lines[index]):
        marker = _MARKER.match(lines[index])
        if marker is None:
            raise ValueError(
                f"{path}:{index + 1}: unknown marker {lines[index].strip()!r} above a python "
                "block; use no-run, name or uses"
            )
        if not marker["value"]:
            raise ValueError(f"{path}:{index + 1}: marker {marker['key']!r} needs a value")
        found.append((marker["key"], marker["value"]))
        index -= 1
    return tuple(reversed(found))


BLOCKS = [block for path in DOC_FILES for block in parse_blocks(path)]
NAMED = {(b.path, name): b for b in BLOCKS if (name := b.marker("name")) is not None}


def _used(block: Block) -> list[Block]:
    """The named blocks ``block`` uses, in order, each before the blocks it uses itself."""
    name = block.marker("uses")
    if name is None:
        return []
    used = NAMED.get((block.path, name))
    if used is None:
        raise LookupError(f"{block.id}: no block named {name!r} in {block.path}")
    return [*_used(used), used]


ClientT = TypeVar("ClientT", polar_links.Polar, polar_links.SyncPolar)


def _redirecting(client: type[ClientT], server: PolarTestServer) -> type[ClientT]:
    """A subclass of ``client`` (``Polar`` or ``SyncPolar``) that sends clients meant for
    production, the sandbox or ``polar-links serve --port 8000`` to ``server``, with its
    token."""

    def __init__(
        self: ClientT,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        **options: Any,
    ) -> None:
        if base_url is None or base_url.rstrip("/") == LOCAL_SERVE_URL:
            access_token, base_url = server.token, server.base_url
        client.__init__(self, access_token, base_url=base_url, **options)

    return type(client.__name__, (client,), {"__init__": __init__})


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Undo what an example does to the root and ``polar_links`` loggers."""
    loggers = [logging.getLogger(), logging.getLogger("polar_links")]
    saved = [(logger, logger.level, list(logger.handlers)) for logger in loggers]
    try:
        yield
    finally:
        for logger, level, handlers in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)


def _execute(block: Block, namespace: dict[str, Any]) -> None:
    # Leading newlines put the code at its own line numbers in tracebacks.
    source = "\n" * block.line + block.code
    code = compile(
        source,
        str(ROOT / block.path),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        asyncio.run(result)


def _run_as_pytest_module(block: Block, pytester: pytest.Pytester) -> None:
    pytester.makeini(_PYTEST_INI)
    code = "\n".join(b.code for b in [*_used(block), block])
    pytester.makepyfile(test_docs_example=code)
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    defined = sum(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        for node in block.tree.body
    )
    report = "\n".join(result.outlines)
    assert outcomes.get("passed", 0) >= defined, report
    assert set(outcomes) <= {"passed", "warnings"}, report


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_doc_example_runs(
    block: Block,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    reason = block.marker("no-run")
    if reason is not None:
        pytest.skip(f"marked no-run: {reason}")
    server = PolarTestServer()  # the data of `polar-links serve`
    with server.run_in_thread(), _logging_restored():
        monkeypatch.setenv("POLAR_ACCESS_TOKEN", server.token)
        monkeypatch.setattr(polar_links, "Polar", _redirecting(polar_links.Polar, server))
        monkeypatch.setattr(polar_links, "SyncPolar", _redirecting(polar_links.SyncPolar, server))
        if block.is_pytest_module:
            _run_as_pytest_module(block, request.getfixturevalue("pytester"))
            return
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, Any] = {"__name__": "__main__"}
        for used in _used(block):
            _execute(used, namespace)
        capsys.readouterr()
        _execute(block, namespace)
    if block.prints:
        assert capsys.readouterr().out.strip(), f"{block.id} calls print() but printed nothing"


FILES_WITH_PYTHON = sorted({block.path for block in BLOCKS})


@pytest.mark.parametrize("path", FILES_WITH_PYTHON)
def test_each_page_with_python_examples_runs_some(path: str) -> None:
    runnable = [b for b in BLOCKS if b.path == path and b.marker("no-run") is None]
    assert len(runnable) > 0


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.relative_to(ROOT).as_posix() for p in DOC_FILES])
def test_every_python_fence_is_found(path: Path) -> None:
    fences = re.findall(r"^[ \t]*```(?:python|py)\b", path.read_text(encoding="utf-8"), re.M)
    assert len(parse_blocks(path)) == len(fences)


def test_the_docs_have_python_examples_in_readme_and_every_guide() -> None:
    expected = {
        "README.md",
        "docs/index.md",
        "docs/listing.md",
        "docs/managing.md",
        "docs/errors.md",
        "docs/backends.md",
        "docs/testing.md",
        "docs/migrating.md",
    }
    assert expected <= set(FILES_WITH_PYTHON)


def test_uses_markers_name_a_block_of_the_same_file() -> None:
    for block in BLOCKS:
        assert all(used.path == block.path for used in _used(block))
