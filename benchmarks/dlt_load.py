"""Load 50,000 links of the bundled server into DuckDB with the dlt source, next to the
plain JSONL export of the same links (``polar-links list --output``).

The server runs in its own process; each job runs in a fresh process of its own, so its
wall time includes the interpreter's start and imports, and its peak memory (maximum
resident set size, from ``wait4``) is its own. Jobs:

* ``jsonl export``: ``polar-links list --format jsonl --output FILE``;
* ``dlt -> duckdb, first scan``: ``load_links`` into a new DuckDB file;
* ``dlt -> duckdb, nightly re-scan``: the same again, nothing changed (every row merged
  again, deletions checked);
* ``dlt -> duckdb, insert_values``: the first scan with DuckDB's default file format,
  on ``--insert-values-size`` links (default 5,000), against ``jsonl`` on as many.

Prints the table; with ``--write``, also writes it to ``benchmarks/results/dlt.md`` and
between the BENCH markers of ``docs/dlt.md``.

    nox -s bench -- --only dlt [--write]   # or: python -m benchmarks.dlt_load [--size N]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._results import add_write_option, publish
from benchmarks.run import Server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "dlt.md"
DOC = ROOT / "docs" / "dlt.md"
START, END = "<!-- BENCH:START -->", "<!-- BENCH:END -->"


@dataclass
class Job:
    label: str
    links: int
    seconds: float
    peak_rss_mib: float


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``argv``; return (wall seconds, peak RSS in MiB) of that process alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{argv} exited {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


def load_child(base_url: str, token: str, folder: str, file_format: str) -> None:
    """In the child process: one ``load_links`` scan into ``folder``/links.duckdb."""
    import dlt

    from polar_links.dlt import load_links

    pipeline = dlt.pipeline(
        "bench",
        destination=dlt.destinations.duckdb(os.path.join(folder, "links.duckdb")),
        dataset_name="polar",
        pipelines_dir=os.path.join(folder, "pipelines"),
    )
    load_links(pipeline, access_token=token, base_url=base_url, loader_file_format=file_format)


def measure(size: int, insert_values_size: int) -> list[Job]:
    jobs: list[Job] = []
    env = {**os.environ, "RUNTIME__LOG_LEVEL": "WARNING", "POLAR_ACCESS_TOKEN": ""}

    def load(server: Server, folder: str, fmt: str) -> tuple[float, float]:
        return timed(
            [sys.executable, "-m", "benchmarks.dlt_load", "--child", server.base_url,
             server.token, folder, fmt],
            env,
        )  # fmt: skip

    server = Server(size, 0)
    try:
        with tempfile.TemporaryDirectory() as folder:
            output = os.path.join(folder, "links.jsonl")
            export = [sys.executable, "-m", "polar_links", "list", "--base-url",
                      server.base_url, "--token", server.token, "--output", output]  # fmt: skip
            timed(export, env)  # warm the server's caches and the OS
            jobs.append(
                Job("jsonl export (`polar-links list --output`)", size, *timed(export, env))
            )
            jobs.append(Job("dlt -> duckdb, first scan", size, *load(server, folder, "jsonl")))
            jobs.append(Job("dlt -> duckdb, nightly re-scan", size, *load(server, folder, "jsonl")))
    finally:
        server.close()
    server = Server(insert_values_size, 0)
    try:
        for fmt in ("jsonl", "insert_values"):
            with tempfile.TemporaryDirectory() as folder:
                label = f"dlt -> duckdb, first scan, {fmt} files"
                jobs.append(Job(label, insert_values_size, *load(server, folder, fmt)))
    finally:
        server.close()
    for job in jobs:
        print(f"{job.links:>7,} {job.label:<48} {job.seconds:8.2f} s {job.peak_rss_mib:8.1f} MiB")
    return jobs


def report(jobs: list[Job]) -> str:
    import dlt

    from polar_links import __version__

    export = jobs[0]
    lines = [
        f"polar-links {__version__}, dlt {dlt.__version__}, Python "
        f"{platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; bundled server in its own process, 0 ms latency; each "
        "job a fresh process (wall time includes start-up and imports).",
        "",
        "| job | links | wall time (s) | links/s | peak RSS (MiB) | time vs export |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for job in jobs:
        ratio = job.seconds / export.seconds if job.links == export.links else None
        lines.append(
            f"| {job.label} | {job.links:,} | {job.seconds:.2f} | {job.links / job.seconds:,.0f} "
            f"| {job.peak_rss_mib:.0f} | {'' if ratio is None else f'{ratio:.1f}x'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--insert-values-size", type=int, default=5_000)
    add_write_option(parser)
    parser.add_argument("--child", nargs=4, metavar=("URL", "TOKEN", "DIR", "FORMAT"))
    args = parser.parse_args(argv)
    if args.child:
        load_child(*args.child)
        return 0
    text = report(measure(args.size, args.insert_values_size))
    return publish(text, [], args.write, RESULTS, DOC, START, END)


if __name__ == "__main__":
    sys.exit(main())
