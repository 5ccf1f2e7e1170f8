"""Seeded sample data: organizations, a product catalogue, discounts and checkout links.

Everything is deterministic: the same ``seed`` (and ``count``) always gives the same
ids, timestamps and values. Links share the catalogue's product and discount dicts
(a link holds references, not copies), so treat nested dicts as read-only.

Timestamps are ISO 8601 strings in UTC with microseconds and a ``Z`` suffix, the way
the API writes them (``2024-03-01T12:00:00.000000Z``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "CHECKOUT_URL_BASE",
    "Catalogue",
    "build_catalogue",
    "generate_links",
    "iso_timestamp",
    "link_url",
    "random_uuid4",
]

#: A link's ``url`` is this prefix followed by its ``client_secret``.
CHECKOUT_URL_BASE = "https://polar.sh/api/checkout/"

Json = dict[str, Any]

_EPOCH = datetime(1970, 1, 1)
#: Generated links are created between these two instants (microseconds since epoch).
_SPAN_START_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
_SPAN_US = 900 * 86_400 * 1_000_000  # about two and a half years
#: Share of generated links created in a burst: within a second of the previous one.
_BURST_RATE = 0.04


def random_uuid4(rng: random.Random) -> str:
    """Return a version-4 UUID string drawn from ``rng`` (deterministic for a seeded rng)."""
    n = rng.getrandbits(128)
    n = (n & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_timestamp(microseconds: int) -> str:
    """Return the API's string for an instant given in microseconds since the Unix epoch."""
    return (_EPOCH + timedelta(microseconds=microseconds)).isoformat(timespec="microseconds") + "Z"


def link_url(client_secret: str) -> str:
    """Return the public checkout URL of a link with this client secret."""
    return CHECKOUT_URL_BASE + client_secret


def client_secret(rng: random.Random) -> str:
    """Return a fresh client secret (``polar_cl_`` and 48 hex digits) drawn from ``rng``."""
    return f"polar_cl_{rng.getrandbits(192):048x}"


@dataclass(frozen=True)
class Catalogue:
    """The products and discounts links may reference, indexed for look-ups.

    ``organizations`` lists organization ids; ``products`` and ``discounts`` map an id to
    the dict the API would embed in a link; ``prices`` maps a price id to its product id.
    """

    organizations: tuple[str, ...] = ()
    products: Mapping[str, Json] = field(default_factory=dict)
    discounts: Mapping[str, Json] = field(default_factory=dict)
    prices: Mapping[str, str] = field(default_factory=dict)

    def products_of(self, organization_id: str) -> list[Json]:
        """Return the products of one organization, in catalogue order."""
        return [p for p in self.products.values() if p["organization_id"] == organization_id]

    def discounts_of(self, organization_id: str) -> list[Json]:
        """Return the discounts of one organization, in catalogue order."""
        return [d for d in self.discounts.values() if d["organization_id"] == organization_id]

    @classmethod
    def from_links(cls, links: Iterable[Mapping[str, Any]]) -> Catalogue:
        """Collect the products and discounts that ``links`` embed into a catalogue."""
        orgs: dict[str, None] = {}
        products: dict[str, Json] = {}
        discounts: dict[str, Json] = {}
        prices: dict[str, str] = {}
        for link in links:
            orgs.setdefault(link["organization_id"])
            for product in link.get("products") or ():
                products.setdefault(product["id"], product)
                for price in product.get("prices") or ():
                    prices.setdefault(price["id"], product["id"])
            discount = link.get("discount")
            if discount:
                discounts.setdefault(discount["id"], discount)
        return cls(tuple(orgs), products, discounts, prices)


# ---------------------------------------------------------------- catalogue


def _price_base(rng: random.Random, product_id: str, created: str, amount_type: str) -> Json:
    return {
        "created_at": created,
        "modified_at": None,
        "id": random_uuid4(rng),
        "source": "catalog",
        "amount_type": amount_type,
        "price_currency": "usd",
        "tax_behavior": rng.choice((None, "location", "inclusive", "exclusive")),
        "is_archived": False,
        "product_id": product_id,
    }


def _fixed(rng: random.Random, pid: str, ts: str, amount: int) -> Json:
    return {**_price_base(rng, pid, ts, "fixed"), "price_amount": amount}


def _custom(rng: random.Random, pid: str, ts: str) -> Json:
    return {
        **_price_base(rng, pid, ts, "custom"),
        "minimum_amount": 500,
        "maximum_amount": rng.choice((None, 50_000)),
        "preset_amount": rng.choice((None, 2_000)),
    }


