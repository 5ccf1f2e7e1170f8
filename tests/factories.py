"""Hand-written JSON fixtures shaped like the Polar API's checkout links."""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from typing import Any

ORG_ID = "1dbfc517-0bbf-4301-9ba8-555ca42b9737"
PRODUCT_ID = "5b9a4a5e-6f34-4d8a-9f57-0a1cbd2f7e11"
TS = "2026-03-01T12:00:00Z"
_counter = itertools.count(1)


def new_id() -> str:
    return str(uuid.UUID(int=next(_counter) | (4 << 76) | (0b10 << 62)))


def price(amount_type: str = "fixed", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "created_at": TS,
        "modified_at": None,
        "id": new_id(),
        "source": "catalog",
        "amount_type": amount_type,
        "price_currency": "usd",
        "tax_behavior": None,
        "is_archived": False,
        "product_id": PRODUCT_ID,
    }
    extra: dict[str, dict[str, Any]] = {
        "fixed": {"price_amount": 1500},
        "custom": {"minimum_amount": 500, "maximum_amount": None, "preset_amount": 1000},
        "seat_based": {
            "seat_tiers": {
                "seat_tier_type": "volume",
                "tiers": [{"min_seats": 1, "max_seats": None, "price_per_seat": 900}],
                "minimum_seats": 1,
                "maximum_seats": None,
            }
        },
        "metered_unit": {
            "unit_amount": "0.25",
            "cap_amount": 10000,
            "meter_id": PRODUCT_ID,
            "meter": {
                "id": PRODUCT_ID,
                "name": "API calls",
                "unit": "scalar",
                "custom_label": None,
                "custom_multiplier": None,
            },
        },
    }
    base.update(extra.get(amount_type, {}))
    base.update(overrides)
    return base


def legacy_price(amount_type: str = "fixed") -> dict[str, Any]:
    return price(amount_type, type="recurring", recurring_interval="month", legacy=True)


def benefit(type_: str = "custom", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": new_id(),
        "created_at": TS,
        "modified_at": None,
        "type": type_,
        "description": f"A {type_} benefit",
        "selectable": True,
        "deletable": True,
        "is_deleted": False,
        "organization_id": ORG_ID,
    }
    base.update(overrides)
    return base


def media() -> dict[str, Any]:
    return {
        "id": new_id(),
        "organization_id": ORG_ID,
        "name": "cover.png",
        "path": "org/cover.png",
        "mime_type": "image/png",
        "size": 2048,
        "storage_version": None,
        "checksum_etag": None,
        "checksum_sha256_base64": None,
        "checksum_sha256_hex": None,
        "last_modified_at": None,
        "version": None,
        "service": "product_media",
        "is_uploaded": True,
        "created_at": TS,
        "size_readable": "2.0 KB",
        "public_url": "https://files.example/cover.png",
    }


def product(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "metadata": {},
        "id": PRODUCT_ID,
        "created_at": TS,
        "modified_at": None,
        "trial_interval": None,
        "trial_interval_count": None,
        "name": "Pro plan",
        "description": None,
        "visibility": "public",
        "recurring_interval": "month",
        "recurring_interval_count": 1,
        "meter_interval": None,
        "meter_interval_count": None,
        "is_recurring": True,
        "is_archived": False,
        "organization_id": ORG_ID,
        "prices": [price("fixed")],
        "benefits": [benefit("custom")],
        "medias": [media()],
    }
    base.update(overrides)
    return base


def discount(type_: str = "percentage", duration: str = "once", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "duration": duration,
        "type": type_,
        "created_at": TS,
        "modified_at": None,
        "id": new_id(),
        "metadata": {},
        "name": "Spring",
        "code": "SPRING",
        "starts_at": None,
        "ends_at": None,
        "max_redemptions": None,
        "max_redemptions_per_customer": None,
        "redemptions_count": 0,
        "organization_id": ORG_ID,
    }
    if type_ == "percentage":
        base["basis_points"] = 2500
    else:
        base.update(amount=500, currency="usd", amounts={"usd": 500})
    if duration == "repeating":
        base["duration_in_months"] = 3
    base.update(overrides)
    return base


def link(**overrides: Any) -> dict[str, Any]:
    secret = uuid.uuid4().hex
    base: dict[str, Any] = {
        "id": new_id(),
        "created_at": TS,
        "modified_at": None,
        "trial_interval": None,
        "trial_interval_count": None,
        "metadata": {"campaign": "spring"},
        "payment_processor": "stripe",
        "client_secret": secret,
        "success_url": "https://example.com/ok?checkout_id={CHECKOUT_ID}",
        "return_url": None,
        "label": "Spring sale",
        "allow_discount_codes": True,
        "require_billing_address": False,
        "discount_id": None,
        "seats": None,
        "units": None,
        "organization_id": ORG_ID,
        "products": [product()],
        "discount": None,
        "url": f"https://polar.sh/checkout/{secret}",
    }
    base.update(overrides)
    return base


def list_body(items: list[dict[str, Any]], *, total_count: int, max_page: int) -> dict[str, Any]:
    return {
        "items": copy.deepcopy(items),
        "pagination": {"total_count": total_count, "max_page": max_page},
    }


def to_bytes(doc: Any) -> bytes:
    return json.dumps(doc).encode()
