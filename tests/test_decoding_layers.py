"""Each layer of the tolerant decoder, on its own (unit tests of ``polar_links._decoding``).

When a page does not fit the models, the decoder has four layers, each the fallback of
the one before it:

1. drift seen before (the same unknown kinds, with the same keys) decodes in one call;
2. else the page decodes into *shells*, and their variants are decoded in batches, one
   batch per kind (a variant that does not fit is then repaired on its own);
3. else each link is decoded on its own, through its shell;
4. else a link is walked field by field over the models' types (the last resort, which
   names the field that makes a link unusable).

Every layer gives the same links, so a layer that broke would go unnoticed behind the
next one: only slower, and with memory no longer bounded. Each test here therefore
*forbids* the layers below the one it pins (calling them fails the test) and checks the
links that layer gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from polar_links import (
    BenefitCustom,
    BenefitDiscord,
    CheckoutLink,
    CheckoutLinkProduct,
    DiscountPercentage,
    ProductPriceCustom,
    ProductPriceFixed,
    ProductPriceSeatBased,
    UnknownBenefit,
    UnknownDiscount,
    UnknownProductPrice,
    _decoding,
)
from polar_links._decoding import (
    OFF_LOOP_BYTES,
    decode_link,
    decode_link_async,
    decode_list,
    decode_list_async,
)
from polar_links._models import ProductPrice

from . import factories as f

#: Layers from the cheapest fallback down; forbidding one forbids the layers under it.
SHELLS = "_from_shells"  # layer 2, and 3 through it
ONE_VARIANT = "_one_variant"  # layer 2's repair of a variant that does not fit its batch
BY_ITEMS = "_by_items"  # layer 3 for a page whose shells do not fit
ONE_LINK = "_one_tolerantly"  # layer 3 (and 4 under it)
WALK = "_walk"  # layer 4


@contextlib.contextmanager
def forbidden(*names: str) -> Iterator[None]:
    """Within the block, calling any of ``names`` in ``_decoding`` fails the test."""
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            assert callable(getattr(_decoding, name)), name

            def refuse(*args: Any, _name: str = name, **kwargs: Any) -> Any:
                raise AssertionError(f"the decoder fell back to {_name}")

            patch.setattr(_decoding, name, refuse)
        yield


@contextlib.contextmanager
def counted(name: str) -> Iterator[list[Any]]:
    """Within the block, records the first argument of each call of ``_decoding.name``."""
    original = getattr(_decoding, name)
    calls: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_decoding, name, spy)
        yield calls


def page(*links: dict[str, Any]) -> bytes:
    return f.to_bytes(f.list_body(list(links), total_count=len(links), max_page=1))


def without(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in keys}


def kinds_page(n: int = 0) -> list[dict[str, Any]]:
    """Links whose drift is only new kinds (prices, benefits, a discount) around known
    variants, with a discount that is null, absent, known or of a new kind; ``n`` gives
    fresh ids and values with the same kinds and keys."""
    return [
        f.link(
            products=[
                f.product(
                    prices=[
                        f.price("fixed", price_amount=100 + n),
                        f.price("sliding_scale", tiers=[1, n]),
                        f.price("custom"),
                    ],
                    benefits=[f.benefit("telegram_group", chat=f"c{n}"), f.benefit("custom")],
                ),
                f.product(prices=[f.price("sliding_scale", tiers=[n])], benefits=[]),
            ],
            discount=f.discount("buy_one_get_one", free=n),
        ),
        f.link(discount=f.discount("percentage"), label=f"clean {n}"),
        f.link(discount=None, products=[f.product(benefits=[f.benefit("discord")])]),
        without(f.link(products=[f.product(prices=[f.price("seat_based")])]), "discount"),
    ]


def check_kinds_page(links: list[CheckoutLink], docs: list[dict[str, Any]]) -> None:
    """What ``kinds_page`` decodes to: the models themselves, known variants in their
    classes, new kinds as ``Unknown*`` holding the object as sent."""
    assert [link.id for link in links] == [doc["id"] for doc in docs]
    assert [type(link) for link in links] == [CheckoutLink] * 4
    assert all(type(p) is CheckoutLinkProduct for link in links for p in link.products)
    first, second = links[0].products
    prices = docs[0]["products"][0]["prices"]
    fixed, sliding, custom = first.prices
    assert type(fixed) is ProductPriceFixed
    assert (fixed.id, fixed.price_amount) == (prices[0]["id"], prices[0]["price_amount"])
    assert type(sliding) is UnknownProductPrice
    assert sliding.data == prices[1]
    assert type(custom) is ProductPriceCustom
    assert custom.id == prices[2]["id"]
    telegram, custom_benefit = first.benefits
    assert type(telegram) is UnknownBenefit
    assert telegram.data == docs[0]["products"][0]["benefits"][0]
    assert type(custom_benefit) is BenefitCustom
    assert type(second.prices[0]) is UnknownProductPrice
    assert second.prices[0].data == docs[0]["products"][1]["prices"][0]
    assert second.benefits == []
    assert type(links[0].discount) is UnknownDiscount
    assert links[0].discount.data == docs[0]["discount"]
    assert type(links[1].discount) is DiscountPercentage
    assert links[1].label == docs[1]["label"]
    assert links[2].discount is None
    assert type(links[2].products[0].benefits[0]) is BenefitDiscord
    assert links[3].discount is None
    assert type(links[3].products[0].prices[0]) is ProductPriceSeatBased
    # The models themselves: what msgspec encodes from them is what a clean page gives.
    for link in links:
        assert msgspec.json.decode(msgspec.json.encode(link), type=CheckoutLink) == link


def walked(docs: list[dict[str, Any]]) -> list[Any]:
    """The last resort's links for ``docs`` (the reference every layer must match)."""
    return [_decoding._walk(f.to_bytes(doc)) for doc in docs]


