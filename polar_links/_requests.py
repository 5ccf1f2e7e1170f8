"""Request bodies for create and update, derived from the table of link fields: msgspec
Structs where only the fields the caller gave are sent."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from ._link_fields import LINK_FIELDS, TRIAL_INTERVALS, LinkField

__all__ = ["TRIAL_INTERVALS", "CheckoutLinkCreate", "CheckoutLinkUpdate", "encode_body"]


def _body_field(field: LinkField) -> tuple[str, Any, Any]:  # pragma: no mutate block (at import)
    """The Struct field of a link field: UNSET (not sent) by default, ``None`` allowed
    (sent as ``null``) if the field can be cleared with it."""
    wire = field.value.wire | UnsetType
    return field.name, wire | None if field.nullable else wire, UNSET


CheckoutLinkCreate = msgspec.defstruct(
    "CheckoutLinkCreate",
    [("payment_processor", str), *(_body_field(f) for f in LINK_FIELDS)],
    namespace={"__doc__": "Body of ``POST /v1/checkout-links/``; UNSET fields are not sent."},
    module=__name__,
    kw_only=True,
    omit_defaults=True,
)
CheckoutLinkUpdate = msgspec.defstruct(
    "CheckoutLinkUpdate",
    [_body_field(f) for f in LINK_FIELDS if f.updatable],
    namespace={
        "__doc__": "Body of ``PATCH /v1/checkout-links/{id}``: UNSET fields are not sent "
        "(left as they are), ``None`` is sent as ``null`` (cleared)."
    },
    module=__name__,
    kw_only=True,
    omit_defaults=True,
)

_encoder = msgspec.json.Encoder()


def encode_body(body: msgspec.Struct) -> bytes:
    """Encode a request body Struct to JSON bytes."""
    return _encoder.encode(body)
