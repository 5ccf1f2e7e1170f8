"""``polar-links load``: mirror checkout links into a DuckDB file with the dlt source
(:mod:`polar_links.dlt`), from the API or, with ``--demo``, from an in-process bundled
test server."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._redact import TOKEN_ENV
from ._runtime import EXIT_OK, Reporter, UsageError

__all__ = ["DLT_HINT", "cmd_load"]

#: What to run when dlt is missing.
DLT_HINT = "pip install 'polar-links[dlt]'"


@contextlib.contextmanager
def _source_options(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The dlt source's options for this command line; with ``--demo``, a bundled test
    server runs (in a thread: dlt runs the source on its own event loop) meanwhile."""
    options: dict[str, Any] = {"page_size": args.limit}
    if args.org:
        options["organization_id"] = args.org
    if args.concurrency is not None:
        options["concurrency"] = args.concurrency
    if not args.demo:
        token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
        if not token:
            raise UsageError(f"no access token: pass --token or set {TOKEN_ENV} (or use --demo)")
        options["access_token"] = token
        options["environment"] = "sandbox" if args.sandbox else "production"
        if args.base_url:
            options["base_url"] = args.base_url
        yield options
        return
    from ..testing import PolarTestServer

    server = PolarTestServer(links=args.links, seed=args.seed)
    server.faults.latency = args.latency_ms / 1000
    with server.run_in_thread():
        yield {**options, "access_token": server.token, "base_url": server.base_url}


def cmd_load(args: argparse.Namespace, reporter: Reporter) -> int:
    """``load``: run one full scan into the DuckDB file; print a summary on stderr."""
    try:
        import dlt

        from ..dlt import load_links
    except ImportError as exc:
        raise UsageError(f"load needs dlt and duckdb ({exc}): {DLT_HINT}") from None
    database = Path(args.duckdb)
    pipelines = Path(args.pipelines_dir or f"{database}.dlt")
    started = time.perf_counter()
    with _source_options(args) as options:
        pipeline = dlt.pipeline(
            "polar_links",
            destination=dlt.destinations.duckdb(str(database)),
            dataset_name=args.dataset,
            pipelines_dir=str(pipelines),
        )
        infos = load_links(pipeline, pages_per_load=args.pages_per_load, **options)
    elapsed = time.perf_counter() - started
    scan = pipeline.state["sources"]["polar"]["resources"]["checkout_links"]["last_scan"]
    sys.stderr.write(
        f"load: {scan['links']} links in {args.dataset}.checkout_links of {database} "
        f"({len(infos)} loads, {scan['deleted']} deleted) in {elapsed:.2f}s\n"
    )
    return EXIT_OK
