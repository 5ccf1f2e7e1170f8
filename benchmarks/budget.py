"""Many workers, one token: how much of a sliding-window budget the client uses, and how
many 429s it gets, with one process, four processes pacing themselves, and four
processes sharing one budget in Redis.

The bundled server (in a thread of this process) enforces 300 requests per token in any
5-second window and adds 20 ms to every answer; each worker is a process of its own
walking the list endpoint with ``RateLimit(300, per=5)`` and the default concurrency.
1,080 requests per run: 1 process walks 1,080 pages of 10 links, 4 processes walk 270
pages of 40 links each (3.6 windows' worth of budget: the run takes about 18 s).
The workers start together (after their imports). Measured on the server's request log:
total time, 429s (all, and after the first window), and the steady-state share of the
budget: requests accepted in the whole windows after the first, divided by the budget
of those windows.

Total time runs from the go signal until the last worker has exited.

    nox -s bench -- --only budget        # or: python -m benchmarks.budget
    nox -s bench -- --only budget --write   # also record it in the tracked results files
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._results import add_write_option, publish
from polar_links import Polar, RateLimit, __version__

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "budget.md"
DOC = ROOT / "docs" / "many-workers.md"
START, END = "<!-- BUDGET:START -->", "<!-- BUDGET:END -->"

BUDGET, WINDOW = 300, 5.0  # requests per token, seconds
LINKS = 10_800
REQUESTS = 1_080  # per run, all workers together
LATENCY = 0.020  # seconds the server adds to every answer


@dataclass
class Run:
    label: str
    processes: int
    shared: bool
    seconds: float
    span: float
    requests: int
    limited: int
    limited_steady: int
    share: float


# ------------------------------------------------------------------ one worker process


async def _walk(base_url: str, token: str, limit: int, redis_url: str) -> int:
    budget = RateLimit(BUDGET, per=WINDOW)
    async with Polar(token, base_url=base_url, rate_limit=budget, redis_url=redis_url) as polar:
        return sum([1 async for _ in polar.checkout_links.list(limit=limit)])


def worker(base_url: str, token: str, limit: int, redis_url: str) -> None:
    """Say ready, wait for the go line on stdin, walk, print the links walked as JSON."""
    if redis_url:
        import redis.asyncio  # noqa: F401  (its import time is not what is measured)
    print("ready", flush=True)
    sys.stdin.readline()
    items = asyncio.run(_walk(base_url, token, limit, redis_url))
    print(json.dumps({"items": items}), flush=True)


# ------------------------------------------------------------------ the orchestrator


def run_once(server: object, label: str, processes: int, redis_url: str) -> Run:
    from polar_links.testing import PolarTestServer

    assert isinstance(server, PolarTestServer)
    server.budget.clear()
    server.budget.requests, server.budget.per = BUDGET, WINDOW
    server.requests.clear()
    limit = LINKS // (REQUESTS // processes)
    command = [sys.executable, "-m", "benchmarks.budget", "--worker"]
    command += [server.base_url, server.token, str(limit), redis_url]
    workers = [
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        for _ in range(processes)
    ]
    for proc in workers:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker did not start")
    started = time.monotonic()
    for proc in workers:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=300)[0] for proc in workers]
    seconds = time.monotonic() - started
    if any(proc.returncode for proc in workers):
        raise RuntimeError(f"a worker failed: {outputs}")
    items = [json.loads(out.strip().splitlines()[-1])["items"] for out in outputs]
    if items != [LINKS] * processes:
        raise RuntimeError(f"walks returned {items} links, expected {LINKS} each")
    log = list(server.requests)
    first = min(r.time for r in log)
    last = max(r.time for r in log)
    windows = math.floor((last - first) / WINDOW) - 1  # whole windows after the first
    steady_end = first + WINDOW * (1 + windows)
    accepted = sum(1 for r in log if r.status == 200 and first + WINDOW <= r.time < steady_end)
    return Run(
        label=label,
        processes=processes,
        shared=bool(redis_url),
        seconds=seconds,
        span=last - first,
        requests=len(log),
        limited=sum(1 for r in log if r.status == 429),
        limited_steady=sum(1 for r in log if r.status == 429 and r.time >= first + WINDOW),
        share=accepted / (BUDGET * windows) if windows > 0 else float("nan"),
    )


def measure() -> list[Run]:
    from polar_links.testing import PolarTestServer
    from tests.redis_process import RedisProcess

    runs = []
    with (
        tempfile.TemporaryDirectory() as directory,
        PolarTestServer(links=LINKS).run_in_thread() as server,
    ):
        server.faults.latency = LATENCY
        redis = RedisProcess(Path(directory))
        redis.start()
        try:
            for label, processes, url in (
                ("1 process, local limiter", 1, ""),
                ("4 processes, local limiter each", 4, ""),
                ("4 processes, shared budget (Redis)", 4, redis.url),
            ):
                run = run_once(server, label, processes, url)
                runs.append(run)
                print(
                    f"{label:<36} {run.seconds:6.1f} s  {run.requests:5} requests  "
                    f"{run.limited:4} x 429 ({run.limited_steady} after the first window)  "
                    f"{run.share:6.1%} of the budget",
                    flush=True,
                )
        finally:
            redis.stop()
    return runs


def targets(runs: list[Run]) -> list[tuple[str, str, bool]]:
    checks = []
    for run in runs:
        if run.processes == 1 and not run.shared:
            checks.append(
                (
                    "1 process, local limiter: steady-state share of the budget",
                    f"{run.share:.1%} (target >= 98%)",
                    run.share >= 0.98,
                )
            )
        if run.shared:
            checks.append(
                (
                    "4 processes, shared budget: 429s after the first window",
                    f"{run.limited_steady} (target 0)",
                    run.limited_steady == 0,
                )
            )
            checks.append(
                (
                    "4 processes, shared budget: steady-state share of the budget",
                    f"{run.share:.1%} (target >= 95%)",
                    run.share >= 0.95,
                )
            )
    return checks


def report(runs: list[Run], checks: list[tuple[str, str, bool]]) -> str:
    lines = [
        f"polar-links {__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}. Command: `nox -s bench -- --only budget`.",
        f"The bundled server enforces {BUDGET} requests per {WINDOW:g} s (sliding window) and "
        f"adds {LATENCY * 1000:.0f} ms per answer; every worker uses "
        f"`RateLimit({BUDGET}, per={WINDOW:g})`; {REQUESTS:,} requests per run.",
        "",
        "| run | total time (s) | first to last request (s) | requests sent | 429s "
        "| 429s after the first window | steady-state share of the budget |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.label} | {r.seconds:.1f} | {r.span:.1f} | {r.requests:,} | {r.limited} "
        f"| {r.limited_steady} | {r.share:.1%} |"
        for r in runs
    ]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", nargs=4, metavar=("BASE_URL", "TOKEN", "LIMIT", "REDIS_URL"))
    add_write_option(parser)
    args = parser.parse_args(argv)
    if args.worker:
        base_url, token, limit, redis_url = args.worker
        worker(base_url, token, int(limit), redis_url)
        return 0
    runs = measure()
    checks = targets(runs)
    return publish(report(runs, checks), checks, args.write, RESULTS, DOC, START, END)


if __name__ == "__main__":
    sys.exit(main())
