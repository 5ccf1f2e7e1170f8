"""The settable fields of a checkout link, declared once.

:data:`LINK_FIELDS` is the one table of them: name, kind of value, whether ``update``
can clear it, its CLI option and its help text. The request bodies
(:mod:`polar_links._requests`), the argument checks (:func:`check_fields`) and the
options of ``polar-links create``/``update`` are derived from it. ``create`` and
``update`` keep explicit keyword signatures for IDEs and docs; a test asserts they
agree with the table.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal

from msgspec import UNSET

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

__all__ = [
    "FIELDS_BY_NAME",
    "LINK_FIELDS",
    "TRIAL_INTERVALS",
    "Choice",
    "Flag",
    "Id",
    "IdList",
    "Integer",
    "LinkField",
    "Metadata",
    "Text",
    "Url",
    "ValueKind",
    "check_fields",
    "check_metadata",
]

#: The values ``trial_interval`` accepts.
TRIAL_INTERVALS = ("day", "week", "month", "year")
_METADATA_MAX_KEYS = 50


# ---------------------------------------------------------------- kinds of value


@dataclass(frozen=True)
class _Kind:
    """A kind of value: what a caller may pass (``accepts``, the type in the signatures),
    what is sent (``wire``, the type in the request bodies) and its ``checker``."""

    accepts: Any
    wire: Any
    #: Checks and normalizes ``(name, value)``, raising an ``InvalidArgumentError``.
    checker: Callable[[str, object], Any]

    def check(self, name: str, value: object) -> Any:
        """Return ``value`` checked and normalized, or raise naming ``name``."""
        return self.checker(name, value)


class Text(_Kind):
    """Any string."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``label``."""
        super().__init__(str, str, check_str)


class Url(_Kind):
    """An absolute http(s) URL of 1..2083 characters (``{CHECKOUT_ID}`` allowed)."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``success_url``."""
        super().__init__(str, str, check_url)


class Id(_Kind):
    """One UUID, as a string or ``uuid.UUID``; sent in canonical form."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``discount_id``."""
        super().__init__(str | uuid.UUID, str, check_uuid)


class IdList(_Kind):
    """A non-empty list of UUIDs."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``products``."""
        checker = partial(check_uuid_list, allow_single=False)
        super().__init__(Sequence[str | uuid.UUID], list[str], checker)


class Flag(_Kind):
    """``True`` or ``False``."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``allow_discount_codes``."""
        super().__init__(bool, bool, check_bool)


class Metadata(_Kind):
    """A map of at most 50 keys (1..40 characters) to str (1..500), int, float or bool."""

    def __init__(self) -> None:  # pragma: no mutate block (runs at import: see noxfile.py)
        """The kind of ``metadata``."""
        super().__init__(dict[str, str | int | float | bool], dict[str, Any], check_metadata)


@dataclass(frozen=True)
class Integer:
    """An int (not a bool) within ``minimum..maximum`` (no upper bound if ``None``)."""

    accepts: ClassVar[Any] = int
    wire: ClassVar[Any] = int
    minimum: int
    maximum: int | None = None

    def check(self, name: str, value: object) -> int:
        """Return ``value`` if it is an int in range, or raise."""
        return check_int(name, value, minimum=self.minimum, maximum=self.maximum)


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (strings), typed as their ``Literal``."""

    wire: ClassVar[Any] = str
    values: tuple[str, ...]

    @property
    def accepts(self) -> Any:
        """``Literal`` of the values."""
        return Literal[self.values]

    def check(self, name: str, value: object) -> str:
        """Return ``value`` if it is one of the values, or raise."""
        if value not in self.values:
            raise InvalidArgumentValueError(
                f"{name} must be one of {', '.join(self.values)}, got {_show(value)}"
            )
        return str(value)


ValueKind = Text | Url | Id | IdList | Flag | Integer | Choice | Metadata


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


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class LinkField:
    """One settable field of a checkout link."""

    #: The API's name of the field, and of the keyword argument of create/update.
    name: str
    #: What a value may be.
    value: ValueKind
    #: The option of ``polar-links create``/``update`` that sets it.
    flag: str
    #: What it does, for the CLI's help.
    help: str
    #: How ``update`` clears it: ``"null"`` (``None`` is allowed and sent as ``null``),
    #: ``"empty"`` (the CLI sends an empty value; ``None`` is refused) or ``None``
    #: (it cannot be cleared).
    cleared: Literal["null", "empty"] | None = None
    #: False for the fields only ``create`` takes.
    updatable: bool = True
    #: True for the three ways ``create`` names what the link sells (give exactly one).
    sells: bool = False

    @property
    def nullable(self) -> bool:
        """True if ``None`` is an allowed value (sent as ``null``: the field is cleared)."""
        return self.cleared == "null"


#: Every settable field, in the order of the request bodies.
LINK_FIELDS: tuple[LinkField, ...] = (
    LinkField(
        "products",
        IdList(),
        "--product",
        "a product the link sells (repeatable; update replaces the whole list)",
        sells=True,
    ),
    LinkField(
        "product_id",
        Id(),
        "--product-id",
        "one product (deprecated by Polar)",
        updatable=False,
        sells=True,
    ),
    LinkField(
        "product_price_id",
        Id(),
        "--product-price-id",
        "one product price (deprecated by Polar)",
        updatable=False,
        sells=True,
    ),
    LinkField("label", Text(), "--label", "label (only shown to you)", cleared="null"),
    LinkField(
        "allow_discount_codes",
        Flag(),
        "--allow-discount-codes",
        "let customers enter discount codes",
    ),
    LinkField(
        "require_billing_address",
        Flag(),
        "--require-billing-address",
        "always ask for the full billing address",
    ),
    LinkField("discount_id", Id(), "--discount-id", "discount applied by default", cleared="null"),
    LinkField("success_url", Url(), "--success-url", "redirect after payment", cleared="null"),
    LinkField("return_url", Url(), "--return-url", "the checkout's back link", cleared="null"),
    LinkField("seats", Integer(1, 10_000), "--seats", "seats", cleared="null"),
    LinkField("units", Integer(1), "--units", "units", cleared="null"),
    LinkField(
        "trial_interval",
        Choice(TRIAL_INTERVALS),
        "--trial-interval",
        "unit of the trial period",
        cleared="null",
    ),
    LinkField(
        "trial_interval_count",
        Integer(1, 1000),
        "--trial-interval-count",
        "length of the trial period",
        cleared="null",
    ),
    LinkField("metadata", Metadata(), "--metadata", "metadata entry", cleared="empty"),
)
#: The fields by name.
FIELDS_BY_NAME = {field.name: field for field in LINK_FIELDS}


def check_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """Check the given (not ``UNSET``) fields by name; return them normalized.

    ``None`` is kept (sent as ``null``) for the fields that can be cleared with it.
    """
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is UNSET:
            continue
        field = FIELDS_BY_NAME[name]
        if value is None:
            if not field.nullable:
                raise InvalidArgumentValueError(f"{name} cannot be None (it cannot be cleared)")
            out[name] = None
        else:
            out[name] = field.value.check(name, value)
    return out
