"""The dlt source against the bundled server over real sockets, into a DuckDB file:
two scans with links created, changed and deleted in between; interrupted scans
completed without reading again what was loaded; deletions only after a full scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from polar_links.dlt import (
    DELETED_COLUMN,
    SCAN_COLUMN,
    load_links,
    polar_source,
    scan_in_progress,
)
from polar_links.testing import PolarTestServer

from .conftest import duckdb_pipeline


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).fetchall()


def link_ids(path: Path) -> list[str]:
    return [row[0] for row in query(path, "SELECT id FROM polar.checkout_links ORDER BY id")]


def list_pages(server: PolarTestServer) -> list[int]:
    """The page numbers of the list requests the server received, in order."""
    return [
        int(dict(r.query)["page"])
        for r in server.requests
        if r.method == "GET" and r.path == "/v1/checkout-links/"
    ]


def test_two_scans_mirror_creations_changes_and_deletions(
    source_env: PolarTestServer, tmp_path: Path
) -> None:
    server, db = source_env, tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    infos = load_links(pipeline, pages_per_load=2, page_size=50)
    assert len(infos) == 3  # 300 links, 50 a page, 2 pages a load
    store = sorted(link["id"] for link in server.store.all_links())
    assert link_ids(db) == store
    products = sum(len(link["products"]) for link in server.store.all_links())
    assert query(db, "SELECT count(*) FROM polar.checkout_links__products") == [(products,)]

    deleted = store[:3]
    for link_id in deleted:
        server.store.delete(link_id)
    changed = store[10]
    server.store.update(changed, {"label": "Renamed", "metadata": {"plan": "gold"}})
    created = server.store.create_newest(4)

    load_links(pipeline, pages_per_load=2, page_size=50)
    now = sorted(link["id"] for link in server.store.all_links())
    assert len(now) == 301
    assert link_ids(db) == now
    assert query(db, "SELECT count(*), count(DISTINCT id) FROM polar.checkout_links") == [
        (301, 301)
    ]
    assert query(
        db, f"SELECT label, metadata->>'plan' FROM polar.checkout_links WHERE id = '{changed}'"
    ) == [("Renamed", "gold")]
    assert set(created) <= set(link_ids(db))
    # Deleted links are gone with their nested rows (dlt hard delete).
    gone = ", ".join(f"'{i}'" for i in deleted)
    assert query(db, f"SELECT count(*) FROM polar.checkout_links WHERE id IN ({gone})") == [(0,)]
    orphans = query(
        db,
        "SELECT count(*) FROM polar.checkout_links__products p "
        "LEFT JOIN polar.checkout_links l ON p._dlt_root_id = l._dlt_id WHERE l.id IS NULL",
    )
    assert orphans == [(0,)]
    products = sum(len(link["products"]) for link in server.store.all_links())
    assert query(db, "SELECT count(*) FROM polar.checkout_links__products") == [(products,)]
    # Every row was seen by the last scan; no tombstone rows are stored.
    scans = query(db, f"SELECT DISTINCT {SCAN_COLUMN} FROM polar.checkout_links")
    last = pipeline.state["sources"]["polar"]["resources"]["checkout_links"]["last_scan"]
    assert scans == [(last["id"],)]
    assert last["deleted"] == 3
    assert last["links"] == 301
    assert query(
        db, f"SELECT count(*) FROM polar.checkout_links WHERE {DELETED_COLUMN} IS NOT NULL"
    ) == [(0,)]


def test_an_interrupted_scan_is_completed_by_the_next_run_without_rereading(
    source_env: PolarTestServer, tmp_path: Path
) -> None:
    server, db = source_env, tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    store = sorted(link["id"] for link in server.store.all_links())
    # Two loads of 2 pages (100 links) commit, then the worker dies in the middle of the
    # third load's extract, after reading one more page.
    for _ in range(2):
        pipeline.run(polar_source(max_pages=2, page_size=25))
    assert len(link_ids(db)) == 100
    passed = 0

    def crash(row: dict[str, Any]) -> dict[str, Any]:
        nonlocal passed
        passed += 1
        if passed > 30:
            raise RuntimeError("worker killed")
        return row

    broken = polar_source(max_pages=2, page_size=25)
    broken.checkout_links.add_map(crash)
    with pytest.raises(PipelineStepFailed, match="worker killed"):
        pipeline.run(broken)
    assert len(link_ids(db)) == 100  # the failed load committed nothing
    assert scan_in_progress(pipeline)

    server.requests.clear()
    load_links(pipeline, pages_per_load=2, page_size=25)
    assert link_ids(db) == store
    assert not scan_in_progress(pipeline)
    # Pages 1-4 were loaded: no load of the next run read any of them but page 4, the
    # last page loaded, which the first load reads once more to find its place (as each
    # later load does with the page before it); each of pages 5-12 was read once.
    pages = list_pages(server)
    assert sorted(pages) == [4, 5, 6, 6, 7, 8, 8, 9, 10, 10, 11, 12]


def test_a_scan_cut_by_network_failures_is_completed_by_the_next_run(
    source_env: PolarTestServer, tmp_path: Path
) -> None:
    server, db = source_env, tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    pipeline.run(polar_source(max_pages=3, page_size=50, concurrency=1))
    server.faults.fail_next(50, 503)  # longer than the client's retries
    with pytest.raises(PipelineStepFailed):
        pipeline.run(polar_source(max_pages=3, page_size=50, concurrency=1))
    assert len(link_ids(db)) == 150
    server.faults.clear()
    load_links(pipeline, page_size=50)
    assert link_ids(db) == sorted(link["id"] for link in server.store.all_links())


def test_a_partial_run_never_deletes(source_env: PolarTestServer, tmp_path: Path) -> None:
    server, db = source_env, tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    load_links(pipeline, page_size=100)
    doomed = link_ids(db)[0]
    server.store.delete(doomed)
    pipeline.run(polar_source(max_pages=1, page_size=100))
    assert scan_in_progress(pipeline)
    assert doomed in link_ids(db)
    pipeline.run(polar_source(max_pages=5, page_size=100))
    assert not scan_in_progress(pipeline)
    assert doomed not in link_ids(db)
    assert len(link_ids(db)) == 299


def test_links_the_scan_did_not_see_but_the_api_has_are_kept(
    source_env: PolarTestServer, tmp_path: Path
) -> None:
    server, db = source_env, tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    load_links(pipeline)
    org = server.store.all_links()[0]["organization_id"]
    # A scan of one organization does not see the others' links: each is checked with a
    # GET and kept, because the API still has it.
    server.requests.clear()
    load_links(pipeline, organization_id=[org])
    assert len(link_ids(db)) == 300
    others = sum(1 for link in server.store.all_links() if link["organization_id"] != org)
    gets = [
        r
        for r in server.requests
        if r.path.startswith("/v1/checkout-links/") and r.path != "/v1/checkout-links/"
    ]
    assert len(gets) == others > 0


def test_the_token_comes_from_dlt_config_and_is_stored_nowhere(
    source_env: PolarTestServer, tmp_path: Path
) -> None:
    db = tmp_path / "links.duckdb"
    pipeline = duckdb_pipeline(db)
    load_links(pipeline)
    token = source_env.token.encode()
    for path in [db, *tmp_path.rglob("*")]:
        if path.is_file():
            assert token not in path.read_bytes(), path


def test_a_missing_token_is_reported_before_any_request(
    server: PolarTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__POLAR__BASE_URL", server.base_url)
    with pytest.raises(Exception, match="no access token") as caught:
        polar_source()
    assert server.requests == []
    assert "POLAR_ACCESS_TOKEN" in str(caught.value)


def test_the_token_may_come_from_polar_access_token(
    server: PolarTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLAR_ACCESS_TOKEN", server.token)
    db = tmp_path / "links.duckdb"
    load_links(duckdb_pipeline(db), base_url=server.base_url)
    assert len(link_ids(db)) == 300


def test_bad_max_pages_is_refused(source_env: PolarTestServer) -> None:
    with pytest.raises(ValueError, match="max_pages must be a positive int"):
        polar_source(max_pages=0)


def test_the_resource_has_a_primary_key_and_merges_with_hard_deletes(
    source_env: PolarTestServer,
) -> None:
    resource = polar_source().checkout_links
    table = resource.compute_table_schema()
    assert table["columns"]["id"]["primary_key"] is True
    assert table["write_disposition"] == "merge"
    assert table["columns"][DELETED_COLUMN]["hard_delete"] is True
    assert table["columns"]["metadata"]["data_type"] == "json"
    assert dlt.__version__
