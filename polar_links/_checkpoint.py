"""Resumable walks: the checkpoint string a paginator hands out, and how a walk finds
its place again from one.

A checkpoint is ``plc1.`` followed by URL-safe base64 of a small msgpack array: the
sorting and page size it was made with, a digest of the filters, the page of the last
link delivered, and what identifies that link. It holds no token and no link data,
only 8-byte digests of link ids, so it is safe to store next to the output it
describes (a file, a database row, dlt's state).

Two ways to find the place again, chosen by the order of the walk:

* **Keyed** (the first sorting criterion is ``created_at`` or ``-created_at``, the
  default order included): the checkpoint keeps the last link's ``created_at`` (in
  microseconds) and the ids delivered with that exact timestamp. The resumed walk
  reads the page the last link was on, steps back or forward while the links shifted
  (created or deleted in between), and delivers only links that sort after the key.
* **Boundary page** (other orders): the checkpoint keeps the ids of the last page up
  to the last link delivered. The resumed walk reads that page again and leaves out
  those ids, then goes on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import msgspec

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._models import CheckoutLink

if TYPE_CHECKING:
    from ._pagination import Page

__all__ = ["CHECKPOINT_VERSION", "Binding", "Checkpoint", "Position", "locate"]

#: Format version written into every checkpoint; other versions are refused.
CHECKPOINT_VERSION = 1
_PREFIX = "plc"
_DIGEST_BYTES = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: A bound on the pages a resumed walk reads to find its place, against a server whose
#: answers keep changing; the search itself only moves one way and stops at page 1 or
#: ``max_page`` (one page per ``limit`` links created or deleted between the runs).
_MAX_LOCATE_PAGES = 100_000


def _digest(link_id: str) -> bytes:
    return hashlib.sha256(link_id.encode()).digest()[:_DIGEST_BYTES]


def _micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint is bound to: the sorting as given (empty for the server's
    default), a digest of the organization/product filters, and the page size."""

    sorting: tuple[str, ...]
    filters: str
    limit: int

    @classmethod
    def of(
        cls, query: Sequence[tuple[str, str]], sorting: Sequence[str] | None, limit: int
    ) -> Binding:
        """Bind to a validated list query (filters in any order hash alike)."""
        filters = sorted(f"{k}={v}" for k, v in query if k != "sorting")
        digest = hashlib.sha256("&".join(filters).encode()).hexdigest()[:16]
        return cls(tuple(sorting or ()), digest, limit)

    @property
    def keyed(self) -> bool:
        """True when the walk is ordered by ``created_at`` first (ascending or not)."""
        first = self.sorting[0] if self.sorting else "created_at"
        return first in ("created_at", "-created_at")

    @property
    def descending(self) -> bool:
        """True for ``-created_at`` first."""
        return bool(self.sorting) and self.sorting[0] == "-created_at"