def _seat_based(rng: random.Random, pid: str, ts: str) -> Json:
    return {
        **_price_base(rng, pid, ts, "seat_based"),
        "seat_tiers": {
            "seat_tier_type": rng.choice(("volume", "graduated")),
            "tiers": [
                {"min_seats": 1, "max_seats": 9, "price_per_seat": 1_200},
                {"min_seats": 10, "max_seats": 49, "price_per_seat": 1_000},
                {"min_seats": 50, "max_seats": None, "price_per_seat": 800},
            ],
            "minimum_seats": 1,
            "maximum_seats": None,
        },
    }


def _metered(rng: random.Random, pid: str, ts: str, meter_id: str) -> Json:
    return {
        **_price_base(rng, pid, ts, "metered_unit"),
        "unit_amount": rng.choice(("0.05", "0.5", "12.5")),
        "cap_amount": rng.choice((None, 100_000)),
        "meter_id": meter_id,
        "meter": {
            "id": meter_id,
            "name": "API requests",
            "unit": rng.choice(("scalar", "token", "custom")),
            "custom_label": None,
            "custom_multiplier": None,
        },
    }


def _legacy(rng: random.Random, pid: str, ts: str, amount_type: str, interval: str) -> Json:
    base = _fixed(rng, pid, ts, 900 if interval == "month" else 9_000)
    if amount_type == "custom":
        base = _custom(rng, pid, ts)
    base.update(type="recurring", recurring_interval=interval, legacy=True)
    return base


_BENEFIT_TYPES = (
    "custom",
    "discord",
    "github_repository",
    "downloadables",
    "license_keys",
    "meter_credit",
    "feature_flag",
    "slack_shared_channel",
)
_BENEFIT_TEXT = {
    "custom": "Priority email support",
    "discord": "Access to the private Discord server",
    "github_repository": "Read access to the private repository",
    "downloadables": "Source code and assets as a ZIP file",
    "license_keys": "A license key for the desktop app",
    "meter_credit": "10,000 API requests every month",
    "feature_flag": "Early access to beta features",
    "slack_shared_channel": "A shared Slack channel with the team",
}


def _benefits(rng: random.Random, org: str, ts: str, meter_id: str) -> dict[str, Json]:
    out: dict[str, Json] = {}
    for kind in _BENEFIT_TYPES:
        benefit: Json = {
            "id": random_uuid4(rng),
            "created_at": ts,
            "modified_at": None,
            "type": kind,
            "description": _BENEFIT_TEXT[kind],
            "selectable": kind != "meter_credit",
            "deletable": True,
            "is_deleted": False,
            "organization_id": org,
        }
        if kind == "meter_credit":
            benefit["properties"] = {"units": 10_000, "meter_id": meter_id}
        out[kind] = benefit
    return out


def _media(rng: random.Random, org: str, ts: str, name: str) -> Json:
    media_id = random_uuid4(rng)
    size = rng.randrange(20_000, 2_000_000)
    path = f"{org}/{media_id}/{name}"
    return {
        "id": media_id,
        "organization_id": org,
        "name": name,
        "path": path,
        "mime_type": "image/png",
        "size": size,
        "storage_version": None,
        "checksum_etag": f"{rng.getrandbits(128):032x}",
        "checksum_sha256_base64": None,
        "checksum_sha256_hex": f"{rng.getrandbits(256):064x}",
        "last_modified_at": ts,
        "version": None,
        "service": "product_media",
        "is_uploaded": True,
        "created_at": ts,
        "size_readable": f"{size / 1024:.1f} KB",
        "public_url": f"https://uploads.polar.sh/product_media/{path}",
    }


# name, prices kind, recurring interval, visibility, archived, benefit kinds, media count
_PRODUCT_PLAN: tuple[tuple[str, str, str | None, str, bool, tuple[str, ...], int], ...] = (
    ("E-book: Async Python", "fixed", None, "public", False, ("downloadables",), 1),
    ("Pay what you want", "custom", None, "public", False, ("custom", "discord"), 0),
    ("Pro monthly", "fixed", "month", "public", False, ("license_keys", "feature_flag"), 2),
    ("Pro yearly", "fixed", "year", "public", False, ("license_keys", "github_repository"), 1),
    ("Team seats", "seat_based", "month", "public", False, ("slack_shared_channel",), 0),
    ("API usage", "metered", "month", "private", False, ("meter_credit", "custom"), 0),
    ("Legacy supporter", "legacy", None, "public", False, ("discord", "github_repository"), 1),
    ("Legacy sponsor", "legacy_custom", None, "private", False, ("custom",), 0),
    ("Workshop recording", "fixed", None, "draft", True, (), 0),
)


