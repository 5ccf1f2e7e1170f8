"""Request validation with FastAPI/pydantic-shaped 422 error entries.

Each checker appends ``{"type", "loc", "msg", "input"[, "ctx"]}`` dicts to an error list,
the way the live API reports validation failures under ``detail``. Union failures of a
metadata value are reported as pydantic does: one entry per union member.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ._data import Catalogue

__all__ = [
    "SORT_FIELDS",
    "ListQuery",
    "parse_list_query",
    "parse_path_id",
    "rejection_name",
    "validate_create",
    "validate_update",
]

Loc = tuple[str | int, ...]
Error = dict[str, Any]

#: Fields the list endpoint can sort on; prefix one with ``-`` for descending order.
SORT_FIELDS = ("created_at", "label", "success_url", "allow_discount_codes")
_SORT_VALUES = frozenset(SORT_FIELDS) | {"-" + f for f in SORT_FIELDS}
#: Limits of the list endpoint, in items.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100

_INT_RE = re.compile(r"[+-]?\d+")
_UUID_CHARS = frozenset("0123456789abcdefABCDEF-")
_TRIAL_INTERVALS = ("day", "week", "month", "year")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def error(
    type_: str, loc: Loc, msg: str, input_: Any, ctx: Mapping[str, Any] | None = None
) -> Error:
    """Return one FastAPI-shaped validation error entry."""
    entry: Error = {"type": type_, "loc": list(loc), "msg": msg, "input": input_}
    if ctx is not None:
        entry["ctx"] = dict(ctx)
    return entry


# ---------------------------------------------------------------- scalars


def check_uuid4(value: Any, loc: Loc, errors: list[Error]) -> str | None:
    """Return ``value`` as a canonical lowercase UUID string, or record why it is not one."""
    if not isinstance(value, str):
        msg = "UUID input should be a string, bytes or UUID object"
        errors.append(error("uuid_type", loc, msg, value))
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        bad = next((i for i, c in enumerate(value) if c not in _UUID_CHARS), None)
        if bad is not None:
            reason = f"invalid character: found `{value[bad]}` at {bad + 1}"
        else:
            reason = f"invalid length: expected length 32 for simple format, found {len(value)}"
        msg = f"Input should be a valid UUID, {reason}"
        errors.append(error("uuid_parsing", loc, msg, value, {"error": reason}))
        return None
    if parsed.version != 4:
        msg = "UUID version 4 expected"
        errors.append(error("uuid_version", loc, msg, value, {"expected_version": 4}))
        return None
    return str(parsed)


def _as_int(value: Any, loc: Loc, errors: list[Error]) -> int | None:
    if isinstance(value, bool):
        errors.append(error("int_type", loc, "Input should be a valid integer", value))
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        msg = "Input should be a valid integer, got a number with a fractional part"
        errors.append(error("int_from_float", loc, msg, value))
        return None
    if isinstance(value, str):
        if _INT_RE.fullmatch(value.strip()):
            return int(value)
        msg = "Input should be a valid integer, unable to parse string as an integer"
        errors.append(error("int_parsing", loc, msg, value))
        return None
    errors.append(error("int_type", loc, "Input should be a valid integer", value))
    return None


def check_int(
    value: Any, loc: Loc, errors: list[Error], *, ge: int | None = None, le: int | None = None
) -> int | None:
    """Return ``value`` as an int within ``[ge, le]``, or record why it is not one."""
    number = _as_int(value, loc, errors)
    if number is None:
        return None
    if ge is not None and number < ge:
        msg = f"Input should be greater than or equal to {ge}"
        errors.append(error("greater_than_equal", loc, msg, value, {"ge": ge}))
        return None
    if le is not None and number > le:
        msg = f"Input should be less than or equal to {le}"
        errors.append(error("less_than_equal", loc, msg, value, {"le": le}))
        return None
    return number


def check_bool(value: Any, loc: Loc, errors: list[Error]) -> bool | None:
    """Return ``value`` as a bool (pydantic's lax rules), or record why it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        msg = "Input should be a valid boolean, unable to interpret input"
        errors.append(error("bool_parsing", loc, msg, value))
        return None
    errors.append(error("bool_type", loc, "Input should be a valid boolean", value))
    return None


def check_str(value: Any, loc: Loc, errors: list[Error]) -> str | None:
    """Return ``value`` if it is a string, or record a ``string_type`` error."""
    if isinstance(value, str):
        return value
    errors.append(error("string_type", loc, "Input should be a valid string", value))
    return None


def check_url(value: Any, loc: Loc, errors: list[Error]) -> str | None:
    """Return ``value`` if it is an absolute http(s) URL of 1..2083 characters.

    The literal ``{CHECKOUT_ID}`` placeholder is allowed anywhere after the host.
    """
    text = check_str(value, loc, errors)
    if text is None:
        return None
    if len(text) > 2083:
        msg = "URL should have at most 2083 characters"
        errors.append(error("url_too_long", loc, msg, value, {"max_length": 2083}))
        return None
    if not text:
        errors.append(
            error("url_parsing", loc, "Input should be a valid URL, input is empty", value)
        )
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme:
        msg = "Input should be a valid URL, relative URL without a base"
        errors.append(error("url_parsing", loc, msg, value))
        return None
    if parts.scheme not in ("http", "https"):
        msg = "URL scheme should be 'http' or 'https'"
        ctx = {"expected_schemes": "'http' or 'https'"}
        errors.append(error("url_scheme", loc, msg, value, ctx))
        return None
    if not parts.hostname:
        errors.append(error("url_parsing", loc, "Input should be a valid URL, empty host", value))
        return None
    return text


def check_choice(
    value: Any, loc: Loc, errors: list[Error], choices: Sequence[str], *, literal: bool = False
) -> str | None:
    """Return ``value`` if it is one of ``choices``, or record an ``enum``/``literal_error``."""
    if isinstance(value, str) and value in choices:
        return value
    quoted = [f"'{c}'" for c in choices]
    expected = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    type_ = "literal_error" if literal else "enum"
    errors.append(error(type_, loc, f"Input should be {expected}", value, {"expected": expected}))
    return None


def check_metadata(value: Any, loc: Loc, errors: list[Error]) -> dict[str, Any] | None:
    """Return a metadata dict (<= 50 keys of 1..40 chars; values: str of 1..500 chars, int,
    float or bool), or record every problem found."""
    if not isinstance(value, dict):
        errors.append(error("dict_type", loc, "Input should be a valid dictionary", value))
        return None
    before = len(errors)
    if len(value) > 50:
        msg = f"Dictionary should have at most 50 items after validation, not {len(value)}"
        ctx = {"field_type": "Dictionary", "max_length": 50, "actual_length": len(value)}
        errors.append(error("too_long", loc, msg, value, ctx))
    for key, item in value.items():
        key_loc = (*loc, key, "[key]")
        if not key:
            msg = "String should have at least 1 character"
            errors.append(error("string_too_short", key_loc, msg, key, {"min_length": 1}))
        elif len(key) > 40:
            msg = "String should have at most 40 characters"
            errors.append(error("string_too_long", key_loc, msg, key, {"max_length": 40}))
        _check_metadata_value(item, (*loc, key), errors)
    return dict(value) if len(errors) == before else None


def _check_metadata_value(item: Any, loc: Loc, errors: list[Error]) -> None:
    if isinstance(item, str):
        if not item:
            msg = "String should have at least 1 character"
            errors.append(error("string_too_short", (*loc, "str"), msg, item, {"min_length": 1}))
        elif len(item) > 500:
            msg = "String should have at most 500 characters"
            errors.append(error("string_too_long", (*loc, "str"), msg, item, {"max_length": 500}))
    elif not isinstance(item, (int, float)):  # bool is an int
        errors.append(error("string_type", (*loc, "str"), "Input should be a valid string", item))
        errors.append(error("int_type", (*loc, "int"), "Input should be a valid integer", item))
        errors.append(error("float_type", (*loc, "float"), "Input should be a valid number", item))
        errors.append(error("bool_type", (*loc, "bool"), "Input should be a valid boolean", item))


# ---------------------------------------------------------------- list query


@dataclass(frozen=True)
class ListQuery:
    """A validated list request: filters (canonical UUID strings), sorting, page, limit."""

    organization_ids: frozenset[str]
    product_ids: frozenset[str]
    sorting: tuple[str, ...]
    page: int
    limit: int
    """Already clamped to at most 100 items."""


def _last(values: list[str]) -> str | None:
    return values[-1] if values else None


def _query_positive(raw: str | None, name: str, default: int, errors: list[Error]) -> int:
    if raw is None:
        return default
    loc = ("query", name)
    if not _INT_RE.fullmatch(raw.strip()):
        msg = "Input should be a valid integer, unable to parse string as an integer"
        errors.append(error("int_parsing", loc, msg, raw))
        return default
    number = int(raw)
    if number <= 0:
        errors.append(error("greater_than", loc, "Input should be greater than 0", raw, {"gt": 0}))
        return default
    return number


def parse_list_query(pairs: Iterable[tuple[str, str]]) -> ListQuery | list[Error]:
    """Validate the list endpoint's query string (given as ordered key/value pairs).

    Returns the parsed query, or the list of validation errors for a 422 answer. A
    repeated scalar parameter (``page``, ``limit``) takes its last value, as FastAPI does.
    """
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    errors: list[Error] = []
    ids: dict[str, frozenset[str]] = {}
    for name in ("organization_id", "product_id"):
        parsed = (check_uuid4(v, ("query", name), errors) for v in values.get(name, ()))
        ids[name] = frozenset(p for p in parsed if p is not None)
    page = _query_positive(_last(values.get("page", [])), "page", 1, errors)
    limit = _query_positive(_last(values.get("limit", [])), "limit", DEFAULT_LIMIT, errors)
    sorting = tuple(values.get("sorting", ())) or ("created_at",)
    for criterion in sorting:
        if criterion not in _SORT_VALUES:
            loc = ("query", "sorting")
            errors.append(error("enum", loc, "Invalid sorting criterion.", criterion))
    if errors:
        return errors
    return ListQuery(
        organization_ids=ids["organization_id"],
        product_ids=ids["product_id"],
        sorting=sorting,
        page=page,
        limit=min(limit, MAX_LIMIT),
    )


def parse_path_id(raw: str) -> str | list[Error]:
    """Return the canonical id from a ``/{id}`` path segment, or the 422 errors."""
    errors: list[Error] = []
    parsed = check_uuid4(raw, ("path", "id"), errors)
    return parsed if parsed is not None else errors


# ---------------------------------------------------------------- bodies

_BODY: Loc = ("body",)
_NOT_OBJECT = "Input should be a valid dictionary or object to extract fields from"
_SHAPES = ("products", "product_id", "product_price_id")


def _products(
    raw: Any, loc: Loc, catalogue: Catalogue, errors: list[Error]
) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list):
        errors.append(error("list_type", loc, "Input should be a valid list", raw))
        return None
    if not raw:
        msg = "List should have at least 1 item after validation, not 0"
        ctx = {"field_type": "List", "min_length": 1, "actual_length": 0}
        errors.append(error("too_short", loc, msg, raw, ctx))
        return None
    before = len(errors)
    ids = [check_uuid4(v, (*loc, i), errors) for i, v in enumerate(raw)]
    if len(errors) > before:
        return None
    products: dict[str, dict[str, Any]] = {}
    for i, pid in enumerate(ids):
        product = _usable(catalogue.products.get(pid or ""), (*loc, i), raw[i], errors)
        if product is not None:
            products.setdefault(product["id"], product)
    return list(products.values()) if len(errors) == before else None


