"""Walking the list endpoint: pages in order, with up to ``concurrency`` requests in
flight, items deduplicated by id within one walk, a report of what the walk saw that
may have cost it links, and bounds that stop a walk whose pages cannot come from a real
list (each page judged against its own ``pagination``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from ._checkpoint import Checkpoint, Position, locate
from ._decoding import SkippedItem
from ._exceptions import PaginationError
from ._models import CheckoutLink
from ._raw import APIResponse

__all__ = [
    "MAX_EMPTY_PAGES",
    "MAX_GROWTH_PAGES",
    "MAX_STALE_PAGES",
    "CheckoutLinkPaginator",
    "Page",
    "WalkReport",
    "sort_key",
]

#: Empty pages in a row, each before its own ``max_page``, that a walk accepts; one more
#: stops it. The real server answers an empty page only past ``max_page``.
MAX_EMPTY_PAGES = 2
#: Pages in a row bringing no link the walk has not yielded that it accepts, plus one per
#: ``product_id`` value after the first (a link the join repeats can fill several pages);
#: one more stops the walk.
MAX_STALE_PAGES = 10
#: How many pages past the first page's ``max_page`` a walk follows a list that grows
#: while it is walked (or the first ``max_page`` itself, if larger); a ``max_page`` beyond
#: that stops the walk.
MAX_GROWTH_PAGES = 100


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the list, as the server sent it.

    ``items``: the checkout links on this page, in server order. ``page``: its 1-based
    number. ``total_count``: links matching the filters. ``max_page``: number of pages
    (0 when nothing matches). ``skipped``: items that could not be decoded at all.
    ``response``: the HTTP response the page came from (status, headers,
    ``polar_version``); ``None`` for a page built by hand.
    """

    items: list[CheckoutLink]
    page: int
    total_count: int
    max_page: int
    skipped: list[SkippedItem] = field(default_factory=list)
    response: APIResponse | None = None

    @property
    def has_next(self) -> bool:
        """True when the server reports pages after this one."""
        return self.page < self.max_page


FetchPage = Callable[[int], Awaitable[Page]]
SortKey = Callable[[CheckoutLink], tuple[object, ...]]


def sort_key(criteria: Sequence[str]) -> SortKey:
    """Return the function giving a link's values for these sorting criteria (``-``
    ignored), e.g. ``("Newsletter", datetime(...))`` for ``["label", "created_at"]``."""
    names = tuple(criterion.lstrip("-") for criterion in criteria)

    def key(link: CheckoutLink) -> tuple[object, ...]:
        return tuple(getattr(link, name) for name in names)

    return key


_BY_CREATED_AT = sort_key(["created_at"])


@dataclass(frozen=True, slots=True)
class WalkReport:
    """What one walk of a paginator saw, to tell whether it may have missed links.

    ``pages``: pages received. ``links``: links yielded. ``repeats``: links the server
    sent again, left out (several ``product_id`` values, or a list that grew during the
    walk). ``skipped``: items that could not be read (see ``Page.skipped``).
    ``first_total_count``/``last_total_count``: the ``total_count`` of the first and the
    last page received (``None`` before any page). ``shrank``: a page reported a smaller
    ``total_count`` than an earlier one: links were deleted (or stopped matching) during
    the walk, and links before the deleted ones shift onto pages already read.
    ``tied_boundaries``: numbers of the pages whose last link and the next page's first
    link had equal values for every sorting criterion sent (``created_at`` included):
    the server orders such links differently for each page, so some may have been
    missed. ``complete``: the walk read up to the server's last page (not stopped by
    ``max_items``, a ``break`` or an error). ``unseen``: for a complete walk from page 1
    without several ``product_id`` values, how many links the last ``total_count``
    counts that were neither yielded nor skipped (0 when the counts match); ``None``
    when it cannot be told.
    """

    pages: int
    links: int
    repeats: int
    skipped: int
    first_total_count: int | None
    last_total_count: int | None
    shrank: bool
    tied_boundaries: tuple[int, ...]
    complete: bool
    unseen: int | None

    @property
    def may_have_missed(self) -> bool:
        """True when the walk saw a sign that it may not hold every matching link:
        the list shrank, a sort tie crossed a page boundary, or links went unseen."""
        return self.shrank or bool(self.tied_boundaries) or bool(self.unseen)

    def reasons(self) -> list[str]:
        """Why links may have been missed, one sentence each (empty when no sign)."""
        out = []
        if self.shrank:
            out.append(
                f"the list shrank during the walk (total_count {self.first_total_count} "
                f"then {self.last_total_count})"
            )
        if self.tied_boundaries:
            pages = ", ".join(str(p) for p in self.tied_boundaries[:10])
            more = len(self.tied_boundaries) - 10
            out.append(
                f"links with equal sort values crossed the end of page {pages}"
                + (f" and {more} more" if more > 0 else "")
            )
        if self.unseen:
            out.append(f"{self.unseen} links counted by total_count were never received")
        return out


