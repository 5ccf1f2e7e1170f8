"""Stream 5,000 and 50,000 links from the bundled server at 0 ms and 100 ms added
latency; compare concurrency 1, the default, and a hand-written floor loop.

The server runs in its own process (so its CPU is not billed to the client), and each
walk runs in a fresh process (so its peak RSS is its own). Prints the tables, checks the
ratio targets and exits 1 if one is missed. Only with ``--write`` does it also write the
tables to ``benchmarks/results/latest.md`` and between the BENCH markers of
``docs/performance.md`` (both tracked: a plain run leaves a clone clean).

    nox -s bench            # or: python -m benchmarks.run [--sizes 5000,50000] [--latencies 0,100]
    nox -s bench -- --write # record the results in the tracked files

It runs the rate-budget benchmark (``benchmarks/budget.py``) and the backend load
benchmark (``benchmarks/backend.py``) first; ``--only walks``, ``--only budget`` or
``--only backend`` runs one of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec

from benchmarks._results import add_write_option, publish
from polar_links import DEFAULT_CONCURRENCY, __version__

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "latest.md"
PERF_DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- BENCH:START -->", "<!-- BENCH:END -->"


@dataclass
class Run:
    size: int
    latency_ms: int
    label: str
    items: int
    pages: int
    seconds: float
    peak_rss_mib: float
    cpu_sys_s: float
    minor_faults: int

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @classmethod
    def of(cls, size: int, latency_ms: int, label: str, r: dict[str, float]) -> Run:
        """The run of one ``walk()`` result."""
        return cls(
            size,
            latency_ms,
            label,
            int(r["items"]),
            int(r["pages"]),
            r["seconds"],
            r["peak_rss_mib"],
            r["cpu_sys_s"],
            int(r["minor_faults"]),
        )


class Server:
    """The bundled server in a child process: ``python -m polar_links.testing``."""

    def __init__(self, links: int, latency_ms: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "polar_links.testing",
                "--links",
                str(links),
                "--latency-ms",
                str(latency_ms),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        token_line = self.proc.stdout.readline().strip()
        if not first.startswith("Polar test server listening on "):
            self.close()
            raise RuntimeError(f"server did not start: {first!r}")
        self.base_url = first.rsplit(" ", 1)[1]
        self.token = token_line.split(": ", 1)[1]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def walk(server: Server, variant: str, concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.walk",
            variant,
            "--base-url",
            server.base_url,
            "--token",
            server.token,
            "--concurrency",
            str(concurrency),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return msgspec.json.decode(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(sizes: list[int], latencies: list[int]) -> list[Run]:
    runs = []
    configs = [
        ("floor", "floor", 1),
        ("sdk c=1", "sdk", 1),
        (f"sdk default (c={DEFAULT_CONCURRENCY})", "sdk", DEFAULT_CONCURRENCY),
    ]
    for size in sizes:
        for latency in latencies:
            server = Server(size, latency)
            try:
                walk(server, "floor", 1)  # warm the server's caches and the OS
                for label, variant, concurrency in configs:
                    r = walk(server, variant, concurrency)
                    runs.append(Run.of(size, latency, label, r))
                    print(
                        f"{size:>6} links {latency:>3} ms  {label:<24} "
                        f"{r['seconds']:7.3f} s  {runs[-1].rate:9.0f} items/s  "
                        f"{r['peak_rss_mib']:6.1f} MiB",
                        flush=True,
                    )
            finally:
                server.close()
    return runs


SYNC_VARIANTS = (
    ("async client (async for)", "sdk"),
    ("SyncPolar, plain script", "sync"),
    ("SyncPolar in a thread, loop in main thread", "sync-thread"),
)


def measure_sync(size: int, repeats: int) -> list[Run]:
    """The sync client against the async one on one server (0 ms, default concurrency):
    ``repeats`` rounds, variants interleaved, each walk in its own process; the best
    wall time and the lowest peak RSS of each variant (the least disturbed runs on a
    shared machine)."""
    best: dict[str, Run] = {}
    server = Server(size, 0)
    try:
        walk(server, "floor", 1)  # warm the server's caches and the OS
        for _ in range(repeats):
            for label, variant in SYNC_VARIANTS:
                r = walk(server, variant, DEFAULT_CONCURRENCY)
                run = Run.of(size, 0, label, r)
                print(
                    f"{size:>6} links   0 ms  {label:<44} {run.seconds:7.3f} s  "
                    f"{run.peak_rss_mib:6.1f} MiB",
                    flush=True,
                )
                if label in best:
                    kept = best[label]
                    run.seconds = min(run.seconds, kept.seconds)
                    run.peak_rss_mib = min(run.peak_rss_mib, kept.peak_rss_mib)
                best[label] = run
    finally:
        server.close()
    return [best[label] for label, _ in SYNC_VARIANTS]


def sync_targets(runs: list[Run]) -> list[tuple[str, str, bool]]:
    """Wall time and peak RSS of each sync variant over the async client's."""
    if not runs:
        return []
    base, checks = runs[0], []
    for run in runs[1:]:
        if run.items != base.items:
            checks.append((f"{run.label}: links streamed", f"{run.items} != {base.items}", False))
        for what, ratio in (
            ("wall time", run.seconds / base.seconds),
            ("peak RSS", run.peak_rss_mib / base.peak_rss_mib),
        ):
            checks.append(
                (
                    f"{run.size} links, 0 ms: {run.label} {what} / async client",
                    f"{ratio:.2f}x (target <= 1.2x)",
                    ratio <= 1.2,
                )
            )
    return checks


