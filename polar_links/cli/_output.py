"""Output of the CLI: table/jsonl/csv writers for checkout links, one link as a table
or JSON, and the progress bar.

Writers get whole pages and write each page as one chunk, so a long listing costs one
write (and one flush) per page, not per line. The table is plain text sized to the
terminal; ``rich`` is used only for the progress bar, and imported only when it is
asked for.
"""

from __future__ import annotations

import csv
import io
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

import msgspec

from .._models import CheckoutLink, has_unknown_variants

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgressBar
    from rich.progress import TaskID

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_TABLE_COLUMNS",
    "LINK_FORMATS",
    "LIST_FORMATS",
    "RICH_HINT",
    "LinkWriter",
    "MissingRichError",
    "ProgressReporter",
    "TableLayout",
    "csv_row",
    "link_json",
    "link_record",
    "make_progress",
    "make_writer",
    "require_rich",
    "rich_available",
]

#: Formats of ``list`` and ``demo``.
LIST_FORMATS = ("table", "jsonl", "csv")
#: Formats of the commands that print one link (``get``, ``create``, ``update``).
LINK_FORMATS = ("table", "json", "jsonl")
#: What to run when ``rich`` is missing.
RICH_HINT = "pip install rich (or install polar-links with its cli extra)"
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
#: The columns of the ``table`` format unless ``--columns`` chooses others.
DEFAULT_TABLE_COLUMNS = ("id", "label", "products", "created_at", "url")

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
    """Return the link's cells in :data:`CSV_COLUMNS` order; ``created_at`` is written
    exactly as in JSON (ISO 8601, ``Z`` for UTC)."""
    return [
        link.id,
        _cell(link.label),
        _cell(link.url),
        _cell(link.organization_id),
        "|".join(p.name or "" for p in link.products),
        "|".join(p.id for p in link.products),
        "" if link.created_at is None else _encoder.encode(link.created_at)[1:-1].decode(),
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

    def __init__(self, stream: TextIO, *, header: bool = True) -> None:
        """Write to ``stream``; the header goes out with the first page, unless
        ``header=False`` (appending to rows written before)."""
        self._stream = stream
        self._wrote_header = not header

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


# ---------------------------------------------------------------- table

#: Columns holding UUIDs: a table on a terminal shows their first 8 characters.
_ID_COLUMNS = frozenset({"id", "organization_id", "discount_id", "product_ids"})
_SHORT_ID = 8
_GAP = "  "
_MIN_WIDTH = 4


def _text_width(text: str) -> int:
    """Terminal cells ``text`` takes: East Asian wide characters count 2, combining 0."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def _one_line(text: str) -> str:
    """``text`` on one line: whitespace runs become one space, other control characters
    (escape sequences included) become ``?``."""
    text = " ".join(text.split())
    return "".join("?" if unicodedata.category(c)[0] == "C" else c for c in text)


def _elide(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, ending with ``…`` if it was cut."""
    if _text_width(text) <= width:
        return text
    out, used = [], 0
    for c in text:
        w = _text_width(c)
        if used + w > width - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` cells."""
    return text + " " * (width - _text_width(text))


def _table_cells(link: CheckoutLink, columns: Sequence[str], short_ids: bool) -> list[str]:
    """The link's cells for ``columns``: ids shortened if ``short_ids``, times to the
    minute (UTC), each on one line."""
    row = dict(zip(CSV_COLUMNS, csv_row(link), strict=True))
    cells = []
    for column in columns:
        cell = row[column]
        if column == "created_at" and link.created_at is not None:
            cell = link.created_at.strftime("%Y-%m-%d %H:%M")
        elif short_ids and column in _ID_COLUMNS:
            cell = "|".join(part[:_SHORT_ID] for part in cell.split("|"))
        if column in ("products", "product_ids"):
            cell = cell.replace("|", ", ")
        cells.append(_one_line(cell))
    return cells


def _fit(natural: list[int], available: int) -> list[int]:
    """Column widths within ``available`` cells: the widest column gives way first, none
    below :data:`_MIN_WIDTH` (or its natural width); columns that still do not fit get 0."""
    widths = list(natural)
    floor = [min(w, _MIN_WIDTH) for w in natural]
    while widths and sum(widths) + len(_GAP) * (len(widths) - 1) > available:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floor[i])
        if widths[widest] > floor[widest]:
            widths[widest] -= 1
        else:  # every column is at its floor: drop the last one
            widths.pop()
            floor.pop()
    return widths + [0] * (len(natural) - len(widths))


@dataclass(frozen=True)
class TableLayout:
    """How a table is drawn: its ``columns``; the terminal's ``width`` in cells (``None``:
    not a terminal, so cells are neither shortened nor cut); at most ``rows`` rows shown
    (``None``: all)."""

    columns: Sequence[str] = DEFAULT_TABLE_COLUMNS
    width: int | None = None
    rows: int | None = None


class TableWriter:
    """A plain-text table, one link per line, printed once the listing is done: on a
    terminal it fits the width (short ids, cut cells, never wrapped) and shows the first
    rows, with a summary line."""

    def __init__(self, stream: TextIO, layout: TableLayout = TableLayout()) -> None:
        """Print on ``stream`` as ``layout`` says."""
        self._stream = stream
        self._layout = layout
        self._rows: list[list[str]] = []
        self._count = 0

    def write_page(self, links: Sequence[CheckoutLink]) -> None:
        """Keep the rows that will be shown; count every link."""
        limit = self._layout.rows
        room = len(links) if limit is None else max(0, min(len(links), limit - len(self._rows)))
        short = self._layout.width is not None
        self._rows.extend(_table_cells(link, self._layout.columns, short) for link in links[:room])
        self._count += len(links)

    def close(self) -> None:
        """Print the header, the rows and the summary line, and flush the stream."""
        columns = list(self._layout.columns)
        natural = [
            max([_text_width(c), *(_text_width(row[i]) for row in self._rows)])
            for i, c in enumerate(columns)
        ]
        width = self._layout.width
        widths = natural if width is None else _fit(natural, width)
        shown = [i for i, w in enumerate(widths) if w > 0]
        lines = []
        for cells in ([*columns], ["-" * widths[i] for i in range(len(columns))], *self._rows):
            parts = [_pad(_elide(cells[i], widths[i]), widths[i]) for i in shown]
            lines.append(_GAP.join(parts).rstrip())
        lines.append(self._summary(len(columns) - len(shown)))
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()

    def _summary(self, hidden_columns: int) -> str:
        """The last line: how many links, how many shown, and how to see the rest."""
        noun = "checkout link" if self._count == 1 else "checkout links"
        text = f"{self._count} {noun}"
        if len(self._rows) < self._count:
            text = f"first {len(self._rows)} of {text}; --rows N for more, a pipe for all data"
        if hidden_columns:
            text += f"; {hidden_columns} column(s) did not fit: choose fewer with --columns"
        return text if self._layout.width is None else _elide(text, self._layout.width)


def link_record(link: CheckoutLink) -> str:
    """One link as lines of ``field  value`` (the columns of the ``csv`` format), values
    complete."""
    cells = dict(zip(CSV_COLUMNS, csv_row(link), strict=True))
    width = max(len(name) for name in CSV_COLUMNS)
    return "\n".join(
        f"{name:<{width}}  {_one_line(value)}".rstrip() for name, value in cells.items()
    )


def make_writer(
    fmt: str, stream: TextIO, layout: TableLayout = TableLayout(), *, header: bool = True
) -> LinkWriter:
    """Return the writer for ``fmt`` (one of :data:`LIST_FORMATS`) on ``stream``; a
    table is drawn as ``layout`` says; ``header=False`` leaves out the CSV header."""
    if fmt == "jsonl":
        return JsonlWriter(stream)
    if fmt == "csv":
        return CsvWriter(stream, header=header)
    if fmt == "table":
        return TableWriter(stream, layout)
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