# ---------------------------------------------------------------- layer 4: the walk


def test_the_walk_alone_repairs_a_link_field_by_field() -> None:
    docs = kinds_page()
    links = walked(docs)
    check_kinds_page(links, docs)
    bad_optional = f.link(
        units="many", products=[f.product(medias=[{**f.media(), "storage_version": 5}])]
    )
    incomplete = f.price("fixed")
    del incomplete["price_amount"]
    repaired = _decoding._walk(
        f.to_bytes({**bad_optional, "products": [f.product(prices=[incomplete])]})
    )
    assert isinstance(repaired, CheckoutLink)
    assert repaired.units is None
    assert type(repaired.products[0].prices[0]) is UnknownProductPrice
    assert repaired.products[0].prices[0].data == incomplete
    media_repaired = _decoding._walk(f.to_bytes(bad_optional))
    assert isinstance(media_repaired, CheckoutLink)
    assert media_repaired.products[0].medias[0].id == bad_optional["products"][0]["medias"][0]["id"]


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (5, "`$`: expected an object, got int"),
        (["a"], "`$`: expected an object, got list"),
        ({**f.link(), "products": "none"}, "`products`: expected an array, got str"),
        ({**f.link(), "products": ["p"]}, "`products[0]`: expected an object, got str"),
        (
            {**f.link(), "products": [f.product(prices=[7])]},
            "`products[0].prices[0]`: expected an object, got int",
        ),
        (without(f.link(), "url"), "missing required field `url`"),
        (
            {**f.link(), "products": [without(f.product(), "name")]},
            "missing required field `products[0].name`",
        ),
        ({**f.link(), "url": 42}, "`url`: Expected `str`, got `int`"),
    ],
)
def test_the_walk_names_the_field_that_makes_a_link_unusable(doc: Any, reason: str) -> None:
    raw = f.to_bytes(doc)
    skipped = _decoding._walk(raw)
    assert skipped == _decoding.SkippedItem(raw=raw, reason=reason)
    with pytest.raises(msgspec.ValidationError) as caught:
        decode_link(raw)
    assert str(caught.value) == reason


