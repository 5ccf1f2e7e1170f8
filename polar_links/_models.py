"""Response models: msgspec Structs for a checkout link and everything in it.

The models are tolerant readers, because the live API drifts ahead of its schema:

* unknown extra fields are ignored;
* enum-like fields (``visibility``, ``trial_interval``, ``source`` ...) are plain ``str``,
  so a new value decodes as itself (the known values are listed in each docstring);
* every field except an object's ``id`` has a default, so a field the server stops
  sending decodes as ``None`` (lists as ``[]``, maps as ``{}``);
* a price, benefit or discount of a kind this version does not know decodes as
  :class:`UnknownProductPrice`, :class:`UnknownBenefit` or :class:`UnknownDiscount`,
  which keep the raw JSON object in ``data``.

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


class _Price(_Model, tag_field="amount_type"):
    id: str
    created_at: datetime | None = None
    modified_at: datetime | None = None
    source: str | None = None
    """``catalog`` or ``ad_hoc``."""
    price_currency: str | None = None
    tax_behavior: str | None = None
    """``location``, ``inclusive``, ``exclusive`` or ``None``."""
    is_archived: bool | None = None
    product_id: str | None = None

    @property
    def amount_type(self) -> str:
        """The price kind as the API names it (``fixed``, ``custom``, ``seat_based``...)."""
        return str(self.__struct_config__.tag)


class ProductPriceFixed(_Price, tag="fixed"):
    """A fixed price of ``price_amount`` cents.

    Legacy recurring prices come back as this type too, with ``legacy=True``,
    ``type="recurring"`` and their ``recurring_interval`` set.
    """

    price_amount: int | None = None
    legacy: bool = False
    type: str | None = None
    recurring_interval: str | None = None


class ProductPriceCustom(_Price, tag="custom"):
    """A pay-what-you-want price between ``minimum_amount`` and ``maximum_amount`` cents.

    Legacy recurring prices come back as this type too, with ``legacy=True``.
    """

    minimum_amount: int | None = None
    maximum_amount: int | None = None
    preset_amount: int | None = None
    legacy: bool = False
    type: str | None = None
    recurring_interval: str | None = None


class SeatTier(_Model):
    """One tier of a seat-based price: ``price_per_seat`` cents from ``min_seats`` seats."""

    min_seats: int | None = None
    max_seats: int | None = None
    price_per_seat: int | None = None


class SeatTiers(_Model):
    """The tiers of a seat-based price; ``seat_tier_type`` is ``volume`` or ``graduated``."""

    seat_tier_type: str | None = None
    tiers: list[SeatTier] = msgspec.field(default_factory=list)
    minimum_seats: int | None = None
    maximum_seats: int | None = None


class ProductPriceSeatBased(_Price, tag="seat_based"):
    """A price per seat, by tiers."""

    seat_tiers: SeatTiers | None = None


class ProductPriceMeter(_Model):
    """The meter a metered price counts; ``unit`` is ``scalar``, ``token`` or ``custom``."""

    id: str
    name: str | None = None
    unit: str | None = None
    custom_label: str | None = None
    custom_multiplier: int | None = None


class ProductPriceMeteredUnit(_Price, tag="metered_unit"):
    """A usage price: ``unit_amount`` (a decimal string, cents per unit), capped at
    ``cap_amount`` cents."""

    unit_amount: str | None = None
    cap_amount: int | None = None
    meter_id: str | None = None
    meter: ProductPriceMeter | None = None


class UnknownProductPrice(_Model, tag_field="amount_type", tag=UNKNOWN_TAG):
    """A price whose ``amount_type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata = msgspec.field(default_factory=dict)

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


class _Benefit(_Model, tag_field="type"):
    id: str
    created_at: datetime | None = None
    modified_at: datetime | None = None
    description: str | None = None
    selectable: bool | None = None
    deletable: bool | None = None
    is_deleted: bool | None = None
    organization_id: str | None = None

    @property
    def type(self) -> str:
        """The benefit type as the API names it (``custom``, ``discord``...)."""
        return str(self.__struct_config__.tag)


class BenefitCustom(_Benefit, tag="custom"):
    """A custom benefit (a note shown to the customer)."""


class BenefitDiscord(_Benefit, tag="discord"):
    """Access to a Discord server."""


class BenefitGitHubRepository(_Benefit, tag="github_repository"):
    """Access to a GitHub repository."""


class BenefitDownloadables(_Benefit, tag="downloadables"):
    """Downloadable files."""


class BenefitLicenseKeys(_Benefit, tag="license_keys"):
    """License keys."""


class BenefitMeterCredit(_Benefit, tag="meter_credit"):
    """Credits on a meter; ``properties`` holds ``units`` and ``meter_id`` when sent."""

    properties: Metadata | None = None


