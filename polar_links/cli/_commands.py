"""The commands of ``polar-links``: one handler each, taking the parsed command line and
the :class:`~._runtime.Reporter`, returning the exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import sys
import time
from typing import Any

from .._client import Polar
from .._link_fields import FIELDS_BY_NAME, LINK_FIELDS, Metadata
from ._listing import StreamStats, isatty, run_listing
from ._output import link_json, make_writer, rich_available
from ._redact import TOKEN_ENV
from ._runtime import (
    EXIT_ERROR,
    EXIT_OK,
    Reporter,
    UsageError,
    cancel_on_signals,
    run_coroutine,
)

__all__ = [
    "CLEARABLE",
    "cmd_create",
    "cmd_delete",
    "cmd_demo",
    "cmd_get",
    "cmd_list",
    "cmd_serve",
    "cmd_update",
]

#: Fields that ``update --clear`` clears: set to null, or emptied (``metadata``).
CLEARABLE = tuple(f.name for f in LINK_FIELDS if f.cleared)


def _client(args: argparse.Namespace) -> Polar:
    """Return a client configured from the connection options (not yet opened)."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"no access token: pass --token or set {TOKEN_ENV}")
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return Polar(
        token,
        # Without --sandbox, POLAR_BASE_URL and POLAR_ENVIRONMENT may still choose the host.
        environment="sandbox" if args.sandbox else None,
        base_url=args.base_url,
        **options,
    )


def _print_link(text: str) -> None:
    """Print a link's JSON on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd_list(args: argparse.Namespace, reporter: Reporter) -> int:
    """``list``: stream the matching links to stdout."""
    if args.format == "table":
        make_writer("table", sys.stdout)  # fail fast, before any request, without rich

    async def run() -> None:
        """List with a client that is closed afterwards."""
        async with _client(args) as polar:
            await run_listing(polar, args, args.format, reporter.warn)

    run_coroutine(run())
    return EXIT_OK


def cmd_get(args: argparse.Namespace, reporter: Reporter) -> int:
    """``get``: print one link."""

    async def run() -> str:
        """Fetch the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.get(args.id)
        return link_json(link, pretty=args.format == "json")

    _print_link(run_coroutine(run()))
    return EXIT_OK


def _fields(args: argparse.Namespace, *, update: bool) -> dict[str, Any]:
    """Return the link fields given as options (not None), metadata as a dict."""
    fields: dict[str, Any] = {}
    for field in LINK_FIELDS:
        if update and not field.updatable:
            continue
        value = getattr(args, field.name)
        if value is not None:
            fields[field.name] = dict(value) if isinstance(field.value, Metadata) else value
    return fields


def cmd_create(args: argparse.Namespace, reporter: Reporter) -> int:
    """``create``: create a link and print it."""
    fields = _fields(args, update=False)

    async def run() -> str:
        """Create the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.create(**fields)
        return link_json(link, pretty=args.format == "json")

    _print_link(run_coroutine(run()))
    return EXIT_OK


def cmd_update(args: argparse.Namespace, reporter: Reporter) -> int:
    """``update``: send only the given fields (``--clear`` ones as null) and print the link."""
    fields = _fields(args, update=True)
    for name in args.clear:
        if name in fields:
            raise UsageError(f"--clear {name} conflicts with a value given for {name}")
        fields[name] = None if FIELDS_BY_NAME[name].nullable else {}
    if not fields:
        raise UsageError("nothing to update: give at least one field option or --clear FIELD")

    async def run() -> str:
        """Update the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.update(args.id, **fields)
        return link_json(link, pretty=args.format == "json")

    _print_link(run_coroutine(run()))
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, reporter: Reporter) -> int:
    """``delete``: delete a link; confirm on stderr unless ``--quiet``."""

    async def run() -> None:
        """Delete the link."""
        async with _client(args) as polar:
            await polar.checkout_links.delete(args.id)

    run_coroutine(run())
    if not args.quiet:
        sys.stderr.write(f"deleted checkout link {args.id}\n")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, reporter: Reporter) -> int:
    """``serve``: run the test server until Ctrl-C or SIGTERM, then exit 0."""
    from ..testing import DEFAULT_TOKEN, serve_forever

    token = args.token or DEFAULT_TOKEN

    def ready(base_url: str) -> None:
        """Announce the server's address and token on stdout."""
        sys.stdout.write(f"Polar test server listening on {base_url}\ntoken: {token}\n")
        sys.stdout.flush()

    async def run() -> None:
        """Serve until this task is cancelled by a signal."""
        task = asyncio.current_task()
        assert task is not None
        with cancel_on_signals(task), contextlib.suppress(asyncio.CancelledError):
            await serve_forever(
                links=args.links,
                seed=args.seed,
                host=args.host,
                port=args.port,
                token=token,
                latency_ms=args.latency_ms,
                ready=ready,
                budget=args.budget,
                stable_ties=args.stable_ties,
            )

    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_coroutine(run())
    except OSError as exc:  # e.g. the port is taken
        if exc.errno == errno.EPIPE:
            raise
        return reporter.fail(f"cannot serve on {args.host} port {args.port}: {exc}", EXIT_ERROR)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, reporter: Reporter) -> int:
    """``demo``: list an in-process test server's links and print a summary line."""
    fmt = args.format or ("table" if isatty(sys.stdout) and rich_available() else "jsonl")
    if fmt == "table":
        make_writer("table", sys.stdout)  # fail fast without rich

    async def run() -> tuple[StreamStats, float, str]:
        """Start the server, list its links, and return stats, seconds and its URL."""
        from ..testing import PolarTestServer

        async with PolarTestServer(links=args.links, seed=args.seed) as server:
            if args.latency_ms:
                server.faults.latency = args.latency_ms / 1000
            async with Polar(server.token, base_url=server.base_url) as polar:
                started = time.perf_counter()
                stats = await run_listing(polar, args, fmt, reporter.warn)
                elapsed = time.perf_counter() - started
            return stats, elapsed, server.base_url

    stats, elapsed, url = run_coroutine(run())
    rate = stats.links / elapsed if elapsed > 0 else 0.0
    sys.stderr.write(
        f"demo: streamed {stats.links} links in {stats.pages} pages in {elapsed:.2f}s "
        f"({rate:.0f} links/s) from {url}\n"
    )
    return EXIT_OK
