"""``polar-links``'s entry point: parse the command line, then run the command."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._parser import build_parser, glue_sort_values, unknown_option_message
from ._redact import argv_secrets, debug_logging
from ._runtime import EXIT_USAGE, PROG, Reporter, dispatch

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``polar-links`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    arguments = glue_sort_values(sys.argv[1:] if argv is None else argv)
    secrets = argv_secrets(arguments)
    parser = build_parser(secrets)
    try:
        args, unknown = parser.parse_known_args(arguments)
        if unknown:
            # The command's parser reports it, with the command's usage.
            args.command_parser.error(unknown_option_message(args.command_parser, unknown))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    with debug_logging(args.verbose, secrets, PROG):
        return dispatch(args, Reporter(secrets))
