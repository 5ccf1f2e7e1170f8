"""get, create, update and delete through the SDK, over real sockets to the bundled
server: what one call changes, the next call sees; the server's own 422s arrive as
typed errors with their details."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from polar_links import (
    NotFoundError,
    PermissionDeniedError,
    Polar,
    UnprocessableEntityError,
)
from polar_links.testing import PolarTestServer

from .conftest import FAST_BACKOFF

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=40, seed=11, read_only_token="polar_oat_read_only") as srv:
        yield srv


@pytest.fixture
async def polar(server: PolarTestServer) -> AsyncIterator[Polar]:
    async with Polar(server.token, base_url=server.base_url, backoff=FAST_BACKOFF) as client:
        yield client


def products_of_one_org(server: PolarTestServer) -> tuple[str, list[dict[str, Any]]]:
    catalogue = server.store.catalogue
    org = catalogue.organizations[0]
    return org, catalogue.products_of(org)


async def test_a_created_link_is_seen_by_get_and_by_list(
    server: PolarTestServer, polar: Polar
) -> None:
    org, products = products_of_one_org(server)
    created = await polar.checkout_links.create(
        products=[products[0]["id"], products[1]["id"]],
        label="Spring sale",
        success_url="https://example.com/thanks?checkout_id={CHECKOUT_ID}",
        metadata={"campaign": "spring", "wave": 2},
    )
    assert [p.id for p in created.products] == [products[0]["id"], products[1]["id"]]
    assert created.label == "Spring sale"
    assert created.success_url == "https://example.com/thanks?checkout_id={CHECKOUT_ID}"
    assert created.metadata == {"campaign": "spring", "wave": 2}
    assert created.allow_discount_codes is True  # the server's default: we sent nothing
    assert created.organization_id == org

    fetched = await polar.checkout_links.get(created.id)
    assert fetched == created
    newest = await polar.checkout_links.list(
        organization_id=org, sorting=["-created_at"], limit=1
    ).first_page()
    assert [link.id for link in newest.items] == [created.id]


async def test_the_deprecated_create_shapes_still_work(
    server: PolarTestServer, polar: Polar
) -> None:
    _, products = products_of_one_org(server)
    by_product = await polar.checkout_links.create(product_id=products[0]["id"])
    price = products[1]["prices"][0]
    by_price = await polar.checkout_links.create(product_price_id=price["id"])
    assert [p.id for p in by_product.products] == [products[0]["id"]]
    assert [p.id for p in by_price.products] == [products[1]["id"]]


async def test_update_changes_only_what_is_given_and_none_clears(
    server: PolarTestServer, polar: Polar
) -> None:
    _, products = products_of_one_org(server)
    link = await polar.checkout_links.create(
        products=[products[0]["id"]], label="Old label", success_url="https://example.com/ok"
    )
    updated = await polar.checkout_links.update(link.id, label=None, allow_discount_codes=False)
    assert updated.label is None
    assert updated.allow_discount_codes is False
    assert updated.success_url == "https://example.com/ok"  # omitted: untouched
    assert (await polar.checkout_links.get(link.id)).label is None
    [patch] = [r for r in server.requests if r.method == "PATCH"]
    assert patch.body == b'{"label":null,"allow_discount_codes":false}'


async def test_update_sets_then_clears_units(server: PolarTestServer, polar: Polar) -> None:
    _, products = products_of_one_org(server)
    link = await polar.checkout_links.create(products=[products[0]["id"]])
    assert (await polar.checkout_links.update(link.id, units=5)).units == 5
    assert (await polar.checkout_links.get(link.id)).units == 5
    assert (await polar.checkout_links.update(link.id, units=None)).units is None


async def test_a_deleted_link_is_gone(server: PolarTestServer, polar: Polar) -> None:
    link_id = server.store.all_links()[0]["id"]
    assert await polar.checkout_links.delete(link_id) is None
    with pytest.raises(NotFoundError) as raised:
        await polar.checkout_links.get(link_id)
    assert raised.value.detail == "Not found"
    ids = [link.id async for link in polar.checkout_links.list()]
    assert link_id not in ids
    assert len(ids) == 39


@pytest.mark.parametrize("call", ["get", "update", "delete"])
async def test_an_unknown_id_is_not_found(polar: Polar, call: str) -> None:
    kwargs = {"label": "x"} if call == "update" else {}
    with pytest.raises(NotFoundError, match="Not found"):
        await getattr(polar.checkout_links, call)(MISSING, **kwargs)


async def test_a_product_that_does_not_exist_is_a_422_with_its_location(polar: Polar) -> None:
    with pytest.raises(UnprocessableEntityError) as raised:
        await polar.checkout_links.create(products=[MISSING])
    [detail] = raised.value.errors
    assert detail.loc == ["body", "products", 0]
    assert detail.msg == "Product does not exist."
    assert "Product does not exist." in str(raised.value)


async def test_products_of_two_organizations_are_a_422(
    server: PolarTestServer, polar: Polar
) -> None:
    catalogue = server.store.catalogue
    first, second = (catalogue.products_of(org)[0]["id"] for org in catalogue.organizations[:2])
    with pytest.raises(UnprocessableEntityError) as raised:
        await polar.checkout_links.create(products=[first, second])
    assert [e.msg for e in raised.value.errors] == [
        "Products must all belong to the same organization."
    ]


async def test_a_discount_that_does_not_exist_is_a_422(
    server: PolarTestServer, polar: Polar
) -> None:
    _, products = products_of_one_org(server)
    with pytest.raises(UnprocessableEntityError) as raised:
        await polar.checkout_links.create(products=[products[0]["id"]], discount_id=MISSING)
    assert [(e.loc, e.msg) for e in raised.value.errors] == [
        (["body", "discount_id"], "Discount does not exist.")
    ]


async def test_a_read_only_token_cannot_create(server: PolarTestServer) -> None:
    _, products = products_of_one_org(server)
    before = len(server.store)
    async with Polar("polar_oat_read_only", base_url=server.base_url) as reader:
        with pytest.raises(PermissionDeniedError, match="checkout_links:write"):
            await reader.checkout_links.create(products=[products[0]["id"]])
    assert len(server.store) == before