def test_a_discount_that_is_not_an_object_is_dropped_like_any_bad_optional_field() -> None:
    for bad in ("ten", 5, [], None):
        link = _decoding._walk(f.to_bytes(f.link(discount=bad)))
        assert isinstance(link, CheckoutLink)
        assert link.discount is None
    known = _decoding._walk(f.to_bytes(f.link(discount=f.discount("percentage"))))
    assert type(known.discount) is DiscountPercentage  # type: ignore[union-attr]


# ---------------------------------------------------------------- layers 2 and 3: shells


def test_new_kinds_decode_in_shells_with_each_kind_batched() -> None:
    docs = kinds_page()
    with forbidden(ONE_VARIANT, ONE_LINK, BY_ITEMS):
        links, pagination, skipped = decode_list(page(*docs))
    assert skipped == []
    assert pagination.total_count == 4
    check_kinds_page(links, docs)
    assert links == walked(docs)


def test_a_known_variant_that_does_not_fit_is_repaired_alone_within_its_page() -> None:
    incomplete = f.price("fixed")
    del incomplete["price_amount"]
    soft = f.benefit("discord", modified_at="yesterday")
    typed = f.price("sliding_scale")
    docs = [
        f.link(products=[f.product(prices=[f.price("fixed"), incomplete], benefits=[soft])]),
        f.link(products=[f.product(prices=[typed, {**f.price(), "amount_type": 5}])]),
    ]
    with forbidden(ONE_LINK, BY_ITEMS), counted(ONE_VARIANT) as repaired:
        links, _, skipped = decode_list(page(*docs))
    assert skipped == []
    kept, unknown = links[0].products[0].prices
    assert type(kept) is ProductPriceFixed
    assert type(unknown) is UnknownProductPrice
    assert unknown.data == incomplete
    benefit = links[0].products[0].benefits[0]
    assert type(benefit) is BenefitDiscord
    assert benefit.modified_at is None
    assert [type(p) for p in links[1].products[0].prices] == [UnknownProductPrice] * 2
    assert links[1].products[0].prices[1].data["amount_type"] == 5
    # The batches that did not fit (the prices, the benefits) went variant by variant;
    # the discounts' did fit.
    assert len(repaired) == sum(
        len(p["prices"]) + len(p["benefits"]) for doc in docs for p in doc["products"]
    )
    assert all(r is not None for r in repaired)
    assert links == walked(docs)


def test_only_the_links_whose_variant_is_not_an_object_are_decoded_again() -> None:
    good = kinds_page()
    bad_price = f.link(products=[f.product(), f.product(prices=[f.price("sliding"), 7])])
    bad_discount = f.link(discount="ten")
    docs = [good[0], bad_price, good[1], bad_discount, good[2]]
    with counted(ONE_LINK) as again, forbidden(BY_ITEMS):
        links, _, skipped = decode_list(page(*docs))
    assert [msgspec.json.decode(raw) for raw in again] == [bad_price, bad_discount]
    # A price that is not an object costs its link (prices are required); a discount
    # that is not one is dropped (the field is optional).
    assert [link.id for link in links] == [doc["id"] for doc in docs if doc is not bad_price]
    assert links[2].discount is None
    assert [s.reason for s in skipped] == ["`products[1].prices[1]`: expected an object, got int"]
    assert [msgspec.json.decode(s.raw) for s in skipped] == [bad_price]


def test_one_link_decodes_through_its_shell_without_the_walk() -> None:
    docs = kinds_page()
    with forbidden(WALK):
        links = [decode_link(f.to_bytes(doc)) for doc in docs]
    check_kinds_page(links, docs)