def _usable(
    product: dict[str, Any] | None, loc: Loc, raw: Any, errors: list[Error]
) -> dict[str, Any] | None:
    """Return ``product`` if a link may be made of it; otherwise record why and return None."""
    if product is None:
        msg = "Product does not exist."
    elif product.get("is_archived"):
        msg = "Product is archived."
    elif product.get("visibility") == "draft":
        msg = "Product is a draft."
    else:
        return product
    errors.append(error("value_error", loc, msg, raw))
    return None


def _common_fields(body: Mapping[str, Any], errors: list[Error]) -> dict[str, Any]:
    """Validate the optional fields shared by create and update; ``None`` clears a field."""
    out: dict[str, Any] = {}
    checkers: tuple[tuple[str, Any], ...] = (
        ("label", check_str),
        ("success_url", check_url),
        ("return_url", check_url),
        ("seats", lambda v, loc, e: check_int(v, loc, e, ge=1, le=10_000)),
        ("units", lambda v, loc, e: check_int(v, loc, e, ge=1)),
        ("trial_interval", lambda v, loc, e: check_choice(v, loc, e, _TRIAL_INTERVALS)),
        ("trial_interval_count", lambda v, loc, e: check_int(v, loc, e, ge=1, le=1_000)),
        ("discount_id", check_uuid4),
    )
    for name, checker in checkers:
        if name not in body:
            continue
        value = body[name]
        if value is None:
            out[name] = None
            continue
        checked = checker(value, ("body", name), errors)
        if checked is not None:
            out[name] = checked
    for name in ("allow_discount_codes", "require_billing_address"):
        if body.get(name) is not None:
            flag = check_bool(body[name], ("body", name), errors)
            if flag is not None:
                out[name] = flag
    if "metadata" in body:
        metadata = check_metadata(body["metadata"], ("body", "metadata"), errors)
        if metadata is not None:
            out["metadata"] = metadata
    return out


