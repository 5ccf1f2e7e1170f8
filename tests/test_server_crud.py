"""Test server, create / read / update / delete, and their 422 answers."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from polar_links.testing import CHECKOUT_URL_BASE, PolarTestServer

LIST = "/v1/checkout-links/"


@pytest.fixture
def org(polar_server: PolarTestServer) -> str:
    return polar_server.store.catalogue.organizations[0]


@pytest.fixture
def products(polar_server: PolarTestServer, org: str) -> list[dict[str, Any]]:
    return polar_server.store.catalogue.products_of(org)


async def call(
    http: aiohttp.ClientSession, method: str, path: str, body: Any = None, status: int = 200
) -> Any:
    async with http.request(method, path, json=body) as response:
        assert response.status == status, await response.text()
        return await response.json() if response.status != 204 else await response.read()


async def create(http: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await call(http, "POST", LIST, body, 201)
    return result


def errors(body: dict[str, Any]) -> list[tuple[list[Any], str]]:
    return [(e["loc"], e["type"]) for e in body["detail"]]


# ---------------------------------------------------------------- create


async def test_create_with_products_list_then_get_sees_it(
    http: aiohttp.ClientSession, products: list[dict[str, Any]], org: str
) -> None:
    ids = [products[0]["id"], products[2]["id"]]
    link = await create(
        http, {"payment_processor": "stripe", "products": ids, "label": "Launch", "seats": 3}
    )
    assert [p["id"] for p in link["products"]] == ids
    assert link["organization_id"] == org
    assert link["label"] == "Launch"
    assert link["seats"] == 3
    assert link["url"] == CHECKOUT_URL_BASE + link["client_secret"]
    assert uuid.UUID(link["id"]).version == 4
    assert await call(http, "GET", LIST + link["id"]) == link


async def test_create_applies_api_defaults(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    assert link["allow_discount_codes"] is True
    assert link["require_billing_address"] is False
    assert link["metadata"] == {}
    for name in ("label", "success_url", "return_url", "discount_id", "discount", "seats"):
        assert link[name] is None, name
    assert link["modified_at"] is None
    assert link["created_at"].endswith("Z")


async def test_create_with_product_id_uses_that_product(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    link = await create(http, {"payment_processor": "stripe", "product_id": products[1]["id"]})
    assert [p["id"] for p in link["products"]] == [products[1]["id"]]
    assert (await call(http, "GET", LIST + link["id"]))["id"] == link["id"]


async def test_create_with_product_price_id_uses_the_price_product(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    price = products[3]["prices"][0]
    link = await create(http, {"payment_processor": "stripe", "product_price_id": price["id"]})
    assert [p["id"] for p in link["products"]] == [products[3]["id"]]


async def test_created_link_is_newest_in_the_list(
    http: aiohttp.ClientSession, products: list[dict[str, Any]], polar_server: PolarTestServer
) -> None:
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    body = await call(http, "GET", LIST, None)
    assert body["pagination"]["total_count"] == 251
    newest = await call(http, "GET", LIST + "?sorting=-created_at&limit=1")
    assert newest["items"][0]["id"] == link["id"]
    assert polar_server.store.get(link["id"]) is not None


async def test_create_keeps_checkout_id_placeholder_and_metadata_and_discount(
    http: aiohttp.ClientSession, products: list[dict[str, Any]], polar_server: PolarTestServer
) -> None:
    discount = polar_server.store.catalogue.discounts_of(products[0]["organization_id"])[2]
    link = await create(
        http,
        {
            "payment_processor": "stripe",
            "products": [products[0]["id"]],
            "success_url": "https://example.com/ok?checkout={CHECKOUT_ID}",
            "metadata": {"a": "b", "n": 3, "f": 1.5, "flag": False},
            "discount_id": discount["id"],
            "trial_interval": "month",
            "trial_interval_count": 2,
            "units": 5,
        },
    )
    assert link["success_url"] == "https://example.com/ok?checkout={CHECKOUT_ID}"
    assert link["metadata"] == {"a": "b", "n": 3, "f": 1.5, "flag": False}
    assert link["discount_id"] == discount["id"]
    assert link["discount"] == discount
    assert (link["trial_interval"], link["trial_interval_count"], link["units"]) == ("month", 2, 5)


def _big_metadata() -> dict[str, int]:
    return {f"k{i}": i for i in range(51)}


DROP = object()  # a key whose value is DROP is left out of the body


CREATE_ERRORS = [
    pytest.param(
        {"payment_processor": DROP},
        ["body", "payment_processor"],
        "missing",
        id="no-payment-processor",
    ),
    pytest.param(
        {"payment_processor": "paypal"}, ["body", "payment_processor"], "literal_error", id="paypal"
    ),
    pytest.param({"seats": 0}, ["body", "seats"], "greater_than_equal", id="seats-0"),
    pytest.param({"seats": 10_001}, ["body", "seats"], "less_than_equal", id="seats-10001"),
    pytest.param({"seats": "many"}, ["body", "seats"], "int_parsing", id="seats-text"),
    pytest.param({"units": 0}, ["body", "units"], "greater_than_equal", id="units-0"),
    pytest.param(
        {"trial_interval": "decade"}, ["body", "trial_interval"], "enum", id="trial-interval"
    ),
    pytest.param(
        {"trial_interval_count": 0},
        ["body", "trial_interval_count"],
        "greater_than_equal",
        id="trial-count-0",
    ),
    pytest.param(
        {"trial_interval_count": 1001},
        ["body", "trial_interval_count"],
        "less_than_equal",
        id="trial-count-1001",
    ),
    pytest.param(
        {"success_url": "ftp://example.com/x"}, ["body", "success_url"], "url_scheme", id="ftp-url"
    ),
    pytest.param(
        {"return_url": "/thanks"}, ["body", "return_url"], "url_parsing", id="relative-url"
    ),
    pytest.param(
        {"success_url": "https://e.com/" + "a" * 2083},
        ["body", "success_url"],
        "url_too_long",
        id="long-url",
    ),
    pytest.param({"label": 5}, ["body", "label"], "string_type", id="label-number"),
    pytest.param(
        {"allow_discount_codes": "maybe"},
        ["body", "allow_discount_codes"],
        "bool_parsing",
        id="flag-text",
    ),
    pytest.param({"metadata": []}, ["body", "metadata"], "dict_type", id="metadata-list"),
    pytest.param(
        {"metadata": _big_metadata()}, ["body", "metadata"], "too_long", id="metadata-51-keys"
    ),
    pytest.param(
        {"metadata": {"k" * 41: 1}},
        ["body", "metadata", "k" * 41, "[key]"],
        "string_too_long",
        id="metadata-long-key",
    ),
    pytest.param(
        {"metadata": {"k": ""}},
        ["body", "metadata", "k", "str"],
        "string_too_short",
        id="metadata-empty-value",
    ),
    pytest.param(
        {"metadata": {"k": "v" * 501}},
        ["body", "metadata", "k", "str"],
        "string_too_long",
        id="metadata-long-value",
    ),
    pytest.param(
        {"metadata": {"k": None}},
        ["body", "metadata", "k", "str"],
        "string_type",
        id="metadata-null-value",
    ),
    pytest.param(
        {"discount_id": "nope"}, ["body", "discount_id"], "uuid_parsing", id="discount-bad-uuid"
    ),
    pytest.param(
        {"discount_id": str(uuid.uuid4())},
        ["body", "discount_id"],
        "value_error",
        id="discount-unknown",
    ),
]


@pytest.mark.parametrize(("extra", "loc", "type_"), CREATE_ERRORS)
async def test_create_validation_errors(
    http: aiohttp.ClientSession,
    products: list[dict[str, Any]],
    extra: dict[str, Any],
    loc: list[Any],
    type_: str,
) -> None:
    body = {"payment_processor": "stripe", "products": [products[0]["id"]], **extra}
    body = {k: v for k, v in body.items() if v is not DROP}
    answer = await call(http, "POST", LIST, body, 422)
    assert (loc, type_) in errors(answer), answer


PRODUCT_ERRORS = [
    pytest.param({}, ["body", "products"], "missing", id="no-shape"),
    pytest.param({"products": []}, ["body", "products"], "too_short", id="empty-products"),
    pytest.param({"products": "abc"}, ["body", "products"], "list_type", id="products-not-list"),
    pytest.param(
        {"products": ["nope"]}, ["body", "products", 0], "uuid_parsing", id="products-bad-uuid"
    ),
    pytest.param(
        {"products": [str(uuid.uuid4())]},
        ["body", "products", 0],
        "value_error",
        id="unknown-product",
    ),
    pytest.param(
        {"product_id": str(uuid.uuid4())},
        ["body", "product_id"],
        "value_error",
        id="unknown-product-id",
    ),
    pytest.param(
        {"product_price_id": str(uuid.uuid4())},
        ["body", "product_price_id"],
        "value_error",
        id="unknown-price-id",
    ),
]


@pytest.mark.parametrize(("shape", "loc", "type_"), PRODUCT_ERRORS)
async def test_create_product_reference_errors(
    http: aiohttp.ClientSession, shape: dict[str, Any], loc: list[Any], type_: str
) -> None:
    answer = await call(http, "POST", LIST, {"payment_processor": "stripe", **shape}, 422)
    assert (loc, type_) in errors(answer), answer


@pytest.mark.parametrize(
    ("name", "message"),
    [("Workshop recording", "Product is archived."), ("does not exist", "Product does not exist.")],
)
async def test_unusable_products_get_polar_request_validation_error(
    http: aiohttp.ClientSession, products: list[dict[str, Any]], name: str, message: str
) -> None:
    chosen = next((p["id"] for p in products if p["name"] == name), str(uuid.uuid4()))
    body = {"payment_processor": "stripe", "products": [chosen]}
    answer = await call(http, "POST", LIST, body, 422)
    assert answer == {
        "error": "PolarRequestValidationError",
        "detail": [
            {"type": "value_error", "loc": ["body", "products", 0], "msg": message, "input": chosen}
        ],
    }


async def test_a_draft_product_is_rejected(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, products: list[dict[str, Any]]
) -> None:
    draft = {**products[0], "id": str(uuid.uuid4()), "visibility": "draft"}
    polar_server.store.catalogue.products[draft["id"]] = draft
    body = {"payment_processor": "stripe", "products": [draft["id"]]}
    answer = await call(http, "POST", LIST, body, 422)
    assert answer["error"] == "PolarRequestValidationError"
    assert [e["msg"] for e in answer["detail"]] == ["Product is a draft."]


async def test_schema_errors_come_first_and_hide_unusable_products(
    http: aiohttp.ClientSession,
) -> None:
    # The real server checks products against its data only once the body fits the schema.
    body = {"payment_processor": "paypal", "products": [str(uuid.uuid4())]}
    answer = await call(http, "POST", LIST, body, 422)
    assert answer["error"] == "RequestValidationError"
    assert errors(answer) == [(["body", "payment_processor"], "literal_error")]


async def test_create_with_two_shapes_is_rejected(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    pid = products[0]["id"]
    body = {"payment_processor": "stripe", "products": [pid], "product_id": pid}
    answer = await call(http, "POST", LIST, body, 422)
    assert errors(answer) == [(["body"], "value_error")]


async def test_create_with_products_of_two_organizations_is_rejected(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    catalogue = polar_server.store.catalogue
    ids = [catalogue.products_of(org)[0]["id"] for org in catalogue.organizations[:2]]
    answer = await call(http, "POST", LIST, {"payment_processor": "stripe", "products": ids}, 422)
    assert errors(answer) == [(["body", "products"], "value_error")]


@pytest.mark.parametrize(
    ("raw", "type_"),
    [(b'{"payment_processor": "stripe",', "json_invalid"), (b"", "missing"), (b"[1]", None)],
)
async def test_malformed_or_missing_body_gets_422(
    http: aiohttp.ClientSession, raw: bytes, type_: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(LIST, data=raw, headers=headers) as response:
        assert response.status == 422
        [entry] = (await response.json())["detail"]
    assert entry["type"] == (type_ or "model_attributes_type")
    assert entry["loc"][0] == "body"


# ---------------------------------------------------------------- update


async def test_update_null_clears_and_omitted_fields_stay(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    link = await create(
        http,
        {
            "payment_processor": "stripe",
            "products": [products[0]["id"]],
            "label": "Before",
            "success_url": "https://example.com/ok",
            "seats": 4,
            "metadata": {"keep": "me"},
        },
    )
    updated = await call(http, "PATCH", LIST + link["id"], {"label": None, "seats": 7})
    assert updated["label"] is None
    assert updated["seats"] == 7
    assert updated["success_url"] == "https://example.com/ok"
    assert updated["metadata"] == {"keep": "me"}
    assert updated["modified_at"] is not None
    assert await call(http, "GET", LIST + link["id"]) == updated


async def test_update_null_clears_label_and_success_url(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    body = {"payment_processor": "stripe", "products": [products[0]["id"]]}
    link = await create(http, {**body, "label": "L", "success_url": "https://example.com/ok"})
    updated = await call(http, "PATCH", LIST + link["id"], {"label": None, "success_url": None})
    assert (updated["label"], updated["success_url"]) == (None, None)
    assert updated["modified_at"] is not None


@pytest.mark.parametrize("body", [{}, {"nonexistent_field": 1}], ids=["empty", "unknown-field"])
async def test_update_that_changes_nothing_leaves_modified_at(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, body: dict[str, Any]
) -> None:
    link_id = polar_server.store.all_links()[3]["id"]
    before = await call(http, "GET", LIST + link_id)
    modified = await call(http, "PATCH", LIST + link_id, {"label": "Renamed"})
    assert modified["modified_at"] != before["modified_at"]
    assert await call(http, "PATCH", LIST + link_id, body) == modified
    same_value = await call(http, "PATCH", LIST + link_id, {"label": "Renamed"})
    assert same_value["modified_at"] == modified["modified_at"]


async def test_update_of_products_only_leaves_modified_at(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    # Products live in another table: the link's own row, and its modified_at, stay.
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    updated = await call(http, "PATCH", LIST + link["id"], {"products": [products[1]["id"]]})
    assert [p["id"] for p in updated["products"]] == [products[1]["id"]]
    assert updated["modified_at"] is None


async def test_links_carry_the_deprecated_product_fields(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    # The schema hides them; the real server still sends the first product and its price.
    ids = [products[2]["id"], products[0]["id"]]
    link = await create(http, {"payment_processor": "stripe", "products": ids})
    first = products[2]
    assert link["product_id"] == first["id"]
    assert link["product"] == first
    assert link["product_price"] == first["prices"][0]
    assert link["product_price_id"] == first["prices"][0]["id"]
    listed = await call(http, "GET", LIST + "?sorting=-created_at&limit=1")
    assert listed["items"] == [link]


async def test_update_products_replaces_the_list(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    new_ids = [products[4]["id"], products[5]["id"]]
    updated = await call(http, "PATCH", LIST + link["id"], {"products": new_ids})
    assert [p["id"] for p in updated["products"]] == new_ids


async def test_update_discount_id_sets_and_clears_the_discount(
    http: aiohttp.ClientSession, products: list[dict[str, Any]], polar_server: PolarTestServer
) -> None:
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    discount = polar_server.store.catalogue.discounts_of(link["organization_id"])[0]
    with_discount = await call(http, "PATCH", LIST + link["id"], {"discount_id": discount["id"]})
    assert with_discount["discount"] == discount
    cleared = await call(http, "PATCH", LIST + link["id"], {"discount_id": None})
    assert cleared["discount"] is None
    assert cleared["discount_id"] is None


async def test_update_null_on_non_nullable_flag_leaves_it(
    http: aiohttp.ClientSession, products: list[dict[str, Any]]
) -> None:
    link = await create(http, {"payment_processor": "stripe", "products": [products[0]["id"]]})
    updated = await call(http, "PATCH", LIST + link["id"], {"allow_discount_codes": None})
    assert updated["allow_discount_codes"] is True


UPDATE_ERRORS = [
    pytest.param({"seats": -1}, ["body", "seats"], "greater_than_equal", id="seats-negative"),
    pytest.param({"products": []}, ["body", "products"], "too_short", id="empty-products"),
    pytest.param(
        {"products": [str(uuid.uuid4())]},
        ["body", "products", 0],
        "value_error",
        id="unknown-product",
    ),
    pytest.param({"metadata": None}, ["body", "metadata"], "dict_type", id="metadata-null"),
    pytest.param(
        {"success_url": "mailto:a@b.c"}, ["body", "success_url"], "url_scheme", id="bad-url"
    ),
    pytest.param(
        {"trial_interval": "hour"}, ["body", "trial_interval"], "enum", id="trial-interval"
    ),
]


@pytest.mark.parametrize(("body", "loc", "type_"), UPDATE_ERRORS)
async def test_update_validation_errors(
    http: aiohttp.ClientSession,
    polar_server: PolarTestServer,
    body: dict[str, Any],
    loc: list[Any],
    type_: str,
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    before = polar_server.store.get(link_id)
    answer = await call(http, "PATCH", LIST + link_id, body, 422)
    assert (loc, type_) in errors(answer), answer
    assert polar_server.store.get(link_id) == before


async def test_update_with_another_organizations_product_is_rejected(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    catalogue = polar_server.store.catalogue
    link = next(
        ln
        for ln in polar_server.store.all_links()
        if ln["organization_id"] == catalogue.organizations[0]
    )
    foreign = catalogue.products_of(catalogue.organizations[1])[0]["id"]
    answer = await call(http, "PATCH", LIST + link["id"], {"products": [foreign]}, 422)
    assert errors(answer) == [(["body", "products"], "value_error")]


# ---------------------------------------------------------------- delete


async def test_delete_answers_204_without_body_then_404(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    link_id = polar_server.store.all_links()[10]["id"]
    async with http.delete(LIST + link_id) as response:
        assert response.status == 204
        assert await response.read() == b""
        # No body, yet labelled JSON, as the real server does.
        assert response.headers["Content-Type"] == "application/json"
    await call(http, "GET", LIST + link_id, status=404)
    await call(http, "DELETE", LIST + link_id, status=404)
    total = (await call(http, "GET", LIST))["pagination"]["total_count"]
    assert total == 249
    assert link_id not in polar_server.store.expected_order()


async def test_store_add_is_served(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    added = polar_server.store.add(label="Added by a test", created_at="2020-01-01T00:00:00Z")
    first = await call(http, "GET", LIST + "?limit=1")
    assert first["items"][0]["id"] == added["id"]
    assert first["items"][0]["label"] == "Added by a test"
