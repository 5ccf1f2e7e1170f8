"""The SDK against the bundled server, over real sockets: walks, filters, sorting, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from polar_links import (
    SORTING_VALUES,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    Polar,
    RateLimitError,
    UnprocessableEntityError,
)
from polar_links.testing import PolarTestServer

from .conftest import FAST_BACKOFF


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=250, seed=7) as srv:
        yield srv


@pytest.fixture
async def polar(server: PolarTestServer) -> AsyncIterator[Polar]:
    async with Polar(server.token, base_url=server.base_url, backoff=FAST_BACKOFF) as client:
        yield client


def as_sent(sorting: list[str]) -> list[str]:
    """The criteria the SDK sends: created_at appended unless already named."""
    return sorting if any("created_at" in c for c in sorting) else [*sorting, "created_at"]


def orgs(server: PolarTestServer) -> list[str]:
    return sorted({link["organization_id"] for link in server.store.all_links()})


@pytest.mark.parametrize("size", [0, 1, 99, 100, 101, 457])
@pytest.mark.parametrize("concurrency", [1, 3, 8])
async def test_a_full_walk_yields_every_link_once_in_server_order(
    size: int, concurrency: int
) -> None:
    async with PolarTestServer(links=size, seed=size) as server:
        async with Polar(server.token, base_url=server.base_url, concurrency=concurrency) as polar:
            got = [link.id async for link in polar.checkout_links.list()]
        assert got == server.store.expected_order(["created_at"])
        pages = [r for r in server.requests if r.path == "/v1/checkout-links/"]
        assert len(pages) == max(1, -(-size // 100))


async def test_a_small_page_size_walks_every_page(polar: Polar, server: PolarTestServer) -> None:
    got = [link.id async for link in polar.checkout_links.list(limit=7)]
    assert got == server.store.expected_order(["created_at"])
    assert len(server.requests) == 36  # ceil(250 / 7)


@pytest.mark.parametrize("criterion", SORTING_VALUES)
async def test_each_sorting_criterion_matches_a_python_sort(
    polar: Polar, server: PolarTestServer, criterion: str
) -> None:
    # The server orders ties differently per page; the created_at the SDK appends makes
    # the order total, so the walk is exactly the store's order with that last key.
    got = [link.id async for link in polar.checkout_links.list(sorting=[criterion], limit=40)]
    assert got == server.store.expected_order(as_sent([criterion]))


@pytest.mark.parametrize(
    "sorting",
    [
        ["-allow_discount_codes", "label"],
        ["label", "-created_at"],
        ["success_url", "-label", "created_at"],
    ],
)
async def test_multi_criteria_sorting_applies_in_order(
    polar: Polar, server: PolarTestServer, sorting: list[str]
) -> None:
    got = [link.id async for link in polar.checkout_links.list(sorting=sorting, limit=33)]
    assert got == server.store.expected_order(as_sent(sorting))


async def test_sorting_reaches_the_server_as_repeated_keys_in_order(
    polar: Polar, server: PolarTestServer
) -> None:
    org_a, org_b = orgs(server)[:2]
    await polar.checkout_links.list(
        organization_id=[org_a, org_b], sorting=["-label", "created_at"], limit=5
    ).first_page()
    assert server.requests[-1].query == [
        ("organization_id", org_a),
        ("organization_id", org_b),
        ("sorting", "-label"),
        ("sorting", "created_at"),
        ("page", "1"),
        ("limit", "5"),
    ]


async def test_organization_filter_one_and_several(polar: Polar, server: PolarTestServer) -> None:
    org_a, org_b = orgs(server)[:2]
    one = [link.id async for link in polar.checkout_links.list(organization_id=org_a)]
    assert one == server.store.expected_order(["created_at"], organization_id=[org_a])
    both = [link.id async for link in polar.checkout_links.list(organization_id=[org_a, org_b])]
    assert both == server.store.expected_order(["created_at"], organization_id=[org_a, org_b])
    assert 0 < len(one) < len(both) < 250


async def test_product_filter_matches_links_with_that_product(
    polar: Polar, server: PolarTestServer
) -> None:
    product = server.store.all_links()[0]["products"][0]["id"]
    got = await polar.checkout_links.list(product_id=product).collect()
    assert [link.id for link in got] == server.store.expected_order(
        ["created_at"], product_id=[product]
    )
    assert got
    assert all(product in {p.id for p in link.products} for link in got)


async def test_a_filter_matching_nothing_yields_nothing_after_one_request(
    polar: Polar, server: PolarTestServer
) -> None:
    page = await polar.checkout_links.list(
        organization_id="00000000-0000-4000-8000-000000000000"
    ).first_page()
    assert (page.items, page.total_count, page.max_page) == ([], 0, 0)
    assert [
        x
        async for x in polar.checkout_links.list(
            organization_id="00000000-0000-4000-8000-000000000000"
        )
    ] == []


async def test_limit_above_the_page_count_walks_pages_and_max_items_stops_early(
    polar: Polar, server: PolarTestServer
) -> None:
    got = await polar.checkout_links.list(limit=100, max_items=150).collect()
    assert [link.id for link in got] == server.store.expected_order(["created_at"])[:150]
    assert [r.query[-2] for r in server.requests] == [("page", "1"), ("page", "2")]


async def test_get_returns_the_same_link_as_the_list(polar: Polar, server: PolarTestServer) -> None:
    first = (await polar.checkout_links.list(limit=1).first_page()).items[0]
    assert await polar.checkout_links.get(first.id) == first


async def test_a_wrong_token_raises_authentication_error(server: PolarTestServer) -> None:
    async with Polar("polar_oat_wrong", base_url=server.base_url) as polar:
        with pytest.raises(AuthenticationError) as raised:
            await polar.checkout_links.list().first_page()
    assert raised.value.status_code == 401
    assert "polar_oat_wrong" not in str(raised.value)


async def test_an_unknown_id_raises_not_found(polar: Polar) -> None:
    with pytest.raises(NotFoundError) as raised:
        await polar.checkout_links.get("00000000-0000-4000-8000-000000000000")
    assert raised.value.body == {"error": "ResourceNotFound", "detail": "Not found"}


async def test_a_known_api_version_is_echoed_and_an_unknown_one_is_not_found(
    server: PolarTestServer,
) -> None:
    async with Polar(server.token, base_url=server.base_url, api_version="2026-10") as polar:
        assert (await polar.checkout_links.list().first_page()).total_count == 250
    assert server.requests[-1].headers["polar-version"] == "2026-10"
    async with Polar(server.token, base_url=server.base_url, api_version="1999-01") as polar:
        with pytest.raises(NotFoundError):
            await polar.checkout_links.list().first_page()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (418, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (504, InternalServerError),
    ],
)
async def test_each_failure_status_from_the_server_raises_its_class(
    server: PolarTestServer, status: int, cls: type
) -> None:
    server.faults.fail_next(1, status)
    async with Polar(server.token, base_url=server.base_url, max_retries=0) as polar:
        with pytest.raises(cls) as raised:
            await polar.checkout_links.list().first_page()
    assert type(raised.value) is cls
    assert raised.value.status_code == status


async def test_an_html_502_from_a_proxy_is_a_typed_error_with_a_snippet(
    server: PolarTestServer,
) -> None:
    server.faults.fail_next(1, 502, html=True)
    async with Polar(server.token, base_url=server.base_url, max_retries=0) as polar:
        with pytest.raises(InternalServerError) as raised:
            await polar.checkout_links.list().first_page()
    assert "502 Bad Gateway" in str(raised.value)