def _product(
    rng: random.Random,
    org: str,
    ts: str,
    plan: tuple[str, str, str | None, str, bool, tuple[str, ...], int],
    benefits: Mapping[str, Json],
    meter_id: str,
) -> Json:
    name, kind, interval, visibility, archived, benefit_kinds, media_count = plan
    pid = random_uuid4(rng)
    if kind == "fixed":
        prices = [_fixed(rng, pid, ts, rng.choice((900, 1_900, 4_900, 19_900)))]
    elif kind == "custom":
        prices = [_custom(rng, pid, ts)]
    elif kind == "seat_based":
        prices = [_seat_based(rng, pid, ts)]
    elif kind == "metered":
        prices = [_fixed(rng, pid, ts, 0), _metered(rng, pid, ts, meter_id)]
    elif kind == "legacy":
        prices = [_legacy(rng, pid, ts, "fixed", "month"), _legacy(rng, pid, ts, "fixed", "year")]
    else:
        prices = [_legacy(rng, pid, ts, "custom", "month")]
    is_recurring = interval is not None or kind.startswith("legacy")
    trial = kind == "seat_based"
    slug = name.lower().replace(" ", "-").replace(":", "")
    return {
        "metadata": {"sku": f"{slug}-{pid[:4]}"} if rng.random() < 0.5 else {},
        "id": pid,
        "created_at": ts,
        "modified_at": None if rng.random() < 0.5 else ts,
        "trial_interval": "day" if trial else None,
        "trial_interval_count": 14 if trial else None,
        "name": name,
        "description": None if kind == "custom" else f"{name}, sold by a test organization.",
        "visibility": visibility,
        "recurring_interval": interval,
        "recurring_interval_count": 1 if interval else None,
        "meter_interval": "month" if kind == "metered" else None,
        "meter_interval_count": 1 if kind == "metered" else None,
        "is_recurring": is_recurring,
        "is_archived": archived,
        "organization_id": org,
        "prices": prices,
        "benefits": [benefits[k] for k in benefit_kinds],
        "medias": [_media(rng, org, ts, f"{slug}-{i}.png") for i in range(media_count)],
    }


def _discount(rng: random.Random, org: str, ts: str, kind: str, duration: str) -> Json:
    name = f"{kind.title()} {duration} discount"
    out: Json = {"duration": duration}
    if duration == "repeating":
        out["duration_in_months"] = 3
    out["type"] = kind
    if kind == "fixed":
        out.update(amount=500, currency="usd", amounts={"usd": 500, "eur": 450})
    else:
        out["basis_points"] = 1_500
    out.update(
        created_at=ts,
        modified_at=None,
        id=random_uuid4(rng),
        metadata={},
        name=name,
        code=None if duration == "forever" else name.upper().replace(" ", "")[:12],
        starts_at=None,
        ends_at=None,
        max_redemptions=rng.choice((None, 100)),
        max_redemptions_per_customer=None,
        redemptions_count=rng.randrange(0, 50),
        organization_id=org,
    )
    return out


_DISCOUNT_PLAN = (
    ("fixed", "once"),
    ("fixed", "forever"),
    ("fixed", "repeating"),
    ("percentage", "once"),
    ("percentage", "forever"),
    ("percentage", "repeating"),
)


def build_catalogue(seed: int = 0, organizations: int = 3) -> Catalogue:
    """Return the product catalogue for ``seed``: ``organizations`` organizations, each with
    nine products (every price variant, including legacy recurring prices), every benefit
    type and six discounts (fixed/percentage x once/forever/repeating).

    Deterministic for ``(seed, organizations)``; it does not depend on a link count.
    """
    rng = random.Random(f"polar-links-catalogue-{seed}")
    orgs: list[str] = []
    products: dict[str, Json] = {}
    discounts: dict[str, Json] = {}
    prices: dict[str, str] = {}
    ts = iso_timestamp(_SPAN_START_US - 86_400_000_000)
    for _ in range(max(1, organizations)):
        org = random_uuid4(rng)
        orgs.append(org)
        meter_id = random_uuid4(rng)
        benefits = _benefits(rng, org, ts, meter_id)
        for plan in _PRODUCT_PLAN:
            product = _product(rng, org, ts, plan, benefits, meter_id)
            products[product["id"]] = product
            for price in product["prices"]:
                prices[price["id"]] = product["id"]
        for kind, duration in _DISCOUNT_PLAN:
            discount = _discount(rng, org, ts, kind, duration)
            discounts[discount["id"]] = discount
    return Catalogue(tuple(orgs), products, discounts, prices)


# ---------------------------------------------------------------- links

