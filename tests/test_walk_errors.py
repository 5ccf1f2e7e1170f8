"""The exact error that ends a walk whose pages cannot come from a real list (its words,
``page``, ``url``, the pages read), and the patterns right next to those bounds that a
walk accepts: empty pages broken up by full ones, empty pages up to ``max_page``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aioresponses import aioresponses

from polar_links import PaginationError, Polar, WalkReport
from polar_links._pagination import CheckoutLinkPaginator, Page

from . import factories as f
from .conftest import BASE, answer_pages

LIST = f"{BASE}/v1/checkout-links/"
LINKS = [f.link() for _ in range(60)]


def empty_or_full(full: set[int], max_page: int) -> Callable[[int], dict[str, Any]]:
    def body(page: int) -> dict[str, Any]:
        items = LINKS[(page - 1) * 5 : page * 5] if page in full else []
        return f.list_body(items, total_count=5 * max_page, max_page=max_page)

    return body


async def test_three_empty_pages_before_max_page_end_the_walk_with_the_exact_error(
    polar: Polar, api: aioresponses
) -> None:
    requested = answer_pages(api, empty_or_full({1}, max_page=9))
    with pytest.raises(PaginationError) as raised:
        await polar.checkout_links.list(limit=5, concurrency=1).collect()
    assert str(raised.value) == (
        f"GET {LIST}: page 4 came back empty although it reports max_page 9, 3 such pages "
        "in a row; a real list is empty only past max_page. The walk stopped after "
        "reading 4 pages."
    )
    assert (raised.value.page, raised.value.url, raised.value.method) == (4, LIST, "GET")
    assert requested == [1, 2, 3, 4]


async def test_empty_pages_broken_up_by_full_ones_do_not_end_the_walk(
    polar: Polar, api: aioresponses
) -> None:
    # Two empty pages, a full one, two empty pages, a full one...: never three in a row.
    answer_pages(api, empty_or_full({1, 4, 7, 10}, max_page=10))
    links = await polar.checkout_links.list(limit=5, concurrency=1).collect()
    assert [link.id for link in links] == [
        link["id"] for p in (1, 4, 7, 10) for link in LINKS[(p - 1) * 5 : p * 5]
    ]


async def test_empty_pages_that_reach_max_page_end_the_walk_quietly(
    polar: Polar, api: aioresponses
) -> None:
    # Pages 2, 3 and 4 are empty, but page 4 is the last one: the walk just ends.
    requested = answer_pages(api, empty_or_full({1}, max_page=4))
    links = await polar.checkout_links.list(limit=5, concurrency=1).collect()
    assert [link.id for link in links] == [link["id"] for link in LINKS[:5]]
    assert requested == [1, 2, 3, 4]


async def test_the_same_links_page_after_page_end_the_walk_with_the_exact_error(
    polar: Polar, api: aioresponses
) -> None:
    same = f.list_body(LINKS[:5], total_count=500, max_page=100)
    answer_pages(api, lambda page: same)
    with pytest.raises(PaginationError) as raised:
        await polar.checkout_links.list(limit=5, concurrency=1).collect()
    assert str(raised.value) == (
        f"GET {LIST}: pages 2 to 12 brought no link the walk had not already yielded "
        "(11 pages in a row, max_page 100); the server seems to answer the same links "
        "whatever the page number. The walk stopped after reading 12 pages."
    )
    assert (raised.value.page, raised.value.url) == (12, LIST)


async def test_a_paginator_without_url_names_the_list_in_its_errors() -> None:
    async def fetch(number: int) -> Page:
        return Page(items=[], page=number, total_count=-1, max_page=1)

    paginator = CheckoutLinkPaginator(fetch, start_page=1, max_items=None, concurrency=1)
    with pytest.raises(PaginationError) as raised:
        await paginator.collect()
    assert str(raised.value).startswith(
        "GET the list: page 1 has a pagination no list can have: total_count -1 is "
        "negative. The walk stopped after reading "
    )
    assert raised.value.url == ""


def report(**changes: Any) -> WalkReport:
    fields: dict[str, Any] = {
        "pages": 3,
        "links": 25,
        "repeats": 0,
        "skipped": 0,
        "first_total_count": 25,
        "last_total_count": 25,
        "shrank": False,
        "tied_boundaries": (),
        "complete": True,
        "unseen": 0,
    }
    fields.update(changes)
    return WalkReport(**fields)


def test_a_report_without_signs_gives_no_reason() -> None:
    assert report().reasons() == []
    assert not report().may_have_missed


def test_every_reason_in_its_words() -> None:
    shrank = report(shrank=True, first_total_count=30, last_total_count=25)
    assert shrank.reasons() == ["the list shrank during the walk (total_count 30 then 25)"]
    ties = report(tied_boundaries=(2, 5))
    assert ties.reasons() == ["links with equal sort values crossed the end of page 2, 5"]
    unseen = report(unseen=4)
    assert unseen.reasons() == ["4 links counted by total_count were never received"]
    everything = report(
        shrank=True, first_total_count=30, last_total_count=25, tied_boundaries=(2,), unseen=1
    )
    assert everything.reasons() == [
        "the list shrank during the walk (total_count 30 then 25)",
        "links with equal sort values crossed the end of page 2",
        "1 links counted by total_count were never received",
    ]
    assert all(r.may_have_missed for r in (shrank, ties, unseen, everything))


@pytest.mark.parametrize(("count", "more"), [(10, ""), (11, " and 1 more"), (13, " and 3 more")])
def test_tied_boundaries_name_at_most_ten_pages(count: int, more: str) -> None:
    pages = tuple(range(1, count + 1))
    assert report(tied_boundaries=pages).reasons() == [
        "links with equal sort values crossed the end of page 1, 2, 3, 4, 5, 6, 7, 8, 9, 10" + more
    ]


@pytest.mark.parametrize(
    ("total", "max_page", "why"),
    [
        (5, -1, "max_page -1 is negative"),
        (0, -1, "max_page -1 is negative"),
        (-2, 1, "total_count -2 is negative"),
        (25, 2, "max_page 2 is less than ceil(total_count 25 / limit 10) = 3"),
    ],
)
async def test_a_pagination_no_list_can_have_is_named_exactly(
    polar: Polar, api: aioresponses, total: int, max_page: int, why: str
) -> None:
    answer_pages(api, lambda page: f.list_body(LINKS[:10], total_count=total, max_page=max_page))
    with pytest.raises(PaginationError) as raised:
        await polar.checkout_links.list(limit=10).collect()
    assert str(raised.value).startswith(
        f"GET {LIST}: page 1 has a pagination no list can have: {why}. The walk stopped"
    )


@pytest.mark.parametrize(("max_items", "complete"), [(25, True), (24, False), (20, False)])
async def test_a_walk_cut_by_max_items_is_complete_only_when_it_ends_on_the_last_link(
    polar: Polar, api: aioresponses, max_items: int, complete: bool
) -> None:
    answer_pages(
        api,
        lambda page: f.list_body(
            LINKS[(page - 1) * 10 : min(page * 10, 25)], total_count=25, max_page=3
        ),
    )
    paginator = polar.checkout_links.list(limit=10, max_items=max_items, concurrency=1)
    assert len(await paginator.collect()) == max_items
    assert paginator.report is not None
    assert paginator.report.complete is complete


async def test_the_report_counts_the_skipped_items_of_every_page(
    polar: Polar, api: aioresponses
) -> None:
    def body(page: int) -> dict[str, Any]:
        broken = f.link()
        del broken["created_at"]  # cannot be decoded: skipped, with its raw JSON
        kept = LINKS[(page - 1) * 2 : (page - 1) * 2 + 1]
        return f.list_body([*kept, broken], total_count=6, max_page=3)

    answer_pages(api, body)
    paginator = polar.checkout_links.list(limit=2, concurrency=1)
    links = await paginator.collect()
    assert [link.id for link in links] == [LINKS[0]["id"], LINKS[2]["id"], LINKS[4]["id"]]
    assert paginator.report is not None
    assert paginator.report.skipped == 3
    assert paginator.report.unseen == 0  # 6 counted: 3 yielded + 3 skipped


def test_iterating_a_paginator_without_async_says_how_to() -> None:
    paginator = CheckoutLinkPaginator(_never, start_page=1, max_items=None, concurrency=1)
    with pytest.raises(TypeError) as raised:
        iter(paginator)
    assert str(raised.value) == (
        "polar.checkout_links.list(...) is iterated with `async for link in ...` inside "
        "an async function; from synchronous code, use the synchronous client SyncPolar, "
        "whose list(...) works with `for`"
    )


async def _never(number: int) -> Page:
    raise AssertionError("no page may be requested")


async def test_the_report_counts_every_repeated_link(polar: Polar, api: aioresponses) -> None:
    # Two links created during the walk push the last two of page 1 onto page 2.
    pages = {1: LINKS[0:5], 2: [*LINKS[3:5], *LINKS[5:8]]}
    answer_pages(api, lambda page: f.list_body(pages[page], total_count=10, max_page=2))
    paginator = polar.checkout_links.list(limit=5, concurrency=1)
    links = await paginator.collect()
    assert [link.id for link in links] == [link["id"] for link in LINKS[0:8]]
    assert paginator.report is not None
    assert paginator.report.repeats == 2
