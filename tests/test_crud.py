"""get, create, update and delete: exact bodies sent, argument checks, path safety."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses

from polar_links import NotFoundError, Polar, UnprocessableEntityError

from . import factories as f
from .conftest import BASE, count_requests, sent

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
P1 = "5b9a4a5e-6f34-4d8a-9f57-0a1cbd2f7e11"
P2 = "6c0b5b6f-7045-4e9b-8068-1b2dce308f22"
COLLECTION = f"{BASE}/v1/checkout-links/"
ITEM = f"{BASE}/v1/checkout-links/{LINK_ID}"


def body_of(api: aioresponses, method: str) -> dict[str, Any]:
    [(_, kwargs)] = sent(api, method)
    assert kwargs["headers"]["Content-Type"] == "application/json"
    return msgspec.json.decode(kwargs["data"])  # type: ignore[no-any-return]


async def test_get_returns_the_link(polar: Polar, api: aioresponses) -> None:
    api.get(ITEM, payload=f.link(id=LINK_ID, label="Black Friday"))
    link = await polar.checkout_links.get(uuid.UUID(LINK_ID))
    assert (link.id, link.label) == (LINK_ID, "Black Friday")


async def test_get_of_an_unknown_id_raises_not_found_with_the_servers_detail(
    polar: Polar, api: aioresponses
) -> None:
    api.get(ITEM, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    with pytest.raises(NotFoundError) as raised:
        await polar.checkout_links.get(LINK_ID)
    assert raised.value.detail == "Not found"


async def test_create_sends_only_the_given_fields_and_stripe(
    polar: Polar, api: aioresponses
) -> None:
    api.post(COLLECTION, status=201, payload=f.link())
    await polar.checkout_links.create(
        products=[P1, uuid.UUID(P2)],
        label="Spring sale",
        success_url="https://shop.example/thanks?checkout_id={CHECKOUT_ID}",
        allow_discount_codes=False,
        metadata={"campaign": "spring", "wave": 2, "ratio": 0.5, "vip": True},
    )
    assert body_of(api, "POST") == {
        "payment_processor": "stripe",
        "products": [P1, P2],
        "label": "Spring sale",
        "allow_discount_codes": False,
        "success_url": "https://shop.example/thanks?checkout_id={CHECKOUT_ID}",
        "metadata": {"campaign": "spring", "wave": 2, "ratio": 0.5, "vip": True},
    }


async def test_create_sends_every_optional_field(polar: Polar, api: aioresponses) -> None:
    api.post(COLLECTION, status=201, payload=f.link())
    discount = str(uuid.uuid4())
    await polar.checkout_links.create(
        products=[P1],
        require_billing_address=True,
        discount_id=discount,
        return_url="https://shop.example/back",
        seats=10,
        units=3,
        trial_interval="week",
        trial_interval_count=2,
    )
    assert body_of(api, "POST") == {
        "payment_processor": "stripe",
        "products": [P1],
        "require_billing_address": True,
        "discount_id": discount,
        "return_url": "https://shop.example/back",
        "seats": 10,
        "units": 3,
        "trial_interval": "week",
        "trial_interval_count": 2,
    }


@pytest.mark.parametrize("shape", ["product_id", "product_price_id"])
async def test_create_supports_the_deprecated_shapes(
    polar: Polar, api: aioresponses, shape: str
) -> None:
    api.post(COLLECTION, status=201, payload=f.link())
    await polar.checkout_links.create(**{shape: P1})  # type: ignore[arg-type]
    assert body_of(api, "POST") == {"payment_processor": "stripe", shape: P1}


async def test_create_returns_the_created_link(polar: Polar, api: aioresponses) -> None:
    created = f.link(label="new")
    api.post(COLLECTION, status=201, payload=created)
    link = await polar.checkout_links.create(products=[P1])
    assert (link.id, link.label) == (created["id"], "new")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "give exactly one of products"),
        ({"products": [P1], "product_id": P1}, ValueError, "got products, product_id"),
        ({"products": []}, ValueError, "products is an empty list"),
        ({"products": P1}, TypeError, "products must be a list of UUIDs"),
        ({"products": ["../admin"]}, ValueError, "products[0] must be a UUID"),
        (
            {"products": [P1], "payment_processor": "paypal"},
            ValueError,
            "payment_processor must be 'stripe'",
        ),
        ({"products": [P1], "seats": 0}, ValueError, "seats must be an int from 1 to 10000, got 0"),
        ({"products": [P1], "seats": 10001}, ValueError, "seats must be an int from 1 to 10000"),
        ({"products": [P1], "units": 0}, ValueError, "units must be an int >= 1, got 0"),
        (
            {"products": [P1], "trial_interval": "fortnight"},
            ValueError,
            "trial_interval must be one of day, week, month, year",
        ),
        (
            {"products": [P1], "trial_interval_count": 1001},
            ValueError,
            "trial_interval_count must be an int from 1 to 1000",
        ),
        (
            {"products": [P1], "success_url": "ftp://x.example"},
            ValueError,
            "success_url must be an absolute http:// or https:// URL",
        ),
        (
            {"products": [P1], "success_url": "/relative"},
            ValueError,
            "success_url must be an absolute",
        ),
        (
            {"products": [P1], "return_url": "https://x.example/" + "a" * 2100},
            ValueError,
            "return_url must be 1 to 2083 characters long",
        ),
        (
            {"products": [P1], "allow_discount_codes": "yes"},
            TypeError,
            "allow_discount_codes must be True or False",
        ),
        ({"products": [P1], "label": 5}, TypeError, "label must be a str"),
        ({"products": [P1], "discount_id": "nope"}, ValueError, "discount_id must be a UUID"),
        (
            {"products": [P1], "metadata": {f"k{i}": i for i in range(51)}},
            ValueError,
            "metadata has 51 keys; at most 50",
        ),
        (
            {"products": [P1], "metadata": {"k" * 41: 1}},
            ValueError,
            "must be 1 to 40 characters long",
        ),
        (
            {"products": [P1], "metadata": {"k": ""}},
            ValueError,
            "metadata['k'] must be 1 to 500 characters long",
        ),
        (
            {"products": [P1], "metadata": {"k": None}},
            TypeError,
            "metadata['k'] must be a str, int, float or bool",
        ),
        ({"products": [P1], "metadata": ["a"]}, TypeError, "metadata must be a dict"),
    ],
)
async def test_bad_create_arguments_are_rejected_before_any_request(
    polar: Polar, api: aioresponses, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        await polar.checkout_links.create(**kwargs)
    assert message in str(raised.value)
    assert count_requests(api) == 0


async def test_update_sends_only_the_given_fields_and_null_for_none(
    polar: Polar, api: aioresponses
) -> None:
    api.patch(ITEM, payload=f.link(id=LINK_ID, label=None))
    link = await polar.checkout_links.update(LINK_ID, label=None, seats=4, success_url=None)
    assert body_of(api, "PATCH") == {"label": None, "seats": 4, "success_url": None}
    assert link.label is None


async def test_update_sets_and_clears_units(polar: Polar, api: aioresponses) -> None:
    api.patch(ITEM, payload=f.link(id=LINK_ID, units=3))
    api.patch(ITEM, payload=f.link(id=LINK_ID, units=None))
    assert (await polar.checkout_links.update(LINK_ID, units=3)).units == 3
    assert (await polar.checkout_links.update(LINK_ID, units=None)).units is None
    assert [msgspec.json.decode(call["data"]) for _, call in sent(api, "PATCH")] == [
        {"units": 3},
        {"units": None},
    ]


async def test_update_with_nothing_sends_an_empty_object(polar: Polar, api: aioresponses) -> None:
    api.patch(ITEM, payload=f.link(id=LINK_ID))
    await polar.checkout_links.update(LINK_ID)
    assert body_of(api, "PATCH") == {}


async def test_update_replaces_products_and_metadata(polar: Polar, api: aioresponses) -> None:
    api.patch(ITEM, payload=f.link(id=LINK_ID))
    await polar.checkout_links.update(LINK_ID, products=[P2], metadata={})
    assert body_of(api, "PATCH") == {"products": [P2], "metadata": {}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"products": None}, "products cannot be None"),
        ({"metadata": None}, "metadata cannot be None"),
        ({"allow_discount_codes": None}, "allow_discount_codes cannot be None"),
        ({"seats": -1}, "seats must be an int from 1 to 10000"),
    ],
)
async def test_bad_update_arguments_are_rejected_before_any_request(
    polar: Polar, api: aioresponses, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
        await polar.checkout_links.update(LINK_ID, **kwargs)
    assert count_requests(api) == 0


async def test_update_422_exposes_the_servers_details(polar: Polar, api: aioresponses) -> None:
    body = {
        "detail": [
            {
                "loc": ["body", "products", 0],
                "msg": "Product does not exist.",
                "type": "value_error",
            }
        ]
    }
    api.patch(ITEM, status=422, payload=body)
    with pytest.raises(UnprocessableEntityError) as raised:
        await polar.checkout_links.update(LINK_ID, products=[P1])
    assert raised.value.errors[0].msg == "Product does not exist."


async def test_delete_returns_none_on_204(polar: Polar, api: aioresponses) -> None:
    api.delete(ITEM, status=204)
    assert await polar.checkout_links.delete(LINK_ID) is None


async def test_delete_accepts_an_empty_204_labelled_json(polar: Polar, api: aioresponses) -> None:
    # What the real server sends: no body, content-type application/json.
    api.delete(ITEM, status=204, body=b"", content_type="application/json")
    assert await polar.checkout_links.delete(LINK_ID) is None
    assert len(sent(api, "DELETE")) == 1


@pytest.mark.parametrize(
    "bad_id",
    [
        "../../v1/organizations",
        f"{LINK_ID}/../x",
        f"{LINK_ID}?expand=all",
        f"{LINK_ID}#frag",
        "%2e%2e%2f",
        f"{LINK_ID} ",
        "",
    ],
)
@pytest.mark.parametrize("operation", ["get", "update", "delete"])
async def test_an_id_that_is_not_a_uuid_never_reaches_the_url(
    polar: Polar, api: aioresponses, bad_id: str, operation: str
) -> None:
    with pytest.raises(ValueError, match="id must be a UUID"):
        await getattr(polar.checkout_links, operation)(bad_id)
    assert count_requests(api) == 0


async def test_ids_are_sent_in_canonical_form(polar: Polar, api: aioresponses) -> None:
    api.delete(ITEM, status=204)
    await polar.checkout_links.delete(LINK_ID.upper())
    [(url, _)] = sent(api, "DELETE")
    assert url == ITEM
