"""The command line of ``polar-links``: its subcommands and options, and the parser that
reports bad arguments without showing a secret."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._client import DEFAULT_CONCURRENCY
from .._config import MAX_CONCURRENCY, MAX_RETRIES
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
from ._load import cmd_load
from ._output import CSV_COLUMNS, DEFAULT_TABLE_COLUMNS, LINK_FORMATS, LIST_FORMATS
from ._redact import TOKEN_ENV, Secrets
from ._runtime import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Handler,
)
from ._types import (
    budget_arg,
    choice_type,
    int_type,
    metadata_pair,
    non_negative_float,
    seconds,
    url_arg,
    uuid_arg,
)

__all__ = ["build_parser", "glue_sort_values", "unknown_option_message"]

_SORT_ALLOWED = (
    f"one of {', '.join(SORTING_VALUES[::2])}, each optionally prefixed with '-' (descending)"
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages all read ``polar-links: error: argument
    --option: must be <allowed>, got <value>`` after the command's usage, and never show
    one of its ``secrets``."""

    def __init__(self, *args: Any, secrets: Secrets, **kwargs: Any) -> None:
        """Build the parser; ``secrets`` are redacted from its error messages."""
        super().__init__(*args, **kwargs)
        self.secrets = secrets

    def error(self, message: str) -> NoReturn:
        """Print usage and the redacted message on stderr, and exit with code 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{PROG}: error: {self.secrets.redact(message)}\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """Refuse a value outside ``choices`` in the style of every other option error."""
        if action.choices is not None and value not in action.choices:
            allowed = ", ".join(map(str, action.choices))
            raise argparse.ArgumentError(action, f"must be one of {allowed}, got {value!r}")


def _epilog(
    codes: Sequence[int] = tuple(EXIT_CODES), meanings: dict[int, str] | None = None
) -> str:
    """Return the table of the exit ``codes`` a command can end with, shown at the end
    of its ``--help``; ``meanings`` replaces the usual text of some of them."""
    texts = {**EXIT_CODES, **(meanings or {})}
    lines = [f"  {code:<4} {texts[code]}" for code in codes]
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
        type=int_type(0, MAX_RETRIES),
        metavar="N",
        help=f"retries after a failed attempt, 0..{MAX_RETRIES} (default 2; 0 disables)",
    )
    parent.add_argument(
        "-v", "--verbose", action="store_true", help="log each HTTP request to stderr"
    )
    return parent


def _columns_arg(text: str) -> tuple[str, ...]:
    """Parse ``--columns``: comma-separated names of the ``csv`` columns."""
    names = tuple(name.strip() for name in text.split(","))
    if not all(name in CSV_COLUMNS for name in names):
        raise argparse.ArgumentTypeError(
            f"must be a comma-separated list of {', '.join(CSV_COLUMNS)}, got {text!r}"
        )
    return names


def _limit_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--limit``: links per page."""
    parser.add_argument(
        "--limit",
        type=int_type(1, MAX_LIMIT),
        default=MAX_LIMIT,
        metavar="N",
        help=f"links per page, 1..{MAX_LIMIT} (default {MAX_LIMIT}: fewest requests)",
    )


def _concurrency_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--concurrency``: page requests in flight."""
    parser.add_argument(
        "--concurrency",
        type=int_type(1, MAX_CONCURRENCY),
        metavar="N",
        help=f"page requests in flight, 1..{MAX_CONCURRENCY} (default {DEFAULT_CONCURRENCY})",
    )


def _org_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--org`` (repeatable): only links of these organizations."""
    parser.add_argument(
        "--org",
        action="append",
        metavar="ID",
        type=uuid_arg,
        help="only links of this organization (repeatable: any of them)",
    )


def _listing_options(parser: argparse.ArgumentParser) -> None:
    """Add the paging, format and progress options of ``list`` and ``demo``."""
    _limit_option(parser)
    parser.add_argument(
        "--max-items",
        type=int_type(1),
        metavar="N",
        help="stop after N links, N >= 1 (default: all)",
    )
    _concurrency_option(parser)
    parser.add_argument(
        "--format",
        choices=LIST_FORMATS,
        help="table: a table sized to the terminal; jsonl: one JSON object per line; "
        "csv: flat columns with a header (default: table on a terminal, else jsonl)",
    )
    parser.add_argument(
        "--columns",
        type=_columns_arg,
        default=DEFAULT_TABLE_COLUMNS,
        metavar="A,B,...",
        help=f"columns of the table (default {','.join(DEFAULT_TABLE_COLUMNS)}; "
        f"any of {', '.join(CSV_COLUMNS)})",
    )
    parser.add_argument(
        "--rows",
        type=int_type(0),
        metavar="N",
        help="rows the table shows on a terminal (default: as many as fit its height; 0: all)",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("-q", "--quiet", action="store_true", help="never show the progress bar")
    progress.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar on stderr even when it is not a terminal (needs rich)",
    )


