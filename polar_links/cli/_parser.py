"""The command line of ``polar-links``: its subcommands and options, and the parser that
reports bad arguments without showing a secret."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._client import DEFAULT_CONCURRENCY
from .._link_fields import (
    LINK_FIELDS,
    Choice,
    Flag,
    Id,
    IdList,
    Integer,
    LinkField,
    Metadata,
    Text,
    Url,
)
from .._query import MAX_LIMIT, SORTING_VALUES
from .._version import __version__
from ._commands import (
    CLEARABLE,
    cmd_create,
    cmd_delete,
    cmd_demo,
    cmd_get,
    cmd_list,
    cmd_serve,
    cmd_update,
)
from ._output import LIST_FORMATS
from ._redact import TOKEN_ENV, Secrets
from ._runtime import EXIT_CODES, EXIT_USAGE, PROG, Handler
from ._types import budget_arg, int_type, metadata_pair, non_negative_float, seconds, uuid_arg

__all__ = ["build_parser", "glue_sort_values"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages never show one of its ``secrets``."""

    def __init__(self, *args: Any, secrets: Secrets, **kwargs: Any) -> None:
        """Build the parser; ``secrets`` are redacted from its error messages."""
        super().__init__(*args, **kwargs)
        self.secrets = secrets

    def error(self, message: str) -> NoReturn:
        """Print usage and the redacted message on stderr, and exit with code 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {self.secrets.redact(message)}\n")


def _epilog() -> str:
    """Return the exit-code table shown at the end of ``--help``."""
    lines = [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()]
    return "exit codes:\n" + "\n".join(lines)


def _connection_options(secrets: Secrets) -> argparse.ArgumentParser:
    """Return the parent parser of the options every API command takes."""
    parent = _Parser(add_help=False, allow_abbrev=False, secrets=secrets)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"organization access token (default: ${TOKEN_ENV}; prefer the variable, "
        "command lines are visible to other users)",
    )
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="use the sandbox API (sandbox-api.polar.sh; default: $POLAR_ENVIRONMENT)",
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="API base URL (overrides --sandbox; default: $POLAR_BASE_URL), e.g. a test server",
    )
    group.add_argument(
        "--timeout", type=seconds, metavar="SECONDS", help="per-attempt timeout (default 30)"
    )
    group.add_argument(
        "--max-retries",
        type=int_type(0),
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
        type=int_type(1, MAX_LIMIT),
        default=MAX_LIMIT,
        metavar="N",
        help=f"links per page, 1..{MAX_LIMIT} (default {MAX_LIMIT}: fewest requests)",
    )
    parser.add_argument(
        "--max-items", type=int_type(0), metavar="N", help="stop after N links (default: all)"
    )
    parser.add_argument(
        "--concurrency",
        type=int_type(1),
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


def _field_option(parser: argparse._ActionsContainer, field: LinkField) -> None:
    """Add the option that sets ``field``, its argparse type derived from its kind."""
    kind = field.value
    options: dict[str, Any] = {"dest": field.name, "help": field.help}
    if isinstance(kind, Flag):
        options.update(action=argparse.BooleanOptionalAction, default=None)
    elif isinstance(kind, Id):
        options.update(type=uuid_arg, metavar="ID")
    elif isinstance(kind, IdList):
        options.update(type=uuid_arg, metavar="ID", action="append")
    elif isinstance(kind, Text):
        options.update(metavar="TEXT")
    elif isinstance(kind, Url):
        options.update(metavar="URL")
    elif isinstance(kind, Integer):
        bounds = f"{kind.minimum}..{kind.maximum}" if kind.maximum else f">= {kind.minimum}"
        options.update(type=int, metavar="N", help=f"{field.help}, {bounds}")
    elif isinstance(kind, Choice):
        options.update(choices=kind.values)
    elif isinstance(kind, Metadata):
        options.update(
            type=metadata_pair,
            action="append",
            metavar="KEY=VALUE",
            help=f"{field.help} (repeatable); integers, floats, true/false are sent as such, "
            "anything else as a string",
        )
    parser.add_argument(field.flag, **options)


def _link_options(parser: argparse.ArgumentParser, *, update: bool) -> None:
    """Add the checkout-link field options of ``create`` (``update=False``: exactly one
    of the ways to name what the link sells is required) or ``update``."""
    sells = None if update else parser.add_mutually_exclusive_group(required=True)
    for field in LINK_FIELDS:
        if update and not field.updatable:
            continue
        _field_option(sells if sells is not None and field.sells else parser, field)
    parser.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: indented (default); jsonl: on one line",
    )


def _server_options(parser: argparse.ArgumentParser, *, default_links: int) -> None:
    """Add the options describing the test server's data and speed."""
    parser.add_argument(
        "--links",
        type=int_type(0),
        default=default_links,
        metavar="N",
        help=f"checkout links to generate (default {default_links})",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the generated data (default 0)"
    )
    parser.add_argument(
        "--latency-ms",
        type=non_negative_float,
        default=0.0,
        metavar="MS",
        help="delay added to every response, in milliseconds (default 0)",
    )


