"""Fixtures of the dlt tests: a bundled server, a dlt pipeline into a DuckDB file, and a
real PostgreSQL server (Debian's package) started for the session.

These tests need ``polar-links[dlt]`` plus ``dlt[postgres]``: ``nox -s dlt`` runs them;
the main ``tests`` session never collects this folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from polar_links.testing import PolarTestServer


@pytest.fixture(autouse=True)
def _dlt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep dlt's pipelines, config lookups and logs inside the test's folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.delenv("POLAR_ACCESS_TOKEN", raising=False)


@pytest.fixture
def server() -> Iterator[PolarTestServer]:
    """A bundled server with 300 links, served from a thread (dlt runs its own loop)."""
    srv = PolarTestServer(links=300, seed=5)
    with srv.run_in_thread():
        yield srv


@pytest.fixture
def source_env(server: PolarTestServer, monkeypatch: pytest.MonkeyPatch) -> PolarTestServer:
    """The token and base URL in the environment, the way dlt reads a source's config."""
    monkeypatch.setenv("SOURCES__POLAR__ACCESS_TOKEN", server.token)
    monkeypatch.setenv("SOURCES__POLAR__BASE_URL", server.base_url)
    return server


def duckdb_pipeline(path: Path, name: str = "polar_links") -> dlt.Pipeline:
    """A pipeline into the DuckDB file ``path``, dataset ``polar``."""
    return dlt.pipeline(
        name,
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="polar",
        pipelines_dir=str(path.parent / "pipelines"),
    )


# ---------------------------------------------------------------- PostgreSQL


def _pg_bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, Any]]:
    """A PostgreSQL server of its own (initdb in a temporary folder, a free port), run as
    the ``postgres`` user when the tests run as root (initdb refuses root); yields its
    connection settings and stops it afterwards."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is not installed: apt-get install postgresql (.ci/run does it)",
            pytrace=False,
        )
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="polar-links-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        root.chmod(0o755)
    port = _free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        [*prefix, *cmd], check=True, capture_output=True, text=True, timeout=120
    )
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "-t",
        "60",
        "start",
    )
    try:
        yield {"host": "127.0.0.1", "port": port, "user": "postgres", "database": "postgres"}
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
