"""Output of the CLI: jsonl/csv/table writers for checkout links, JSON for one link,
and the progress bar.

Writers get whole pages and write each page as one chunk, so a long listing costs one
write (and one flush) per page, not per line. ``rich`` is used only for the ``table``
format and the progress bar, and is imported only when one of them is asked for.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import msgspec

from .._models import CheckoutLink, has_unknown_variants

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichProgressBar
    from rich.progress import TaskID
    from rich.table import Table

__all__ = [
    "CSV_COLUMNS",
    "LIST_FORMATS",
    "RICH_HINT",
    "LinkWriter",
    "MissingRichError",
    "ProgressReporter",
    "csv_row",
    "link_json",
    "make_progress",
    "make_writer",
    "require_rich",
    "rich_available",
]

#: Formats of ``list`` and ``demo``.
LIST_FORMATS = ("jsonl", "csv", "table")
#: What to run when ``rich`` is missing.
RICH_HINT = "pip install 'polar-links[cli]'"
#: The flat columns of the ``csv`` format, in order.
CSV_COLUMNS = (
    "id",
    "label",
    "url",
    "organization_id",
    "products",
    "product_ids",
    "created_at",
    "success_url",
    "allow_discount_codes",
    "require_billing_address",
    "discount_id",
    "seats",
    "units",
    "trial_interval",
    "trial_interval_count",
)

_encoder = msgspec.json.Encoder()


def _json_ready(link: CheckoutLink) -> CheckoutLink | dict[str, Any]:
    """The link itself (msgspec encodes it fastest), or :meth:`CheckoutLink.to_dict` when
    it holds a variant this version does not know, so the output keeps the API's shape."""
    return link.to_dict() if has_unknown_variants(link) else link


class MissingRichError(Exception):
    """Raised when the table format or the progress bar is asked for without ``rich``."""

    def __init__(self, feature: str) -> None:
        """Build the message naming ``feature`` and the install hint."""
        super().__init__(f"{feature} needs the rich package: {RICH_HINT}")


def rich_available() -> bool:
    """Return True if ``rich`` can be imported."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def require_rich(feature: str) -> None:
    """Raise :class:`MissingRichError` naming ``feature`` if ``rich`` cannot be imported.

    The top-level package is imported first, so this also fails when ``rich`` is
    blocked in ``sys.modules`` while some of its submodules are still cached.
    """
    if not rich_available():
        raise MissingRichError(feature)


def link_json(link: CheckoutLink, *, pretty: bool) -> str:
    """Return a link as JSON with the API's field names, indented or on one line."""
    data = _encoder.encode(_json_ready(link))
    if pretty:
        data = msgspec.json.format(data, indent=2)
    return data.decode()


# ---------------------------------------------------------------- list writers


class LinkWriter(Protocol):
    """Writes checkout links to a stream, one page at a time."""

    def write_page(self, links: Sequence[CheckoutLink]) -> None:
        """Write these links (one page) to the stream."""

    def close(self) -> None:
        """Finish the output (a table is printed here) and flush the stream."""


def _write_chunk(stream: TextIO, data: bytes) -> None:
    """Write UTF-8 ``data`` to a text stream, through its binary buffer when it has one."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(data.decode())
        stream.flush()


class JsonlWriter:
    """One JSON object per line, with the API's field names (:meth:`CheckoutLink.to_dict`)."""

    def __init__(self, stream: TextIO) -> None:
        """Write to ``stream``."""
        self._stream = stream
        # Anything already written through the text layer goes out before our bytes.
        stream.flush()

    def write_page(self, links: Sequence[CheckoutLink]) -> None:
        """Write the page's links as newline-delimited JSON, in one write."""
        if links:
            _write_chunk(self._stream, _encoder.encode_lines([_json_ready(link) for link in links]))

    def close(self) -> None:
        """Flush the stream."""
        self._stream.flush()


def _cell(value: Any) -> str:
    """Return a CSV cell: empty for None, ``true``/``false`` for booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_row(link: CheckoutLink) -> list[str]:
    """Return the link's cells in :data:`CSV_COLUMNS` order."""
    return [
        link.id,
        _cell(link.label),
        _cell(link.url),
        _cell(link.organization_id),
        "|".join(p.name or "" for p in link.products),
        "|".join(p.id for p in link.products),
        "" if link.created_at is None else link.created_at.isoformat(),
        _cell(link.success_url),
        _cell(link.allow_discount_codes),
        _cell(link.require_billing_address),
        _cell(link.discount_id),
        _cell(link.seats),
        _cell(link.units),
        _cell(link.trial_interval),
        _cell(link.trial_interval_count),
    ]


