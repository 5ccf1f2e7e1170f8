"""The ``polar-links`` command: argument parsing, the commands, and exit codes.

Commands that call the API (``list``, ``get``, ``create``, ``update``, ``delete``) share
the connection options; ``serve`` runs the bundled test server; ``demo`` lists the
links of an in-process test server through the same code path as ``list``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from .._client import DEFAULT_CONCURRENCY, Polar
from .._exceptions import (
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    PolarError,
)
from .._query import MAX_LIMIT, SORTING_VALUES
from .._requests import TRIAL_INTERVALS
from .._validation import check_uuid
from .._version import __version__
from ._output import (
    LIST_FORMATS,
    LinkWriter,
    MissingRichError,
    ProgressReporter,
    link_json,
    make_progress,
    make_writer,
    rich_available,
)

__all__ = ["EXIT_CODES", "ListRequest", "StreamStats", "main", "stream_links"]

PROG = "polar-links"
TOKEN_ENV = "POLAR_ACCESS_TOKEN"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130
#: Exit codes and their meaning, as shown in ``--help``.
EXIT_CODES = {
    EXIT_OK: "success (also when stdout's reader goes away early, as with `| head`)",
    EXIT_ERROR: "API or network error (5xx, 422, timeout, connection, bad response)",
    EXIT_USAGE: "bad arguments or setup (option, id or value; no token; no rich)",
    EXIT_AUTH: "authentication or permission error (401, 403)",
    EXIT_NOT_FOUND: "not found (404)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

#: Fields that ``update --clear`` sets to null (``metadata`` is set to ``{}``).
CLEARABLE = (
    "label",
    "discount_id",
    "success_url",
    "return_url",
    "seats",
    "units",
    "trial_interval",
    "trial_interval_count",
    "metadata",
)
_LINK_FIELDS = (
    "label",
    "success_url",
    "return_url",
    "allow_discount_codes",
    "require_billing_address",
    "discount_id",
    "seats",
    "units",
    "trial_interval",
    "trial_interval_count",
    "metadata",
)
_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A bad argument or missing configuration found after parsing (exit code 2)."""


# ---------------------------------------------------------------- secrets


