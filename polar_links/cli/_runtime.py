"""How a command runs: its event loop and signals, its error lines on stderr, and the
exit code every outcome maps to."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .._exceptions import (
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    PolarError,
)
from ._output import MissingRichError
from ._redact import Secrets

__all__ = [
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "Handler",
    "Reporter",
    "UsageError",
    "cancel_on_signals",
    "dispatch",
    "run_coroutine",
]

PROG = "polar-links"

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


class UsageError(Exception):
    """A bad argument or missing configuration found after parsing (exit code 2)."""


@dataclass(frozen=True)
class Reporter:
    """Writes the CLI's warning and error lines on stderr, with ``secrets`` redacted."""

    secrets: Secrets

    def warn(self, message: str) -> None:
        """Print ``polar-links: warning: <message>`` on stderr."""
        sys.stderr.write(f"{PROG}: warning: {self.secrets.redact(message)}\n")

    def fail(self, message: str, code: int) -> int:
        """Print ``polar-links: error: <message>`` (redacted, one line) on stderr; return
        ``code``."""
        text = " ".join(self.secrets.redact(message).split())
        sys.stderr.write(f"{PROG}: error: {text}\n")
        return code


#: A command: gets the parsed command line and the reporter, returns the exit code.
Handler = Callable[[argparse.Namespace, Reporter], int]


@contextlib.contextmanager
def cancel_on_signals(
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


def run_coroutine(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a command's coroutine to completion on a fresh event loop.

    Ctrl-C cancels the coroutine, so its cleanups run (connections closed, prefetches
    cancelled), and then raises ``KeyboardInterrupt``: what ``asyncio.run`` does from
    Python 3.11, done here on 3.10 too, where the interrupt would otherwise land in
    whatever line runs (inside aiohttp, say) and leave warnings behind.
    """

    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None
        with cancel_on_signals(task, (signal.SIGINT,)) as received:
            try:
                return await coro
            except asyncio.CancelledError:
                if received:
                    raise KeyboardInterrupt from None
                raise

    return asyncio.run(main())


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


def dispatch(args: argparse.Namespace, reporter: Reporter) -> int:
    """Run the command ``args.handler`` and turn expected failures into an error line and
    exit code."""
    handler: Handler = args.handler
    try:
        code = handler(args, reporter)
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
        return reporter.fail(str(exc), EXIT_USAGE)
    except (UsageError, InvalidArgumentError) as exc:
        if str(exc).startswith("argument "):
            # About an option: reported like argparse's errors, after the command's usage.
            args.command_parser.print_usage(sys.stderr)
        return reporter.fail(str(exc), EXIT_USAGE)
    except (AuthenticationError, PermissionDeniedError) as exc:
        return reporter.fail(str(exc), EXIT_AUTH)
    except NotFoundError as exc:
        return reporter.fail(str(exc), EXIT_NOT_FOUND)
    except PolarError as exc:
        return reporter.fail(str(exc), EXIT_ERROR)
