"""The SDK reads the bodies the real server sends (FACTS.md, "Observed on the real server"),
over real sockets to the bundled server: OAuth-style 401/403, the bare 404 of an unknown
API version, the empty 429, the JSON-labelled empty 204 and the deprecated fields."""

from __future__ import annotations

import uuid

import pytest

from polar_links import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    Polar,
    RateLimitError,
    UnsupportedAPIVersionError,
)
from polar_links.testing import PolarTestServer

INVALID_TOKEN = (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons."
)
INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."


async def test_an_unknown_token_raises_with_the_servers_description(
    polar_server: PolarTestServer,
) -> None:
    async with Polar("polar_oat_revoked", base_url=polar_server.base_url) as polar:
        with pytest.raises(AuthenticationError) as raised:
            await polar.checkout_links.list().first_page()
    error = raised.value
    assert error.body == {"error": "invalid_token", "error_description": INVALID_TOKEN}
    assert error.detail == f"{INVALID_TOKEN} (invalid_token)"
    assert str(error) == (
        f"401 on GET {polar_server.url}?page=1&limit=100: {INVALID_TOKEN} (invalid_token)"
    )
    assert "polar_oat_revoked" not in str(error) + repr(vars(error))


@pytest.mark.polar_server(links=5, read_only_token="polar_oat_reader")
async def test_a_write_without_the_scope_raises_permission_denied_with_the_description(
    polar_server: PolarTestServer,
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    async with Polar("polar_oat_reader", base_url=polar_server.base_url) as polar:
        assert (await polar.checkout_links.get(link_id)).id == link_id
        with pytest.raises(PermissionDeniedError) as raised:
            await polar.checkout_links.delete(link_id)
    assert str(raised.value) == (
        f"403 on DELETE {polar_server.url}{link_id}: {INSUFFICIENT_SCOPE} (insufficient_scope); "
        "the token needs the scope checkout_links:write"
    )
    assert raised.value.required_scopes == ("checkout_links:write",)
    assert polar_server.store.get(link_id) is not None


@pytest.mark.parametrize("operation", ["list", "get", "update", "delete"])
async def test_an_unknown_api_version_raises_unsupported_api_version_on_every_call(
    polar_server: PolarTestServer, operation: str
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    async with Polar(
        polar_server.token, base_url=polar_server.base_url, api_version="2020-01"
    ) as polar:
        links = polar.checkout_links
        calls = {
            "list": lambda: links.list().first_page(),
            "get": lambda: links.get(link_id),
            "update": lambda: links.update(link_id, label="x"),
            "delete": lambda: links.delete(link_id),
        }
        with pytest.raises(UnsupportedAPIVersionError) as raised:
            await calls[operation]()
    error = raised.value
    assert isinstance(error, NotFoundError)
    assert error.api_version == "2020-01"
    assert error.status_code == 404
    assert error.body == {"detail": "Not Found"}
    assert "does not support API version '2020-01'" in str(error)
    assert "Polar-Version" in str(error)
    assert "Not Found" not in str(error)
    assert polar_server.store.get(link_id) is not None  # nothing was applied


async def test_a_missing_link_with_a_known_api_version_is_a_plain_not_found(
    polar_server: PolarTestServer,
) -> None:
    async with Polar(
        polar_server.token, base_url=polar_server.base_url, api_version="2026-10"
    ) as polar:
        with pytest.raises(NotFoundError) as raised:
            await polar.checkout_links.get(str(uuid.uuid4()))
    assert type(raised.value) is NotFoundError
    assert raised.value.detail == "Not found"


async def test_an_empty_429_raises_rate_limit_error_with_retry_after(
    polar_server: PolarTestServer,
) -> None:
    polar_server.faults.rate_limit_per_minute = 1
    polar_server.faults.retry_after_override = 60
    base_url = polar_server.base_url
    async with Polar(polar_server.token, base_url=base_url, max_retries=0) as polar:
        await polar.checkout_links.list().first_page()
        with pytest.raises(RateLimitError) as raised:
            await polar.checkout_links.list().first_page()
    error = raised.value
    assert error.retry_after == 60
    assert error.body == ""
    assert str(error) == f"429 on GET {polar_server.url}?page=1&limit=100: (empty body)"


async def test_delete_accepts_an_empty_204_labelled_json(polar_server: PolarTestServer) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    async with Polar(polar_server.token, base_url=polar_server.base_url) as polar:
        assert await polar.checkout_links.delete(link_id) is None
        with pytest.raises(NotFoundError):
            await polar.checkout_links.get(link_id)
    [answer] = [r for r in polar_server.requests if r.method == "DELETE"]
    assert answer.status == 204


async def test_links_with_the_deprecated_fields_decode(polar_server: PolarTestServer) -> None:
    raw = polar_server.store.all_links()[0]
    async with Polar(polar_server.token, base_url=polar_server.base_url) as polar:
        link = await polar.checkout_links.get(raw["id"])
        updated = await polar.checkout_links.update(raw["id"], label=None)
    assert link.id == raw["id"]
    assert [p.id for p in link.products] == [p["id"] for p in raw["products"]]
    assert updated.label is None