class Secrets:
    """Values that must never be printed (access tokens), and their redaction."""

    #: Shorter values are not redacted: no real token is that short, and replacing every
    #: occurrence of, say, ``t`` would garble each message it appears in.
    MIN_LENGTH = 8

    def __init__(self, values: Sequence[str | None]) -> None:
        """Keep the ``values`` of at least :attr:`MIN_LENGTH` characters, longest first
        (so overlaps redact fully)."""
        kept = {v for v in values if v and len(v) >= self.MIN_LENGTH}
        self._values = sorted(kept, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``***``."""
        for value in self._values:
            text = text.replace(value, "***")
        return text


def _argv_secrets(argv: Sequence[str]) -> Secrets:
    """Collect the tokens given on the command line or in the environment."""
    found: list[str | None] = [os.environ.get(TOKEN_ENV)]
    for i, arg in enumerate(argv):
        if arg == "--token" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--token="):
            found.append(arg.partition("=")[2])
    return Secrets(found)


class _RedactingFilter(logging.Filter):
    """Rewrites log records so that no secret reaches a handler."""

    def __init__(self, secrets: Secrets) -> None:
        """Redact with ``secrets``."""
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted, formatted text."""
        record.msg = self._secrets.redact(record.getMessage())
        record.args = None
        return True


@contextlib.contextmanager
def _debug_logging(enabled: bool, secrets: Secrets) -> Iterator[None]:
    """While active (if ``enabled``), send the ``polar_links`` logger's debug records
    to stderr, with secrets redacted."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("polar_links")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: debug: %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(secrets))
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


# ---------------------------------------------------------------- argument types


def _uuid_arg(text: str) -> str:
    """Parse ``text`` as a UUID (an id), or raise ``ArgumentTypeError`` naming the value."""
    try:
        return check_uuid("id", text)
    except InvalidArgumentError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an id: expected a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737'"
        ) from None


def _int_type(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Return an argparse type accepting an integer within ``minimum..maximum``."""
    allowed = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"

    def parse(text: str) -> int:
        """Parse ``text`` as an integer in range, or raise ``ArgumentTypeError``."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be an integer {allowed}, got {value}")
        return value

    return parse


def _float_type(what: str, allowed: str, accept: Callable[[float], bool]) -> Callable[[str], float]:
    """Return an argparse type accepting a finite number for which ``accept`` is true;
    ``what`` and ``allowed`` name it in the error messages."""

    def parse(text: str) -> float:
        """Parse ``text`` as an accepted number, or raise ``ArgumentTypeError``."""
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


_seconds = _float_type("a number of seconds", "a positive number of seconds", lambda v: v > 0)
_non_negative_float = _float_type("a number", "a number >= 0", lambda v: v >= 0)


def metadata_value(text: str) -> str | int | float | bool:
    """Parse a metadata value: JSON-style integers and floats, ``true``/``false``,
    anything else as the string itself (so ``007`` stays a string)."""
    if text in ("true", "false"):
        return text == "true"
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text


def _metadata_pair(text: str) -> tuple[str, str | int | float | bool]:
    """Parse one ``KEY=VALUE`` metadata argument."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, metadata_value(value)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages never show a secret."""

    secrets = Secrets([])

    def error(self, message: str) -> NoReturn:
        """Print usage and the redacted message on stderr, and exit with code 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {self.secrets.redact(message)}\n")


# ---------------------------------------------------------------- parser


def _epilog() -> str:
    """Return the exit-code table shown at the end of ``--help``."""
    lines = [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(lines)


def _connection_options() -> argparse.ArgumentParser:
    """Return the parent parser of the options every API command takes."""
    parent = _Parser(add_help=False, allow_abbrev=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"organization access token (default: ${TOKEN_ENV}; prefer the variable, "
        "command lines are visible to other users)",
    )
    group.add_argument(
        "--sandbox", action="store_true", help="use the sandbox API (sandbox-api.polar.sh)"
    )
    group.add_argument(
        "--base-url", metavar="URL", help="API base URL (overrides --sandbox), e.g. a test server"
    )
    group.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="per-attempt timeout (default 30)"
    )
    group.add_argument(
        "--max-retries",
        type=_int_type(0),
        metavar="N",
        help="retries after a failed attempt (default 2; 0 disables)",
    )
    parent.add_argument(
        "-v", "--verbose", action="store_true", help="log each HTTP request to stderr"
    )
    return parent


def _listing_options(parser: argparse.ArgumentParser, *, default_format: str | None) -> None:
    """Add the paging, format and progress options of ``list`` and ``demo``."""
    parser.add_argument(
        "--limit",
        type=_int_type(1, MAX_LIMIT),
        default=MAX_LIMIT,
        metavar="N",
        help=f"links per page, 1..{MAX_LIMIT} (default {MAX_LIMIT}: fewest requests)",
    )
    parser.add_argument(
        "--max-items", type=_int_type(0), metavar="N", help="stop after N links (default: all)"
    )
    parser.add_argument(
        "--concurrency",
        type=_int_type(1),
        metavar="N",
        help=f"page requests in flight (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--format",
        choices=LIST_FORMATS,
        default=default_format,
        help="jsonl: one JSON object per line; csv: flat columns with a header; "
        "table: a rich table (needs rich) "
        + ("(default: jsonl)" if default_format else "(default: table on a terminal, else jsonl)"),
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("-q", "--quiet", action="store_true", help="never show the progress bar")
    progress.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr even when it is not a terminal (needs rich)",
    )


def _link_options(parser: argparse.ArgumentParser) -> None:
    """Add the checkout-link field options shared by ``create`` and ``update``."""
    parser.add_argument("--label", help="label (only shown to you)")
    parser.add_argument("--units", type=int, metavar="N", help="units, >= 1")
    parser.add_argument("--success-url", metavar="URL", help="redirect after payment")
    parser.add_argument("--return-url", metavar="URL", help="the checkout's back link")
    parser.add_argument(
        "--allow-discount-codes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let customers enter discount codes",
    )
    parser.add_argument(
        "--require-billing-address",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="always ask for the full billing address",
    )
    parser.add_argument(
        "--discount-id", metavar="ID", type=_uuid_arg, help="discount applied by default"
    )
    parser.add_argument("--seats", type=int, metavar="N", help="seats, 1..10000")
    parser.add_argument(
        "--trial-interval", choices=TRIAL_INTERVALS, help="unit of the trial period"
    )
    parser.add_argument(
        "--trial-interval-count", type=int, metavar="N", help="length of the trial period"
    )
    parser.add_argument(
        "--metadata",
        type=_metadata_pair,
        action="append",
        metavar="KEY=VALUE",
        help="metadata entry (repeatable); integers, floats, true/false are sent as such, "
        "anything else as a string",
    )
    parser.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: indented (default); jsonl: on one line",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the ``polar-links`` argument parser with all its subcommands."""
    parser = _Parser(
        prog=PROG,
        description="Work with Polar checkout links from the command line.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    connection = _connection_options()

    def add(name: str, handler: Handler, help_text: str, **kwargs: Any) -> _Parser:
        """Add a subcommand that runs ``handler``."""
        sub: _Parser = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
            **kwargs,
        )
        sub.set_defaults(handler=handler)
        return sub

    lst = add("list", _cmd_list, "Stream every matching checkout link.", parents=[connection])
    lst.add_argument(
        "--org",
        action="append",
        metavar="ID",
        type=_uuid_arg,
        help="only links of this organization (repeatable: any of them)",
    )
    lst.add_argument(
        "--product",
        action="append",
        metavar="ID",
        type=_uuid_arg,
        help="only links selling this product (repeatable: any of them)",
    )
    lst.add_argument(
        "--sort",
        action="append",
        metavar="CRITERION",
        help=f"sort criterion, applied in the order given (repeatable): "
        f"{', '.join(SORTING_VALUES)}; '-' means descending (default: created_at)",
    )
    _listing_options(lst, default_format="jsonl")

    get = add("get", _cmd_get, "Print one checkout link as JSON.", parents=[connection])
    get.add_argument("id", type=_uuid_arg, help="the checkout link's id")
    get.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: indented (default); jsonl: on one line",
    )

    create = add("create", _cmd_create, "Create a checkout link.", parents=[connection])
    shape = create.add_mutually_exclusive_group(required=True)
    shape.add_argument(
        "--product",
        dest="products",
        action="append",
        metavar="ID",
        type=_uuid_arg,
        help="a product the link sells (repeatable)",
    )
    shape.add_argument(
        "--product-id", metavar="ID", type=_uuid_arg, help="one product (deprecated by Polar)"
    )
    shape.add_argument(
        "--product-price-id",
        metavar="ID",
        type=_uuid_arg,
        help="one product price (deprecated by Polar)",
    )
    _link_options(create)

    update = add(
        "update", _cmd_update, "Change the given fields of a checkout link.", parents=[connection]
    )
    update.add_argument("id", type=_uuid_arg, help="the checkout link's id")
    update.add_argument(
        "--product",
        dest="products",
        action="append",
        metavar="ID",
        type=_uuid_arg,
        help="replace the product list (repeatable)",
    )
    _link_options(update)
    update.add_argument(
        "--clear",
        action="append",
        choices=CLEARABLE,
        default=[],
        metavar="FIELD",
        help=f"set a field to null (repeatable): {', '.join(CLEARABLE)} (metadata is emptied)",
    )

    delete = add("delete", _cmd_delete, "Delete a checkout link.", parents=[connection])
    delete.add_argument("id", type=_uuid_arg, help="the checkout link's id")
    delete.add_argument(
        "-q", "--quiet", action="store_true", help="print no confirmation on stderr"
    )

    serve = add("serve", _cmd_serve, "Run the bundled Polar test server in the foreground.")
    _server_options(serve, default_links=250)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=_int_type(0, 65535), default=0, help="port (default 0: a free port)"
    )
    serve.add_argument(
        "--token",
        metavar="TOKEN",
        help="the token the server accepts (default: polar_oat_local_test_token)",
    )
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="log the polar_links debug records to stderr"
    )

    demo = add(
        "demo",
        _cmd_demo,
        "List the links of an in-process test server (no token, no network) and time it.",
    )
    _server_options(demo, default_links=1000)
    _listing_options(demo, default_format=None)
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="log each HTTP request to stderr"
    )
    return parser