def test_a_page_whose_shells_do_not_fit_is_decoded_link_by_link() -> None:
    docs = kinds_page()
    docs[1]["units"] = "many"  # outside the variants: the page's shells do not fit
    with forbidden(WALK):
        links_by_shell, _, _ = decode_list(page(*docs[:1], *docs[2:]))
    with counted(WALK) as walks:
        links, _, skipped = decode_list(page(*docs))
    assert skipped == []
    assert [msgspec.json.decode(raw) for raw in walks] == [docs[1]]
    assert links[1].units is None
    assert [links[0], *links[2:]] == links_by_shell


def test_links_decoded_tolerantly_are_not_tracked_by_the_garbage_collector() -> None:
    # Like the strict decoder's links (the models are gc=False structs): a page of
    # thousands of links adds nothing to the collector's work.
    docs = kinds_page()
    links, _, _ = decode_list(page(*docs))
    again, _, _ = decode_list(page(*kinds_page(1)))
    for link in [*links, *again]:
        assert not gc.is_tracked(link)
        assert not any(gc.is_tracked(p) for p in link.products)


# ---------------------------------------------------------------- layer 1: drift seen before


def test_drift_seen_before_decodes_in_one_call() -> None:
    decode_list(page(*kinds_page(0)))  # learns the kinds and their keys
    for n in (1, 2):
        docs = kinds_page(n)
        with forbidden(SHELLS, ONE_VARIANT, BY_ITEMS, ONE_LINK):
            links, pagination, skipped = decode_list(page(*docs))
        assert (skipped, pagination.max_page) == ([], 1)
        check_kinds_page(links, docs)
        assert links == walked(docs)


def test_a_key_not_seen_yet_goes_through_shells_once_then_is_captured_too() -> None:
    decode_list(page(*kinds_page(0)))
    docs = kinds_page(1)
    docs[0]["products"][0]["prices"][1]["brand_new"] = {"x": [1]}
    fewer = docs[0]["products"][1]["prices"][0]
    del fewer["tiers"]  # a key left out is not invented
    with counted(SHELLS) as shells:
        links, _, _ = decode_list(page(*docs))
    assert len(shells) == 1
    check_kinds_page(links, docs)
    docs = kinds_page(2)
    docs[0]["products"][0]["prices"][1]["brand_new"] = [2]
    with forbidden(SHELLS, ONE_VARIANT, ONE_LINK):
        links, _, _ = decode_list(page(*docs))
    check_kinds_page(links, docs)
    assert "tiers" in links[0].products[1].prices[0].data  # type: ignore[union-attr]


def price_page(*kinds: str, keys: int = 0) -> bytes:
    """One link with one price of each of ``kinds``, each price with ``keys`` keys (or
    the usual ones)."""
    prices = [f.price(kind) for kind in kinds]
    for price in prices:
        price.update({f"x{i}": i for i in range(keys - len(price))})
    return page(f.link(products=[f.product(prices=prices)]))


def test_a_new_kind_is_learned_for_the_batches_up_to_64_kinds() -> None:
    # The batch decoder learns each kind it meets, so that a page with that kind is
    # decoded in one call; it stops at 64 kinds, so a server inventing kinds without
    # end cannot make it grow without end.
    decode_list(price_page(*(f"kind_{n}" for n in range(63))))
    with forbidden(ONE_VARIANT):
        links, _, _ = decode_list(price_page("kind_63"))  # the 64th: learned
    assert links[0].products[0].prices[0].data["amount_type"] == "kind_63"  # type: ignore[union-attr]
    with counted(ONE_VARIANT) as one_by_one:
        links, _, _ = decode_list(price_page("kind_64"))  # the 65th: decoded on its own
    assert len(one_by_one) == 1
    assert links[0].products[0].prices[0].data["amount_type"] == "kind_64"  # type: ignore[union-attr]