def _format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format`` of the commands that print one link."""
    parser.add_argument(
        "--format",
        choices=LINK_FORMATS,
        help="table: field and value, one per line; json: indented; jsonl: on one line "
        "(default: table on a terminal, else jsonl)",
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
        options.update(type=url_arg, metavar="URL")
    elif isinstance(kind, Integer):
        bounds = f"{kind.minimum}..{kind.maximum}" if kind.maximum else f">= {kind.minimum}"
        options.update(
            type=int_type(kind.minimum, kind.maximum), metavar="N", help=f"{field.help}, {bounds}"
        )
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
    _format_option(parser)


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
        "--seed",
        type=int_type(),
        default=0,
        metavar="S",
        help="seed of the generated data (default 0)",
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

    def add(
        name: str,
        handler: Handler,
        help_text: str,
        exits: tuple[Sequence[int], dict[int, str]] = (tuple(EXIT_CODES), {}),
        **kwargs: Any,
    ) -> _Parser:
        """Add a subcommand that runs ``handler`` and can end with the ``exits`` codes
        (and their meanings where they differ from the usual)."""
        sub: _Parser = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_epilog(*exits),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
            secrets=secrets,
            **kwargs,
        )
        sub.set_defaults(handler=handler, command_parser=sub)
        return sub

    lst = add("list", cmd_list, "Stream every matching checkout link.", parents=[connection])
    _org_option(lst)
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
        type=choice_type(SORTING_VALUES, _SORT_ALLOWED),
        metavar="CRITERION",
        help=f"sort criterion, applied in the order given (repeatable): "
        f"{', '.join(SORTING_VALUES)}; '-' means descending (default: created_at)",
    )
    _listing_options(lst)
    lst.add_argument(
        "-o", "--output", metavar="FILE", help="write the links to FILE instead of stdout"
    )
    lst.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="with --output: record after each page where the listing stands; if FILE "
        "exists, continue from it and append (run the same command again after Ctrl-C); "
        "removed once the listing reaches the end of the list",
    )

    get = add("get", cmd_get, "Print one checkout link.", parents=[connection])
    get.add_argument("id", type=uuid_arg, help="the checkout link's id")
    _format_option(get)

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

    serve = add(
        "serve",
        cmd_serve,
        "Run the bundled Polar test server in the foreground.",
        exits=(
            (EXIT_OK, EXIT_ERROR, EXIT_USAGE),
            {
                EXIT_OK: "stopped by Ctrl-C or SIGTERM",
                EXIT_ERROR: "cannot listen on the address (e.g. the port is taken)",
                EXIT_USAGE: "bad arguments",
            },
        ),
    )
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

    load = add(
        "load",
        cmd_load,
        "Mirror checkout links into a local DuckDB file with the dlt source (needs "
        "polar-links[dlt]): one full scan, in loads of --pages-per-load pages; an "
        "interrupted scan is continued by the next run; links gone from the API are "
        "deleted once a scan completes.",
        parents=[connection],
    )
    load.add_argument(
        "--duckdb",
        metavar="FILE",
        default="polar_links.duckdb",
        help="the DuckDB file (default polar_links.duckdb; created if missing)",
    )
    load.add_argument(
        "--dataset", default="polar", help="the schema the tables go in (default polar)"
    )
    load.add_argument(
        "--pipelines-dir",
        metavar="DIR",
        help="dlt's working folder for this pipeline (default: FILE.dlt next to the file)",
    )
    load.add_argument(
        "--pages-per-load",
        type=int_type(1),
        default=50,
        metavar="N",
        help="pages each load reads before it commits (default 50)",
    )
    _limit_option(load)
    _org_option(load)
    _concurrency_option(load)
    load.add_argument(
        "--demo",
        action="store_true",
        help="load from an in-process bundled test server (no token, no network)",
    )
    _server_options(load, default_links=1000)

    demo = add(
        "demo",
        cmd_demo,
        "List the links of an in-process test server (no token, no network) and time it.",
        exits=(
            (EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED),
            {EXIT_USAGE: "bad arguments (option or value; no rich for --progress)"},
        ),
    )
    _server_options(demo, default_links=1000)
    _listing_options(demo)
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="log each HTTP request to stderr"
    )
    return parser


def glue_sort_values(argv: Sequence[str]) -> list[str]:
    """Turn ``--sort -label`` into ``--sort=-label``, which argparse would otherwise
    read as an unknown option (``--sort -nope`` too, so that it is refused as a
    criterion)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if argv[i] == "--sort" and value[:1] == "-" and value[:2] != "--" and len(value) > 1:
            out.append(f"--sort={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def unknown_option_message(parser: argparse.ArgumentParser, unknown: Sequence[str]) -> str:
    """The error for arguments ``parser`` does not know, naming the option an
    abbreviation stands for (abbreviations are not accepted)."""
    first = unknown[0].partition("=")[0]
    if first.startswith("--"):
        known = [o for action in parser._actions for o in action.option_strings]
        matches = sorted(o for o in known if o.startswith(first))
        if matches:
            return (
                f"argument {first}: options cannot be abbreviated; "
                f"did you mean {' or '.join(matches)}?"
            )
    return f"unrecognized arguments: {' '.join(unknown)}"
