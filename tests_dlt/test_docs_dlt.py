"""The Python blocks of docs/dlt.md, run the way a reader runs them: in a fresh folder,
the token and base URL from dlt's environment variables (pointing at the bundled
server), the Postgres credentials from ``DESTINATION__POSTGRES__CREDENTIALS``."""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from polar_links.testing import PolarTestServer

DOC = Path(__file__).resolve().parent.parent / "docs" / "dlt.md"
#: The blocks the main test session leaves to this one (its docs test runs the others).
BLOCK = re.compile(
    r"^<!-- no-run: needs dlt[^>]*tests_dlt[^>]*-->\n```python\n(.*?)^```", re.S | re.M
)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_page_has_the_duckdb_and_the_postgres_example() -> None:
    found = blocks()
    assert len(found) == 2
    assert 'destination="duckdb"' in found[0]
    assert 'destination="postgres"' in found[1]


@pytest.mark.parametrize("index", [0, 1], ids=["duckdb", "postgres"])
def test_doc_block_runs(
    index: int,
    source_env: PolarTestServer,
    postgres: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql://postgres:unused@{postgres['host']}:{postgres['port']}/postgres"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    code = compile(
        blocks()[index], f"docs/dlt.md block {index}", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    namespace: dict[str, Any] = {"__name__": "__main__"}
    result = eval(code, namespace)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    printed = capsys.readouterr().out
    assert printed.strip()
    if index == 1:
        with_codes = sum(1 for link in source_env.store.all_links() if link["allow_discount_codes"])
        assert printed == f"{with_codes} links accept discount codes\n"
    else:
        assert Path("polar_links.duckdb").exists()