@dataclass
class _Walk:
    """The state of one walk, updated as pages are delivered in order.

    ``page`` is the number of the last page delivered (``start - 1`` before the first)
    and ``seen`` the ids yielded so far: together they say where a walk stands.
    """

    page: int
    seen: set[str] = field(default_factory=set)
    pages: int = 0
    links: int = 0
    repeats: int = 0
    skipped: int = 0
    first_total_count: int | None = None
    last_total_count: int | None = None
    shrank: bool = False
    tied_boundaries: list[int] = field(default_factory=list)
    complete: bool = False
    last_item: CheckoutLink | None = None
    empty_run: int = 0
    stale_run: int = 0


class CheckoutLinkPaginator:
    """The result of ``polar.checkout_links.list(...)``; creating it sends nothing.

    * ``async for link in paginator``: every link of every page, from the start page to
      ``max_page``, in server order, each id at most once.
    * ``async for page in paginator.pages()``: the :class:`Page` objects.
    * ``await paginator.first_page()``: only the start page.
    * ``await paginator.collect()``: all links as a list.
    * ``paginator.checkpoint``: a string to pass as ``list(..., resume=...)`` later, to
      continue after the last link delivered (see :attr:`checkpoint`).

    Once the first page tells how many pages there are, later pages are fetched ahead
    with at most ``concurrency`` requests in flight; results still come out in order,
    and at most ``concurrency`` pages are held in memory. The walk also keeps the id of
    every link it yielded (about 130 bytes per link), so that none comes out twice.

    After (or during) a walk, :attr:`report` tells what the walk saw that may have cost
    it links (a list that shrank, sort ties across a page boundary, links counted but
    never seen).

    A walk whose pages cannot come from a real list stops with
    :class:`~polar_links.PaginationError` after a bounded number of requests: more than
    :data:`MAX_EMPTY_PAGES` empty pages in a row before their ``max_page``, more than
    :data:`MAX_STALE_PAGES` (plus one per ``product_id`` value after the first) pages in a
    row with no
    link not yielded yet, a ``max_page`` more than :data:`MAX_GROWTH_PAGES` (or the first
    ``max_page``, if larger) past the first page's, or a ``pagination`` no list has.
    With ``concurrency`` pages fetched ahead, up to that many more requests are sent.

    ``sort_key`` gives a link's values for the sorting sent (default: ``created_at``);
    ``rows_per_link`` is the most rows the server's join can give one link (the number
    of ``product_id`` values, at least 1); ``limit`` is the page size asked for (for
    checking ``max_page``); ``url`` names the endpoint in errors.
    """

    def __init__(
        self,
        fetch_page: FetchPage,
        *,
        start_page: int,
        max_items: int | None,
        concurrency: int,
        sort_key: SortKey | None = None,
        rows_per_link: int = 1,
        limit: int | None = None,
        url: str = "",
        start: Checkpoint | None = None,
        resume: bool = False,
    ) -> None:
        self._fetch_page = fetch_page
        self._start_page = start_page
        self._max_items = max_items
        self._concurrency = concurrency
        self._sort_key = sort_key or _BY_CREATED_AT
        self._rows_per_link = rows_per_link
        self._limit = limit
        self._url = url
        self._last_walk: _Walk | None = None
        self._start = start
        self._resume = resume and start is not None
        self._position: Position | None = None

    @property
    def checkpoint(self) -> str | None:
        """Where the latest walk of this paginator stands, as a string to store and pass
        as ``list(..., resume=checkpoint)`` with the same filters, sorting and limit.

        It moves with every link delivered (by ``async for``, or a whole page by
        ``pages()``), so read it after handling a link or a page. Before any walk it is
        the starting point (the ``resume`` given, or the start page). 60 to 80
        characters for the ``created_at`` orders, up to ~1.2 kB for others; it holds no
        token and no link data. ``None`` only for a paginator built without one.
        """
        if self._position is not None:
            return self._position.checkpoint()
        return None if self._start is None else self._start.encode()

    @property
    def report(self) -> WalkReport | None:
        """What the latest walk (``async for``, ``pages()``, ``collect()``) saw so far,
        as a :class:`WalkReport`; ``None`` before any walk. ``report.may_have_missed``
        is the one flag to check after a walk."""
        walk = self._last_walk
        if walk is None:
            return None
        unseen = None
        if (
            walk.complete
            and self._start_page == 1
            and not self._resume
            and self._rows_per_link == 1
            and walk.last_total_count is not None
        ):
            unseen = max(0, walk.last_total_count - walk.links - walk.skipped)
        return WalkReport(
            pages=walk.pages,
            links=walk.links,
            repeats=walk.repeats,
            skipped=walk.skipped,
            first_total_count=walk.first_total_count,
            last_total_count=walk.last_total_count,
            shrank=walk.shrank,
            tied_boundaries=tuple(walk.tied_boundaries),
            complete=walk.complete,
            unseen=unseen,
        )

    @property
    def concurrency(self) -> int:
        """The most page requests this paginator keeps in flight at once."""
        return self._concurrency

    async def first_page(self) -> Page:
        """Fetch and return only the start page (``page=``, default 1)."""
        return await self._fetch_page(self._start_page)

    def __aiter__(self) -> AsyncIterator[CheckoutLink]:
        return self._iter_items()

    def __iter__(self) -> NoReturn:
        raise TypeError(
            "polar.checkout_links.list(...) is iterated with `async for link in ...` inside "
            "an async function; from synchronous code, use the synchronous client SyncPolar, "
            "whose list(...) works with `for`"
        )

    def __await__(self) -> NoReturn:
        raise TypeError(
            "polar.checkout_links.list(...) is not awaitable: await "
            "`polar.checkout_links.list(...).first_page()` for one page or "
            "`.collect()` for every link as a list, or iterate it with `async for`"
        )

    async def collect(self) -> list[CheckoutLink]:
        """Fetch every page (up to ``max_items`` links) and return the links as a list."""
        return [link async for link in self]

    async def _iter_items(self) -> AsyncGenerator[CheckoutLink, None]:
        async with contextlib.aclosing(self._item_pages()) as pages:
            async for page in pages:
                for link in page.items:
                    self._delivered(page, link)
                    yield link

    def _item_pages(self) -> AsyncGenerator[Page, None]:
        """The pages of a walk whose links the caller hands out one at a time, calling
        :meth:`_delivered` for each (``async for`` here; the sync client's ``for``)."""
        return self._iter_pages(per_item=True)

    def _delivered(self, page: Page, link: CheckoutLink) -> None:
        """Move the checkpoint past ``link`` of ``page``: it reached the caller."""
        if self._position is not None:
            self._position.delivered(page.page, link)

    def pages(self) -> AsyncGenerator[Page, None]:
        """Iterate the pages from the start page to the last, in order.

        Each page holds the same links ``async for`` would yield from it: a link already
        delivered on an earlier page of this walk is left out, and with ``max_items``
        the last page is cut to the budget. ``total_count`` and ``max_page`` are the
        server's.
        """
        return self._iter_pages()

    async def _iter_pages(self, per_item: bool = False) -> AsyncGenerator[Page, None]:
        walk = self._last_walk = _Walk(page=self._start_page - 1)
        position = self._position = None if self._start is None else Position(self._start)
        remaining = self._max_items
        if remaining == 0:
            return
        start_page, fetch = self._start_page, self._fetch_page
        new = None
        if self._resume and self._start is not None:
            start_page, fetch = await _located(self._start, fetch)
            new = self._start.after
            walk.page = start_page - 1
        async with contextlib.aclosing(self._walk(remaining, start_page, fetch)) as pages:
            async for page in pages:
                if position is not None:
                    position.enter(page.page, [link.id for link in page.items])
                items = self._receive(walk, page, new)
                if remaining is not None and len(items) >= remaining:
                    walk.seen.difference_update(link.id for link in items[remaining:])
                    walk.links += remaining
                    walk.complete = len(items) == remaining and page.page >= page.max_page
                    page = dataclasses.replace(page, items=items[:remaining])
                    if position is not None and not per_item:
                        for link in page.items:
                            position.delivered(page.page, link)
                    yield page
                    return
                if remaining is not None:
                    remaining -= len(items)
                walk.links += len(items)
                walk.complete = page.page >= page.max_page
                if len(items) != len(page.items):
                    page = dataclasses.replace(page, items=items)
                if position is not None and not per_item:
                    for link in page.items:
                        position.delivered(page.page, link)
                yield page

    def _receive(
        self, walk: _Walk, page: Page, new: Callable[[CheckoutLink], bool] | None = None
    ) -> list[CheckoutLink]:
        """Judge ``page``, record it in ``walk`` and return its links not yielded before
        (by this walk, or, for a resumed walk, up to its checkpoint: ``new`` is False for
        those)."""
        self._check_pagination(page)
        previous_total = walk.last_total_count
        if previous_total is None:
            walk.first_total_count = page.total_count
        elif page.total_count < previous_total:
            walk.shrank = True
        walk.last_total_count = page.total_count
        before = walk.last_item
        if page.items and before is not None and page.page == walk.page + 1:
            after = page.items[0]
            # Equal keys on both sides of a boundary: rows that tie, which the server
            # orders differently for each page. The same link on both sides is a join
            # duplicate (several product_id values) or a shift (the list grew), unless
            # neither can have happened.
            unchanged = self._rows_per_link == 1 and page.total_count == previous_total
            if self._sort_key(before) == self._sort_key(after) and (
                before.id != after.id or unchanged
            ):
                walk.tied_boundaries.append(walk.page)
        if page.items:
            walk.last_item = page.items[-1]
        walk.page = page.page
        walk.pages += 1
        walk.skipped += len(page.skipped)
        seen = walk.seen
        items = []
        for link in page.items:
            if new is not None and not new(link):
                continue  # delivered before the checkpoint this walk resumed from
            # The same link again: a join duplicate, or pushed onto this page from the
            # previous one by a link created mid-walk. It must not come out twice.
            if link.id not in seen:
                seen.add(link.id)
                items.append(link)
            else:
                walk.repeats += 1
        self._check_progress(walk, page, fresh=bool(items or page.skipped))
        return items

    def _check_pagination(self, page: Page) -> None:
        """Raise unless ``page.pagination`` is one a list can have: counts not negative,
        at least one row per page, at most ``limit`` rows per page."""
        total, max_page = page.total_count, page.max_page
        why = None
        if total < 0 or max_page < 0:
            name, value = ("total_count", total) if total < 0 else ("max_page", max_page)
            why = f"{name} {value} is negative"
        elif max_page > total:
            why = f"max_page {max_page} is more than total_count {total}"
        elif self._limit is not None and max_page < -(-total // self._limit):
            why = (
                f"max_page {max_page} is less than ceil(total_count {total} / limit "
                f"{self._limit}) = {-(-total // self._limit)}"
            )
        if why is not None:
            self._stop(page, f"page {page.page} has a pagination no list can have: {why}")

    def _check_progress(self, walk: _Walk, page: Page, *, fresh: bool) -> None:
        """Raise when pages before their own ``max_page`` keep coming back empty, or
        keep bringing only links already yielded, past the documented bounds."""
        if page.page >= page.max_page:
            return  # the walk ends here anyway
        if page.items or page.skipped:
            walk.empty_run = 0
        else:
            walk.empty_run += 1
            if walk.empty_run > MAX_EMPTY_PAGES:
                self._stop(
                    page,
                    f"page {page.page} came back empty although it reports max_page "
                    f"{page.max_page}, {walk.empty_run} such pages in a row; a real list is "
                    "empty only past max_page",
                )
        walk.stale_run = 0 if fresh else walk.stale_run + 1
        allowed = MAX_STALE_PAGES + self._rows_per_link - 1
        if walk.stale_run > allowed:
            self._stop(
                page,
                f"pages {page.page - walk.stale_run + 1} to {page.page} brought no link the "
                f"walk had not already yielded ({walk.stale_run} pages in a row, max_page "
                f"{page.max_page}); the server seems to answer the same links whatever the "
                "page number",
            )

    def _stop(self, page: Page, why: str) -> NoReturn:
        raise PaginationError(
            f"GET {self._url or 'the list'}: {why}. The walk stopped after reading "
            f"{self._pages_read()} pages.",
            page=page.page,
            url=self._url,
        )

    def _pages_read(self) -> int:
        return self._last_walk.pages if self._last_walk is not None else 0

    async def _walk(
        self, max_items: int | None, start_page: int, fetch_page: FetchPage
    ) -> AsyncGenerator[Page, None]:
        first = await fetch_page(start_page)
        window: deque[asyncio.Task[Page]] = deque()
        next_page = start_page + 1
        last = first.max_page
        growth_cap = first.max_page + max(MAX_GROWTH_PAGES, first.max_page)
        fetched = len(first.items)
        per_page = max(fetched, 1)

        def fill(on_demand: bool) -> None:
            """Start page requests until ``concurrency`` are in flight. Ahead of demand
            (while the consumer reads a page) only with concurrency > 1, and not past
            what ``max_items`` will need; on demand, always the next page."""
            nonlocal next_page
            while next_page <= last and len(window) < self._concurrency:
                if window or not on_demand:
                    if self._concurrency == 1:
                        return
                    if max_items is not None:
                        pages_needed = math.ceil((max_items - fetched) / per_page)
                        if pages_needed <= len(window):
                            return
                window.append(asyncio.ensure_future(fetch_page(next_page)))
                next_page += 1

        try:
            if start_page >= last:
                yield first
                return
            fill(on_demand=False)
            yield first
            while True:
                fill(on_demand=True)
                if not window:
                    return
                page = await window.popleft()
                fetched += len(page.items)
                if page.page >= page.max_page:
                    yield page
                    return
                # The list grew while we walked: keep going to its new end, within bounds.
                if page.max_page > growth_cap:
                    self._stop(
                        page,
                        f"max_page grew from {first.max_page} to {page.max_page} during the "
                        f"walk; a growing list is followed to at most "
                        f"{growth_cap - first.max_page} pages past it",
                    )
                last = max(last, page.max_page)
                fill(on_demand=False)
                yield page
        finally:
            await _cancel_all(window)


async def _cancel_all(tasks: deque[asyncio.Task[Page]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        # Wait for them so their connections go back to the pool; swallow their errors,
        # which nobody will read: the walk is over.
        await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


async def _located(start: Checkpoint, fetch_page: FetchPage) -> tuple[int, FetchPage]:
    """Find where a resumed walk starts; return that page number and a ``fetch_page``
    that hands back the page :func:`locate` read last instead of asking for it again."""
    last: dict[int, Page] = {}

    async def remember(number: int) -> Page:
        page = await fetch_page(number)
        last.clear()
        last[number] = page
        return page

    number = await locate(start, remember)

    async def reuse(number: int) -> Page:
        page = last.pop(number, None)
        return page if page is not None else await fetch_page(number)

    return number, reuse
