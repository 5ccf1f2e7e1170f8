"""Walking the list: every page to max_page, in order, no more requests than needed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from polar_links import Polar

from . import factories as f
from .conftest import LIST_URL, count_requests, eventually


def serve_pages(
    api: aioresponses,
    items: list[dict[str, Any]],
    *,
    per_page: int,
    delays: dict[int, float] | None = None,
    repeat: bool = True,
) -> list[int]:
    """Mock a server holding ``items`` that answers pages of ``per_page`` (its own clamp,
    whatever limit was asked). Returns the list of page numbers requested, in order."""
    requested: list[int] = []
    max_page = -(-len(items) // per_page)

    async def answer(url: URL, **kwargs: Any) -> CallbackResult:
        page = int(url.query["page"])
        requested.append(page)
        if delays and page in delays:
            await asyncio.sleep(delays[page])
        chunk = items[(page - 1) * per_page : page * per_page]
        body = f.list_body(chunk, total_count=len(items), max_page=max_page)
        return CallbackResult(body=f.to_bytes(body), content_type="application/json")

    api.get(LIST_URL, callback=answer, repeat=repeat)
    return requested


async def test_iteration_yields_every_item_of_every_page_in_server_order(
    polar: Polar, api: aioresponses
) -> None:
    items = [f.link() for _ in range(25)]
    requested = serve_pages(api, items, per_page=10)
    got = [link.id async for link in polar.checkout_links.list(limit=10)]
    assert got == [i["id"] for i in items]
    assert sorted(requested) == [1, 2, 3]


async def test_a_server_that_clamps_the_limit_is_walked_to_max_page(
    polar: Polar, api: aioresponses
) -> None:
    # Asked for 100 a page, the server sends 7: the end is max_page, not a short page.
    items = [f.link() for _ in range(30)]
    requested = serve_pages(api, items, per_page=7)
    got = [link.id async for link in polar.checkout_links.list(limit=100)]
    assert got == [i["id"] for i in items]
    assert sorted(requested) == [1, 2, 3, 4, 5]


async def test_max_page_zero_yields_nothing_after_one_request(
    polar: Polar, api: aioresponses
) -> None:
    requested = serve_pages(api, [], per_page=10)
    assert [link async for link in polar.checkout_links.list()] == []
    assert requested == [1]


async def test_pages_reports_page_numbers_and_totals(polar: Polar, api: aioresponses) -> None:
    items = [f.link() for _ in range(12)]
    serve_pages(api, items, per_page=5)
    pages = [p async for p in polar.checkout_links.list(limit=5).pages()]
    assert [(p.page, len(p.items), p.total_count, p.max_page) for p in pages] == [
        (1, 5, 12, 3),
        (2, 5, 12, 3),
        (3, 2, 12, 3),
    ]
    assert [p.has_next for p in pages] == [True, True, False]


async def test_first_page_fetches_only_the_requested_page(polar: Polar, api: aioresponses) -> None:
    items = [f.link() for _ in range(30)]
    requested = serve_pages(api, items, per_page=10)
    page = await polar.checkout_links.list(limit=10, page=2).first_page()
    assert page.page == 2
    assert [i.id for i in page.items] == [i["id"] for i in items[10:20]]
    assert requested == [2]


async def test_page_argument_starts_the_walk_there(polar: Polar, api: aioresponses) -> None:
    items = [f.link() for _ in range(30)]
    requested = serve_pages(api, items, per_page=10)
    got = [link.id async for link in polar.checkout_links.list(limit=10, page=2)]
    assert got == [i["id"] for i in items[10:]]
    assert sorted(requested) == [2, 3]


async def test_collect_returns_all_items_as_a_list(polar: Polar, api: aioresponses) -> None:
    items = [f.link() for _ in range(15)]
    serve_pages(api, items, per_page=4)
    links = await polar.checkout_links.list(limit=4).collect()
    assert [link.id for link in links] == [i["id"] for i in items]


@pytest.mark.parametrize(("max_items", "pages"), [(0, []), (5, [1]), (10, [1]), (11, [1, 2])])
async def test_max_items_stops_without_fetching_further_pages(
    polar: Polar, api: aioresponses, max_items: int, pages: list[int]
) -> None:
    items = [f.link() for _ in range(50)]
    requested = serve_pages(api, items, per_page=10)
    got = await polar.checkout_links.list(limit=10, max_items=max_items).collect()
    assert [link.id for link in got] == [i["id"] for i in items[:max_items]]
    assert sorted(requested) == pages


@pytest.mark.parametrize(("max_items", "sizes"), [(0, []), (4, [4]), (10, [10]), (23, [10, 10, 3])])
async def test_pages_honour_max_items_and_trim_the_last_page(
    polar: Polar, api: aioresponses, max_items: int, sizes: list[int]
) -> None:
    items = [f.link() for _ in range(50)]
    requested = serve_pages(api, items, per_page=10)
    pages = [p async for p in polar.checkout_links.list(limit=10, max_items=max_items).pages()]
    assert [len(p.items) for p in pages] == sizes
    assert [i.id for p in pages for i in p.items] == [i["id"] for i in items[:max_items]]
    assert len(requested) == len(sizes)


async def test_creating_the_paginator_sends_nothing(polar: Polar, api: aioresponses) -> None:
    serve_pages(api, [f.link()], per_page=10)
    polar.checkout_links.list()
    assert count_requests(api) == 0


@pytest.mark.parametrize("concurrency", [1, 2, 3, 8])
async def test_prefetch_keeps_server_order_even_when_pages_finish_out_of_order(
    api: aioresponses, concurrency: int
) -> None:
    items = [f.link() for _ in range(40)]
    # Early pages are the slowest, so later ones finish first.
    delays = {1: 0.0, 2: 0.04, 3: 0.03, 4: 0.02, 5: 0.01}
    serve_pages(api, items, per_page=5, delays=delays)
    async with Polar("t", base_url="https://polar.test", concurrency=concurrency) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=5)]
    assert got == [i["id"] for i in items]


async def test_concurrency_one_is_strictly_sequential(api: aioresponses) -> None:
    items = [f.link() for _ in range(30)]
    in_flight = 0
    peak = 0

    async def answer(url: URL, **kwargs: Any) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        page = int(url.query["page"])
        body = f.list_body(items[(page - 1) * 5 : page * 5], total_count=30, max_page=6)
        return CallbackResult(body=f.to_bytes(body), content_type="application/json")

    api.get(LIST_URL, callback=answer, repeat=True)
    async with Polar("t", base_url="https://polar.test") as polar:
        got = await polar.checkout_links.list(limit=5, concurrency=1).collect()
        assert peak == 1
        peak = 0
        await polar.checkout_links.list(limit=5, concurrency=4).collect()
        assert peak == 4
    assert len(got) == 30


async def test_an_item_pushed_onto_the_next_page_is_yielded_once(
    polar: Polar, api: aioresponses
) -> None:
    # A link created during the walk shifts the window: the last item of page 1 comes
    # back as the first of page 2.
    items = [f.link(created_at=f"2024-03-0{day}T12:00:00Z") for day in range(1, 7)]
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[:3], total_count=6, max_page=2)))
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[2:5], total_count=7, max_page=3)))
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[5:], total_count=7, max_page=3)))
    paginator = polar.checkout_links.list(limit=3, concurrency=1)
    got = [link.id async for link in paginator]
    assert got == [i["id"] for i in items]
    report = paginator.report
    assert report is not None
    # The same link on both sides of the boundary, after a creation: a shift, not a tie.
    assert (report.repeats, report.tied_boundaries, report.shrank) == (1, (), False)


async def test_a_list_that_grows_during_the_walk_is_followed_to_its_new_end(
    polar: Polar, api: aioresponses
) -> None:
    items = [f.link() for _ in range(7)]
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[:3], total_count=6, max_page=2)))
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[3:6], total_count=7, max_page=3)))
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[6:], total_count=7, max_page=3)))
    got = [link.id async for link in polar.checkout_links.list(limit=3, concurrency=1)]
    assert got == [i["id"] for i in items]


async def test_breaking_out_cancels_prefetches_and_returns_their_connections(
    api: aioresponses,
) -> None:
    items = [f.link() for _ in range(100)]
    started: list[int] = []
    finished: list[int] = []

    async def answer(url: URL, **kwargs: Any) -> CallbackResult:
        page = int(url.query["page"])
        started.append(page)
        await asyncio.sleep(0 if page == 1 else 5)
        finished.append(page)
        body = f.list_body(items[(page - 1) * 10 : page * 10], total_count=100, max_page=10)
        return CallbackResult(body=f.to_bytes(body), content_type="application/json")

    api.get(LIST_URL, callback=answer, repeat=True)
    async with Polar("t", base_url="https://polar.test", concurrency=4) as polar:
        paginator = polar.checkout_links.list(limit=10)
        async for _link in paginator:
            await asyncio.sleep(0.01)  # let the prefetches start
            break
        # asyncio's async-generator finalizer runs the walk's cleanup soon after.
        await eventually(
            lambda: not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        )
        # Page 1, then four prefetches (concurrency=4), none finished.
        assert sorted(started) == [1, 2, 3, 4, 5]
        assert finished == [1]


async def test_a_failing_prefetch_surfaces_its_error_in_order(api: aioresponses) -> None:
    items = [f.link() for _ in range(30)]
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[:10], total_count=30, max_page=3)))
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items[10:20], total_count=30, max_page=3)))
    api.get(LIST_URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    from polar_links import NotFoundError

    got: list[str] = []
    async with Polar("t", base_url="https://polar.test", max_retries=0) as polar:
        with pytest.raises(NotFoundError):  # noqa: PT012 (the error comes from the loop)
            async for link in polar.checkout_links.list(limit=10):
                got.append(link.id)
    assert got == [i["id"] for i in items[:20]]