class CsvWriter:
    """A header line, then one flat row per link (see :data:`CSV_COLUMNS`)."""

    def __init__(self, stream: TextIO) -> None:
        """Write to ``stream``; the header goes out with the first page."""
        self._stream = stream
        self._wrote_header = False

    def write_page(self, links: Sequence[CheckoutLink]) -> None:
        """Write the page's rows (and the header before the first page), in one write."""
        chunk = io.StringIO()
        writer = csv.writer(chunk, lineterminator="\n")
        if not self._wrote_header:
            writer.writerow(CSV_COLUMNS)
            self._wrote_header = True
        writer.writerows(csv_row(link) for link in links)
        _write_chunk(self._stream, chunk.getvalue().encode())

    def close(self) -> None:
        """Write the header if no page came, then flush the stream."""
        if not self._wrote_header:
            self.write_page([])
        self._stream.flush()


class TableWriter:
    """A rich table (id, label, products, created, url), printed once complete."""

    def __init__(self, stream: TextIO) -> None:
        """Prepare an empty table printed on ``stream``; needs rich."""
        require_rich("the table format")
        from rich.console import Console
        from rich.table import Table

        self._console: Console = Console(file=stream)
        self._table: Table = Table(show_lines=False)
        for name, style, no_wrap in (
            ("id", "dim", True),
            ("label", "bold", False),
            ("products", "", False),
            ("created", "dim", True),
            ("url", "cyan", False),
        ):
            self._table.add_column(name, style=style, overflow="fold", no_wrap=no_wrap)
        self._rows = 0

    def write_page(self, links: Sequence[CheckoutLink]) -> None:
        """Add the page's links as rows."""
        for link in links:
            created = "" if link.created_at is None else link.created_at.strftime("%Y-%m-%d %H:%M")
            self._table.add_row(
                link.id,
                link.label or "",
                ", ".join(p.name or p.id for p in link.products),
                created,
                link.url or "",
            )
        self._rows += len(links)

    def close(self) -> None:
        """Print the table (with its row count as caption) and flush the stream."""
        self._table.caption = f"{self._rows} checkout links"
        self._console.print(self._table)
        self._console.file.flush()


def make_writer(fmt: str, stream: TextIO) -> LinkWriter:
    """Return the writer for ``fmt`` (one of :data:`LIST_FORMATS`) on ``stream``."""
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "csv":
        return CsvWriter(stream)
    if fmt == "table":
        return TableWriter(stream)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(LIST_FORMATS)}")


# ---------------------------------------------------------------- progress


class ProgressReporter(Protocol):
    """Shows how far a listing has got."""

    def set_total(self, total: int) -> None:
        """Set how many links are expected."""

    def advance(self, count: int) -> None:
        """Count ``count`` more links as written."""

    def close(self) -> None:
        """Stop showing progress."""


class NullProgress:
    """Shows nothing (stderr is not a terminal, or ``--quiet``)."""

    def set_total(self, total: int) -> None:
        """Do nothing."""

    def advance(self, count: int) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


class RichProgress:
    """A rich progress bar on ``stream``: a bar, links done/total, links per second."""

    def __init__(self, stream: TextIO) -> None:
        """Start drawing the bar on ``stream``; needs rich."""
        require_rich("the progress bar")
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar: RichProgressBar = Progress(
            TextColumn("links"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            console=Console(file=stream),
        )
        self._task: TaskID = self._bar.add_task("links", total=None, rate="")
        self._started = time.perf_counter()
        self._done = 0
        self._bar.start()

    def set_total(self, total: int) -> None:
        """Set the bar's total."""
        self._bar.update(self._task, total=total)

    def advance(self, count: int) -> None:
        """Advance the bar and refresh the rate."""
        self._done += count
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._bar.update(self._task, advance=count, rate=f"{self._done / elapsed:,.0f} links/s")

    def close(self) -> None:
        """Stop the bar (it stays on screen with its final count)."""
        self._bar.stop()


def make_progress(stream: TextIO, *, enabled: bool) -> ProgressReporter:
    """Return a rich progress bar on ``stream`` if ``enabled``, else one that shows nothing."""
    return RichProgress(stream) if enabled else NullProgress()
