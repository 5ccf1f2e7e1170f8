"""Every failure becomes a typed PolarError; nothing leaks the token."""

from __future__ import annotations

import pickle

import pytest
from aioresponses import aioresponses

from polar_links import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    Polar,
    PolarError,
    RateLimitError,
    UnprocessableEntityError,
    UnsupportedAPIVersionError,
)

from .conftest import BASE, LIST_URL, TOKEN

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
GET_URL = f"{BASE}/v1/checkout-links/{LINK_ID}"


@pytest.fixture
async def strict(api: aioresponses):  # type: ignore[no-untyped-def]
    async with Polar(TOKEN, base_url=BASE, max_retries=0) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "body", "cls", "detail"),
    [
        (400, {"error": "BadRequest", "detail": "Bad"}, BadRequestError, "Bad"),
        (
            401,
            {"error": "Unauthorized", "detail": "Invalid token"},
            AuthenticationError,
            "Invalid token",
        ),
        (
            403,
            {"error": "NotPermitted", "detail": "Missing scope"},
            PermissionDeniedError,
            "Missing scope",
        ),
        (404, {"error": "ResourceNotFound", "detail": "Not found"}, NotFoundError, "Not found"),
        (409, {"error": "Conflict", "detail": "Busy"}, ConflictError, "Busy"),
        (500, {"error": "InternalServerError", "detail": "Oops"}, InternalServerError, "Oops"),
        (503, {"error": "Unavailable", "detail": "Later"}, InternalServerError, "Later"),
        (418, {"error": "Teapot", "detail": "Short and stout"}, APIStatusError, "Short and stout"),
    ],
)
async def test_each_status_maps_to_its_exception_class(
    strict: Polar, api: aioresponses, status: int, body: dict[str, str], cls: type, detail: str
) -> None:
    api.get(GET_URL, status=status, payload=body, headers={"X-Request-Id": "req_123"})
    with pytest.raises(cls) as raised:
        await strict.checkout_links.get(LINK_ID)
    error = raised.value
    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert isinstance(error, PolarError)
    assert error.status_code == status
    assert error.body == body
    assert error.detail == detail
    assert error.request_id == "req_123"
    assert error.method == "GET"
    assert error.url == GET_URL
    assert f"{status} on GET {GET_URL}: {detail} (request id req_123)" == str(error)


async def test_422_exposes_the_validation_details(strict: Polar, api: aioresponses) -> None:
    body = {
        "detail": [
            {
                "loc": ["query", "sorting"],
                "msg": "Invalid sorting criterion.",
                "type": "enum",
                "input": "x",
            }
        ]
    }
    api.get(LIST_URL, status=422, payload=body)
    with pytest.raises(UnprocessableEntityError) as raised:
        await strict.checkout_links.list().first_page()
    [detail] = raised.value.errors
    assert (detail.loc, detail.msg, detail.type) == (
        ["query", "sorting"],
        "Invalid sorting criterion.",
        "enum",
    )
    assert "query.sorting: Invalid sorting criterion." in str(raised.value)


async def test_429_beyond_the_budget_raises_rate_limit_error_with_retry_after(
    strict: Polar, api: aioresponses
) -> None:
    api.get(GET_URL, status=429, payload={"detail": "slow down"}, headers={"Retry-After": "17"})
    with pytest.raises(RateLimitError) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.retry_after == 17.0
    assert raised.value.status_code == 429


@pytest.mark.parametrize(
    ("status", "error", "description", "cls"),
    [
        (401, "invalid_token", "The access token is revoked.", AuthenticationError),
        (403, "insufficient_scope", "The token needs more scopes.", PermissionDeniedError),
    ],
)
async def test_an_oauth_error_body_puts_its_description_in_the_message(
    strict: Polar,
    api: aioresponses,
    status: int,
    error: str,
    description: str,
    cls: type[APIStatusError],
) -> None:
    # The real server's 401 for a bad token and 403 for a missing scope have no "detail".
    body = {"error": error, "error_description": description}
    api.get(GET_URL, status=status, payload=body)
    with pytest.raises(cls) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.detail == f"{description} ({error})"
    assert str(raised.value) == f"{status} on GET {GET_URL}: {description} ({error})"


async def test_a_403_names_the_scopes_from_www_authenticate(
    strict: Polar, api: aioresponses
) -> None:
    challenge = (
        'Bearer realm="polar", scope="checkout_links:write checkout_links:read", '
        'error="insufficient_scope", error_description="Needs more."'
    )
    body = {"error": "insufficient_scope", "error_description": "Needs more."}
    api.get(GET_URL, status=403, payload=body, headers={"WWW-Authenticate": challenge})
    with pytest.raises(PermissionDeniedError) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.required_scopes == ("checkout_links:write", "checkout_links:read")
    assert str(raised.value) == (
        f"403 on GET {GET_URL}: Needs more. (insufficient_scope); the token needs one of the "
        "scopes checkout_links:write, checkout_links:read"
    )


