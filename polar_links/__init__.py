"""polar-links: a fast, typed, async-first SDK for Polar checkout links.

>>> async with Polar(access_token="polar_oat_...") as polar:
...     async for link in polar.checkout_links.list(organization_id="..."):
...         print(link.url)

>>> with SyncPolar(access_token="polar_oat_...") as polar:  # no event loop needed
...     for link in polar.checkout_links.list(organization_id="..."):
...         print(link.url)
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._checkout_links import CheckoutLinks, CheckoutLinksWithRawResponse
    from ._client import DEFAULT_CONCURRENCY, Polar
    from ._config import Backoff, RateLimit, Timeout
    from ._decoding import SkippedItem
    from ._exceptions import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        CallTimeoutError,
        ConflictError,
        InternalServerError,
        InvalidArgumentError,
        InvalidResponseError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        PolarError,
        RateLimitError,
        ResponseTooLargeError,
        UnprocessableEntityError,
        UnsupportedAPIVersionError,
        ValidationErrorDetail,
    )
    from ._models import (
        Benefit,
        BenefitCustom,
        BenefitDiscord,
        BenefitDownloadables,
        BenefitFeatureFlag,
        BenefitGitHubRepository,
        BenefitLicenseKeys,
        BenefitMeterCredit,
        BenefitSlackSharedChannel,
        CheckoutLink,
        CheckoutLinkProduct,
        Discount,
        DiscountFixed,
        DiscountPercentage,
        Pagination,
        ProductMedia,
        ProductPrice,
        ProductPriceCustom,
        ProductPriceFixed,
        ProductPriceMeter,
        ProductPriceMeteredUnit,
        ProductPriceSeatBased,
        SeatTier,
        SeatTiers,
        UnknownBenefit,
        UnknownDiscount,
        UnknownProductPrice,
    )
    from ._options import NOT_GIVEN, NotGiven
    from ._pagination import CheckoutLinkPaginator, Page, WalkReport
    from ._query import SORTING_VALUES
    from ._raw import APIResponse, RawResult
    from ._requests import TRIAL_INTERVALS
    from ._sync import (
        SyncCheckoutLinkPaginator,
        SyncCheckoutLinks,
        SyncCheckoutLinksWithRawResponse,
        SyncPolar,
    )
    from ._version import __version__

# A library logs, the application decides where it goes: without this, Python's
# last-resort handler would print the SDK's warnings on stderr.
logging.getLogger("polar_links").addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_CONCURRENCY",
    "NOT_GIVEN",
    "SORTING_VALUES",
    "TRIAL_INTERVALS",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "Backoff",
    "BadRequestError",
    "Benefit",
    "BenefitCustom",
    "BenefitDiscord",
    "BenefitDownloadables",
    "BenefitFeatureFlag",
    "BenefitGitHubRepository",
    "BenefitLicenseKeys",
    "BenefitMeterCredit",
    "BenefitSlackSharedChannel",
    "CallTimeoutError",
    "CheckoutLink",
    "CheckoutLinkPaginator",
    "CheckoutLinkProduct",
    "CheckoutLinks",
    "CheckoutLinksWithRawResponse",
    "ConflictError",
    "Discount",
    "DiscountFixed",
    "DiscountPercentage",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidResponseError",
    "NotFoundError",
    "NotGiven",
    "Page",
    "Pagination",
    "PaginationError",
    "PermissionDeniedError",
    "Polar",
    "PolarError",
    "ProductMedia",
    "ProductPrice",
    "ProductPriceCustom",
    "ProductPriceFixed",
    "ProductPriceMeter",
    "ProductPriceMeteredUnit",
    "ProductPriceSeatBased",
    "RateLimit",
    "RateLimitError",
    "RawResult",
    "ResponseTooLargeError",
    "SeatTier",
    "SeatTiers",
    "SkippedItem",
    "SyncCheckoutLinkPaginator",
    "SyncCheckoutLinks",
    "SyncCheckoutLinksWithRawResponse",
    "SyncPolar",
    "Timeout",
    "UnknownBenefit",
    "UnknownDiscount",
    "UnknownProductPrice",
    "UnprocessableEntityError",
    "UnsupportedAPIVersionError",
    "ValidationErrorDetail",
    "WalkReport",
    "__version__",
]

# Names load on first use (PEP 562): importing the package, or its pytest plugin, does
# not import aiohttp or msgspec until a name that needs them is asked for.
_HOMES = {
    "APIConnectionError": "._exceptions",
    "APIResponse": "._raw",
    "APIStatusError": "._exceptions",
    "APITimeoutError": "._exceptions",
    "AuthenticationError": "._exceptions",
    "Backoff": "._config",
    "BadRequestError": "._exceptions",
    "CallTimeoutError": "._exceptions",
    "Benefit": "._models",
    "BenefitCustom": "._models",
    "BenefitDiscord": "._models",
    "BenefitDownloadables": "._models",
    "BenefitFeatureFlag": "._models",
    "BenefitGitHubRepository": "._models",
    "BenefitLicenseKeys": "._models",
    "BenefitMeterCredit": "._models",
    "BenefitSlackSharedChannel": "._models",
    "CheckoutLink": "._models",
    "CheckoutLinkPaginator": "._pagination",
    "CheckoutLinkProduct": "._models",
    "CheckoutLinks": "._checkout_links",
    "CheckoutLinksWithRawResponse": "._checkout_links",
    "ConflictError": "._exceptions",
    "DEFAULT_CONCURRENCY": "._client",
    "Discount": "._models",
    "DiscountFixed": "._models",
    "DiscountPercentage": "._models",
    "InternalServerError": "._exceptions",
    "InvalidArgumentError": "._exceptions",
    "InvalidResponseError": "._exceptions",
    "NOT_GIVEN": "._options",
    "NotFoundError": "._exceptions",
    "NotGiven": "._options",
    "Page": "._pagination",
    "PaginationError": "._exceptions",
    "Pagination": "._models",
    "PermissionDeniedError": "._exceptions",
    "Polar": "._client",
    "PolarError": "._exceptions",
    "ProductMedia": "._models",
    "ProductPrice": "._models",
    "ProductPriceCustom": "._models",
    "ProductPriceFixed": "._models",
    "ProductPriceMeter": "._models",
    "ProductPriceMeteredUnit": "._models",
    "ProductPriceSeatBased": "._models",
    "RateLimit": "._config",
    "RateLimitError": "._exceptions",
    "RawResult": "._raw",
    "ResponseTooLargeError": "._exceptions",
    "SORTING_VALUES": "._query",
    "SeatTier": "._models",
    "SeatTiers": "._models",
    "SkippedItem": "._decoding",
    "SyncCheckoutLinkPaginator": "._sync",
    "SyncCheckoutLinks": "._sync",
    "SyncCheckoutLinksWithRawResponse": "._sync",
    "SyncPolar": "._sync",
    "TRIAL_INTERVALS": "._requests",
    "Timeout": "._config",
    "UnknownBenefit": "._models",
    "UnknownDiscount": "._models",
    "UnknownProductPrice": "._models",
    "UnprocessableEntityError": "._exceptions",
    "UnsupportedAPIVersionError": "._exceptions",
    "ValidationErrorDetail": "._exceptions",
    "WalkReport": "._pagination",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names."""
    return sorted(__all__)
