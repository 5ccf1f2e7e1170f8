"""Links that drift ahead of the published schema, the way a newer server's would.

``drift_links(links)`` returns copies of link dicts in which every link carries the
kinds of change the live API has shown over time: a price of a new ``amount_type``, a
benefit of a new ``type``, a value outside a documented enum, fields the schema does
not list, and optional fields left out. Every required field stays present and valid,
so a tolerant client keeps every link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["NEW_BENEFIT_TYPE", "NEW_PRICE_TYPE", "drift_link", "drift_links"]

#: The ``amount_type`` of the price kind drifted links add to each product.
NEW_PRICE_TYPE = "tiered_volume"
#: The ``type`` of the benefit kind drifted links add to each product.
NEW_BENEFIT_TYPE = "telegram_group"

Json = dict[str, Any]


def _new_price(product: Mapping[str, Any], number: int) -> Json:
    return {
        "id": f"{product['id'][:-4]}{number:04x}",
        "created_at": product["created_at"],
        "modified_at": None,
        "amount_type": NEW_PRICE_TYPE,
        "source": "catalog",
        "price_currency": "usd",
        "is_archived": False,
        "product_id": product["id"],
        "tiers": [{"up_to": 10, "unit_amount": 500}, {"up_to": None, "unit_amount": 400}],
    }


def _new_benefit(product: Mapping[str, Any]) -> Json:
    return {
        "id": f"{product['id'][:-4]}beef",
        "created_at": product["created_at"],
        "modified_at": None,
        "type": NEW_BENEFIT_TYPE,
        "description": "Access to the Telegram group",
        "selectable": True,
        "deletable": True,
        "is_deleted": False,
        "organization_id": product["organization_id"],
        "properties": {"chat_id": -1001234567890},
    }


def drift_link(link: Mapping[str, Any]) -> Json:
    """A drifted copy of one link dict (the input is not changed)."""
    out = dict(link)
    out.pop("units", None)  # an optional field the server stops sending
    out["trial_interval"] = "fortnight"  # a value outside the documented enum
    out["checkout_flow"] = {"version": 2, "steps": ["email", "pay"]}  # a field not in the schema
    products = []
    for product in link["products"]:
        product = dict(product)
        product.pop("meter_interval", None)
        product["visibility"] = "unlisted"
        product["tax_code"] = "txcd_10000000"
        product["prices"] = [*product["prices"], _new_price(product, 1)]
        product["benefits"] = [*product["benefits"], _new_benefit(product)]
        products.append(product)
    out["products"] = products
    return out


def drift_links(links: Iterable[Mapping[str, Any]]) -> list[Json]:
    """Drifted copies of ``links`` (see :func:`drift_link`), in the same order."""
    return [drift_link(link) for link in links]
