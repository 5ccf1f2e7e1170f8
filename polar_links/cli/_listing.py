"""The listing behind ``list`` and ``demo``: what to list, the walk that writes it page
by page, and whether to show a progress bar."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from .._client import Polar
from .._query import MAX_LIMIT
from ._output import (
    RICH_HINT,
    LinkWriter,
    ProgressReporter,
    TableLayout,
    make_progress,
    make_writer,
    rich_available,
)
from ._resume import ListOutput
from ._runtime import UsageError

__all__ = [
    "ListRequest",
    "StreamStats",
    "isatty",
    "list_request",
    "output_choice",
    "run_listing",
    "stream_links",
]


@dataclass(frozen=True)
class ListRequest:
    """What to list: filters, sorting and paging, as given on the command line."""

    organization_ids: Sequence[str] | None = None
    product_ids: Sequence[str] | None = None
    sorting: Sequence[str] | None = None
    limit: int = MAX_LIMIT
    max_items: int | None = None
    concurrency: int | None = None
    resume: str | None = None


@dataclass
class StreamStats:
    """What a listing did: links written, pages fetched, the server's total, and whether
    it reached the end of the list (not stopped by ``max_items``)."""

    links: int = 0
    pages: int = 0
    total_count: int = 0
    complete: bool = False


async def stream_links(
    polar: Polar,
    request: ListRequest,
    writer: LinkWriter,
    progress: ProgressReporter,
    warn: Callable[[str], None],
    after_page: Callable[[str | None], None] | None = None,
) -> StreamStats:
    """List the links ``request`` selects and write them page by page; return stats.

    This is the code path of both ``list`` and ``demo``. Pages come in order (fetched
    ahead with up to ``concurrency`` in flight), each link id at most once, and the walk
    stops as soon as ``max_items`` links are written. Items that cannot be read, and a
    walk that may have missed links (``paginator.report``), are reported through
    ``warn``. ``after_page`` gets the walk's checkpoint once each page is written. The
    caller closes ``writer`` and ``progress``.
    """
    paginator = polar.checkout_links.list(
        organization_id=request.organization_ids or None,
        product_id=request.product_ids or None,
        sorting=request.sorting or None,
        limit=request.limit,
        max_items=request.max_items,
        concurrency=request.concurrency,
        resume=request.resume,
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
                warn(f"page {page.page}: skipped an item that could not be read: {skipped.reason}")
            writer.write_page(page.items)
            if after_page is not None:
                after_page(paginator.checkpoint)
            progress.advance(len(page.items))
            stats.links += len(page.items)
            budget_left = request.max_items is None or stats.links < request.max_items
            stats.complete = not page.has_next and budget_left
    report = paginator.report
    if report is not None and report.may_have_missed:
        warn(f"links may be missing: {'; '.join(report.reasons())}; run the listing again")
    return stats


def list_request(args: argparse.Namespace) -> ListRequest:
    """Build the :class:`ListRequest` of a ``list``/``demo`` command line."""
    return ListRequest(
        organization_ids=getattr(args, "org", None),
        product_ids=getattr(args, "product", None),
        sorting=getattr(args, "sort", None),
        limit=args.limit,
        max_items=args.max_items,
        concurrency=args.concurrency,
    )


def isatty(stream: Any) -> bool:
    """Return True if ``stream`` is a terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _progress_wanted(args: argparse.Namespace, fmt: str) -> bool:
    """Show the bar if forced, or if stderr is a terminal, not ``--quiet``, rich is
    installed, and the data is not being printed on a terminal line by line."""
    if args.progress:
        if not rich_available():
            raise UsageError(f"argument --progress: the progress bar needs rich: {RICH_HINT}")
        return True
    if args.quiet or not isatty(sys.stderr) or not rich_available():
        return False
    return fmt == "table" or not isatty(sys.stdout)


#: Lines of a terminal a table leaves free: the progress bar, the table's header, rule
#: and summary line, the ``demo`` summary and the next prompt.
_TABLE_MARGIN = 6


def output_choice(args: argparse.Namespace) -> tuple[str, TableLayout]:
    """The format of a listing (``--format``, by default a table on a terminal and JSONL
    elsewhere) and, for a table, its layout: on a terminal, its width and as many rows as
    fit its height (or ``--rows``); elsewhere every row, nothing cut."""
    terminal = isatty(sys.stdout)
    fmt: str = args.format or ("table" if terminal else "jsonl")
    if not terminal:
        return fmt, TableLayout(args.columns, None, args.rows or None)
    size = shutil.get_terminal_size()
    rows = max(1, size.lines - _TABLE_MARGIN) if args.rows is None else args.rows or None
    return fmt, TableLayout(args.columns, size.columns, rows)


async def run_listing(
    polar: Polar,
    args: argparse.Namespace,
    warn: Callable[[str], None],
    target: ListOutput | None = None,
) -> StreamStats:
    """Run :func:`stream_links` for a command line, with its writer and progress bar.

    The links go to stdout, or to ``target`` (``--output``: JSONL unless ``--format``
    says otherwise), which with a checkpoint file continues where the last run of the
    same command stopped; the caller opens and finishes ``target``.
    """
    fmt, layout = output_choice(args)
    request = list_request(args)
    stream: TextIO = sys.stdout
    if target is not None:
        assert target.stream is not None
        fmt, stream = target.fmt, target.stream
        request = dataclasses.replace(request, resume=target.resume)
    progress = make_progress(sys.stderr, enabled=_progress_wanted(args, fmt))
    writer = make_writer(fmt, stream, layout, header=target is None or not target.header_written)
    try:
        stats = await stream_links(
            polar,
            request,
            writer,
            progress,
            warn,
            after_page=None if target is None else target.save,
        )
    finally:
        progress.close()
    writer.close()  # after the bar is gone: a table is printed here
    return stats