async def test_a_bare_404_to_a_pinned_api_version_raises_unsupported_api_version(
    api: aioresponses,
) -> None:
    api.get(GET_URL, status=404, payload={"detail": "Not Found"})
    async with Polar(TOKEN, base_url=BASE, api_version="2020-01") as polar:
        with pytest.raises(UnsupportedAPIVersionError) as raised:
            await polar.checkout_links.get(LINK_ID)
    error = raised.value
    assert isinstance(error, NotFoundError)
    assert error.api_version == "2020-01"
    assert str(error) == (
        f"404 on GET {GET_URL}: the server does not support API version '2020-01' (sent as "
        "the Polar-Version header, from Polar(api_version=...)); pin a version it supports, "
        "such as '2026-10', or pass none to get the server's default"
    )


@pytest.mark.parametrize(
    ("api_version", "body"),
    [
        (None, {"detail": "Not Found"}),
        ("2026-10", {"error": "ResourceNotFound", "detail": "Not found"}),
    ],
    ids=["no-version-pinned", "missing-link"],
)
async def test_other_404s_stay_plain_not_found(
    api: aioresponses, api_version: str | None, body: dict[str, str]
) -> None:
    api.get(GET_URL, status=404, payload=body)
    async with Polar(TOKEN, base_url=BASE, api_version=api_version) as polar:
        with pytest.raises(NotFoundError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert type(raised.value) is NotFoundError


async def test_an_empty_429_without_content_type_raises_rate_limit_error(
    strict: Polar, api: aioresponses
) -> None:
    api.get(GET_URL, status=429, body=b"", headers={"retry-after": "60"}, content_type="")
    with pytest.raises(RateLimitError) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.retry_after == 60
    assert str(raised.value) == f"429 on GET {GET_URL}: (empty body)"


async def test_an_html_502_from_a_proxy_gives_a_typed_error_with_a_snippet(
    strict: Polar, api: aioresponses
) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 1000 + "</body></html>"
    api.get(GET_URL, status=502, body=html, content_type="text/html")
    with pytest.raises(InternalServerError) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.status_code == 502
    assert isinstance(raised.value.body, str)
    assert raised.value.body.startswith("<html><body><h1>502")
    assert len(raised.value.body) <= 200


async def test_a_200_body_that_is_not_json_gives_invalid_response_error(
    strict: Polar, api: aioresponses
) -> None:
    api.get(LIST_URL, status=200, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(InvalidResponseError) as raised:
        await strict.checkout_links.list().first_page()
    assert raised.value.status_code == 200
    assert "<html>maintenance</html>" in str(raised.value)


async def test_a_200_list_without_pagination_gives_invalid_response_error(
    strict: Polar, api: aioresponses
) -> None:
    api.get(LIST_URL, payload={"items": []})
    with pytest.raises(InvalidResponseError, match="not a list of checkout links"):
        await strict.checkout_links.list().first_page()


async def test_a_200_link_without_id_gives_invalid_response_error(
    strict: Polar, api: aioresponses
) -> None:
    api.get(GET_URL, payload={"label": "no id"})
    with pytest.raises(InvalidResponseError, match="not a checkout link"):
        await strict.checkout_links.get(LINK_ID)


async def test_a_refused_connection_gives_api_connection_error(strict: Polar) -> None:
    # Nothing is mocked for this URL: aioresponses refuses the connection.
    with pytest.raises(APIConnectionError) as raised:
        await strict.checkout_links.get(LINK_ID)
    assert raised.value.method == "GET"
    assert TOKEN not in str(raised.value)


async def test_the_token_is_in_no_error_message_or_attribute(
    strict: Polar, api: aioresponses
) -> None:
    api.get(GET_URL, status=401, payload={"error": "Unauthorized", "detail": "bad token"})
    with pytest.raises(AuthenticationError) as raised:
        await strict.checkout_links.get(LINK_ID)
    text = str(raised.value) + repr(raised.value) + repr(vars(raised.value))
    assert TOKEN not in text


def test_the_client_repr_hides_the_token() -> None:
    client = Polar(TOKEN, base_url=BASE)
    assert TOKEN not in repr(client)
    assert "***" in repr(client)
    # Nor in any plain attribute, the transport's included: only the Secret holds it.
    for holder in (client, client._transport, client.checkout_links):
        assert TOKEN not in repr(vars(holder))


def test_the_client_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Polar(TOKEN, base_url=BASE))
