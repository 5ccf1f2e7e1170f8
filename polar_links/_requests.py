"""Request bodies for create and update: validated field by field, then encoded as
msgspec Structs where only the fields the caller gave are sent."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._validation import (
    _show,
    check_bool,
    check_int,
    check_str,
    check_url,
    check_uuid,
    check_uuid_list,
)

__all__ = ["TRIAL_INTERVALS", "CheckoutLinkCreate", "CheckoutLinkUpdate", "encode_body"]

#: The values ``trial_interval`` accepts.
TRIAL_INTERVALS = ("day", "week", "month", "year")
_METADATA_MAX_KEYS = 50


class CheckoutLinkCreate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Body of ``POST /v1/checkout-links/``; fields left UNSET are not sent."""

    payment_processor: str
    products: list[str] | UnsetType = UNSET
    product_id: str | UnsetType = UNSET
    product_price_id: str | UnsetType = UNSET
    label: str | UnsetType | None = UNSET
    allow_discount_codes: bool | UnsetType = UNSET
    require_billing_address: bool | UnsetType = UNSET
    discount_id: str | UnsetType | None = UNSET
    success_url: str | UnsetType | None = UNSET
    return_url: str | UnsetType | None = UNSET
    seats: int | UnsetType | None = UNSET
    units: int | UnsetType | None = UNSET
    trial_interval: str | UnsetType | None = UNSET
    trial_interval_count: int | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET


class CheckoutLinkUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Body of ``PATCH /v1/checkout-links/{id}``: UNSET fields are not sent (left as
    they are), ``None`` is sent as ``null`` (cleared)."""

    products: list[str] | UnsetType = UNSET
    label: str | UnsetType | None = UNSET
    allow_discount_codes: bool | UnsetType = UNSET
    require_billing_address: bool | UnsetType = UNSET
    discount_id: str | UnsetType | None = UNSET
    success_url: str | UnsetType | None = UNSET
    return_url: str | UnsetType | None = UNSET
    seats: int | UnsetType | None = UNSET
    units: int | UnsetType | None = UNSET
    trial_interval: str | UnsetType | None = UNSET
    trial_interval_count: int | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET


def _check_trial_interval(name: str, value: object) -> str:
    if value not in TRIAL_INTERVALS:
        raise InvalidArgumentValueError(
            f"{name} must be one of {', '.join(TRIAL_INTERVALS)}, got {_show(value)}"
        )
    return str(value)


def check_metadata(name: str, value: object) -> dict[str, Any]:
    """Return ``value`` if it is valid link metadata, or raise.

    At most 50 keys; each key a str of 1..40 characters; each value a str of 1..500
    characters, an int, a float or a bool.
    """
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(f"{name} must be a dict, got {_show(value)}")
    if len(value) > _METADATA_MAX_KEYS:
        raise InvalidArgumentValueError(
            f"{name} has {len(value)} keys; at most {_METADATA_MAX_KEYS} are allowed"
        )
    for key, item in value.items():
        check_str(f"{name} key {key!r}", key, min_length=1, max_length=40)
        if isinstance(item, str):
            check_str(f"{name}[{key!r}]", item, min_length=1, max_length=500)
        elif not isinstance(item, int | float):  # bool is an int
            raise InvalidArgumentTypeError(
                f"{name}[{key!r}] must be a str, int, float or bool, got {_show(item)}"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            # JSON has no NaN or infinity: they would be sent as null and rejected.
            raise InvalidArgumentValueError(
                f"{name}[{key!r}] must be a finite number, got {_show(item)}"
            )
    return dict(value)


Check = Callable[[str, Any], Any]
#: Each settable field: its check, and whether None (null) is an allowed value.
FIELDS: dict[str, tuple[Check, bool]] = {
    "products": (lambda n, v: check_uuid_list(n, v, allow_single=False), False),
    "label": (check_str, True),
    "allow_discount_codes": (check_bool, False),
    "require_billing_address": (check_bool, False),
    "discount_id": (check_uuid, True),
    "success_url": (check_url, True),
    "return_url": (check_url, True),
    "seats": (lambda n, v: check_int(n, v, minimum=1, maximum=10_000), True),
    "units": (lambda n, v: check_int(n, v, minimum=1), True),
    "trial_interval": (_check_trial_interval, True),
    "trial_interval_count": (lambda n, v: check_int(n, v, minimum=1, maximum=1000), True),
    "metadata": (check_metadata, False),
}


def check_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the given (not UNSET) body fields and return them, normalized."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is UNSET:
            continue
        check, nullable = FIELDS[name]
        if value is None:
            if not nullable:
                raise InvalidArgumentValueError(f"{name} cannot be None (it cannot be cleared)")
            out[name] = None
        else:
            out[name] = check(name, value)
    return out


_encoder = msgspec.json.Encoder()


def encode_body(body: msgspec.Struct) -> bytes:
    """Encode a request body Struct to JSON bytes."""
    return _encoder.encode(body)