def test_captured_kinds_stop_at_64() -> None:
    decode_list(price_page(*(f"kind_{n}" for n in range(64))))
    with forbidden(SHELLS):
        decode_list(price_page("kind_63"))  # the 64th kind met: captured
    decode_list(price_page("kind_64"))
    with counted(SHELLS) as shells:
        links, _, _ = decode_list(price_page("kind_64"))  # the 65th: never captured
    assert len(shells) == 1
    assert links[0].products[0].prices[0].data["amount_type"] == "kind_64"  # type: ignore[union-attr]


@pytest.mark.parametrize(("keys", "captured"), [(256, True), (257, False)])
def test_an_object_is_captured_only_up_to_256_keys(keys: int, captured: bool) -> None:
    decode_list(price_page("wide", keys=keys))
    with counted(SHELLS) as shells:
        links, _, _ = decode_list(price_page("wide", keys=keys))
    assert len(shells) == (0 if captured else 1)
    assert len(links[0].products[0].prices[0].data) == keys  # type: ignore[union-attr]


def test_the_page_decoder_is_rebuilt_at_most_32_times() -> None:
    # Each rebuild captures the kinds learned since the last one; after 32, a new kind
    # is still decoded (through shells), but the decoder stops growing.
    for n in range(33):
        decode_list(price_page(f"kind_{n}"))  # learns kind n
        with counted(SHELLS) as shells:
            links, _, _ = decode_list(price_page(f"kind_{n}"))
        assert len(shells) == (0 if n < 32 else 1), n
        assert links[0].products[0].prices[0].data["amount_type"] == f"kind_{n}"  # type: ignore[union-attr]


# ---------------------------------------------------------------- skipped links