def _server_options(parser: argparse.ArgumentParser, *, default_links: int) -> None:
    """Add the options describing the test server's data and speed."""
    parser.add_argument(
        "--links",
        type=_int_type(0),
        default=default_links,
        metavar="N",
        help=f"checkout links to generate (default {default_links})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the generated data (default 0)"
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative_float,
        default=0.0,
        metavar="MS",
        help="delay added to every response, in milliseconds (default 0)",
    )


def _glue_sort_values(argv: Sequence[str]) -> list[str]:
    """Turn ``--sort -label`` into ``--sort=-label``, which argparse would otherwise
    read as an unknown option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--sort" and i + 1 < len(argv) and argv[i + 1] in SORTING_VALUES:
            out.append(f"--sort={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


# ---------------------------------------------------------------- listing


@dataclass(frozen=True)
class ListRequest:
    """What to list: filters, sorting and paging, as given on the command line."""

    organization_ids: Sequence[str] | None = None
    product_ids: Sequence[str] | None = None
    sorting: Sequence[str] | None = None
    limit: int = MAX_LIMIT
    max_items: int | None = None
    concurrency: int | None = None


@dataclass
class StreamStats:
    """What a listing did: links written, pages fetched, and the server's total."""

    links: int = 0
    pages: int = 0
    total_count: int = 0


