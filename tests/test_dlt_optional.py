"""dlt is an optional extra: the SDK and the CLI never import it, and without it the dlt
module and ``load`` say what to install (runs without dlt: blocked in ``sys.modules``)."""

from __future__ import annotations

import subprocess
import sys


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_polar_links_and_its_cli_does_not_import_dlt() -> None:
    done = python(
        "import sys, polar_links, polar_links.cli, polar_links.cli._main\n"
        "assert 'dlt' not in sys.modules and 'duckdb' not in sys.modules, 'imported'\n"
        "print('ok')"
    )
    assert done.stdout == "ok\n", done.stderr


def test_without_dlt_the_module_names_the_extra() -> None:
    done = python("import sys; sys.modules['dlt'] = None\nimport polar_links.dlt")
    assert done.returncode == 1
    assert "polar_links.dlt needs dlt" in done.stderr
    assert "pip install 'polar-links[dlt]'" in done.stderr


def test_without_dlt_load_is_a_usage_error_naming_the_extra() -> None:
    done = python(
        "import sys; sys.modules['dlt'] = None\n"
        "from polar_links.cli import main\n"
        "sys.exit(main(['load', '--demo']))"
    )
    assert done.returncode == 2
    assert done.stderr.startswith("polar-links: error: load needs dlt and duckdb")
    assert "pip install 'polar-links[dlt]'" in done.stderr
