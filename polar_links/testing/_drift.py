"""Links that drift ahead of the published schema, the way a newer server's would.

``drift_links(links)`` returns copies of link dicts in which every link carries the
kinds of change the live API has shown over time, at about the same size in bytes (so a
walk over them moves the same data as one over the originals):

* in every product, the first price is of a new ``amount_type`` (its fields kept) and
  the last benefit of a new ``type`` (a product without benefits gets one);
* a value outside a documented enum (``trial_interval``, ``visibility``);
* a field the schema does not list, on the link and on each product;
* optional fields left out (``units`` on the link, ``meter_interval`` on products).

Every required field stays present and valid, so a tolerant client keeps every link.
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
    }


def _drift_product(product: Mapping[str, Any]) -> Json:
    out = dict(product)
    out.pop("meter_interval", None)  # an optional field the server stops sending
    out["visibility"] = "unlisted"  # a value outside the documented enum
    out["tax_code"] = "txcd_1"  # a field the schema does not list
    prices = list(product["prices"])
    prices[0] = {**prices[0], "amount_type": NEW_PRICE_TYPE}
    benefits = list(product["benefits"]) or [_new_benefit(product)]
    benefits[-1] = {**benefits[-1], "type": NEW_BENEFIT_TYPE}
    out["prices"], out["benefits"] = prices, benefits
    return out


def drift_link(link: Mapping[str, Any], products: dict[int, Json] | None = None) -> Json:
    """A drifted copy of one link dict (the input is not changed). ``products`` maps
    ``id()`` of an original product dict to its drifted copy, so that links which shared
    a product dict share its drifted copy too."""
    products = {} if products is None else products
    out = dict(link)
    out.pop("units", None)
    out["trial_interval"] = "fortnight"
    out["checkout_flow"] = 2
    drifted = []
    for product in link["products"]:
        copy = products.get(id(product))
        if copy is None:
            copy = products[id(product)] = _drift_product(product)
        drifted.append(copy)
    out["products"] = drifted
    return out


def drift_links(links: Iterable[Mapping[str, Any]]) -> list[Json]:
    """Drifted copies of ``links`` (see :func:`drift_link`), in the same order; links
    that shared a product dict (as generated links share the catalogue's) still do."""
    links = list(links)
    products: dict[int, Json] = {}
    return [drift_link(link, products) for link in links]
