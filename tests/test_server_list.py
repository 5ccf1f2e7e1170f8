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


async def walk(
    http: aiohttp.ClientSession, params: list[tuple[str, str]], limit: int = 100
) -> list[dict[str, Any]]:
    """Every item of every page, pages 1 to max_page, as the server sent them."""
    return [item for page in await pages(http, params, limit) for item in page["items"]]


async def pages(
    http: aiohttp.ClientSession, params: list[tuple[str, str]], limit: int = 100
) -> list[dict[str, Any]]:
    """Every page body, 1 to max_page."""
    bodies: list[dict[str, Any]] = []
    page = 1
    while True:
        body = await get_json(http, [*params, ("limit", str(limit)), ("page", str(page))])
        bodies.append(body)
        if page >= body["pagination"]["max_page"]:
            return bodies
        page += 1


def sort_key(item: dict[str, Any], sorting: list[str]) -> tuple[Any, ...]:
    return tuple(item[c.lstrip("-")] for c in sorting)


def compare(
    a: dict[str, Any], b: dict[str, Any], sorting: list[str], *, ties_by_id: bool = True
) -> int:
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
    if not ties_by_id:
        return 0
    return -1 if a["id"] < b["id"] else 1


def assert_ordered(items: list[dict[str, Any]], sorting: list[str]) -> None:
    for a, b in itertools.pairwise(items):
        assert compare(a, b, sorting) < 0, (a["id"], b["id"], sorting)


def assert_keys_ordered(items: list[dict[str, Any]], sorting: list[str]) -> None:
    """Ordered by the criteria alone: ties may come in any order."""
    for a, b in itertools.pairwise(items):
        assert compare(a, b, sorting, ties_by_id=False) <= 0, (a["id"], b["id"], sorting)


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
    assert {i["id"] for i in items} == set(expected)
    assert expected  # the seed gives these products links


