"""Secrets of the command line (access tokens) and their redaction from every line the
CLI prints, including the debug log of ``-v``."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence

__all__ = ["TOKEN_ENV", "RedactingFilter", "Secrets", "argv_secrets", "debug_logging"]

#: The environment variable holding the access token.
TOKEN_ENV = "POLAR_ACCESS_TOKEN"


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


def argv_secrets(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> Secrets:
    """Collect the tokens given on the command line ``argv`` or in ``environ``."""
    found: list[str | None] = [environ.get(TOKEN_ENV)]
    for i, arg in enumerate(argv):
        if arg == "--token" and i + 1 < len(argv):
            found.append(argv[i + 1])
        elif arg.startswith("--token="):
            found.append(arg.partition("=")[2])
    return Secrets(found)


class RedactingFilter(logging.Filter):
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


class _DebugFormatter(logging.Formatter):
    """``<prefix>: debug: <message>`` for the SDK's own logger, and ``<prefix>: debug:
    <part>: <message>`` for its children (``testing`` for the bundled server)."""

    def __init__(self, prefix: str) -> None:
        """Start each line with ``prefix``."""
        super().__init__()
        self._prefix = prefix

    def format(self, record: logging.LogRecord) -> str:
        """Return the record's line."""
        part = record.name.removeprefix("polar_links").lstrip(".")
        return f"{self._prefix}: debug: {part + ': ' if part else ''}{record.getMessage()}"


@contextlib.contextmanager
def debug_logging(enabled: bool, secrets: Secrets, prefix: str) -> Iterator[None]:
    """While active (if ``enabled``), send the ``polar_links`` logger's debug records
    to stderr as ``<prefix>: debug: <message>``, with secrets redacted."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("polar_links")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_DebugFormatter(prefix))
    handler.addFilter(RedactingFilter(secrets))
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