_LABELS = (
    "Spring sale",
    "Newsletter",
    "Homepage hero",
    "Partner: Acme",
    "Black Friday",
    "Docs sidebar",
    "Conference 2024",
    "Twitter bio",
)
_SITES = ("https://example.com", "https://shop.example.org", "https://acme.dev")
_SUCCESS_PATHS = (
    "/thanks",
    "/welcome",
    "/success?checkout_id={CHECKOUT_ID}",
    "/done/{CHECKOUT_ID}",
)
_METADATA: tuple[Json, ...] = (
    {},
    {},
    {"campaign": "spring"},
    {"campaign": "newsletter", "issue": 42},
    {"source": "partner", "weight": 0.75, "internal": True},
    {"utm_source": "twitter", "utm_medium": "social", "utm_campaign": "launch"},
)


def generate_links(
    count: int,
    *,
    seed: int = 0,
    organizations: int = 3,
    catalogue: Catalogue | None = None,
    created_at_ties: float = 0.0,
) -> list[Json]:
    """Return ``count`` checkout-link dicts, shaped exactly as the API sends them.

    Deterministic for ``(count, seed, organizations, created_at_ties)``. Links are
    returned in creation order; ``created_at`` values (microseconds) are spread over about
    2.5 years from 2023-01-01 and, as on the real server, no two are equal (about 4 % of
    links come in bursts, within a second of the previous one). ``created_at_ties``
    (0 to 1) is the share of links that instead repeat the previous link's ``created_at``
    exactly, to test what happens when even the last sorting key ties. Labels and success
    URLs are drawn from small vocabularies (some ``null``; some success URLs carry the
    ``{CHECKOUT_ID}`` placeholder); about a quarter of links carry a discount.

    Products and discounts come from ``catalogue`` (default ``build_catalogue(seed,
    organizations)``) and are shared, not copied. 50,000 links take well under a second.
    """
    if not 0.0 <= created_at_ties <= 1.0:
        raise ValueError(f"created_at_ties must be from 0 to 1, got {created_at_ties!r}")
    cat = catalogue if catalogue is not None else build_catalogue(seed, organizations)
    rng = random.Random(f"polar-links-links-{seed}-{count}")
    rand = rng.random
    orgs = cat.organizations
    by_org = {org: cat.products_of(org) for org in orgs}
    discounts_by_org = {org: cat.discounts_of(org) for org in orgs}
    seat_products = {
        p["id"]
        for p in cat.products.values()
        if any(price["amount_type"] == "seat_based" for price in p["prices"])
    }
    mean_gap = max(1, _SPAN_US // max(1, count))
    created = _SPAN_START_US
    links: list[Json] = []
    for _ in range(count):
        r = rand()
        if not links or r >= max(_BURST_RATE, created_at_ties):
            created += rng.randrange(1, 2 * mean_gap)
        elif r >= created_at_ties:
            created += 1 + int(r * 25_000_000)  # r < 0.04: up to a second later
        org = orgs[int(rand() * len(orgs))]
        catalogue_products = by_org[org]
        r = rand()
        n_products = 1 if r < 0.7 else 2 if r < 0.9 else 3
        products = rng.sample(catalogue_products, min(n_products, len(catalogue_products)))
        r = rand()
        label = None if r < 0.15 else _LABELS[int(r * 997) % len(_LABELS)]
        r = rand()
        site = _SITES[int(r * 991) % len(_SITES)]
        success_url = None if r < 0.2 else site + _SUCCESS_PATHS[int(r * 983) % 4]
        org_discounts = discounts_by_org[org]
        discount = org_discounts[int(rand() * len(org_discounts))] if rand() < 0.25 else None
        trial = rand() < 0.15
        secret = client_secret(rng)
        seat_link = any(p["id"] in seat_products for p in products)
        modified = None if rand() < 0.6 else created + rng.randrange(1, 86_400_000_000)
        links.append(
            {
                "id": random_uuid4(rng),
                "created_at": iso_timestamp(created),
                "modified_at": None if modified is None else iso_timestamp(modified),
                "trial_interval": "week" if trial else None,
                "trial_interval_count": 2 if trial else None,
                "metadata": dict(_METADATA[int(rand() * len(_METADATA))]),
                "payment_processor": "stripe",
                "client_secret": secret,
                "success_url": success_url,
                "return_url": site + "/pricing" if rand() < 0.3 else None,
                "label": label,
                "allow_discount_codes": rand() < 0.75,
                "require_billing_address": rand() < 0.2,
                "discount_id": discount["id"] if discount else None,
                "seats": rng.randrange(1, 25) if seat_link else None,
                "units": rng.randrange(1, 1_000) if rand() < 0.2 else None,
                "organization_id": org,
                "products": products,
                "discount": discount,
                "url": link_url(secret),
            }
        )
    return links
