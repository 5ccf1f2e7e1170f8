"""Where a benchmark's report goes: its results file, and between two markers of a docs page."""

from __future__ import annotations

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