async def test_organization_and_product_filters_combine(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    catalogue = polar_server.store.catalogue
    org = catalogue.organizations[0]
    other_org_product = catalogue.products_of(catalogue.organizations[1])[0]["id"]
    body = await get_json(http, {"organization_id": org, "product_id": other_org_product})
    assert body["pagination"]["total_count"] == 0


@pytest.mark.polar_server(stable_ties=True)
@pytest.mark.parametrize("criterion", SORT_VALUES)
async def test_each_sorting_criterion_orders_every_page_with_stable_ties(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, criterion: str
) -> None:
    items = await walk(http, [("sorting", criterion)])
    assert len(items) == 250
    assert_ordered(items, [criterion])
    assert [i["id"] for i in items] == polar_server.store.expected_order([criterion])


@pytest.mark.polar_server(stable_ties=True)
@pytest.mark.parametrize(
    "sorting",
    [
        ["-allow_discount_codes", "label"],
        ["label", "-success_url", "-created_at"],
        ["success_url", "allow_discount_codes"],
    ],
)
async def test_multiple_criteria_apply_in_order_with_stable_ties(
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


@pytest.mark.polar_server(stable_ties=True, created_at_ties=0.1)
async def test_stable_ties_break_equal_created_at_values_by_id(http: aiohttp.ClientSession) -> None:
    items = await walk(http, [])
    ties = [(a, b) for a, b in itertools.pairwise(items) if a["created_at"] == b["created_at"]]
    assert len(ties) > 10, "created_at_ties=0.1 should give created_at collisions"
    assert all(a["id"] < b["id"] for a, b in ties)
    assert len({i["id"] for i in items}) == 250


# ---------------------------------------------------------------- real-server ordering


@pytest.mark.parametrize("criterion", SORT_VALUES)
async def test_each_criterion_orders_every_page_by_its_values(
    http: aiohttp.ClientSession, criterion: str
) -> None:
    items = await walk(http, [("sorting", criterion)], limit=7)
    assert len(items) == 250
    assert_keys_ordered(items, [criterion])


@pytest.mark.parametrize("criterion", ["label", "-success_url", "allow_discount_codes"])
@pytest.mark.parametrize("limit", [7, 100])
async def test_tied_rows_overlap_and_leave_gaps_across_pages_with_nothing_changed(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, criterion: str, limit: int
) -> None:
    before = polar_server.store.all_links()
    items = await walk(http, [("sorting", criterion)], limit=limit)
    ids = [i["id"] for i in items]
    # Every position holds a link with the right value; which tied link varies per page.
    expected = polar_server.store.expected_order([criterion])
    by_id = {link["id"]: link for link in before}
    assert [sort_key(i, [criterion]) for i in items] == [
        sort_key(by_id[i], [criterion]) for i in expected
    ]
    assert len(ids) == 250
    assert len(set(ids)) < 250  # some links came twice, so others never came
    assert polar_server.store.all_links() == before


async def test_the_tie_order_depends_on_offset_plus_limit_only(
    http: aiohttp.ClientSession,
) -> None:
    params = [("sorting", "allow_discount_codes")]

    async def rows(page: int, limit: int) -> list[dict[str, Any]]:
        body = await get_json(http, [*params, ("limit", str(limit)), ("page", str(page))])
        items: list[dict[str, Any]] = body["items"]
        return items

    top100 = await rows(1, 100)
    assert await rows(1, 100) == top100  # the same request gets the same page
    # Rows 50..99 with the same bound (offset + limit = 100): the same links.
    assert await rows(2, 50) == top100[50:]
    # Rows 60..89 with bound 90: the same values, other tied links.
    other = await rows(3, 30)
    assert [i["allow_discount_codes"] for i in other] == [
        i["allow_discount_codes"] for i in top100[60:90]
    ]
    assert {i["id"] for i in other} != {i["id"] for i in top100[60:90]}


@pytest.mark.parametrize("limit", [7, 100])
async def test_created_at_as_last_criterion_makes_every_walk_exact(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, limit: int
) -> None:
    sorting = ["label", "-allow_discount_codes", "created_at"]
    items = await walk(http, [("sorting", c) for c in sorting], limit=limit)
    assert [i["id"] for i in items] == polar_server.store.expected_order(sorting)


async def test_stable_ties_can_be_switched_on_a_running_server(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.store.stable_ties = True
    items = await walk(http, [("sorting", "label")], limit=7)
    assert [i["id"] for i in items] == polar_server.store.expected_order(["label"])


# ---------------------------------------------------------------- join duplicates


def matching_rows(server: PolarTestServer, products: list[str]) -> dict[str, int]:
    """Link id -> how many of ``products`` it sells (its rows in the server's join)."""
    rows = {}
    for link in server.store.all_links():
        count = sum(1 for p in link["products"] if p["id"] in products)
        if count:
            rows[link["id"]] = count
    return rows


@pytest.mark.parametrize("stable", [False, True])
async def test_several_product_ids_count_rows_and_repeat_links_across_short_pages(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, stable: bool
) -> None:
    polar_server.store.stable_ties = stable
    catalogue = polar_server.store.catalogue
    products = [p["id"] for p in catalogue.products_of(catalogue.organizations[0])]
    rows = matching_rows(polar_server, products)
    assert sum(rows.values()) > len(rows)  # some links sell two or three of them
    bodies = await pages(http, [("product_id", p) for p in products], limit=7)
    total = sum(rows.values())
    assert {b["pagination"]["total_count"] for b in bodies} == {total}
    assert {b["pagination"]["max_page"] for b in bodies} == {-(-total // 7)}
    assert len(bodies) == -(-total // 7)
    ids = [i["id"] for b in bodies for i in b["items"]]
    assert set(ids) == set(rows)  # created_at is unique: each link's rows are adjacent
    assert len(ids) > len(rows)  # a link split across two pages comes on both
    assert any(len(b["items"]) < 7 for b in bodies[:-1])  # unique after the offset
    for body in bodies:
        page_ids = [i["id"] for i in body["items"]]
        assert len(page_ids) == len(set(page_ids))


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
