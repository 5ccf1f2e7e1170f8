"""What importing costs: the pytest plugin and the package load no HTTP stack until a
name that needs it is used, and only the transport imports aiohttp."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

import polar_links

PACKAGE = pathlib.Path(polar_links.__file__).parent


def fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["polar_links.testing.pytest_plugin", "polar_links"])
def test_importing_loads_neither_aiohttp_nor_msgspec(module: str) -> None:
    out = fresh(
        f"import sys, {module}\n"
        "print(sorted(m for m in ('aiohttp', 'msgspec', 'yarl') if m in sys.modules))"
    )
    assert out == "[]"


def test_the_first_use_of_a_name_loads_what_it_needs() -> None:
    out = fresh(
        "import sys\n"
        "from polar_links import Polar\n"
        "import polar_links\n"
        "print(Polar.__module__, 'aiohttp' in sys.modules, polar_links.Polar is Polar)"
    )
    assert out == "polar_links._client True True"


def test_every_documented_name_is_importable() -> None:
    names = polar_links.__all__
    for name in names:
        assert getattr(polar_links, name) is not None, name
    assert sorted(names) == dir(polar_links)
    out = fresh(f"from polar_links import {', '.join(names)}; print('ok')")
    assert out == "ok"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'polar_links' has no attribute 'Nope'"):
        polar_links.Nope  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError):
        from polar_links import Nope  # type: ignore[attr-defined]  # noqa: F401


def runtime_imports(path: pathlib.Path) -> set[str]:
    """Top-level modules ``path`` imports when it runs (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            for child in ast.walk(node):
                if isinstance(child, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in child.names)
                elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                    found.add(child.module.split(".")[0])

    visit(tree.body)
    return found


def test_only_the_transport_imports_aiohttp_in_the_sdk() -> None:
    # The bundled server (testing/) and the CLI are separate programs; the SDK's own
    # modules leave the HTTP stack to one place.
    users = sorted(path.name for path in PACKAGE.glob("*.py") if "aiohttp" in runtime_imports(path))
    assert users == ["_transport.py"]
