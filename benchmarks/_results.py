"""Where a benchmark's report goes: its results file, and between two markers of a docs page."""

from __future__ import annotations

import argparse
from pathlib import Path


def write_results(text: str, results: Path, doc: Path, start: str, end: str) -> None:
    """Write ``text`` to ``results`` and between the ``start`` and ``end`` markers of ``doc``
    (left alone if it lacks them)."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text)
    if doc.exists():
        page = doc.read_text()
        if start in page and end in page:
            head, rest = page.split(start, 1)
            doc.write_text(head + start + "\n" + text + end + rest.split(end, 1)[1])


#: One target of a benchmark: what is measured, the target, and whether it was met.
Check = tuple[str, str, bool]


def add_write_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--write``: results go to the tracked files only when it is given."""
    parser.add_argument(
        "--write",
        action="store_true",
        help="also write the results to benchmarks/results/ and docs/ "
        "(tracked files: by default nothing is written)",
    )


def publish(
    text: str, checks: list[Check], write: bool, results: Path, doc: Path, start: str, end: str
) -> int:
    """Print ``text``, write it to the tracked files when ``write`` is true, and return the
    exit status: 0 when every check passed, else 1."""
    print("\n" + text)
    if write:
        write_results(text, results, doc, start, end)
    return 0 if all(ok for _, _, ok in checks) else 1
