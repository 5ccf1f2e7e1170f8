"""Walking the list endpoint: pages in order, with up to ``concurrency`` requests in
flight, and items deduplicated by id within one walk."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import NoReturn

from ._decoding import SkippedItem
from ._models import CheckoutLink

__all__ = ["CheckoutLinkPaginator", "Page"]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the list, as the server sent it.

    ``items``: the checkout links on this page, in server order. ``page``: its 1-based
    number. ``total_count``: links matching the filters. ``max_page``: number of pages
    (0 when nothing matches). ``skipped``: items that could not be decoded at all.
    """

    items: list[CheckoutLink]
    page: int
    total_count: int
    max_page: int
    skipped: list[SkippedItem] = field(default_factory=list)

    @property
    def has_next(self) -> bool:
        """True when the server reports pages after this one."""
        return self.page < self.max_page


FetchPage = Callable[[int], Awaitable[Page]]


class CheckoutLinkPaginator:
    """The result of ``polar.checkout_links.list(...)``; creating it sends nothing.

    * ``async for link in paginator``: every link of every page, from the start page to
      ``max_page``, in server order, each id at most once.
    * ``async for page in paginator.pages()``: the :class:`Page` objects.
    * ``await paginator.first_page()``: only the start page.
    * ``await paginator.collect()``: all links as a list.

    Once the first page tells how many pages there are, later pages are fetched ahead
    with at most ``concurrency`` requests in flight; results still come out in order,
    and at most ``concurrency`` pages are held in memory. The walk also keeps the id of
    every link it yielded (about 130 bytes per link), so that none comes out twice.
    """

    def __init__(
        self,
        fetch_page: FetchPage,
        *,
        start_page: int,
        max_items: int | None,
        concurrency: int,
    ) -> None:
        self._fetch_page = fetch_page
        self._start_page = start_page
        self._max_items = max_items
        self._concurrency = concurrency

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
        async with contextlib.aclosing(self._iter_pages()) as pages:
            async for page in pages:
                for link in page.items:
                    yield link

    def pages(self) -> AsyncGenerator[Page, None]:
        """Iterate the pages from the start page to the last, in order.

        Each page holds the same links ``async for`` would yield from it: a link already
        delivered on an earlier page of this walk is left out, and with ``max_items``
        the last page is cut to the budget. ``total_count`` and ``max_page`` are the
        server's.
        """
        return self._iter_pages()

    async def _iter_pages(self) -> AsyncGenerator[Page, None]:
        remaining = self._max_items
        if remaining == 0:
            return
        seen: set[str] = set()
        async with contextlib.aclosing(self._walk(remaining)) as pages:
            async for page in pages:
                items = []
                for link in page.items:
                    # Offset pagination shifts when links are created mid-walk: a link
                    # pushed onto this page from the previous one must not come out twice.
                    if link.id not in seen:
                        seen.add(link.id)
                        items.append(link)
                if remaining is not None and len(items) >= remaining:
                    yield dataclasses.replace(page, items=items[:remaining])
                    return
                if remaining is not None:
                    remaining -= len(items)
                yield (
                    page
                    if len(items) == len(page.items)
                    else dataclasses.replace(page, items=items)
                )

    async def _walk(self, max_items: int | None) -> AsyncGenerator[Page, None]:
        first = await self._fetch_page(self._start_page)
        window: deque[asyncio.Task[Page]] = deque()
        next_page = self._start_page + 1
        last = first.max_page
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
                window.append(asyncio.ensure_future(self._fetch_page(next_page)))
                next_page += 1

        try:
            if self._start_page >= last:
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
                # The list grew while we walked: keep going to its new end.
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