def build_parser(secrets: Secrets) -> argparse.ArgumentParser:
    """Return the ``polar-links`` argument parser with all its subcommands; its error
    messages redact ``secrets``."""
    parser = _Parser(
        prog=PROG,
        description="Work with Polar checkout links from the command line.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
        secrets=secrets,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    connection = _connection_options(secrets)

    def add(name: str, handler: Handler, help_text: str, **kwargs: Any) -> _Parser:
        """Add a subcommand that runs ``handler``."""
        sub: _Parser = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
            secrets=secrets,
            **kwargs,
        )
        sub.set_defaults(handler=handler)
        return sub

    lst = add("list", cmd_list, "Stream every matching checkout link.", parents=[connection])
    lst.add_argument(
        "--org",
        action="append",
        metavar="ID",
        type=uuid_arg,
        help="only links of this organization (repeatable: any of them)",
    )
    lst.add_argument(
        "--product",
        action="append",
        metavar="ID",
        type=uuid_arg,
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

    get = add("get", cmd_get, "Print one checkout link as JSON.", parents=[connection])
    get.add_argument("id", type=uuid_arg, help="the checkout link's id")
    get.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: indented (default); jsonl: on one line",
    )

    create = add("create", cmd_create, "Create a checkout link.", parents=[connection])
    _link_options(create, update=False)

    update = add(
        "update", cmd_update, "Change the given fields of a checkout link.", parents=[connection]
    )
    update.add_argument("id", type=uuid_arg, help="the checkout link's id")
    _link_options(update, update=True)
    update.add_argument(
        "--clear",
        action="append",
        choices=CLEARABLE,
        default=[],
        metavar="FIELD",
        help=f"clear a field (repeatable): {', '.join(CLEARABLE)}; "
        + "".join(f"{f.name} is emptied, " for f in LINK_FIELDS if f.cleared == "empty")
        + "the others are set to null",
    )

    delete = add("delete", cmd_delete, "Delete a checkout link.", parents=[connection])
    delete.add_argument("id", type=uuid_arg, help="the checkout link's id")
    delete.add_argument(
        "-q", "--quiet", action="store_true", help="print no confirmation on stderr"
    )

    serve = add("serve", cmd_serve, "Run the bundled Polar test server in the foreground.")
    _server_options(serve, default_links=250)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int_type(0, 65535), default=0, help="port (default 0: a free port)"
    )
    serve.add_argument(
        "--token",
        metavar="TOKEN",
        help="the token the server accepts (default: polar_oat_local_test_token)",
    )
    serve.add_argument(
        "--budget",
        type=budget_arg,
        metavar="REQUESTS/SECONDS",
        help="answer 429 past this many requests per token in any window of SECONDS "
        "(e.g. 500/60, Polar's production budget; default: no budget)",
    )
    serve.add_argument(
        "--stable-ties",
        action="store_true",
        help="break sort ties by id (default: order tied links like the real server, differently "
        "for each page offset and limit)",
    )
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="log the polar_links debug records to stderr"
    )

    demo = add(
        "demo",
        cmd_demo,
        "List the links of an in-process test server (no token, no network) and time it.",
    )
    _server_options(demo, default_links=1000)
    _listing_options(demo, default_format=None)
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="log each HTTP request to stderr"
    )
    return parser


def glue_sort_values(argv: Sequence[str]) -> list[str]:
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
