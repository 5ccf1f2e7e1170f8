"""polar-links: a fast, typed, async SDK for Polar checkout links.

>>> async with Polar(access_token="polar_oat_...") as polar:
...     async for link in polar.checkout_links.list(organization_id="..."):
...         print(link.url)
"""

import logging

from ._checkout_links import CheckoutLinks
from ._client import DEFAULT_CONCURRENCY, Polar
from ._config import Backoff, RateLimit, Timeout
from ._decoding import SkippedItem
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    PolarError,
    RateLimitError,
    ResponseTooLargeError,
    UnprocessableEntityError,
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
from ._pagination import CheckoutLinkPaginator, Page
from ._query import SORTING_VALUES
from ._requests import TRIAL_INTERVALS
from ._version import __version__

# A library logs, the application decides where it goes: without this, Python's
# last-resort handler would print the SDK's warnings on stderr.
logging.getLogger("polar_links").addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_CONCURRENCY",
    "SORTING_VALUES",
    "TRIAL_INTERVALS",
    "APIConnectionError",
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
    "CheckoutLink",
    "CheckoutLinkPaginator",
    "CheckoutLinkProduct",
    "CheckoutLinks",
    "ConflictError",
    "Discount",
    "DiscountFixed",
    "DiscountPercentage",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidResponseError",
    "NotFoundError",
    "Page",
    "Pagination",
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
    "ResponseTooLargeError",
    "SeatTier",
    "SeatTiers",
    "SkippedItem",
    "Timeout",
    "UnknownBenefit",
    "UnknownDiscount",
    "UnknownProductPrice",
    "UnprocessableEntityError",
    "ValidationErrorDetail",
    "__version__",
]
