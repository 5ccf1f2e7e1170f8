"""The exact words of argument errors and the exact edges of what is accepted.

Each refusal names the argument, shows the value it got (a long value truncated to 80
characters) and says what is allowed; each bound accepts the value right at it. Every
refusal happens before a request is sent.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses

from polar_links import InvalidArgumentError, Polar
from polar_links._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError

from . import factories as f
from .conftest import BASE, count_requests, sent

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
ITEM = f"{BASE}/v1/checkout-links/{LINK_ID}"


async def _refused(api: aioresponses, call: Any, kind: type[Exception]) -> str:
    """Await ``call``; return the message of the ``kind`` error it raised before any request."""
    with pytest.raises(kind) as caught:
        await call
    assert isinstance(caught.value, InvalidArgumentError)
    assert count_requests(api) == 0
    return str(caught.value)


async def _sent_update(polar: Polar, api: aioresponses, **fields: Any) -> dict[str, Any]:
    """Send ``update(LINK_ID, **fields)`` to the mock; return the JSON body sent."""
    api.patch(ITEM, payload=f.link(id=LINK_ID))
    await polar.checkout_links.update(LINK_ID, **fields)
    [(_, kwargs)] = sent(api, "PATCH")
    return msgspec.json.decode(kwargs["data"])  # type: ignore[no-any-return]


# ----------------------------------------------------------------- showing the value


async def test_a_value_whose_repr_is_80_characters_is_shown_whole(
    polar: Polar, api: aioresponses
) -> None:
    value = "x" * 78  # repr: 80 characters with its quotes
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, allow_discount_codes=value),  # type: ignore[arg-type]
        InvalidArgumentTypeError,
    )
    assert message == f"allow_discount_codes must be True or False, got '{value}' (str)"


async def test_a_longer_value_is_cut_to_77_characters_and_an_ellipsis(
    polar: Polar, api: aioresponses
) -> None:
    value = "y" * 79  # repr: 81 characters
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, require_billing_address=value),  # type: ignore[arg-type]
        InvalidArgumentTypeError,
    )
    shown = ("'" + value)[:77] + "..."
    assert len(shown) == 80
    assert message == f"require_billing_address must be True or False, got {shown} (str)"


# ----------------------------------------------------------------- ids


async def test_an_id_of_the_wrong_type_is_named_with_its_value(
    polar: Polar, api: aioresponses
) -> None:
    message = await _refused(
        api,
        polar.checkout_links.get(12345),  # type: ignore[arg-type]
        InvalidArgumentTypeError,
    )
    assert message == "id must be a UUID string or uuid.UUID, got 12345 (int)"


async def test_an_empty_product_list_says_to_pass_an_id(polar: Polar, api: aioresponses) -> None:
    message = await _refused(
        api, polar.checkout_links.update(LINK_ID, products=[]), InvalidArgumentValueError
    )
    assert message == "products is an empty list; pass at least one id"


async def test_an_empty_filter_list_says_none_means_no_filter(
    polar: Polar, api: aioresponses
) -> None:
    with pytest.raises(InvalidArgumentValueError) as caught:
        polar.checkout_links.list(organization_id=[])
    assert str(caught.value) == (
        "organization_id is an empty list; pass at least one id, or None for no filter"
    )
    assert count_requests(api) == 0


async def test_an_empty_sorting_says_none_means_the_default_order(
    polar: Polar, api: aioresponses
) -> None:
    with pytest.raises(InvalidArgumentValueError) as caught:
        polar.checkout_links.list(sorting=[])
    assert str(caught.value) == (
        "sorting is an empty list; pass at least one criterion, or None for the "
        "server's default order (created_at)"
    )
    assert count_requests(api) == 0


# ----------------------------------------------------------------- text


async def test_an_empty_label_is_sent(polar: Polar, api: aioresponses) -> None:
    assert await _sent_update(polar, api, label="") == {"label": ""}


async def test_a_label_that_is_not_a_str_is_named_with_its_value(
    polar: Polar, api: aioresponses
) -> None:
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, label=7),  # type: ignore[arg-type]
        InvalidArgumentTypeError,
    )
    assert message == "label must be a str, got 7 (int)"


async def test_metadata_key_and_value_of_exactly_the_maximum_length_are_sent(
    polar: Polar, api: aioresponses
) -> None:
    metadata = {"k" * 40: "v" * 500}
    assert await _sent_update(polar, api, metadata=metadata) == {"metadata": metadata}


async def test_a_metadata_value_one_over_the_maximum_is_refused(
    polar: Polar, api: aioresponses
) -> None:
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, metadata={"note": "v" * 501}),
        InvalidArgumentValueError,
    )
    assert message == "metadata['note'] must be 1 to 500 characters long, got 501"


# ----------------------------------------------------------------- URLs


async def test_an_http_url_and_a_url_of_the_maximum_length_are_sent(
    polar: Polar, api: aioresponses
) -> None:
    longest = "https://shop.example/" + "a" * (2083 - len("https://shop.example/"))
    body = await _sent_update(
        polar, api, success_url="http://shop.example/thanks", return_url=longest
    )
    assert body == {"success_url": "http://shop.example/thanks", "return_url": longest}


@pytest.mark.parametrize(
    "url", ["https://shop.example/thank you", "https://shop.example/\tx", " https://shop.example/"]
)
async def test_a_url_with_whitespace_is_refused_with_its_value(
    polar: Polar, api: aioresponses, url: str
) -> None:
    message = await _refused(
        api, polar.checkout_links.update(LINK_ID, success_url=url), InvalidArgumentValueError
    )
    assert message == (
        f"success_url must be an absolute http:// or https:// URL without spaces, got {url!r} (str)"
    )


async def test_a_url_python_cannot_parse_is_refused_with_the_reason(
    polar: Polar, api: aioresponses
) -> None:
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, return_url="https://[::1/back"),
        InvalidArgumentValueError,
    )
    assert message == "return_url is not a valid URL: 'https://[::1/back' (str) (Invalid IPv6 URL)"


# ----------------------------------------------------------------- metadata and choices


async def test_metadata_of_exactly_50_keys_is_sent(polar: Polar, api: aioresponses) -> None:
    metadata: dict[str, str | int | float | bool] = {f"k{i}": i for i in range(50)}
    assert await _sent_update(polar, api, metadata=metadata) == {"metadata": metadata}


@pytest.mark.parametrize(
    ("metadata", "kind", "expected"),
    [
        ("a=b", InvalidArgumentTypeError, "metadata must be a dict, got 'a=b' (str)"),
        (
            {"tags": ["a"]},
            InvalidArgumentTypeError,
            "metadata['tags'] must be a str, int, float or bool, got ['a'] (list)",
        ),
        (
            {"ratio": float("nan")},
            InvalidArgumentValueError,
            "metadata['ratio'] must be a finite number, got nan (float)",
        ),
        (
            {"k" * 41: "v"},
            InvalidArgumentValueError,
            f"metadata key {'k' * 41!r} must be 1 to 40 characters long, got 41",
        ),
        (
            {f"k{i}": i for i in range(51)},
            InvalidArgumentValueError,
            "metadata has 51 keys; at most 50 are allowed",
        ),
    ],
)
async def test_bad_metadata_is_refused_naming_the_entry(
    polar: Polar, api: aioresponses, metadata: Any, kind: type[Exception], expected: str
) -> None:
    message = await _refused(api, polar.checkout_links.update(LINK_ID, metadata=metadata), kind)
    assert message == expected


async def test_a_trial_interval_not_in_the_list_is_refused_with_its_value(
    polar: Polar, api: aioresponses
) -> None:
    message = await _refused(
        api,
        polar.checkout_links.update(LINK_ID, trial_interval="fortnight"),  # type: ignore[arg-type]
        InvalidArgumentValueError,
    )
    assert message == "trial_interval must be one of day, week, month, year, got 'fortnight' (str)"
