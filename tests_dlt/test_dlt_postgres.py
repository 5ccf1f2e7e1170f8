"""The dlt source into a real PostgreSQL server (Debian's package, started by the
``postgres`` fixture): two scans with a creation, a change and a deletion in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import psycopg2

from polar_links.dlt import load_links
from polar_links.testing import PolarTestServer


def test_two_scans_into_postgres(
    source_env: PolarTestServer, postgres: dict[str, Any], tmp_path: Path
) -> None:
    server = source_env
    url = (
        f"postgresql://{postgres['user']}:unused@{postgres['host']}:{postgres['port']}/"
        f"{postgres['database']}"
    )
    pipeline = dlt.pipeline(
        "polar_links_pg",
        destination=dlt.destinations.postgres(credentials=url),
        dataset_name="polar_pg",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    load_links(pipeline, pages_per_load=2)
    ids = sorted(link["id"] for link in server.store.all_links())
    server.store.delete(ids[0])
    server.store.update(ids[1], {"label": "Changed in between"})
    (created,) = server.store.create_newest(1)
    load_links(pipeline, pages_per_load=2)

    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT id) FROM polar_pg.checkout_links")
        assert cur.fetchone() == (300, 300)
        cur.execute("SELECT id FROM polar_pg.checkout_links ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == sorted([*ids[1:], created])
        cur.execute("SELECT label FROM polar_pg.checkout_links WHERE id = %s", (ids[1],))
        assert cur.fetchone() == ("Changed in between",)
        cur.execute(
            "SELECT count(*) FROM polar_pg.checkout_links__products p LEFT JOIN "
            "polar_pg.checkout_links l ON p._dlt_root_id = l._dlt_id WHERE l.id IS NULL"
        )
        assert cur.fetchone() == (0,)
        cur.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = 'polar_pg' "
            "AND table_name = 'checkout_links' AND column_name = 'created_at'"
        )
        assert cur.fetchone() == ("timestamp with time zone",)