async def stream_links(
    polar: Polar,
    request: ListRequest,
    writer: LinkWriter,
    progress: ProgressReporter,
) -> StreamStats:
    """List the links ``request`` selects and write them page by page; return stats.

    This is the code path of both ``list`` and ``demo``. Pages come in order (fetched
    ahead with up to ``concurrency`` in flight), each link id at most once, and the walk
    stops as soon as ``max_items`` links are written. The caller closes ``writer`` and
    ``progress``.
    """
    paginator = polar.checkout_links.list(
        organization_id=request.organization_ids or None,
        product_id=request.product_ids or None,
        sorting=request.sorting or None,
        limit=request.limit,
        max_items=request.max_items,
        concurrency=request.concurrency,
    )
    stats = StreamStats()
    async with contextlib.aclosing(paginator.pages()) as pages:
        async for page in pages:
            stats.pages += 1
            if stats.pages == 1:
                stats.total_count = page.total_count
                budget = request.max_items
                progress.set_total(
                    page.total_count if budget is None else min(budget, page.total_count)
                )
            for skipped in page.skipped:
                _warn(f"page {page.page}: skipped an item that could not be read: {skipped.reason}")
            writer.write_page(page.items)
            progress.advance(len(page.items))
            stats.links += len(page.items)
    return stats


def _list_request(args: argparse.Namespace) -> ListRequest:
    """Build the :class:`ListRequest` of a ``list``/``demo`` command line."""
    return ListRequest(
        organization_ids=getattr(args, "org", None),
        product_ids=getattr(args, "product", None),
        sorting=getattr(args, "sort", None),
        limit=args.limit,
        max_items=args.max_items,
        concurrency=args.concurrency,
    )


def _progress_wanted(args: argparse.Namespace, fmt: str) -> bool:
    """Show the bar if forced, or if stderr is a terminal, not ``--quiet``, rich is
    installed, and the data is not being printed on a terminal line by line."""
    if args.progress:
        return True
    if args.quiet or not _isatty(sys.stderr) or not rich_available():
        return False
    return fmt == "table" or not _isatty(sys.stdout)


def _isatty(stream: Any) -> bool:
    """Return True if ``stream`` is a terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


async def _run_listing(polar: Polar, args: argparse.Namespace, fmt: str) -> StreamStats:
    """Run :func:`stream_links` for a command line, with its writer and progress bar."""
    writer = make_writer(fmt, sys.stdout)
    progress = make_progress(sys.stderr, enabled=_progress_wanted(args, fmt))
    try:
        stats = await stream_links(polar, _list_request(args), writer, progress)
    finally:
        progress.close()
    writer.close()  # after the bar is gone: a table is printed here
    return stats


# ---------------------------------------------------------------- commands


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
        environment="sandbox" if args.sandbox else "production",
        base_url=args.base_url,
        **options,
    )


def _print_link(text: str) -> None:
    """Print a link's JSON on stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _cmd_list(args: argparse.Namespace) -> int:
    """``list``: stream the matching links to stdout."""
    if args.format == "table":
        make_writer("table", sys.stdout)  # fail fast, before any request, without rich

    async def run() -> None:
        """List with a client that is closed afterwards."""
        async with _client(args) as polar:
            await _run_listing(polar, args, args.format)

    _run(run())
    return EXIT_OK


def _cmd_get(args: argparse.Namespace) -> int:
    """``get``: print one link."""

    async def run() -> str:
        """Fetch the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.get(args.id)
        return link_json(link, pretty=args.format == "json")

    _print_link(_run(run()))
    return EXIT_OK


def _fields(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """Return the given (not None) options among ``names``, metadata as a dict."""
    fields: dict[str, Any] = {}
    for name in names:
        value = getattr(args, name)
        if value is None:
            continue
        fields[name] = dict(value) if name == "metadata" else value
    return fields


def _cmd_create(args: argparse.Namespace) -> int:
    """``create``: create a link and print it."""
    fields = _fields(args, (*_LINK_FIELDS, "products", "product_id", "product_price_id"))

    async def run() -> str:
        """Create the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.create(**fields)
        return link_json(link, pretty=args.format == "json")

    _print_link(_run(run()))
    return EXIT_OK


