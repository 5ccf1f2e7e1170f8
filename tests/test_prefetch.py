"""Which pages a walk requests, and when: no page before the consumer asks for it with
``concurrency=1``, no page ``max_items`` will not need, no page after one that says it
is the last, and no request task left running once the walk is closed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioresponses import aioresponses

from polar_links import Polar
from polar_links._decoding import decode_link
from polar_links._pagination import CheckoutLinkPaginator, Page

from . import factories as f
from .conftest import answer_pages
from .test_pagination import serve_pages


async def test_with_concurrency_one_the_next_page_waits_for_the_consumer(
    polar: Polar, api: aioresponses
) -> None:
    items = [f.link() for _ in range(30)]
    requested = serve_pages(api, items, per_page=10)
    pages = polar.checkout_links.list(limit=10, concurrency=1).pages()
    try:
        first = await anext(pages)
        assert first.page == 1
        await asyncio.sleep(0.05)  # the consumer is busy: nothing may go out meanwhile
        assert requested == [1]
        second = await anext(pages)
        assert second.page == 2
        await asyncio.sleep(0.05)
        assert requested == [1, 2]
    finally:
        await pages.aclose()


@pytest.mark.parametrize("concurrency", [1, 2, 4, 8])
async def test_max_items_35_with_limit_10_requests_exactly_pages_1_to_4(
    api: aioresponses, concurrency: int
) -> None:
    items = [f.link() for _ in range(100)]
    requested = serve_pages(api, items, per_page=10)
    async with Polar("t", base_url="https://polar.test", concurrency=concurrency) as polar:
        got = await polar.checkout_links.list(limit=10, max_items=35).collect()
        await asyncio.sleep(0.05)  # a needless prefetch would have gone out by now
    assert [link.id for link in got] == [i["id"] for i in items[:35]]
    assert sorted(requested) == [1, 2, 3, 4]


async def test_a_page_whose_max_page_is_its_own_number_ends_the_walk(
    polar: Polar, api: aioresponses
) -> None:
    # Page 1 says 5 pages; page 2 says it is the last (the list shrank): the walk ends.
    items = [f.link() for _ in range(50)]

    def body(page: int) -> dict[str, Any]:
        max_page = 5 if page == 1 else 2
        chunk = items[(page - 1) * 10 : page * 10]
        return f.list_body(chunk, total_count=10 * max_page, max_page=max_page)

    requested = answer_pages(api, body)
    pages = [p async for p in polar.checkout_links.list(limit=10, concurrency=1).pages()]
    assert [p.page for p in pages] == [1, 2]
    assert requested == [1, 2]
    assert [i.id for p in pages for i in p.items] == [i["id"] for i in items[:20]]


async def test_closing_a_walk_leaves_no_request_task_behind(api: aioresponses) -> None:
    items = [f.link() for _ in range(60)]
    serve_pages(api, items, per_page=5, delays=dict.fromkeys(range(2, 13), 0.5))
    async with Polar("t", base_url="https://polar.test", concurrency=4) as polar:
        pages = polar.checkout_links.list(limit=5).pages()
        first = await anext(pages)
        assert first.page == 1
        await asyncio.sleep(0.01)  # the prefetches are waiting for their answers
        await pages.aclose()
        # aclose() returned: every prefetch was cancelled and waited for, none pending.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert [t for t in others if not t.done()] == []


async def test_a_resumed_walk_requests_no_page_twice(polar: Polar, api: aioresponses) -> None:
    items = [f.link(created_at=f"2026-03-01T12:00:{i:02d}Z") for i in range(30)]
    requested = serve_pages(api, items, per_page=10)
    paginator = polar.checkout_links.list(limit=10, concurrency=1)
    seen = []
    async for link in paginator:
        seen.append(link.id)
        if len(seen) == 15:
            break
    checkpoint = paginator.checkpoint
    assert checkpoint is not None
    requested.clear()
    rest = await polar.checkout_links.list(limit=10, concurrency=1, resume=checkpoint).collect()
    assert seen + [link.id for link in rest] == [i["id"] for i in items]
    assert len(requested) == len(set(requested))  # the page found on resuming is reused


async def test_a_pages_walk_cut_by_max_items_resumes_after_its_last_link(
    polar: Polar, api: aioresponses
) -> None:
    items = [f.link(created_at=f"2026-03-01T12:00:{i:02d}Z") for i in range(30)]
    serve_pages(api, items, per_page=10)
    paginator = polar.checkout_links.list(limit=10, max_items=15, concurrency=1)
    pages = [page async for page in paginator.pages()]
    assert [len(page.items) for page in pages] == [10, 5]
    checkpoint = paginator.checkpoint
    assert checkpoint is not None
    rest = await polar.checkout_links.list(limit=10, concurrency=1, resume=checkpoint).collect()
    assert [link.id for link in rest] == [i["id"] for i in items[15:]]


async def test_a_hand_built_paginator_walks_pages_under_max_items() -> None:
    links = [decode_link(f.to_bytes(f.link())) for _ in range(12)]

    async def fetch(number: int) -> Page:
        return Page(
            items=links[(number - 1) * 6 : number * 6], page=number, total_count=12, max_page=2
        )

    paginator = CheckoutLinkPaginator(fetch, start_page=1, max_items=8, concurrency=1)
    pages = [page async for page in paginator.pages()]
    assert [[link.id for link in page.items] for page in pages] == [
        [link.id for link in links[:6]],
        [link.id for link in links[6:8]],
    ]
    assert paginator.checkpoint is None


async def test_a_hand_built_paginator_reports_unseen_links_of_a_complete_walk() -> None:
    links = [decode_link(f.to_bytes(f.link())) for _ in range(5)]

    async def fetch(number: int) -> Page:
        return Page(items=links, page=number, total_count=7, max_page=1)

    paginator = CheckoutLinkPaginator(fetch, start_page=1, max_items=None, concurrency=1)
    assert len(await paginator.collect()) == 5
    assert paginator.report is not None
    assert paginator.report.unseen == 2  # one row per link unless told otherwise


async def test_after_an_empty_first_page_prefetch_counts_one_link_a_page(
    polar: Polar, api: aioresponses
) -> None:
    # The first page says nothing about the page size: with max_items=3 the walk may
    # need 3 more pages, so with concurrency 4 it asks for pages 2, 3 and 4 at once.
    items = [f.link() for _ in range(50)]

    def body(page: int) -> dict[str, Any]:
        chunk = [] if page == 1 else items[(page - 2) * 10 : (page - 1) * 10]
        return f.list_body(chunk, total_count=50, max_page=6)

    requested = answer_pages(api, body)
    pages = polar.checkout_links.list(limit=10, max_items=3, concurrency=4).pages()
    try:
        first = await anext(pages)
        assert first.items == []
        await asyncio.sleep(0.05)
        assert sorted(requested) == [1, 2, 3, 4]
    finally:
        await pages.aclose()
