"""Walks that never end (issue 15): a server whose pages cannot come from a real list
stops the walk after a bounded number of requests with a typed error; the real patterns
(join duplicates, a list growing or shrinking during the walk) keep working."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from polar_links import InvalidResponseError, PaginationError, Polar
from polar_links.testing import PolarTestServer, generate_links

from . import factories as f

Answer = Callable[[int, int], dict[str, Any]]
#: Seconds a hostile walk may take before the test calls it endless.
ENDLESS = 20.0


class Hostile:
    """A small aiohttp app answering the list with ``answer(page, limit)``; counts pages."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requested: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        page, limit = int(request.query["page"]), int(request.query["limit"])
        self.requested.append(page)
        return web.json_response(self.answer(page, limit))


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Any]]:
    runners: list[web.AppRunner] = []

    async def start(answer: Answer) -> tuple[Hostile, str]:
        hostile = Hostile(answer)
        app = web.Application()
        app.router.add_get("/v1/checkout-links/", hostile.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return hostile, f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def walk(base_url: str, **kwargs: Any) -> list[str]:
    async with Polar(
        "polar_oat_test", base_url=base_url, allow_insecure_http=True, rate_limit=None
    ) as polar:
        paginator = polar.checkout_links.list(**kwargs)
        return await asyncio.wait_for(asyncio.ensure_future(_ids(paginator)), ENDLESS)


async def _ids(paginator: Any) -> list[str]:
    return [link.id async for link in paginator]


LINKS = [f.link() for _ in range(100)]


def pagination(total_count: int, max_page: int) -> dict[str, int]:
    return {"total_count": total_count, "max_page": max_page}


async def test_endless_empty_pages_stop_with_a_typed_error(serve: Any) -> None:
    hostile, url = await serve(
        lambda page, limit: {"items": [], "pagination": pagination(10**11, 10**9)}
    )
    with pytest.raises(PaginationError) as raised:
        await walk(url, limit=100)
    assert isinstance(raised.value, InvalidResponseError)
    message = str(raised.value)
    assert "page 3 came back empty although it reports max_page 1000000000" in message
    assert "3 such pages in a row" in message
    assert raised.value.page == 3
    assert len(hostile.requested) <= 3 + 8  # the pages judged, and the prefetched ones


async def test_the_same_page_for_every_number_stops_with_a_typed_error(serve: Any) -> None:
    same = f.list_body(LINKS[:10], total_count=10**7, max_page=10**6)
    hostile, url = await serve(lambda page, limit: same)
    with pytest.raises(PaginationError) as raised:
        await walk(url, limit=10)
    message = str(raised.value)
    assert "pages 2 to 12 brought no link the walk had not already yielded" in message
    assert "11 pages in a row" in message
    assert raised.value.page == 12
    assert len(hostile.requested) <= 12 + 8


async def test_a_max_page_that_grows_forever_stops_with_a_typed_error(serve: Any) -> None:
    def growing(page: int, limit: int) -> dict[str, Any]:
        # Each page brings new links and announces one page more.
        items = [f.link() for _ in range(limit)]
        return f.list_body(items, total_count=(page + 1) * limit, max_page=page + 1)

    hostile, url = await serve(growing)
    with pytest.raises(PaginationError) as raised:
        await walk(url, limit=5)
    message = str(raised.value)
    assert "max_page grew from 2 to 103 during the walk" in message
    assert "at most 100 pages past it" in message
    assert len(hostile.requested) <= 102 + 8


@pytest.mark.parametrize(
    ("total_count", "max_page", "why"),
    [
        (-1, 1, "total_count -1 is negative"),
        (5, 9, "max_page 9 is more than total_count 5"),
        (500, 2, "max_page 2 is less than ceil(total_count 500 / limit 100) = 5"),
    ],
)
async def test_a_pagination_no_list_can_have_stops_at_once(
    serve: Any, total_count: int, max_page: int, why: str
) -> None:
    body = f.list_body(LINKS[:3], total_count=total_count, max_page=max_page)
    hostile, url = await serve(lambda page, limit: body)
    with pytest.raises(PaginationError) as raised:
        await walk(url, limit=100)
    assert why in str(raised.value)
    assert hostile.requested[0] == 1
    assert len(hostile.requested) <= 1 + 8


# ---------------------------------------------------------------- real patterns


def one_link_selling_every_product() -> tuple[list[dict[str, Any]], list[str]]:
    """30 links of one organization; the tenth sells all nine of its products."""
    links = generate_links(120, seed=5)
    org = links[0]["organization_id"]
    mine = [link for link in links if link["organization_id"] == org][:30]
    products = {
        p["id"]: p for link in links for p in link["products"] if p["organization_id"] == org
    }
    mine[9]["products"] = list(products.values())
    return mine, list(products)


async def test_pages_of_join_duplicates_only_do_not_stop_the_walk() -> None:
    data, products = one_link_selling_every_product()
    async with (
        PolarTestServer(data=data) as server,
        Polar(server.token, base_url=server.base_url, rate_limit=None) as polar,
    ):
        got = [link.id async for link in polar.checkout_links.list(product_id=products, limit=1)]
    # The link selling nine products fills nine pages in a row: eight bring nothing new.
    assert sorted(got) == sorted(link["id"] for link in data)
    assert len(got) == len(set(got))


async def test_a_list_that_grows_during_the_walk_is_followed_to_its_new_end() -> None:
    async with (
        PolarTestServer(links=250) as server,
        Polar(server.token, base_url=server.base_url, rate_limit=None) as polar,
    ):
        server.faults.create_on_page(1, 150)  # 5 pages become 8
        got = [link.id async for link in polar.checkout_links.list(limit=50)]
        assert got == server.store.expected_order(["created_at"])
    assert len(got) == 400


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_list_that_shrinks_ends_where_a_page_reports_the_new_max_page(
    concurrency: int,
) -> None:
    async with (
        PolarTestServer(links=250) as server,
        Polar(server.token, base_url=server.base_url, rate_limit=None) as polar,
    ):
        server.faults.delete_on_page(1, 120)  # 5 pages of 50 become 3
        paginator = polar.checkout_links.list(limit=50, concurrency=concurrency)
        pages = [page async for page in paginator.pages()]
    assert [(p.page, p.max_page) for p in pages] == [(1, 5), (2, 3), (3, 3)]
    assert paginator.report is not None
    assert paginator.report.shrank
