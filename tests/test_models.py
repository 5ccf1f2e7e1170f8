"""Decoding: every model variant, and every kind of drift the live API shows."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import msgspec
import pytest
from aioresponses import aioresponses

from polar_links import (
    BenefitCustom,
    BenefitDiscord,
    BenefitDownloadables,
    BenefitFeatureFlag,
    BenefitGitHubRepository,
    BenefitLicenseKeys,
    BenefitMeterCredit,
    BenefitSlackSharedChannel,
    CheckoutLink,
    DiscountFixed,
    DiscountPercentage,
    Polar,
    ProductPriceCustom,
    ProductPriceFixed,
    ProductPriceMeteredUnit,
    ProductPriceSeatBased,
    UnknownBenefit,
    UnknownDiscount,
    UnknownProductPrice,
)
from polar_links._decoding import decode_link, decode_list

from . import factories as f
from .conftest import LIST_URL


def one(doc: dict[str, object]) -> CheckoutLink:
    return decode_link(f.to_bytes(doc))


def test_a_full_link_decodes_with_typed_fields_and_utc_datetimes() -> None:
    doc = f.link(units=3, seats=5)
    link = one(doc)
    assert link.id == doc["id"]
    assert link.created_at == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert link.label == "Spring sale"
    assert link.success_url == "https://example.com/ok?checkout_id={CHECKOUT_ID}"
    assert link.url == doc["url"]
    assert (link.seats, link.units) == (5, 3)
    assert link.metadata == {"campaign": "spring"}
    assert link.products[0].name == "Pro plan"
    assert link.products[0].medias[0].size == 2048


@pytest.mark.parametrize(
    ("amount_type", "cls", "field", "value"),
    [
        ("fixed", ProductPriceFixed, "price_amount", 1500),
        ("custom", ProductPriceCustom, "minimum_amount", 500),
        ("metered_unit", ProductPriceMeteredUnit, "unit_amount", "0.25"),
    ],
)
def test_each_price_variant_decodes_to_its_class(
    amount_type: str, cls: type, field: str, value: object
) -> None:
    link = one(f.link(products=[f.product(prices=[f.price(amount_type)])]))
    decoded = link.products[0].prices[0]
    assert type(decoded) is cls
    assert decoded.amount_type == amount_type
    assert getattr(decoded, field) == value


def test_seat_based_price_decodes_its_tiers() -> None:
    link = one(f.link(products=[f.product(prices=[f.price("seat_based")])]))
    decoded = link.products[0].prices[0]
    assert isinstance(decoded, ProductPriceSeatBased)
    assert decoded.seat_tiers is not None
    assert decoded.seat_tiers.tiers[0].price_per_seat == 900


def test_metered_price_decodes_its_meter() -> None:
    link = one(f.link(products=[f.product(prices=[f.price("metered_unit")])]))
    decoded = link.products[0].prices[0]
    assert isinstance(decoded, ProductPriceMeteredUnit)
    assert decoded.meter is not None
    assert decoded.meter.name == "API calls"


@pytest.mark.parametrize(
    ("amount_type", "cls"), [("fixed", ProductPriceFixed), ("custom", ProductPriceCustom)]
)
def test_legacy_recurring_prices_keep_their_legacy_fields(amount_type: str, cls: type) -> None:
    link = one(f.link(products=[f.product(prices=[f.legacy_price(amount_type)])]))
    decoded = link.products[0].prices[0]
    assert type(decoded) is cls
    assert (decoded.legacy, decoded.type, decoded.recurring_interval) == (
        True,
        "recurring",
        "month",
    )


def test_current_prices_are_not_marked_legacy() -> None:
    decoded = one(f.link()).products[0].prices[0]
    assert isinstance(decoded, ProductPriceFixed)
    assert decoded.legacy is False


@pytest.mark.parametrize(
    ("type_", "cls"),
    [
        ("custom", BenefitCustom),
        ("discord", BenefitDiscord),
        ("github_repository", BenefitGitHubRepository),
        ("downloadables", BenefitDownloadables),
        ("license_keys", BenefitLicenseKeys),
        ("meter_credit", BenefitMeterCredit),
        ("feature_flag", BenefitFeatureFlag),
        ("slack_shared_channel", BenefitSlackSharedChannel),
    ],
)
def test_each_benefit_type_decodes_to_its_class(type_: str, cls: type) -> None:
    link = one(f.link(products=[f.product(benefits=[f.benefit(type_)])]))
    decoded = link.products[0].benefits[0]
    assert type(decoded) is cls
    assert decoded.type == type_


def test_meter_credit_benefit_keeps_the_undocumented_properties() -> None:
    props = {"units": 100, "meter_id": f.PRODUCT_ID}
    link = one(f.link(products=[f.product(benefits=[f.benefit("meter_credit", properties=props)])]))
    decoded = link.products[0].benefits[0]
    assert isinstance(decoded, BenefitMeterCredit)
    assert decoded.properties == props


@pytest.mark.parametrize(
    ("type_", "duration", "cls", "months"),
    [
        ("fixed", "once", DiscountFixed, None),
        ("fixed", "repeating", DiscountFixed, 3),
        ("percentage", "forever", DiscountPercentage, None),
        ("percentage", "repeating", DiscountPercentage, 3),
    ],
)
def test_each_discount_variant_decodes(
    type_: str, duration: str, cls: type, months: int | None
) -> None:
    link = one(f.link(discount=f.discount(type_, duration)))
    assert type(link.discount) is cls
    assert link.discount is not None
    assert (link.discount.duration, link.discount.duration_in_months) == (duration, months)


def test_fixed_discount_amounts_are_cents_by_currency() -> None:
    discount = one(f.link(discount=f.discount("fixed"))).discount
    assert isinstance(discount, DiscountFixed)
    assert discount.amounts == {"usd": 500}


# ------------------------------------------------------------------ drift


def test_unknown_extra_fields_are_ignored_on_the_fast_path() -> None:
    doc = f.link(brand_new_field={"x": 1})
    doc["products"][0]["another_new_field"] = [1, 2]
    assert one(doc).id == doc["id"]


def test_enum_value_outside_the_known_set_decodes_as_itself() -> None:
    doc = f.link(trial_interval="fortnight")
    doc["products"][0]["visibility"] = "unlisted"
    link = one(doc)
    assert link.trial_interval == "fortnight"
    assert link.products[0].visibility == "unlisted"


def test_unknown_price_amount_type_becomes_unknown_product_price_with_raw_data() -> None:
    odd = f.price("tiered_volume", tiers=[1, 2])
    link = one(f.link(products=[f.product(prices=[f.price("fixed"), odd])]))
    fixed, unknown = link.products[0].prices
    assert isinstance(fixed, ProductPriceFixed)
    assert isinstance(unknown, UnknownProductPrice)
    assert unknown.amount_type == "tiered_volume"
    assert unknown.id == odd["id"]
    assert unknown.data["tiers"] == [1, 2]


def test_unknown_benefit_type_becomes_unknown_benefit_with_raw_data() -> None:
    odd = f.benefit("telegram_group", chat="abc")
    link = one(f.link(products=[f.product(benefits=[odd, f.benefit("discord")])]))
    unknown, discord = link.products[0].benefits
    assert isinstance(unknown, UnknownBenefit)
    assert unknown.type == "telegram_group"
    assert unknown.data["chat"] == "abc"
    assert unknown.id == odd["id"]
    assert isinstance(discord, BenefitDiscord)


def test_unknown_discount_type_becomes_unknown_discount() -> None:
    link = one(f.link(discount=f.discount("buy_one_get_one")))
    assert isinstance(link.discount, UnknownDiscount)
    assert link.discount.type == "buy_one_get_one"


def test_to_dict_gives_unknown_variants_back_as_the_server_sent_them() -> None:
    odd_price = f.price("tiered_volume", tiers=[1, 2])
    odd_benefit = f.benefit("telegram_group", chat="abc")
    odd_discount = f.discount("buy_one_get_one")
    doc = f.link(
        products=[f.product(prices=[f.price("fixed"), odd_price], benefits=[odd_benefit])],
        discount=odd_discount,
    )
    link = one(doc)
    out = link.to_dict()
    assert out["products"][0]["prices"][1] == odd_price
    assert out["products"][0]["benefits"] == [odd_benefit]
    assert out["discount"] == odd_discount
    assert out["products"][0]["prices"][0]["amount_type"] == "fixed"
    assert out["id"] == doc["id"]
    assert out["created_at"] == link.created_at.isoformat().replace("+00:00", "Z")  # type: ignore[union-attr]
    assert msgspec.json.decode(msgspec.json.encode(out)) == out


def test_to_dict_of_a_link_without_drift_is_the_struct_as_builtins() -> None:
    link = one(f.link(products=[f.product()], discount=f.discount()))
    assert link.to_dict() == msgspec.to_builtins(link)


@pytest.mark.parametrize("field", ["units", "return_url", "label", "seats", "modified_at"])
def test_a_missing_optional_field_decodes_as_none(field: str) -> None:
    doc = f.link()
    del doc[field]
    assert getattr(one(doc), field) is None


@pytest.mark.parametrize("field", ["url", "client_secret", "created_at", "products", "metadata"])
def test_a_missing_required_field_is_an_error_naming_it_never_a_none(field: str) -> None:
    doc = f.link()
    del doc[field]
    with pytest.raises(msgspec.ValidationError, match=f"missing required field `{field}`"):
        one(doc)


def test_a_field_of_the_wrong_type_is_dropped_and_the_rest_kept() -> None:
    link = one(f.link(seats="many", label="kept"))
    assert link.seats is None
    assert link.label == "kept"


def test_a_product_without_a_usable_id_makes_its_link_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = f.link(products=[f.product(id=12345), f.product()])
    kept = f.link()
    body = f.to_bytes(f.list_body([broken, kept], total_count=2, max_page=1))
    with caplog.at_level(logging.WARNING, logger="polar_links"):
        items, _, skipped = decode_list(body)
    assert [i.id for i in items] == [kept["id"]]
    assert [msgspec.json.decode(s.raw) for s in skipped] == [broken]
    assert skipped[0].reason.startswith("`products[0].id`: Expected `str`, got `int`")
    assert f"skipped an undecodable checkout link {broken['id']}" in caplog.text


def test_a_malformed_known_variant_keeps_its_raw_data_as_unknown() -> None:
    bad = f.price("fixed", price_amount="fifteen")
    link = one(f.link(products=[f.product(prices=[bad])]))
    decoded = link.products[0].prices[0]
    assert isinstance(decoded, UnknownProductPrice)
    assert decoded.data["price_amount"] == "fifteen"


def test_one_odd_item_does_not_stop_the_page(caplog: pytest.LogCaptureFixture) -> None:
    good = [f.link() for _ in range(3)]
    odd = f.link(discount=f.discount("mystery"))
    no_id = f.link()
    del no_id["id"]
    body = f.list_body([good[0], odd, good[1], no_id, good[2]], total_count=5, max_page=1)
    with caplog.at_level(logging.WARNING, logger="polar_links"):
        items, pagination, skipped = decode_list(f.to_bytes(body))
    assert [i.id for i in items] == [good[0]["id"], odd["id"], good[1]["id"], good[2]["id"]]
    assert isinstance(items[1].discount, UnknownDiscount)
    assert pagination.total_count == 5
    assert len(skipped) == 1
    assert skipped[0].reason == "missing required field `id`"
    assert msgspec.json.decode(skipped[0].raw)["label"] == "Spring sale"
    assert "skipped an undecodable checkout link" in caplog.text


def test_a_body_that_is_not_a_list_response_raises_a_decode_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_list(b'{"items": []}')


async def test_a_stream_survives_drift_end_to_end(polar: Polar, api: aioresponses) -> None:
    items = [f.link(), f.link(products=[f.product(prices=[f.price("new_kind")])]), f.link()]
    del items[2]["units"]
    api.get(LIST_URL, body=f.to_bytes(f.list_body(items, total_count=3, max_page=1)))
    links = await polar.checkout_links.list().collect()
    assert [link.id for link in links] == [i["id"] for i in items]
    assert isinstance(links[1].products[0].prices[0], UnknownProductPrice)