class BenefitFeatureFlag(_Benefit, tag="feature_flag"):
    """A feature flag."""


class BenefitSlackSharedChannel(_Benefit, tag="slack_shared_channel"):
    """A shared Slack channel."""


class UnknownBenefit(_Model, tag_field="type", tag=UNKNOWN_TAG):
    """A benefit whose ``type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata = msgspec.field(default_factory=dict)

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


class _Discount(_Model, tag_field="type"):
    id: str
    created_at: datetime | None = None
    modified_at: datetime | None = None
    name: str | None = None
    code: str | None = None
    duration: str | None = None
    """``once``, ``forever`` or ``repeating``."""
    duration_in_months: int | None = None
    """Months, for ``repeating`` discounts only."""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_redemptions: int | None = None
    max_redemptions_per_customer: int | None = None
    redemptions_count: int | None = None
    organization_id: str | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)

    @property
    def type(self) -> str:
        """The discount type as the API names it (``fixed`` or ``percentage``)."""
        return str(self.__struct_config__.tag)


class DiscountFixed(_Discount, tag="fixed"):
    """A discount of a fixed amount: ``amounts`` maps currency to cents."""

    amount: int | None = None
    currency: str | None = None
    amounts: dict[str, int] = msgspec.field(default_factory=dict)


class DiscountPercentage(_Discount, tag="percentage"):
    """A percentage discount, in ``basis_points`` (1/100 of a percent: 2500 = 25 %)."""

    basis_points: int | None = None


class UnknownDiscount(_Model, tag_field="type", tag=UNKNOWN_TAG):
    """A discount whose ``type`` this version does not know; ``data`` is its raw JSON."""

    data: Metadata = msgspec.field(default_factory=dict)

    @property
    def type(self) -> str:
        """The ``type`` the server sent."""
        return str(self.data.get("type"))


Discount = DiscountFixed | DiscountPercentage | UnknownDiscount

# ---------------------------------------------------------------- products and links


class ProductMedia(_Model):
    """An image attached to a product; ``size`` is in bytes, ``public_url`` serves it."""

    id: str
    organization_id: str | None = None
    name: str | None = None
    path: str | None = None
    mime_type: str | None = None
    size: int | None = None
    storage_version: str | None = None
    checksum_etag: str | None = None
    checksum_sha256_base64: str | None = None
    checksum_sha256_hex: str | None = None
    last_modified_at: datetime | None = None
    version: str | None = None
    service: str | None = None
    is_uploaded: bool | None = None
    created_at: datetime | None = None
    size_readable: str | None = None
    public_url: str | None = None


class CheckoutLinkProduct(_Model):
    """A product a checkout link sells, with its prices, benefits and medias.

    ``visibility`` is ``draft``, ``private`` or ``public``; intervals are ``day``,
    ``week``, ``month`` or ``year``.
    """

    id: str
    created_at: datetime | None = None
    modified_at: datetime | None = None
    name: str | None = None
    description: str | None = None
    visibility: str | None = None
    trial_interval: str | None = None
    trial_interval_count: int | None = None
    recurring_interval: str | None = None
    recurring_interval_count: int | None = None
    meter_interval: str | None = None
    meter_interval_count: int | None = None
    is_recurring: bool | None = None
    is_archived: bool | None = None
    organization_id: str | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)
    prices: list[ProductPrice] = msgspec.field(default_factory=list)
    benefits: list[Benefit] = msgspec.field(default_factory=list)
    medias: list[ProductMedia] = msgspec.field(default_factory=list)


class CheckoutLink(_Model):
    """A checkout link: a shareable ``url`` that opens a checkout for its ``products``.

    ``trial_interval`` is ``day``, ``week``, ``month`` or ``year``; ``seats`` and
    ``units`` are counts; ``payment_processor`` is ``stripe``.
    """

    id: str
    created_at: datetime | None = None
    modified_at: datetime | None = None
    label: str | None = None
    url: str | None = None
    organization_id: str | None = None
    products: list[CheckoutLinkProduct] = msgspec.field(default_factory=list)
    success_url: str | None = None
    return_url: str | None = None
    allow_discount_codes: bool | None = None
    require_billing_address: bool | None = None
    discount_id: str | None = None
    discount: Discount | None = None
    seats: int | None = None
    units: int | None = None
    trial_interval: str | None = None
    trial_interval_count: int | None = None
    payment_processor: str | None = None
    client_secret: str | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)

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


class Pagination(_Model):
    """The list's totals: ``total_count`` items over ``max_page`` pages (0 when empty)."""

    total_count: int
    max_page: int


class ListResponse(_Model):
    """The body of ``GET /v1/checkout-links/``."""

    items: list[CheckoutLink]
    pagination: Pagination
