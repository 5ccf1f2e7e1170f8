"""The tolerant decoder's policy, case by case (unit tests of ``polar_links._decoding``).

A known variant with a bad or missing optional field keeps its class; one whose required
field is bad or missing becomes ``Unknown*`` with its raw data; a link whose required
field is bad or missing is left out and reported in ``skipped`` with its raw bytes; an
unknown variant becomes ``Unknown*``; nothing is dropped for needing many repairs.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

from polar_links import (
    BenefitDiscord,
    CheckoutLink,
    CheckoutLinkProduct,
    DiscountPercentage,
    ProductPriceFixed,
    ProductPriceSeatBased,
    UnknownBenefit,
    UnknownDiscount,
    UnknownProductPrice,
)
from polar_links._decoding import decode_link, decode_list
from polar_links.testing import drift_links, generate_links

from . import factories as f


def page(*links: dict[str, Any]) -> bytes:
    return f.to_bytes(f.list_body(list(links), total_count=len(links), max_page=1))


def decode_page(*links: dict[str, Any]) -> tuple[list[CheckoutLink], list[Any]]:
    items, _, skipped = decode_list(page(*links))
    return items, skipped


# ---------------------------------------------------------------- many repairs


def test_a_link_needing_hundreds_of_repairs_is_kept_whole() -> None:
    benefits = [f.benefit("telegram_group", n=n) for n in range(150)]
    prices = [f.price("tiered_volume", n=n) for n in range(40)]
    doc = f.link(products=[f.product(prices=[f.price("fixed"), *prices], benefits=benefits)])
    for decoded in (decode_link(f.to_bytes(doc)), decode_page(doc)[0][0]):
        product = decoded.products[0]
        assert decoded.id == doc["id"]
        assert isinstance(product.prices[0], ProductPriceFixed)
        assert [p.data for p in product.prices[1:]] == prices  # type: ignore[union-attr]
        assert [b.data for b in product.benefits] == benefits  # type: ignore[union-attr]
        assert all(type(b) is UnknownBenefit for b in product.benefits)


def test_more_new_kinds_than_the_decoder_remembers_still_decode() -> None:
    benefits = [f.benefit(f"new_kind_{n}") for n in range(100)]
    doc = f.link(products=[f.product(benefits=benefits)])
    items, skipped = decode_page(doc, doc)
    assert skipped == []
    for link in items:
        assert [b.type for b in link.products[0].benefits] == [f"new_kind_{n}" for n in range(100)]


def test_every_link_of_a_drifting_page_is_kept_with_its_variants_in_order() -> None:
    links = drift_links(generate_links(100, seed=5))
    items, skipped = decode_page(*links)
    assert skipped == []
    assert [link.id for link in items] == [link["id"] for link in links]
    for link, doc in zip(items, links, strict=True):
        assert link.trial_interval == "fortnight"
        assert link.units is None
        for product, product_doc in zip(link.products, doc["products"], strict=True):
            assert product.visibility == "unlisted"
            assert [p.amount_type for p in product.prices] == [
                p["amount_type"] for p in product_doc["prices"]
            ]
            assert isinstance(product.prices[0], UnknownProductPrice)
            assert product.prices[0].data == product_doc["prices"][0]
            assert isinstance(product.benefits[-1], UnknownBenefit)
            assert product.benefits[-1].data == product_doc["benefits"][-1]
        for out, product_doc in zip(link.to_dict()["products"], doc["products"], strict=True):
            assert out["prices"][0] == product_doc["prices"][0]
            assert out["benefits"][-1] == product_doc["benefits"][-1]


def test_links_read_tolerantly_are_the_models_themselves_equal_to_strict_ones() -> None:
    clean = generate_links(20, seed=4)
    odd = f.link(products=[f.product(prices=[f.price("new_kind")])])
    items, skipped = decode_page(*clean[:10], odd, *clean[10:])
    strict, _, _ = decode_list(page(*clean))
    assert skipped == []
    assert [type(link) for link in items] == [CheckoutLink] * 21
    assert all(type(p) is CheckoutLinkProduct for link in items for p in link.products)
    assert items[:10] + items[11:] == strict
    assert msgspec.json.encode(items[:10] + items[11:]) == msgspec.json.encode(strict)


# ---------------------------------------------------------------- variants


def test_a_known_variant_with_a_bad_optional_field_keeps_its_class() -> None:
    bad = f.price("fixed", tax_behavior=5, modified_at="yesterday")
    del bad["is_archived"]
    bad["is_archived"] = True
    items, skipped = decode_page(f.link(products=[f.product(prices=[bad])]))
    price = items[0].products[0].prices[0]
    assert type(price) is ProductPriceFixed
    assert (price.tax_behavior, price.modified_at) == (None, None)
    assert (price.id, price.price_amount, price.is_archived) == (bad["id"], 1500, True)
    assert skipped == []


def test_a_known_variant_missing_an_optional_field_keeps_its_class() -> None:
    benefit = f.benefit("discord")
    del benefit["modified_at"]
    link = decode_link(f.to_bytes(f.link(products=[f.product(benefits=[benefit])])))
    assert type(link.products[0].benefits[0]) is BenefitDiscord


@pytest.mark.parametrize(
    ("variant", "field"),
    [
        (f.price("fixed"), "price_amount"),
        (f.price("fixed"), "created_at"),
        (f.price("custom"), "minimum_amount"),
        (f.price("metered_unit"), "meter"),
        (f.benefit("custom"), "description"),
        (f.benefit("discord"), "organization_id"),
    ],
)
def test_a_known_variant_missing_a_required_field_becomes_unknown_with_its_data(
    variant: dict[str, Any], field: str
) -> None:
    variant = dict(variant)  # a copy: the parameters are shared by every run of the test
    del variant[field]
    key = "prices" if "amount_type" in variant else "benefits"
    doc = f.link(products=[f.product(**{key: [variant]})])
    for link in (decode_link(f.to_bytes(doc)), decode_page(doc)[0][0]):
        decoded = getattr(link.products[0], key)[0]
        assert isinstance(decoded, UnknownProductPrice | UnknownBenefit)
        assert decoded.data == variant
        assert link.to_dict()["products"][0][key] == [variant]


def test_a_seat_based_price_whose_tier_lacks_a_required_field_becomes_unknown() -> None:
    good, bad = f.price("seat_based"), f.price("seat_based")
    del bad["seat_tiers"]["tiers"][0]["price_per_seat"]
    items, _ = decode_page(f.link(products=[f.product(prices=[good, bad])]))
    kept, unknown = items[0].products[0].prices
    assert isinstance(kept, ProductPriceSeatBased)
    assert kept.seat_tiers.tiers[0].price_per_seat == 900
    assert isinstance(unknown, UnknownProductPrice)
    assert unknown.data == bad


def test_discounts_follow_the_same_policy() -> None:
    odd, bad, soft = f.discount("buy_one_get_one"), f.discount("percentage"), f.discount()
    del bad["basis_points"]
    soft["max_redemptions"] = "lots"
    items, _ = decode_page(f.link(discount=odd), f.link(discount=bad), f.link(discount=soft))
    assert isinstance(items[0].discount, UnknownDiscount)
    assert items[0].discount.data == odd
    assert isinstance(items[1].discount, UnknownDiscount)
    assert items[1].discount.data == bad
    assert isinstance(items[2].discount, DiscountPercentage)
    assert items[2].discount.max_redemptions is None
    assert items[2].discount.basis_points == 2500


# ---------------------------------------------------------------- links


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"created_at": None}, "`created_at`: Expected `datetime`, got `null`"),
        ({"url": 42}, "`url`: Expected `str`, got `int`"),
        ({"allow_discount_codes": "yes"}, "`allow_discount_codes`: Expected `bool`, got `str`"),
        ({"products": [f.product(name=None)]}, "`products[0].name`: Expected `str`, got `null`"),
        ({"products": [f.product(prices=[7])]}, "`products[0].prices[0]`: expected an object"),
        ({"products": [f.product(medias=[{"id": "m"}])]}, "missing required field"),
    ],
)
def test_a_link_whose_required_field_is_bad_is_skipped_with_its_raw_bytes(
    change: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    before, after = f.link(), f.link(products=[f.product(prices=[f.price("new_kind")])])
    broken = f.link(**change)
    with caplog.at_level(logging.WARNING, logger="polar_links"):
        items, skipped = decode_page(before, broken, after)
    assert [link.id for link in items] == [before["id"], after["id"]]
    assert isinstance(items[1].products[0].prices[0], UnknownProductPrice)
    assert len(skipped) == 1
    assert msgspec.json.decode(skipped[0].raw) == broken
    assert skipped[0].reason.startswith(reason)
    assert f"skipped an undecodable checkout link {broken['id']}: {reason}" in caplog.text
    with pytest.raises(msgspec.ValidationError, match=reason.replace("[", r"\[")):
        decode_link(f.to_bytes(broken))


def test_no_field_typed_as_present_is_ever_none_on_a_drifting_page() -> None:
    docs = drift_links(generate_links(50, seed=9))
    for doc in docs[::7]:
        del doc["created_at"]
    items, skipped = decode_page(*docs)
    assert len(items) + len(skipped) == 50
    assert len(skipped) == len(docs[::7])
    for link in items:
        assert isinstance(link.created_at.isoformat(), str)
        assert link.url.startswith("https://")
        for product in link.products:
            assert product.name


def test_a_page_without_usable_pagination_is_an_error() -> None:
    with pytest.raises(msgspec.ValidationError, match="pagination"):
        decode_list(b'{"items": [], "pagination": {"total_count": "x", "max_page": 1}}')


# ---------------------------------------------------------------- hostile bodies


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    "body",
    [
        b'{"items": [], "pagination": {"total_count": 0, "max_page": 0}, "x": '
        + deep(100_000)
        + b"}",
        b'{"items": [{"id": "a", "extra": ' + deep(100_000) + b'}], "pagination": {}}',
    ],
)
def test_a_body_nested_100000_levels_deep_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(msgspec.DecodeError, match="JSON nested too deeply to decode"):
        decode_list(body)
    with pytest.raises(msgspec.DecodeError, match="JSON nested too deeply to decode"):
        decode_link(b'{"id": "a", "x": ' + deep(100_000) + b"}")


def test_a_body_that_is_not_utf8_is_a_decode_error() -> None:
    link = f.to_bytes(f.link(label="cafe")).replace(b'"cafe"', b'"caf\xe9"')
    with pytest.raises(msgspec.DecodeError, match=r"not valid UTF-8 \(byte 0xe9 at offset \d+\)"):
        decode_link(link)
    body = b'{"items": [' + link + b'], "pagination": {"total_count": 1, "max_page": 1}}'
    with pytest.raises(msgspec.DecodeError, match="not valid UTF-8"):
        decode_list(body)


def test_a_variant_claiming_the_decoders_own_unknown_tag_keeps_its_data() -> None:
    odd = f.price("__unknown__", tiers=[1])
    doc = f.link(products=[f.product(prices=[odd])])
    for link in (decode_link(f.to_bytes(doc)), decode_page(doc)[0][0]):
        price = link.products[0].prices[0]
        assert isinstance(price, UnknownProductPrice)
        assert price.data == odd


def test_drift_seen_before_decodes_the_same_and_never_loses_or_invents_a_key() -> None:
    def odd(**extra: Any) -> dict[str, Any]:
        return f.price("sliding_scale", tiers=[1, 2], **extra)

    def prices_of(*docs: dict[str, Any]) -> list[Any]:
        items, skipped = decode_page(*docs)
        assert skipped == []
        return [link.products[0].prices[0] for link in items]

    first = [f.link(products=[f.product(prices=[odd(n=n)])]) for n in range(3)]
    # Once the kind and its keys are known, the same drift decodes in one call.
    assert [p.data for p in prices_of(*first)] == [d["products"][0]["prices"][0] for d in first]
    again = [f.link(products=[f.product(prices=[odd(n=n)])]) for n in range(3)]
    decoded = prices_of(*again)
    assert all(type(p) is UnknownProductPrice for p in decoded)
    assert [p.data for p in decoded] == [d["products"][0]["prices"][0] for d in again]
    # A key never seen before is kept, and a key left out is not invented.
    wider = odd(n=9, brand_new_key={"x": [1]})
    narrower = odd(n=10)
    del narrower["tiers"], narrower["source"]
    docs = [f.link(products=[f.product(prices=[p])]) for p in (wider, narrower)]
    assert [p.data for p in prices_of(*docs)] == [wider, narrower]
    assert [p.data for p in prices_of(*docs)] == [wider, narrower]
