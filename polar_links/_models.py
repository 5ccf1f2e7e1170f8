"""Response models: msgspec Structs for a checkout link and everything in it.

They describe API version ``2026-04`` (the server's default) and ``2026-10`` (no field
of a checkout link differs between the two yet). Their types tell the truth: a field the
schema marks required and non-nullable has no default and is typed without ``None``;
a nullable field is ``X | None`` with default ``None``.

The models are tolerant readers, because the live API drifts ahead of its schema:

* unknown extra fields are ignored;
* enum-like fields (``visibility``, ``trial_interval``, ``source`` ...) are plain ``str``,
  so a new value decodes as itself (the known values are listed in each docstring);
* fields the live server sends but the schema does not list (``units``, a meter credit's
  ``properties``, legacy prices' ``legacy``/``type``/``recurring_interval``) are optional;
* a price, benefit or discount of a kind this version does not know decodes as
  :class:`UnknownProductPrice`, :class:`UnknownBenefit` or :class:`UnknownDiscount`,
  which keep the raw JSON object in ``data``.

What happens when a field does not fit its type is the decoder's policy
(``_decoding.py``): an optional field takes its default, a variant becomes ``Unknown*``,
a link is skipped; never a ``None`` in a field typed as present.

Amounts are integers in the currency's smallest unit (cents), as the API sends them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "Benefit",
    "BenefitCustom",
    "BenefitDiscord",
    "BenefitDownloadables",
    "BenefitFeatureFlag",
    "BenefitGitHubRepository",
    "BenefitLicenseKeys",
    "BenefitMeterCredit",
    "BenefitSlackSharedChannel",
    "CheckoutLink",
    "CheckoutLinkProduct",
    "Discount",
    "DiscountFixed",
    "DiscountPercentage",
    "Pagination",
    "ProductMedia",
    "ProductPrice",
    "ProductPriceCustom",
    "ProductPriceFixed",
    "ProductPriceMeter",
    "ProductPriceMeteredUnit",
    "ProductPriceSeatBased",
    "SeatTier",
    "SeatTiers",
    "UnknownBenefit",
    "UnknownDiscount",
    "UnknownProductPrice",
]

#: Tag the tolerant decoder gives to a variant this version does not know.
UNKNOWN_TAG = "__unknown__"
#: Where a link holds tagged variants (the key of their list or field), and the field
#: that tells the variant apart.
VARIANT_TAG_FIELDS = {"prices": "amount_type", "benefits": "type", "discount": "type"}

Metadata = dict[str, Any]


class _Model(msgspec.Struct, kw_only=True, gc=False):
    """Common base: keyword-only fields."""


# ---------------------------------------------------------------- prices


class _Price(_Model, tag_field="amount_type", kw_only=True):
    id: str
    created_at: datetime
    modified_at: datetime | None = None
    source: str
    """``catalog`` or ``ad_hoc``."""
    price_currency: str
    tax_behavior: str | None = None
    """``location``, ``inclusive``, ``exclusive`` or ``None``."""
    is_archived: bool
    product_id: str

    @property
    def amount_type(self) -> str:
        """The price kind as the API names it (``fixed``, ``custom``, ``seat_based``...)."""
        return str(self.__struct_config__.tag)


class ProductPriceFixed(_Price, tag="fixed", kw_only=True):
    """A fixed price of ``price_amount`` cents.

    Legacy recurring prices come back as this type too, with ``legacy=True``,
    ``type="recurring"`` and their ``recurring_interval`` set.
    """

    price_amount: int
    legacy: bool = False
    type: str | None = None
    recurring_interval: str | None = None


class ProductPriceCustom(_Price, tag="custom", kw_only=True):
    """A pay-what-you-want price between ``minimum_amount`` and ``maximum_amount`` cents.

    Legacy recurring prices come back as this type too, with ``legacy=True``.
    """

    minimum_amount: int
    maximum_amount: int | None = None
    preset_amount: int | None = None
    legacy: bool = False
    type: str | None = None
    recurring_interval: str | None = None


class SeatTier(_Model, kw_only=True):
    """One tier of a seat-based price: ``price_per_seat`` cents from ``min_seats`` seats."""

    min_seats: int
    max_seats: int | None = None
    price_per_seat: int


class SeatTiers(_Model, kw_only=True):
    """The tiers of a seat-based price; ``seat_tier_type`` is ``volume`` or ``graduated``."""

    seat_tier_type: str = "volume"
    tiers: list[SeatTier]
    minimum_seats: int
    maximum_seats: int | None = None


class ProductPriceSeatBased(_Price, tag="seat_based", kw_only=True):
    """A price per seat, by tiers."""

    seat_tiers: SeatTiers


class ProductPriceMeter(_Model, kw_only=True):
    """The meter a metered price counts; ``unit`` is ``scalar``, ``token`` or ``custom``."""

    id: str
    name: str
    unit: str
    custom_label: str | None = None
    custom_multiplier: int | None = None


class ProductPriceMeteredUnit(_Price, tag="metered_unit", kw_only=True):
    """A usage price: ``unit_amount`` (a decimal string, cents per unit), capped at
    ``cap_amount`` cents."""

    unit_amount: str
    cap_amount: int | None = None
    meter_id: str
    meter: ProductPriceMeter


class UnknownProductPrice(_Model, tag_field="amount_type", tag=UNKNOWN_TAG, kw_only=True):
    """A price whose ``amount_type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata

    @property
    def amount_type(self) -> str:
        """The ``amount_type`` the server sent."""
        return str(self.data.get("amount_type"))

    @property
    def id(self) -> str | None:
        """The price id, if the server sent one."""
        value = self.data.get("id")
        return value if isinstance(value, str) else None


