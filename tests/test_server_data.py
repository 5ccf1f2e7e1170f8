"""Seeded data generator: determinism, realism, variety, scale."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter

import msgspec
import pytest

from polar_links.testing import CHECKOUT_URL_BASE, build_catalogue, generate_links


def encoded(links: list[dict[str, object]]) -> bytes:
    return msgspec.json.encode(links)


def test_same_seed_and_count_give_identical_data() -> None:
    assert encoded(generate_links(300, seed=5)) == encoded(generate_links(300, seed=5))


def test_different_seeds_give_different_data() -> None:
    first, second = generate_links(50, seed=1), generate_links(50, seed=2)
    assert {ln["id"] for ln in first}.isdisjoint(ln["id"] for ln in second)
    assert build_catalogue(1).organizations != build_catalogue(2).organizations


def test_organization_ids_are_fixed_per_seed() -> None:
    assert build_catalogue(9).organizations == build_catalogue(9).organizations
    assert len(build_catalogue(9, organizations=5).organizations) == 5


def test_links_use_their_organizations_products_and_discounts() -> None:
    links = generate_links(500, seed=3)
    for link in links:
        assert {p["organization_id"] for p in link["products"]} == {link["organization_id"]}
        if link["discount"] is not None:
            assert link["discount"]["organization_id"] == link["organization_id"]
            assert link["discount_id"] == link["discount"]["id"]
        else:
            assert link["discount_id"] is None
        assert link["url"] == CHECKOUT_URL_BASE + link["client_secret"]
        assert uuid.UUID(link["id"]).version == 4


def test_links_cover_every_variant() -> None:
    links = generate_links(1_000, seed=0)
    products = [p for ln in links for p in ln["products"]]
    prices = [pr for p in products for pr in p["prices"]]
    benefits = [b for p in products for b in p["benefits"]]
    assert {pr["amount_type"] for pr in prices} == {"fixed", "custom", "seat_based", "metered_unit"}
    legacy = [pr for pr in prices if pr.get("legacy")]
    assert {(pr["amount_type"], pr["recurring_interval"]) for pr in legacy} >= {
        ("fixed", "month"),
        ("fixed", "year"),
        ("custom", "month"),
    }
    assert all(pr["type"] == "recurring" for pr in legacy)
    assert {b["type"] for b in benefits} == {
        "custom",
        "discord",
        "github_repository",
        "downloadables",
        "license_keys",
        "meter_credit",
        "feature_flag",
        "slack_shared_channel",
    }
    meter_credit = next(b for b in benefits if b["type"] == "meter_credit")
    assert set(meter_credit["properties"]) == {"units", "meter_id"}
    assert any(p["medias"] for p in products)
    assert any(p["description"] is None for p in products)
    assert {p["visibility"] for p in products} == {"public", "private", "draft"}
    discounts = {(d["type"], d["duration"]) for ln in links if (d := ln["discount"])}
    assert discounts == {
        (kind, duration)
        for kind in ("fixed", "percentage")
        for duration in ("once", "forever", "repeating")
    }
    assert any(ln["label"] is None for ln in links)
    assert any(ln["success_url"] is None for ln in links)
    assert any("{CHECKOUT_ID}" in (ln["success_url"] or "") for ln in links)
    assert {ln["allow_discount_codes"] for ln in links} == {True, False}
    assert any(ln["metadata"] for ln in links)
    assert {type(ln["units"]) for ln in links} == {int, type(None)}
    assert any(ln["seats"] for ln in links)
    assert any(ln["trial_interval"] for ln in links)


def test_created_at_rises_and_never_repeats_by_default() -> None:
    links = generate_links(2_000, seed=4)
    stamps = [ln["created_at"] for ln in links]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)  # microseconds: unique, as on the real server
    assert all(s.endswith("Z") for s in stamps)


def test_created_at_ties_can_be_forced_at_a_given_rate() -> None:
    links = generate_links(2_000, seed=4, created_at_ties=0.25)
    stamps = [ln["created_at"] for ln in links]
    assert stamps == sorted(stamps)
    repeats = sum(1 for a, b in itertools.pairwise(stamps) if a == b)
    assert 400 < repeats < 600  # about a quarter of 2,000


def test_a_tie_rate_outside_0_to_1_is_refused() -> None:
    with pytest.raises(ValueError, match=r"created_at_ties must be from 0 to 1, got 1\.5"):
        generate_links(3, created_at_ties=1.5)


def test_fifty_thousand_links_are_distinct_and_varied() -> None:
    # How fast they are made is measured by `nox -s bench`, not here.
    links = generate_links(50_000, seed=0)
    assert len(links) == 50_000
    assert len({ln["id"] for ln in links}) == 50_000
    assert len({ln["organization_id"] for ln in links}) == 3
    labels = Counter(ln["label"] for ln in links)
    assert len(labels) > 5
    assert labels[None] > 0
    assert len({p["id"] for ln in links for p in ln["products"]}) == 27