def find(runs: list[Run], size: int, latency: int, prefix: str) -> Run | None:
    return next(
        (
            r
            for r in runs
            if r.size == size and r.latency_ms == latency and r.label.startswith(prefix)
        ),
        None,
    )


def targets(runs: list[Run]) -> list[tuple[str, str, bool]]:
    checks = []
    for size in sorted({r.size for r in runs}):
        floor = find(runs, size, 0, "floor")
        # The floor is sequential: c=1 against it is the SDK's own cost per page.
        for prefix, name in (("sdk default", "default"), ("sdk c=1", "c=1 (sequential)")):
            sdk = find(runs, size, 0, prefix)
            if floor and sdk:
                ratio = sdk.seconds / floor.seconds
                checks.append(
                    (
                        f"{size} links, 0 ms: {name} time / floor time",
                        f"{ratio:.2f}x (target <= 1.5x)",
                        ratio <= 1.5,
                    )
                )
        seq, default = find(runs, size, 100, "sdk c=1"), find(runs, size, 100, "sdk default")
        if seq and default:
            ratio = seq.seconds / default.seconds
            checks.append(
                (
                    f"{size} links, 100 ms: c=1 time / default time",
                    f"{ratio:.1f}x (target >= 5x)",
                    ratio >= 5,
                )
            )
    small, large = find(runs, 5000, 0, "sdk default"), find(runs, 50000, 0, "sdk default")
    if small and large:
        delta = large.peak_rss_mib - small.peak_rss_mib
        checks.append(
            (
                "peak RSS, 50,000 minus 5,000 links (default, 0 ms)",
                f"{delta:+.1f} MiB (target <= 50 MiB)",
                delta <= 50,
            )
        )
    return checks