def _cmd_update(args: argparse.Namespace) -> int:
    """``update``: send only the given fields (``--clear`` ones as null) and print the link."""
    fields = _fields(args, (*_LINK_FIELDS, "products"))
    for name in args.clear:
        if name in fields:
            raise UsageError(f"--clear {name} conflicts with a value given for {name}")
        fields[name] = {} if name == "metadata" else None
    if not fields:
        raise UsageError("nothing to update: give at least one field option or --clear FIELD")

    async def run() -> str:
        """Update the link and return its JSON."""
        async with _client(args) as polar:
            link = await polar.checkout_links.update(args.id, **fields)
        return link_json(link, pretty=args.format == "json")

    _print_link(_run(run()))
    return EXIT_OK


def _cmd_delete(args: argparse.Namespace) -> int:
    """``delete``: delete a link; confirm on stderr unless ``--quiet``."""

    async def run() -> None:
        """Delete the link."""
        async with _client(args) as polar:
            await polar.checkout_links.delete(args.id)

    _run(run())
    if not args.quiet:
        sys.stderr.write(f"deleted checkout link {args.id}\n")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
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
        with _cancel_on_signals(task), contextlib.suppress(asyncio.CancelledError):
            await serve_forever(
                links=args.links,
                seed=args.seed,
                host=args.host,
                port=args.port,
                token=token,
                latency_ms=args.latency_ms,
                ready=ready,
            )

    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(run())
    except OSError as exc:  # e.g. the port is taken
        if exc.errno == errno.EPIPE:
            raise
        return _fail(f"cannot serve on {args.host} port {args.port}: {exc}", EXIT_ERROR)
    return EXIT_OK


@contextlib.contextmanager
def _cancel_on_signals(
    task: asyncio.Task[Any], signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)
) -> Iterator[list[int]]:
    """While active, ``signals`` cancel ``task`` (where the loop supports it); yields the
    list of the signals received so far."""
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def cancel(sig: int) -> None:
        received.append(sig)
        task.cancel()

    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, cancel, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    try:
        yield received
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _cmd_demo(args: argparse.Namespace) -> int:
    """``demo``: list an in-process test server's links and print a summary line."""
    fmt = args.format or ("table" if _isatty(sys.stdout) and rich_available() else "jsonl")
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
                stats = await _run_listing(polar, args, fmt)
                elapsed = time.perf_counter() - started
            return stats, elapsed, server.base_url

    stats, elapsed, url = _run(run())
    rate = stats.links / elapsed if elapsed > 0 else 0.0
    sys.stderr.write(
        f"demo: streamed {stats.links} links in {stats.pages} pages in {elapsed:.2f}s "
        f"({rate:.0f} links/s) from {url}\n"
    )
    return EXIT_OK


# ---------------------------------------------------------------- running


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a command's coroutine to completion on a fresh event loop.

    Ctrl-C cancels the coroutine, so its cleanups run (connections closed, prefetches
    cancelled), and then raises ``KeyboardInterrupt``: what ``asyncio.run`` does from
    Python 3.11, done here on 3.10 too, where the interrupt would otherwise land in
    whatever line runs (inside aiohttp, say) and leave warnings behind.
    """

    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None
        with _cancel_on_signals(task, (signal.SIGINT,)) as received:
            try:
                return await coro
            except asyncio.CancelledError:
                if received:
                    raise KeyboardInterrupt from None
                raise

    return asyncio.run(main())


def _warn(message: str) -> None:
    """Print a warning line on stderr."""
    sys.stderr.write(f"{PROG}: warning: {_Parser.secrets.redact(message)}\n")


def _fail(message: str, code: int) -> int:
    """Print ``polar-links: error: <message>`` (redacted, one line) on stderr; return ``code``."""
    text = " ".join(_Parser.secrets.redact(message).split())
    sys.stderr.write(f"{PROG}: error: {text}\n")
    return code


def _discard_stdout() -> None:
    """Point stdout at devnull, so the interpreter's final flush cannot fail again
    (the recipe of the Python docs for SIGPIPE)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command and turn expected failures into an error line and exit code."""
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_OK
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        _discard_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except MissingRichError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (UsageError, InvalidArgumentError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (AuthenticationError, PermissionDeniedError) as exc:
        return _fail(str(exc), EXIT_AUTH)
    except NotFoundError as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except PolarError as exc:
        return _fail(str(exc), EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``polar-links`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    arguments = _glue_sort_values(sys.argv[1:] if argv is None else argv)
    secrets = _argv_secrets(arguments)
    _Parser.secrets = secrets
    try:
        args = build_parser().parse_args(arguments)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    with _debug_logging(args.verbose, secrets):
        return _dispatch(args)