def _attach_discount(
    fields: dict[str, Any], organization_id: str, catalogue: Catalogue, errors: list[Error]
) -> None:
    if "discount_id" not in fields:
        return
    discount_id = fields["discount_id"]
    if discount_id is None:
        fields["discount"] = None
        return
    discount = catalogue.discounts.get(discount_id)
    if discount is None or discount["organization_id"] != organization_id:
        errors.append(
            error("value_error", ("body", "discount_id"), "Discount does not exist.", discount_id)
        )
        return
    fields["discount"] = discount


def _same_org(
    products: list[dict[str, Any]], loc: Loc, org: str | None, errors: list[Error]
) -> str | None:
    orgs = {p["organization_id"] for p in products}
    if org is not None:
        orgs.add(org)
    if len(orgs) != 1:
        msg = "Products must all belong to the same organization."
        errors.append(error("value_error", loc, msg, [p["id"] for p in products]))
        return None
    return str(orgs.pop())


def _resolve_shape(
    body: Mapping[str, Any], catalogue: Catalogue, errors: list[Error]
) -> list[dict[str, Any]] | None:
    present = [name for name in _SHAPES if name in body]
    if not present:
        errors.append(error("missing", ("body", "products"), "Field required", dict(body)))
        return None
    if len(present) > 1:
        msg = "Value error, Specify exactly one of products, product_id or product_price_id."
        errors.append(error("value_error", _BODY, msg, dict(body)))
        return None
    shape = present[0]
    loc = ("body", shape)
    if shape == "products":
        return _products(body[shape], loc, catalogue, errors)
    before = len(errors)
    ref = check_uuid4(body[shape], loc, errors)
    if ref is None or len(errors) > before:
        return None
    if shape == "product_price_id":
        owner = catalogue.prices.get(ref)
        if owner is None:
            errors.append(error("value_error", loc, "Price does not exist.", body[shape]))
            return None
        ref = owner
    product = _usable(catalogue.products.get(ref), loc, body[shape], errors)
    return None if product is None else [product]