def measure_decode() -> dict[str, float]:
    """Decode time of one 100-link page (``benchmarks/decode.py``), in its own process."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.decode"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return msgspec.json.decode(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure_drift_walk(links: int, rounds: int) -> dict[str, float]:
    """A walk where every link drifts against the same walk without drift
    (``benchmarks/drift_walk.py``): median wall times of alternating rounds."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.drift_walk",
            "--links",
            str(links),
            "--rounds",
            str(rounds),
        ],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return msgspec.json.decode(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def decoding_targets(
    decode: dict[str, float], drift: dict[str, float] | None
) -> list[tuple[str, str, bool]]:
    """The decoding targets: clean pages at msgspec's speed, pages that need repairs at
    most 3x, and a walk where every link drifts at most 1.3x the same walk without."""
    clean = decode["sdk_ms"] / decode["floor_ms"]
    repairs = decode["sdk_repairs_ms"] / decode["floor_ms"]
    checks = [
        (
            "decode a clean 100-link page: SDK / plain msgspec (CPU)",
            f"{clean:.2f}x (target <= 1.1x)",
            clean <= 1.1,
        ),
        (
            "decode a 100-link page where every link needs repairs / a clean page (CPU)",
            f"{repairs:.2f}x (target <= 3x)",
            repairs <= 3,
        ),
    ]
    if drift:
        checks.append(
            (
                f"{drift['links']:,.0f} links: walk where every link drifts / without drift",
                f"{drift['ratio']:.2f}x (target <= 1.3x)",
                drift["ratio"] <= 1.3,
            )
        )
    return checks


def measure_generation(count: int = 50_000) -> float:
    """Seconds the bundled server's data generator takes for ``count`` links."""
    from polar_links.testing import generate_links

    started = time.perf_counter()
    generate_links(count, seed=0)
    return time.perf_counter() - started


def report(
    runs: list[Run],
    checks: list[tuple[str, str, bool]],
    decode: dict[str, float],
    generation_s: float,
    sync_runs: list[Run] | None = None,
    drift: dict[str, float] | None = None,
) -> str:
    lines = [
        f"polar-links {__version__}, Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}, msgspec {msgspec.__version__}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}.",
        "Command: `nox -s bench` (server and each walk in separate processes; "
        "limit=100 links per page).",
        "",
        "| links | added latency | configuration | wall time (s) | links/s | peak RSS (MiB) "
        "| sys CPU (s) | page faults |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.size:,} | {r.latency_ms} ms | {r.label} | {r.seconds:.3f} "
        f"| {r.rate:,.0f} | {r.peak_rss_mib:.1f} | {r.cpu_sys_s:.2f} | {r.minor_faults:,} |"
        for r in runs
    ]
    if sync_runs:
        lines += [
            "",
            "Synchronous client against the async one (default concurrency, 0 ms; best of "
            "the interleaved rounds, each walk in its own process):",
            "",
            "| links | configuration | wall time (s) | links/s | peak RSS (MiB) |",
            "|---:|---|---:|---:|---:|",
        ]
        lines += [
            f"| {r.size:,} | {r.label} | {r.seconds:.3f} | {r.rate:,.0f} | {r.peak_rss_mib:.1f} |"
            for r in sync_runs
        ]
    lines += [
        "",
        f"Decoding one 100-link page ({decode['page_kib']:.0f} KiB, "
        "`python -m benchmarks.decode`): "
        f"plain msgspec {decode['floor_ms']:.2f} ms, the SDK {decode['sdk_ms']:.2f} ms "
        f"({decode['sdk_ms'] / decode['floor_ms']:.2f}x), the SDK on a page where one link "
        f"has a price kind it does not know {decode['sdk_drifted_ms']:.2f} ms "
        f"({decode['sdk_drifted_ms'] / decode['floor_ms']:.2f}x), the SDK on a page where "
        f"every link needs repairs ({decode['repairs_page_kib']:.0f} KiB) "
        f"{decode['sdk_repairs_ms']:.2f} ms "
        f"({decode['sdk_repairs_ms'] / decode['floor_ms']:.2f}x); CPU time, medians of "
        "alternating rounds. "
        f"A {decode['huge_mib']:.0f} MiB page that needs repairs decodes in "
        f"{decode['huge_sync_ms']:.0f} ms in one call; through the client (in a worker "
        f"thread, link by link) it held the event loop at most "
        f"{decode['huge_loop_stall_ms']:.0f} ms. "
        f"The test server generates 50,000 links in {generation_s:.2f} s.",
    ]
    if drift:
        lines += [
            "",
            f"Walking {drift['links']:,.0f} links (default concurrency, 0 ms, "
            "`python -m benchmarks.drift_walk`): without drift "
            f"{drift['clean_s']:.3f} s, every link drifting {drift['drift_s']:.3f} s "
            f"({drift['ratio']:.2f}x); medians of {drift['rounds']:.0f} alternating rounds.",
        ]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--latencies", default="0,100")
    add_write_option(parser)
    parser.add_argument(
        "--sync-size", type=int, default=50_000, help="links for the sync client (0: skip)"
    )
    parser.add_argument("--sync-rounds", type=int, default=3)
    parser.add_argument(
        "--drift-links", type=int, default=10_000, help="links for the drift walk (0: skip)"
    )
    parser.add_argument("--drift-rounds", type=int, default=7)
    parser.add_argument(
        "--only",
        choices=["walks", "budget", "backend", "dlt"],
        help="run one suite: the walks above, the rate budget (benchmarks/budget.py), a web "
        "backend under load (benchmarks/backend.py), or the dlt load into DuckDB "
        "(benchmarks/dlt_load.py, only run when asked for)",
    )
    args = parser.parse_args()
    status = 0
    if args.only == "dlt":
        from benchmarks import dlt_load

        return dlt_load.main(["--write"] if args.write else [])
    if args.only in (None, "budget"):
        from benchmarks import budget

        status = budget.main(["--write"] if args.write else [])
        if args.only == "budget":
            return status
    if args.only in (None, "backend"):
        from benchmarks import backend

        status = backend.main(["--write"] if args.write else []) or status
        if args.only == "backend":
            return status
    runs = measure(
        [int(s) for s in args.sizes.split(",")], [int(s) for s in args.latencies.split(",")]
    )
    sync_runs = measure_sync(args.sync_size, args.sync_rounds) if args.sync_size else []
    decode = measure_decode()
    drift = measure_drift_walk(args.drift_links, args.drift_rounds) if args.drift_links else None
    checks = targets(runs) + sync_targets(sync_runs) + decoding_targets(decode, drift)
    text = report(runs, checks, decode, measure_generation(), sync_runs, drift)
    return publish(text, checks, args.write, RESULTS, PERF_DOC, START, END) or status


if __name__ == "__main__":
    sys.exit(main())
