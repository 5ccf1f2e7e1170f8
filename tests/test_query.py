"""The list query is built exactly as the server reads it, and bad arguments are
rejected with a precise message before any request is sent."""

from __future__ import annotations

import uuid

import pytest
from aioresponses import aioresponses

from polar_links import SORTING_VALUES, InvalidArgumentError, Polar
from polar_links._query import list_query, page_query

from .conftest import count_requests

ORG_A = "1dbfc517-0bbf-4301-9ba8-555ca42b9737"
ORG_B = "2f4c8a1e-3b5d-4e6f-8a9b-0c1d2e3f4a5b"
PROD = "5b9a4a5e-6f34-4d8a-9f57-0a1cbd2f7e11"


def test_several_organization_ids_are_sent_as_repeated_keys_in_order() -> None:
    assert list_query(organization_id=[ORG_A, ORG_B]) == [
        ("organization_id", ORG_A),
        ("organization_id", ORG_B),
    ]


def test_one_id_is_sent_once_and_uuid_objects_are_accepted() -> None:
    assert list_query(organization_id=uuid.UUID(ORG_A), product_id=PROD) == [
        ("organization_id", ORG_A),
        ("product_id", PROD),
    ]


def test_sorting_criteria_are_repeated_keys_in_the_given_order() -> None:
    assert list_query(sorting=["-created_at", "label", "-allow_discount_codes"]) == [
        ("sorting", "-created_at"),
        ("sorting", "label"),
        ("sorting", "-allow_discount_codes"),
    ]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (["label"], ["label", "created_at"]),
        (["-allow_discount_codes", "-label"], ["-allow_discount_codes", "-label", "created_at"]),
        (["success_url", "-created_at"], ["success_url", "-created_at"]),
        (["created_at", "label"], ["created_at", "label"]),
    ],
)
def test_created_at_is_appended_as_tie_breaker_unless_named(
    given: list[str], sent: list[str]
) -> None:
    assert list_query(sorting=given) == [("sorting", v) for v in sent]


def test_none_sends_no_key_at_all() -> None:
    assert list_query(organization_id=None, product_id=None, sorting=None) == []


def test_ids_are_normalized_to_lower_case_hyphenated_form() -> None:
    assert list_query(product_id=PROD.upper().replace("-", "")) == [("product_id", PROD)]


def test_page_and_limit_follow_the_filters() -> None:
    base = list_query(organization_id=ORG_A, sorting=["label"])
    assert page_query(base, 3, 100) == [
        ("organization_id", ORG_A),
        ("sorting", "label"),
        ("sorting", "created_at"),
        ("page", "3"),
        ("limit", "100"),
    ]


def test_all_eight_sorting_values_are_accepted() -> None:
    assert len(SORTING_VALUES) == 8
    assert list_query(sorting=list(SORTING_VALUES)) == [("sorting", v) for v in SORTING_VALUES]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limit": 0}, ValueError, "limit must be an int from 1 to 100, got 0"),
        ({"limit": 101}, ValueError, "limit must be an int from 1 to 100, got 101"),
        ({"limit": 1.5}, TypeError, "limit must be an int from 1 to 100, got 1.5 (float)"),
        ({"limit": True}, TypeError, "limit must be an int from 1 to 100, got True (bool)"),
        ({"limit": "10"}, TypeError, "limit must be an int from 1 to 100, got '10' (str)"),
        ({"page": 0}, ValueError, "page must be an int >= 1, got 0"),
        ({"page": False}, TypeError, "page must be an int >= 1, got False (bool)"),
        ({"max_items": -1}, ValueError, "max_items must be an int >= 0, got -1"),
        ({"concurrency": 0}, ValueError, "concurrency must be an int from 1 to 64, got 0"),
        (
            {"organization_id": "not-a-uuid"},
            ValueError,
            "organization_id must be a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737', "
            "got 'not-a-uuid' (str)",
        ),
        (
            {"organization_id": [ORG_A, "x/../y"]},
            ValueError,
            "organization_id[1] must be a UUID",
        ),
        ({"organization_id": []}, ValueError, "organization_id is an empty list"),
        ({"product_id": 42}, TypeError, "product_id must be a UUID or a list of UUIDs, got 42"),
        (
            {"sorting": "-created_at"},
            TypeError,
            "sorting must be a list of criteria such as ['-created_at'], not a bare string",
        ),
        (
            {"sorting": ["created_at", "price"]},
            ValueError,
            "sorting[1] is 'price', which is not a sorting criterion; allowed: created_at, "
            "-created_at, label, -label, success_url, -success_url, allow_discount_codes, "
            "-allow_discount_codes",
        ),
        ({"sorting": ["+label"]}, ValueError, "sorting[0] is '+label'"),
        (
            {"sorting": {"label", "-created_at"}},
            TypeError,
            "sorting must be a list of criteria such as ['-created_at'], got {",
        ),
        (
            {"sorting": 3},
            TypeError,
            "sorting must be a list of criteria such as ['-created_at'], got 3 (int)",
        ),
        ({"sorting": []}, ValueError, "sorting is an empty list; pass at least one criterion"),
    ],
)
async def test_bad_list_argument_is_rejected_before_any_request(
    polar: Polar, api: aioresponses, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        polar.checkout_links.list(**kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)
    assert isinstance(raised.value, InvalidArgumentError)
    assert count_requests(api) == 0