def validate_create(body: Any, catalogue: Catalogue) -> dict[str, Any] | list[Error]:
    """Validate a create body; return the new link's fields or the 422 errors.

    The fields include ``products`` (catalogue dicts), ``organization_id`` and, when a
    discount is given, ``discount``.
    """
    if not isinstance(body, dict):
        return [error("model_attributes_type", _BODY, _NOT_OBJECT, body)]
    errors: list[Error] = []
    if "payment_processor" not in body:
        errors.append(error("missing", ("body", "payment_processor"), "Field required", body))
    else:
        loc = ("body", "payment_processor")
        check_choice(body["payment_processor"], loc, errors, ("stripe",), literal=True)
    products = _resolve_shape(body, catalogue, errors)
    fields = _common_fields(body, errors)
    if products is not None:
        org = _same_org(products, ("body", "products"), None, errors)
        if org is not None:
            fields["products"] = products
            fields["organization_id"] = org
            _attach_discount(fields, org, catalogue, errors)
    return _schema_first(errors) or fields


def validate_update(
    body: Any, catalogue: Catalogue, organization_id: str
) -> dict[str, Any] | list[Error]:
    """Validate a PATCH body for a link of ``organization_id``; return the changes or errors.

    Only keys present in the body appear in the changes. ``null`` clears a nullable field;
    ``null`` for ``products``, ``allow_discount_codes`` or ``require_billing_address``
    (which cannot be null on a link) leaves them unchanged.
    """
    if not isinstance(body, dict):
        return [error("model_attributes_type", _BODY, _NOT_OBJECT, body)]
    errors: list[Error] = []
    fields = _common_fields(body, errors)
    if body.get("products") is not None:
        loc = ("body", "products")
        products = _products(body["products"], loc, catalogue, errors)
        if products is not None and _same_org(products, loc, organization_id, errors):
            fields["products"] = products
    _attach_discount(fields, organization_id, catalogue, errors)
    return _schema_first(errors) or fields


#: Messages of the checks that need stored data (products, prices, discounts). The real
#: server runs them only once the request fits its schema, and names them differently.
_DOMAIN_MESSAGES = frozenset(
    {
        "Product does not exist.",
        "Product is archived.",
        "Product is a draft.",
        "Price does not exist.",
        "Discount does not exist.",
        "Products must all belong to the same organization.",
    }
)


def _schema_first(errors: list[Error]) -> list[Error]:
    """The errors the real server reports: the schema's if any, else the stored data's."""
    schema = [entry for entry in errors if entry["msg"] not in _DOMAIN_MESSAGES]
    return schema or errors


def rejection_name(errors: Sequence[Error]) -> str:
    """The ``error`` of a 422 body: ``RequestValidationError`` when the request does not
    fit the schema, ``PolarRequestValidationError`` when it does but names stored data
    that cannot be used (a product that does not exist, is archived or a draft)."""
    if errors and all(entry["msg"] in _DOMAIN_MESSAGES for entry in errors):
        return "PolarRequestValidationError"
    return "RequestValidationError"
