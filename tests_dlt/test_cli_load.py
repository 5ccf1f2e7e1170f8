"""``polar-links load``: the bundled server's links into a DuckDB file, in a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb

from polar_links.testing import PolarTestServer

ENV = {**os.environ, "POLAR_ACCESS_TOKEN": ""}


def load(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polar_links", "load", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
        check=False,
    )


def count(path: Path) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        (row,) = con.sql("SELECT count(*), count(DISTINCT id) FROM polar.checkout_links").fetchall()
    return int(row[0]), int(row[1])


def test_load_demo_fills_a_duckdb_file(tmp_path: Path) -> None:
    db = tmp_path / "links.duckdb"
    done = load("--demo", "--links", "450", "--duckdb", str(db), "--pages-per-load", "2")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        rf"load: 450 links in polar\.checkout_links of {re.escape(str(db))} "
        r"\(3 loads, 0 deleted\) in \d+\.\d\ds\n",
        done.stderr,
    )
    assert count(db) == (450, 450)
    assert (tmp_path / "links.duckdb.dlt").is_dir()


def test_load_against_a_server_mirrors_deletions(server: PolarTestServer, tmp_path: Path) -> None:
    db = tmp_path / "links.duckdb"
    argv = ["--base-url", server.base_url, "--token", server.token, "--duckdb", str(db)]
    assert load(*argv).returncode == 0
    assert count(db) == (300, 300)
    server.store.delete_oldest(5)
    done = load(*argv)
    assert done.returncode == 0, done.stderr
    assert "(1 loads, 5 deleted)" in done.stderr
    assert count(db) == (295, 295)
    assert server.token not in done.stderr


def test_load_without_a_token_is_a_usage_error(tmp_path: Path) -> None:
    done = load("--duckdb", str(tmp_path / "x.duckdb"))
    assert done.returncode == 2
    assert "no access token: pass --token or set POLAR_ACCESS_TOKEN (or use --demo)" in (
        done.stderr
    )
    assert not (tmp_path / "x.duckdb").exists()