ProductPrice = (
    ProductPriceFixed
    | ProductPriceCustom
    | ProductPriceSeatBased
    | ProductPriceMeteredUnit
    | UnknownProductPrice
)

# ---------------------------------------------------------------- benefits


class _Benefit(_Model, tag_field="type", kw_only=True):
    id: str
    created_at: datetime
    modified_at: datetime | None = None
    description: str
    selectable: bool
    deletable: bool
    is_deleted: bool
    organization_id: str

    @property
    def type(self) -> str:
        """The benefit type as the API names it (``custom``, ``discord``...)."""
        return str(self.__struct_config__.tag)


class BenefitCustom(_Benefit, tag="custom", kw_only=True):
    """A custom benefit (a note shown to the customer)."""


class BenefitDiscord(_Benefit, tag="discord", kw_only=True):
    """Access to a Discord server."""


class BenefitGitHubRepository(_Benefit, tag="github_repository", kw_only=True):
    """Access to a GitHub repository."""


class BenefitDownloadables(_Benefit, tag="downloadables", kw_only=True):
    """Downloadable files."""


class BenefitLicenseKeys(_Benefit, tag="license_keys", kw_only=True):
    """License keys."""


class BenefitMeterCredit(_Benefit, tag="meter_credit", kw_only=True):
    """Credits on a meter; ``properties`` holds ``units`` and ``meter_id`` when sent."""

    properties: Metadata | None = None


class BenefitFeatureFlag(_Benefit, tag="feature_flag", kw_only=True):
    """A feature flag."""


class BenefitSlackSharedChannel(_Benefit, tag="slack_shared_channel", kw_only=True):
    """A shared Slack channel."""


class UnknownBenefit(_Model, tag_field="type", tag=UNKNOWN_TAG, kw_only=True):
    """A benefit whose ``type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata

    @property
    def type(self) -> str:
        """The ``type`` the server sent."""
        return str(self.data.get("type"))

    @property
    def id(self) -> str | None:
        """The benefit id, if the server sent one."""
        value = self.data.get("id")
        return value if isinstance(value, str) else None


Benefit = (
    BenefitCustom
    | BenefitDiscord
    | BenefitGitHubRepository
    | BenefitDownloadables
    | BenefitLicenseKeys
    | BenefitMeterCredit
    | BenefitFeatureFlag
    | BenefitSlackSharedChannel
    | UnknownBenefit
)

# ---------------------------------------------------------------- discounts


class _Discount(_Model, tag_field="type", kw_only=True):
    id: str
    created_at: datetime
    modified_at: datetime | None = None
    name: str
    code: str | None = None
    duration: str
    """``once``, ``forever`` or ``repeating``."""
    duration_in_months: int | None = None
    """Months, for ``repeating`` discounts only."""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_redemptions: int | None = None
    max_redemptions_per_customer: int | None = None
    redemptions_count: int
    organization_id: str
    metadata: Metadata

    @property
    def type(self) -> str:
        """The discount type as the API names it (``fixed`` or ``percentage``)."""
        return str(self.__struct_config__.tag)


class DiscountFixed(_Discount, tag="fixed", kw_only=True):
    """A discount of a fixed amount: ``amounts`` maps currency to cents."""

    amount: int
    currency: str
    amounts: dict[str, int]


class DiscountPercentage(_Discount, tag="percentage", kw_only=True):
    """A percentage discount, in ``basis_points`` (1/100 of a percent: 2500 = 25 %)."""

    basis_points: int


class UnknownDiscount(_Model, tag_field="type", tag=UNKNOWN_TAG, kw_only=True):
    """A discount whose ``type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata

    @property
    def type(self) -> str:
        """The ``type`` the server sent."""
        return str(self.data.get("type"))


