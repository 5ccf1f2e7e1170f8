"""Test server, list endpoint: pagination, clamping, filters, sorting, 422 bodies."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import aiohttp
import pytest

from polar_links.testing import PolarTestServer
from polar_links.testing._store import parse_timestamp

LIST = "/v1/checkout-links/"
SORT_VALUES = [
    "created_at",
    "-created_at",
    "label",
    "-label",
    "success_url",
    "-success_url",
    "allow_discount_codes",
    "-allow_discount_codes",
]


async def get_json(
    http: aiohttp.ClientSession, params: Any = None, status: int = 200
) -> dict[str, Any]:
    async with http.get(LIST, params=params) as response:
        assert response.status == status, await response.text()
        body: dict[str, Any] = await response.json()
        return body


async def walk(http: aiohttp.ClientSession, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every item of every page, with limit 100."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = await get_json(http, [*params, ("limit", "100"), ("page", str(page))])
        items.extend(body["items"])
        if page >= body["pagination"]["max_page"]:
            return items
        page += 1


def compare(a: dict[str, Any], b: dict[str, Any], sorting: list[str]) -> int:
    """-1/0/1 ordering of two links by the documented rule, written out pair by pair."""
    for criterion in sorting:
        descending = criterion.startswith("-")
        name = criterion.lstrip("-")
        va, vb = a[name], b[name]
        if name == "created_at":
            va, vb = parse_timestamp(va), parse_timestamp(vb)
        if va == vb:
            continue
        if va is None:  # ascending: nulls last; descending: nulls first
            return -1 if descending else 1
        if vb is None:
            return 1 if descending else -1
        result = -1 if va < vb else 1
        return -result if descending else result
    return -1 if a["id"] < b["id"] else 1


def assert_ordered(items: list[dict[str, Any]], sorting: list[str]) -> None:
    for a, b in itertools.pairwise(items):
        assert compare(a, b, sorting) < 0, (a["id"], b["id"], sorting)


async def test_limit_150_is_clamped_to_100_items_and_max_page_uses_100(
    http: aiohttp.ClientSession,
) -> None:
    body = await get_json(http, {"limit": "150"})
    assert len(body["items"]) == 100
    assert body["pagination"] == {"total_count": 250, "max_page": 3}


async def test_defaults_are_page_1_and_limit_10(http: aiohttp.ClientSession) -> None:
    body = await get_json(http)
    assert len(body["items"]) == 10
    assert body["pagination"] == {"total_count": 250, "max_page": 25}


async def test_last_page_is_partial_and_pages_beyond_are_empty(http: aiohttp.ClientSession) -> None:
    last = await get_json(http, {"limit": "100", "page": "3"})
    beyond = await get_json(http, {"limit": "100", "page": "4"})
    assert len(last["items"]) == 50
    assert beyond["items"] == []
    assert beyond["pagination"] == {"total_count": 250, "max_page": 3}


async def test_list_without_trailing_slash_is_the_same_list(http: aiohttp.ClientSession) -> None:
    async with http.get("/v1/checkout-links") as response:
        assert response.status == 200
        assert (await response.json()) == await get_json(http)


async def test_default_order_is_created_at_then_id(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    items = await walk(http, [])
    assert [i["id"] for i in items] == polar_server.store.expected_order(["created_at"])
    assert_ordered(items, ["created_at"])


async def test_empty_filter_result_has_max_page_0(http: aiohttp.ClientSession) -> None:
    body = await get_json(http, {"organization_id": str(uuid.uuid4())})
    assert body == {"items": [], "pagination": {"total_count": 0, "max_page": 0}}


async def test_repeated_organization_ids_match_any_of_them(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    orgs = list(polar_server.store.catalogue.organizations[:2])
    items = await walk(http, [("organization_id", org) for org in orgs])
    everything = polar_server.store.all_links()
    assert {i["organization_id"] for i in items} == set(orgs)
    assert len(items) == sum(1 for link in everything if link["organization_id"] in orgs)
    assert [i["id"] for i in items] == polar_server.store.expected_order(organization_id=orgs)


async def test_repeated_product_ids_match_links_holding_any_of_them(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    products = list(polar_server.store.catalogue.products)[:2]
    items = await walk(http, [("product_id", p) for p in products])
    expected = [
        link["id"]
        for link in polar_server.store.all_links()
        if any(p["id"] in products for p in link["products"])
    ]
    assert sorted(i["id"] for i in items) == sorted(expected)
    assert expected  # the seed gives these products links


async def test_organization_and_product_filters_combine(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    catalogue = polar_server.store.catalogue
    org = catalogue.organizations[0]
    other_org_product = catalogue.products_of(catalogue.organizations[1])[0]["id"]
    body = await get_json(http, {"organization_id": org, "product_id": other_org_product})
    assert body["pagination"]["total_count"] == 0


@pytest.mark.parametrize("criterion", SORT_VALUES)
async def test_each_sorting_criterion_orders_every_page(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, criterion: str
) -> None:
    items = await walk(http, [("sorting", criterion)])
    assert len(items) == 250
    assert_ordered(items, [criterion])
    assert [i["id"] for i in items] == polar_server.store.expected_order([criterion])


@pytest.mark.parametrize(
    "sorting",
    [
        ["-allow_discount_codes", "label"],
        ["label", "-success_url", "-created_at"],
        ["success_url", "allow_discount_codes"],
    ],
)
async def test_multiple_criteria_apply_in_order(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, sorting: list[str]
) -> None:
    items = await walk(http, [("sorting", s) for s in sorting])
    assert_ordered(items, sorting)
    assert [i["id"] for i in items] == polar_server.store.expected_order(sorting)


async def test_nulls_sort_last_ascending_and_first_descending(
    http: aiohttp.ClientSession,
) -> None:
    ascending = [i["label"] for i in await walk(http, [("sorting", "label")])]
    descending = [i["label"] for i in await walk(http, [("sorting", "-label")])]
    nulls = ascending.count(None)
    assert nulls > 0
    assert ascending[-nulls:] == [None] * nulls
    assert descending[:nulls] == [None] * nulls


async def test_equal_created_at_values_break_ties_by_id(http: aiohttp.ClientSession) -> None:
    items = await walk(http, [])
    ties = [(a, b) for a, b in itertools.pairwise(items) if a["created_at"] == b["created_at"]]
    assert ties, "the seeded data should contain created_at collisions"
    assert all(a["id"] < b["id"] for a, b in ties)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"page": "0"},
            {
                "type": "greater_than",
                "loc": ["query", "page"],
                "msg": "Input should be greater than 0",
                "input": "0",
                "ctx": {"gt": 0},
            },
        ),
        (
            {"limit": "-5"},
            {
                "type": "greater_than",
                "loc": ["query", "limit"],
                "msg": "Input should be greater than 0",
                "input": "-5",
                "ctx": {"gt": 0},
            },
        ),
        (
            {"page": "two"},
            {
                "type": "int_parsing",
                "loc": ["query", "page"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "two",
            },
        ),
        (
            {"limit": "1.5"},
            {
                "type": "int_parsing",
                "loc": ["query", "limit"],
                "msg": "Input should be a valid integer, unable to parse string as an integer",
                "input": "1.5",
            },
        ),
        (
            {"sorting": "name"},
            {
                "type": "enum",
                "loc": ["query", "sorting"],
                "msg": "Invalid sorting criterion.",
                "input": "name",
            },
        ),
    ],
)
async def test_bad_page_limit_or_sorting_gets_fastapi_422(
    http: aiohttp.ClientSession, params: dict[str, str], expected: dict[str, Any]
) -> None:
    body = await get_json(http, params, status=422)
    assert body == {"error": "RequestValidationError", "detail": [expected]}


@pytest.mark.parametrize("name", ["organization_id", "product_id"])
async def test_bad_uuid_filter_gets_uuid_parsing_422(
    http: aiohttp.ClientSession, name: str
) -> None:
    good = str(uuid.uuid4())
    body = await get_json(http, [(name, good), (name, "not-a-uuid")], status=422)
    [entry] = body["detail"]
    assert entry["type"] == "uuid_parsing"
    assert entry["loc"] == ["query", name]
    assert entry["input"] == "not-a-uuid"
    assert entry["msg"].startswith("Input should be a valid UUID")


async def test_uuid_of_another_version_gets_uuid_version_422(http: aiohttp.ClientSession) -> None:
    body = await get_json(http, {"organization_id": str(uuid.uuid1())}, status=422)
    assert body["detail"][0]["type"] == "uuid_version"
    assert body["detail"][0]["loc"] == ["query", "organization_id"]


async def test_every_invalid_parameter_is_reported_at_once(http: aiohttp.ClientSession) -> None:
    body = await get_json(http, {"page": "0", "limit": "x", "sorting": "nope"}, status=422)
    assert [e["loc"] for e in body["detail"]] == [
        ["query", "page"],
        ["query", "limit"],
        ["query", "sorting"],
    ]
