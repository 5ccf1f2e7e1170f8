"""The commands of ``polar-links``: one handler each, taking the parsed command line and
the :class:`~._runtime.Reporter`, returning the exit code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import re
import sys
import time
from collections.abc import Coroutine
from typing import Any

from .._client import Polar
from .._exceptions import InvalidArgumentError
from .._link_fields import FIELDS_BY_NAME, LINK_FIELDS, Metadata
from .._models import CheckoutLink
from ._listing import StreamStats, isatty, run_listing
from ._output import link_json, link_record
from ._redact import TOKEN_ENV
from ._resume import ListOutput
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


#: The option of each SDK argument the CLI passes on, to name it in an error.
_OPTIONS = {
    **{f.name: f.flag for f in LINK_FIELDS},
    "base_url": "--base-url",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
    "sorting": "--sort",
    "organization_id": "--org",
    "limit": "--limit",
    "max_items": "--max-items",
    "concurrency": "--concurrency",
}
_SDK_NAME = re.compile(r"(\w+) ")


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a command's coroutine; an argument the SDK refuses is reported as the CLI
    option that gave it (``argument --option: ...``), as argparse reports the others."""
    try:
        return run_coroutine(coro)
    except InvalidArgumentError as exc:
        message = str(exc)
        match = _SDK_NAME.match(message)
        if match and match.group(1) in _OPTIONS:
            message = f"argument {_OPTIONS[match.group(1)]}: {message[match.end() :]}"
        raise UsageError(message) from None


def _print_link(link: CheckoutLink, fmt: str | None) -> None:
    """Print one link on stdout: as ``fmt``, by default a table on a terminal, else JSONL."""
    fmt = fmt or ("table" if isatty(sys.stdout) else "jsonl")
    text = link_record(link) if fmt == "table" else link_json(link, pretty=fmt == "json")
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def cmd_list(args: argparse.Namespace, reporter: Reporter) -> int:
    """``list``: stream the matching links to stdout or ``--output`` (resumable with
    ``--checkpoint``)."""
    if args.checkpoint is not None and args.output is None:
        raise UsageError("argument --checkpoint: needs --output FILE, which a resumed "
                         "listing appends to")  # fmt: skip
    if args.output is not None and args.format == "table":
        raise UsageError("argument --output: works with --format jsonl or csv, not table")
    opened: list[ListOutput] = []

    async def run() -> StreamStats:
        """List with a client that is closed afterwards, into ``--output`` if given
        (opened once the client's arguments are checked)."""
        client = _client(args)
        if args.output is not None:
            fmt = args.format or "jsonl"
            opened.append(ListOutput.open(args.output, args.checkpoint, fmt))
        async with client as polar:
            return await run_listing(polar, args, reporter.warn, *opened)

    try:
        stats: StreamStats = _run(run())
    finally:
        for target in opened:
            target.close()
    if opened and stats.complete:
        opened[0].finish()  # the next run starts afresh
    return EXIT_OK


def cmd_get(args: argparse.Namespace, reporter: Reporter) -> int:
    """``get``: print one link."""

    async def run() -> CheckoutLink:
        """Fetch the link."""
        async with _client(args) as polar:
            return await polar.checkout_links.get(args.id)

    _print_link(_run(run()), args.format)
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

    async def run() -> CheckoutLink:
        """Create the link."""
        async with _client(args) as polar:
            return await polar.checkout_links.create(**fields)

    _print_link(_run(run()), args.format)
    return EXIT_OK


def cmd_update(args: argparse.Namespace, reporter: Reporter) -> int:
    """``update``: send only the given fields (``--clear`` ones as null) and print the link."""
    fields = _fields(args, update=True)
    for name in args.clear:
        if name in fields:
            flag = FIELDS_BY_NAME[name].flag
            raise UsageError(f"argument --clear: cannot clear {name} and give {flag} too")
        fields[name] = None if FIELDS_BY_NAME[name].nullable else {}
    if not fields:
        raise UsageError("nothing to update: give at least one field option or --clear FIELD")

    async def run() -> CheckoutLink:
        """Update the link."""
        async with _client(args) as polar:
            return await polar.checkout_links.update(args.id, **fields)

    _print_link(_run(run()), args.format)
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, reporter: Reporter) -> int:
    """``delete``: delete a link; confirm on stderr unless ``--quiet``."""

    async def run() -> None:
        """Delete the link."""
        async with _client(args) as polar:
            await polar.checkout_links.delete(args.id)

    _run(run())
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

    async def run() -> tuple[StreamStats, float]:
        """Start the server, list its links, and return stats and seconds."""
        from ..testing import PolarTestServer

        async with PolarTestServer(links=args.links, seed=args.seed) as server:
            if args.latency_ms:
                server.faults.latency = args.latency_ms / 1000
            async with Polar(server.token, base_url=server.base_url) as polar:
                started = time.perf_counter()
                stats = await run_listing(polar, args, reporter.warn)
                elapsed = time.perf_counter() - started
            return stats, elapsed

    stats, elapsed = _run(run())
    rate = stats.links / elapsed if elapsed > 0 else 0.0
    sys.stderr.write(
        f"demo: streamed {_count(stats.links, 'link')} in {_count(stats.pages, 'page')} "
        f"in {elapsed:.2f}s ({rate:.0f} links/s)\n"
    )
    return EXIT_OK


def _count(n: int, noun: str) -> str:
    """``1 link``, ``2 links``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