class _Wire(msgspec.Struct, array_like=True):
    sorting: list[str]
    filters: str
    limit: int
    page: int
    created_us: int | None
    ids: bytes


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Wire)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A decoded checkpoint: the page of the last link delivered (``page``), that
    link's ``created_at`` in microseconds since the epoch (keyed walks), and the
    digests of the ids to leave out when that page is read again."""

    binding: Binding
    page: int
    created_us: int | None
    ids: frozenset[bytes]

    def encode(self) -> str:
        """Return the checkpoint string (``plc1.`` + base64url)."""
        wire = _Wire(
            list(self.binding.sorting),
            self.binding.filters,
            self.binding.limit,
            self.page,
            self.created_us,
            b"".join(sorted(self.ids)),
        )
        body = base64.urlsafe_b64encode(_encoder.encode(wire)).rstrip(b"=").decode()
        return f"{_PREFIX}{CHECKPOINT_VERSION}.{body}"

    @classmethod
    def decode(cls, text: object, binding: Binding) -> Checkpoint:
        """Parse ``text`` and check it was made for ``binding``; raise
        ``InvalidArgumentError`` naming what differs otherwise."""
        if not isinstance(text, str):
            raise InvalidArgumentTypeError(
                f"resume must be a checkpoint string from paginator.checkpoint, "
                f"got {type(text).__name__}"
            )
        head, dot, body = text.partition(".")
        if not dot or not head.startswith(_PREFIX) or not head[len(_PREFIX) :].isdigit():
            raise InvalidArgumentValueError(
                f"resume is not a checkpoint (expected 'plc{CHECKPOINT_VERSION}.' followed by "
                f"the data paginator.checkpoint gave); got {text[:24]!r}"
            )
        version = int(head[len(_PREFIX) :])
        if version != CHECKPOINT_VERSION:
            raise InvalidArgumentValueError(
                f"resume is a checkpoint of format version {version}; this version of "
                f"polar-links reads version {CHECKPOINT_VERSION} only: start the walk again "
                "without resume"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            wire = _decoder.decode(raw)
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise InvalidArgumentValueError(
                "resume is not a valid checkpoint: its data is damaged (was it cut or edited?)"
            ) from None
        if wire.page < 1 or len(wire.ids) % _DIGEST_BYTES:
            raise InvalidArgumentValueError("resume is not a valid checkpoint: bad page or ids")
        made = Binding(tuple(wire.sorting), wire.filters, wire.limit)
        if made.limit != binding.limit:
            raise InvalidArgumentValueError(
                f"resume checkpoint was made with limit={made.limit}, this walk has "
                f"limit={binding.limit}: a checkpoint only resumes the same list call"
            )
        if made.sorting != binding.sorting:
            raise InvalidArgumentValueError(
                f"resume checkpoint was made with sorting={_show_sorting(made.sorting)}, "
                f"this walk has sorting={_show_sorting(binding.sorting)}: a checkpoint only "
                "resumes the same list call"
            )
        if made.filters != binding.filters:
            raise InvalidArgumentValueError(
                "resume checkpoint was made with other organization_id/product_id filters "
                "(or extra_query) than this walk: a checkpoint only resumes the same list call"
            )
        ids = frozenset(
            wire.ids[i : i + _DIGEST_BYTES] for i in range(0, len(wire.ids), _DIGEST_BYTES)
        )
        return cls(binding, wire.page, wire.created_us, ids)

    @classmethod
    def at_start(cls, binding: Binding, page: int) -> Checkpoint:
        """A checkpoint before the first link of ``page`` (a walk that delivered nothing)."""
        return cls(binding, page, None, frozenset())

    @property
    def uses_key(self) -> bool:
        """True when the resumed walk finds its place by ``created_at`` (keyed walks)."""
        return self.binding.keyed and self.created_us is not None

    def after(self, link: CheckoutLink) -> bool:
        """True if ``link`` comes after this checkpoint (it was not delivered before)."""
        if self.uses_key:
            assert self.created_us is not None
            created = _micros(link.created_at)
            if created is None:
                return _digest(link.id) not in self.ids
            if created == self.created_us:
                return _digest(link.id) not in self.ids
            return (
                (created < self.created_us)
                if self.binding.descending
                else (created > self.created_us)
            )
        return _digest(link.id) not in self.ids


def _show_sorting(sorting: tuple[str, ...]) -> str:
    return "None (the default, created_at)" if not sorting else repr(list(sorting))


class Position:
    """Where a walk stands: updated as links are delivered, encoded on demand.

    ``enter(page_number, raw_ids)`` is called for each page as the server sent it
    (before duplicates are left out); ``delivered(page_number, link)`` for each link the
    caller receives.
    """

    def __init__(self, start: Checkpoint) -> None:
        self._binding = start.binding
        self._start = start
        self._page = start.page
        self._created_us = start.created_us
        # Keyed: ids delivered with created_us. Boundary page: ids of the page so far.
        self._kept: set[bytes] = set(start.ids)
        self._pending: set[str] = set()
        self._raw: dict[int, list[str]] = {}
        # Boundary page: the page as sent, the first place of each id on it, and how far
        # into it the walk went (its ids count as delivered up to there), kept as an index
        # so that each delivered link costs O(1), not a scan and a copy of the page.
        self._page_raw: list[str] = []
        self._first: dict[str, int] = {}
        self._upto = 0
        self._indexed: int | None = None

    def enter(self, page_number: int, raw_ids: list[str]) -> None:
        """Note the ids of a page as sent, in order (the boundary-page walk needs them)."""
        self._raw = {page_number: raw_ids}

    def delivered(self, page_number: int, link: CheckoutLink) -> None:
        """Note that ``link``, from page ``page_number``, reached the caller."""
        created = _micros(link.created_at)
        if self._binding.keyed and created is not None:
            if created != self._created_us:
                self._kept.clear()
                self._pending.clear()
                self._upto = 0
                self._created_us = created
            self._pending.add(link.id)
            self._page = page_number
            return
        if page_number != self._page or (self._binding.keyed and self._created_us is not None):
            self._kept.clear()
            self._pending.clear()
            self._created_us = None
            self._upto = 0
        if self._indexed != page_number:
            self._indexed = page_number
            self._page_raw = self._raw.get(page_number, [])
            self._first = {}
            for i, link_id in enumerate(self._page_raw):
                self._first.setdefault(link_id, i)
        self._page = page_number
        # Everything up to this link on the page as sent, duplicates left out included,
        # so that reading the page again leaves out exactly what this walk went past.
        end = self._first.get(link.id, -1) + 1
        if end:
            self._upto = max(self._upto, end)
        else:
            self._pending.add(link.id)

    def checkpoint(self) -> str:
        """The checkpoint string of the current position."""
        passed = self._pending.union(self._page_raw[: self._upto])
        ids = self._kept | {_digest(i) for i in passed}
        return Checkpoint(self._binding, self._page, self._created_us, frozenset(ids)).encode()


async def locate(checkpoint: Checkpoint, fetch_page: Callable[[int], Awaitable[Page]]) -> int:
    """Return the page number a resumed walk starts from.

    Boundary-page walks start on the checkpoint's page. Keyed walks start on the page
    that holds the first link after the checkpoint's key, found from the checkpoint's
    page by stepping back while the page's first link is already after the key (links
    were deleted before it) or forward while none is (links were created before it, or
    the last link was the page's last): one page more than the links shifted, counted
    in pages.
    """
    if not checkpoint.uses_key:
        return checkpoint.page
    number = checkpoint.page
    direction = 0
    for _ in range(_MAX_LOCATE_PAGES):
        page = await fetch_page(number)
        if not page.items:
            if page.max_page == 0 or number <= page.max_page:
                return number
            number, direction = page.max_page, -1
            continue
        first_after = checkpoint.after(page.items[0])
        any_after = first_after or any(checkpoint.after(link) for link in page.items)
        if first_after and number > 1 and direction <= 0:
            number, direction = number - 1, -1
        elif not any_after and direction < 0:
            return number + 1
        elif not any_after and number < page.max_page:
            number, direction = number + 1, 1
        else:
            return number
    return number