Discount = DiscountFixed | DiscountPercentage | UnknownDiscount

# ---------------------------------------------------------------- products and links


class ProductMedia(_Model, kw_only=True):
    """An image attached to a product; ``size`` is in bytes, ``public_url`` serves it."""

    id: str
    organization_id: str
    name: str
    path: str
    mime_type: str
    size: int
    storage_version: str | None = None
    checksum_etag: str | None = None
    checksum_sha256_base64: str | None = None
    checksum_sha256_hex: str | None = None
    last_modified_at: datetime | None = None
    version: str | None = None
    service: str
    is_uploaded: bool
    created_at: datetime
    size_readable: str
    public_url: str


class CheckoutLinkProduct(_Model, kw_only=True):
    """A product a checkout link sells, with its prices, benefits and medias.

    ``visibility`` is ``draft``, ``private`` or ``public``; intervals are ``day``,
    ``week``, ``month`` or ``year``.
    """

    id: str
    created_at: datetime
    modified_at: datetime | None = None
    name: str
    description: str | None = None
    visibility: str
    trial_interval: str | None = None
    trial_interval_count: int | None = None
    recurring_interval: str | None = None
    recurring_interval_count: int | None = None
    meter_interval: str | None = None
    meter_interval_count: int | None = None
    is_recurring: bool
    is_archived: bool
    organization_id: str
    metadata: Metadata
    prices: list[ProductPrice]
    benefits: list[Benefit]
    medias: list[ProductMedia]


class CheckoutLink(_Model, kw_only=True):
    """A checkout link: a shareable ``url`` that opens a checkout for its ``products``.

    ``trial_interval`` is ``day``, ``week``, ``month`` or ``year``; ``seats`` and
    ``units`` are counts; ``payment_processor`` is ``stripe``.
    """

    id: str
    created_at: datetime
    modified_at: datetime | None = None
    label: str | None = None
    url: str
    organization_id: str
    products: list[CheckoutLinkProduct]
    success_url: str | None = None
    return_url: str | None = None
    allow_discount_codes: bool
    require_billing_address: bool
    discount_id: str | None = None
    discount: Discount | None = None
    seats: int | None = None
    units: int | None = None
    trial_interval: str | None = None
    trial_interval_count: int | None = None
    payment_processor: str
    client_secret: str
    metadata: Metadata

    def to_dict(self) -> dict[str, Any]:
        """Return the link as JSON-ready builtins, with the API's field names.

        Timestamps become ISO 8601 strings; fields the server did not send are ``None``
        (``[]``, ``{}``). A price, benefit or discount of a kind this version does not
        know comes back as the very object the server sent, not as its ``Unknown*``
        wrapper, so writing this out (``json.dumps``, ``msgspec.json.encode``) keeps
        the API's shape.
        """
        doc: dict[str, Any] = msgspec.to_builtins(self)
        for product in doc["products"]:
            for key in ("prices", "benefits"):
                product[key] = [_as_sent(variant, key) for variant in product[key]]
        if doc["discount"] is not None:
            doc["discount"] = _as_sent(doc["discount"], "discount")
        return doc


def has_unknown_variants(link: CheckoutLink) -> bool:
    """True if a price, benefit or discount of ``link`` decoded as an ``Unknown*``."""
    if isinstance(link.discount, UnknownDiscount):
        return True
    return any(
        isinstance(price, UnknownProductPrice)
        for product in link.products
        for price in product.prices
    ) or any(
        isinstance(benefit, UnknownBenefit)
        for product in link.products
        for benefit in product.benefits
    )


def _as_sent(variant: dict[str, Any], key: str) -> dict[str, Any]:
    """The object the server sent for a variant (held under ``key``) that decoded as
    ``Unknown*``; any other variant as it is."""
    if variant.get(VARIANT_TAG_FIELDS[key]) == UNKNOWN_TAG:
        data: dict[str, Any] = variant["data"]
        return data
    return variant


class Pagination(_Model, kw_only=True):
    """The list's totals: ``total_count`` items over ``max_page`` pages (0 when empty)."""

    total_count: int
    max_page: int


class ListResponse(_Model, kw_only=True):
    """The body of ``GET /v1/checkout-links/``."""

    items: list[CheckoutLink]
    pagination: Pagination
