"""``python -m polar_links.testing``: run the test server in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from ._app import DEFAULT_TOKEN
from ._server import serve_forever


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, serve until interrupted, and return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m polar_links.testing",
        description="Serve a local, seeded stand-in for the Polar checkout-links API.",
    )
    parser.add_argument("--links", type=int, default=250, help="number of seeded links")
    parser.add_argument("--seed", type=int, default=0, help="data seed")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="accepted bearer token")
    parser.add_argument("--latency-ms", type=float, default=0, help="added latency per request")
    args = parser.parse_args(argv)

    def ready(base_url: str) -> None:
        print(f"Polar test server listening on {base_url}", flush=True)
        print(f"token: {args.token}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(
                links=args.links,
                seed=args.seed,
                host=args.host,
                port=args.port,
                token=args.token,
                latency_ms=args.latency_ms,
                ready=ready,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