@pytest.mark.parametrize(
    ("item", "shown"), [(5, "(no id)"), ({**f.link(), "id": 7}, "(no id)"), (f.link(), None)]
)
def test_a_skipped_link_is_logged_with_its_id_when_it_has_one(
    item: Any, shown: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    if isinstance(item, dict) and isinstance(item["id"], str):
        item = without(item, "url")
    with caplog.at_level(logging.WARNING, logger="polar_links"):
        links, _, skipped = decode_list(page(f.link(), item))
    assert len(links) == 1
    assert len(skipped) == 1
    name = shown or item["id"]
    assert caplog.messages == [f"skipped an undecodable checkout link {name}: {skipped[0].reason}"]


# ---------------------------------------------------------------- off the event loop


def padded(body: bytes, size: int) -> bytes:
    """``body`` with trailing whitespace (still the same JSON) to exactly ``size`` bytes."""
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize(
    ("size", "off_loop"), [(OFF_LOOP_BYTES - 1, False), (OFF_LOOP_BYTES, True)]
)
async def test_a_page_of_1_mib_or_more_is_decoded_in_a_worker_thread(
    size: int, off_loop: bool
) -> None:
    docs = kinds_page()
    body = padded(page(*docs), size)
    with counted("_decode_list_by_items") as in_thread:
        links, _, skipped = await decode_list_async(body)
    assert len(in_thread) == (1 if off_loop else 0)
    assert skipped == []
    check_kinds_page(links, docs)


@pytest.mark.parametrize(
    ("size", "off_loop"), [(OFF_LOOP_BYTES - 1, False), (OFF_LOOP_BYTES, True)]
)
async def test_a_link_of_1_mib_or_more_is_decoded_in_a_worker_thread(
    size: int, off_loop: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = kinds_page()[0]
    threads: list[threading.Thread] = []
    original = _decoding.decode_link

    def spy(body: bytes) -> CheckoutLink:
        threads.append(threading.current_thread())
        return original(body)

    monkeypatch.setattr(_decoding, "decode_link", spy)
    link = await decode_link_async(padded(f.to_bytes(doc), size))
    assert link.id == doc["id"]
    assert type(link.discount) is UnknownDiscount
    assert len(threads) == 1
    assert (threads[0] is not threading.current_thread()) is off_loop
    assert asyncio.get_running_loop().is_running()


# ---------------------------------------------------------------- what the layers learn


def price_kinds() -> _decoding._Variants:
    """The union of prices, as the tolerant pass knows it (built on first use)."""
    _decoding._tolerant()
    kinds = _decoding._variants(ProductPrice)
    assert kinds in _decoding._variant_kinds.values()  # the one the pages use
    return kinds


def test_the_batch_decoder_is_rebuilt_only_for_a_kind_it_did_not_know() -> None:
    prices = price_kinds()
    before = prices.batch_decoder
    assert prices.learn([None, "fixed", "custom"]) is False  # nothing to learn
    assert prices.batch_decoder is before
    assert prices.learn(["sliding", "fixed"]) is True
    learned = prices.batch_decoder
    assert learned is not before
    assert prices.learn(["sliding"]) is False  # already known
    assert prices.batch_decoder is learned
    assert prices.learn([f"kind_{n}" for n in range(63)]) is True  # 64 kinds now
    full = prices.batch_decoder
    assert prices.learn(["kind_63"]) is False  # no room left
    assert prices.batch_decoder is full


def test_the_captured_union_is_rebuilt_only_for_a_key_it_did_not_have() -> None:
    prices = price_kinds()
    first = {"amount_type": "sliding", "id": "p", "tiers": [1]}
    prices.learn(["sliding"])
    prices.learn_objects([first])
    union = prices.captured_union
    prices.learn_objects([first, {"amount_type": "sliding", "tiers": [2]}])  # no new key
    assert prices.captured_union is union
    prices.learn_objects([{"amount_type": "sliding", "id": "q", "extra": True}])
    assert prices.captured_union is not union


def test_a_null_price_is_never_captured() -> None:
    # The captured decoder holds prices as the known variants or the captured kinds,
    # never null: a null price costs its link there as anywhere.
    decode_list(page(*kinds_page(0)))
    docs = kinds_page(1)
    docs[0]["products"][0]["prices"].append(None)
    links, _, skipped = decode_list(page(*docs))
    assert [link.id for link in links] == [doc["id"] for doc in docs[1:]]
    assert [s.reason for s in skipped] == [
        "`products[0].prices[3]`: expected an object, got NoneType"
    ]


def test_variants_that_fit_are_decoded_in_one_call_each_not_walked() -> None:
    # In a batch that does not fit, each variant is first decoded on its own in one
    # call; only the ones that do not fit are walked field by field.
    incomplete = f.price("fixed")
    del incomplete["price_amount"]
    fits = [f.price("fixed"), f.price("custom"), f.price("seat_based")]
    doc = f.link(products=[f.product(prices=[*fits, incomplete], benefits=[])])
    walked_variants: list[Any] = []
    original = _decoding._Variants.convert

    def spy(self: _decoding._Variants, value: Any, path: str) -> Any:
        walked_variants.append(value)
        return original(self, value, path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_decoding._Variants, "convert", spy)
        links, _, _ = decode_list(page(doc))
    assert walked_variants == [incomplete]
    assert [type(p) for p in links[0].products[0].prices] == [
        ProductPriceFixed,
        ProductPriceCustom,
        ProductPriceSeatBased,
        UnknownProductPrice,
    ]


def test_a_new_kind_may_be_any_string() -> None:
    kinds = ["a b-é", "x" * 5000, "", "1", "class", "\x00"]
    doc = f.link(products=[f.product(prices=[f.price(kind) for kind in kinds])])
    links, _, _ = decode_list(page(doc))  # learned
    with forbidden(SHELLS):
        again, _, _ = decode_list(page(doc))  # captured
    for decoded in (links, again):
        prices = decoded[0].products[0].prices
        assert [p.data["amount_type"] for p in prices] == kinds  # type: ignore[union-attr]
