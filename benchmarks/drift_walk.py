"""A walk where every link drifts against the same walk without drift, over sockets.

Two bundled servers run in child processes, serving the same ``--links`` links
(``generate_links(n, seed=0)``): one as generated, one through ``drift_links`` (every
link carries a new price kind and a new benefit kind in each product, a value outside an
enum, fields the schema does not list, optional fields missing). Each walk is
``async for link in polar.checkout_links.list()`` at the default concurrency, in a fresh
process (``benchmarks.walk sdk``); the two are run alternately ``--rounds`` times and the
medians of their wall times are compared. Prints one JSON line.

    python -m benchmarks.drift_walk [--links 10000] [--rounds 5]
    python -m benchmarks.drift_walk serve --links 10000 [--drift]   # one server, foreground
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import run
from polar_links import DEFAULT_CONCURRENCY
from polar_links.testing import PolarTestServer, drift_links, generate_links

ROOT = Path(__file__).resolve().parent.parent


async def serve(links: int, drift: bool) -> None:
    data = generate_links(links, seed=0)
    async with PolarTestServer(data=drift_links(data) if drift else data) as server:
        print(f"listening on {server.base_url} {server.token}", flush=True)
        await asyncio.Event().wait()


class Server:
    def __init__(self, links: int, drift: bool) -> None:
        args = [sys.executable, "-m", "benchmarks.drift_walk", "serve", "--links", str(links)]
        self.proc = subprocess.Popen(
            [*args, *(["--drift"] if drift else [])], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line[:2] != ["listening", "on"]:
            self.close()
            raise RuntimeError(f"server did not start: {line!r}")
        self.base_url, self.token = line[2], line[3]

    def walk(self) -> dict[str, float]:
        """One SDK walk at the default concurrency, in a fresh process."""
        return run.walk(self, "sdk", DEFAULT_CONCURRENCY)  # type: ignore[arg-type]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def measure(links: int, rounds: int) -> dict[str, float]:
    """Median wall time (s) of the clean and the drifting walk, alternated."""
    clean, drifting = Server(links, drift=False), Server(links, drift=True)
    try:
        clean.walk(), drifting.walk()  # warm both servers and the OS
        times: dict[str, list[float]] = {"clean": [], "drift": []}
        for _ in range(rounds):
            for name, server in (("clean", clean), ("drift", drifting)):
                result = server.walk()
                if result["items"] != links:
                    raise RuntimeError(f"{name} walk yielded {result['items']} of {links} links")
                times[name].append(result["seconds"])
                cpu = result["cpu_user_s"] + result["cpu_sys_s"]
                print(
                    f"{links} links, {name:<5} walk {result['seconds']:.3f} s "
                    f"(walk process CPU {cpu:.3f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        clean.close()
        drifting.close()
    clean_s, drift_s = statistics.median(times["clean"]), statistics.median(times["drift"])
    return {"links": links, "rounds": rounds, "clean_s": clean_s, "drift_s": drift_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", nargs="?", choices=["measure", "serve"], default="measure")
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--drift", action="store_true", help="serve: drifting links")
    args = parser.parse_args()
    if args.command == "serve":
        asyncio.run(serve(args.links, args.drift))
        return
    result = measure(args.links, args.rounds)
    result["ratio"] = result["drift_s"] / result["clean_s"]
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
