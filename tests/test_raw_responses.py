"""The response behind a result (status, headers, Polar-Version) for every call, pages
of a walk included; per-call extra_query and extra_headers, checked before sending."""

from __future__ import annotations

import re
from typing import Any

import pytest

from polar_links import (
    APIResponse,
    CheckoutLink,
    InvalidArgumentError,
    NotFoundError,
    Polar,
    RawResult,
    SyncPolar,
)
from polar_links.testing import PolarTestServer

MISSING = "0f7b4c1e-2d3a-4b5c-8d6e-7f8091a2b3c4"


def client(server: PolarTestServer, **options: Any) -> Polar:
    return Polar(server.token, base_url=server.base_url, **options)


def first_product(server: PolarTestServer) -> str:
    return next(iter(server.store.catalogue.products))


# ------------------------------------------------------------------------ raw responses


async def test_every_call_can_return_its_status_headers_and_polar_version(
    polar_server: PolarTestServer,
) -> None:
    async with client(polar_server) as polar:
        raw = polar.checkout_links.with_raw_response
        created = await raw.create(products=[first_product(polar_server)], label="raw")
        assert isinstance(created, RawResult)
        assert isinstance(created.data, CheckoutLink)
        assert isinstance(created.response, APIResponse)
        assert created.response.status_code == 201
        assert created.response.method == "POST"
        assert created.response.url == f"{polar_server.base_url}/v1/checkout-links/"
        link_id = created.data.id

        got = await raw.get(link_id)
        assert (got.data, got.response.status_code) == (created.data, 200)
        assert got.response.headers["Content-Type"].startswith("application/json")
        assert got.response.headers["content-type"] == got.response.headers["CONTENT-TYPE"]
        assert got.response.polar_version == "2026-04"  # the server's default
        assert got.response.headers["polar-version"] == "2026-04"

        updated = await raw.update(link_id, label="raw, renamed")
        assert (updated.data.label, updated.response.status_code) == ("raw, renamed", 200)

        deleted = await raw.delete(link_id)
        assert deleted.data is None
        assert (deleted.response.status_code, deleted.response.method) == (204, "DELETE")
        # Errors are the usual exceptions, which carry the status themselves.
        with pytest.raises(NotFoundError):
            await raw.get(link_id)


async def test_polar_version_is_the_one_the_server_answered_with(
    polar_server: PolarTestServer,
) -> None:
    async with client(polar_server, api_version="2026-10") as polar:
        got = await polar.checkout_links.with_raw_response.get(
            polar_server.store.all_links()[0]["id"]
        )
        page = await polar.checkout_links.list(limit=1).first_page()
    assert got.response.polar_version == "2026-10"
    assert page.response is not None
    assert page.response.polar_version == "2026-10"


async def test_every_page_of_a_walk_carries_its_response(polar_server: PolarTestServer) -> None:
    async with client(polar_server) as polar:
        pages = [page async for page in polar.checkout_links.list(limit=100).pages()]
        first = await polar.checkout_links.list(limit=100, page=2).first_page()
    assert [p.page for p in pages] == [1, 2, 3]
    for page in pages:
        assert page.response is not None
        assert page.response.status_code == 200
        assert page.response.polar_version == "2026-04"
        assert f"page={page.page}" in page.response.url
    assert first.response is not None
    assert "page=2" in first.response.url


async def test_the_response_is_the_last_attempts_after_a_retry(
    polar_server: PolarTestServer,
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    polar_server.faults.fail_next(1, status=503)
    async with client(polar_server, backoff=_fast_backoff()) as polar:
        got = await polar.checkout_links.with_raw_response.get(link_id)
    assert got.response.status_code == 200
    assert [r.status for r in polar_server.requests] == [503, 200]


def _fast_backoff() -> Any:
    from polar_links import Backoff

    return Backoff(initial=0.001, maximum=0.002)


def test_the_sync_client_has_the_same_raw_view(polar_server: PolarTestServer) -> None:
    with SyncPolar(polar_server.token, base_url=polar_server.base_url) as polar:
        raw = polar.checkout_links.with_raw_response
        created = raw.create(products=[first_product(polar_server)])
        assert created.response.status_code == 201
        got = raw.get(created.data.id)
        assert (got.data, got.response.polar_version) == (created.data, "2026-04")
        assert raw.update(created.data.id, label="x").data.label == "x"
        assert raw.delete(created.data.id).response.status_code == 204
        for page in polar.checkout_links.list(limit=100).pages():
            assert page.response is not None
            assert page.response.status_code == 200


# --------------------------------------------------------------------- extras: sending


async def test_extra_query_and_headers_go_with_the_request(
    polar_server: PolarTestServer,
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    async with client(polar_server) as polar:
        await polar.checkout_links.get(
            link_id,
            extra_query={"expand": ["products", "discount"], "v": 2},
            extra_headers={"X-Trace-Id": "abc-123"},
        )
    [request] = polar_server.requests
    assert request.query == [("expand", "products"), ("expand", "discount"), ("v", "2")]
    assert request.headers["x-trace-id"] == "abc-123"


async def test_every_page_request_of_a_walk_gets_the_extras_after_page_and_limit(
    polar_server: PolarTestServer,
) -> None:
    async with client(polar_server) as polar:
        links = await polar.checkout_links.list(
            limit=100, extra_query={"beta": "yes"}, extra_headers={"X-Trace-Id": "walk"}
        ).collect()
    assert len(links) == 250
    assert sorted(r.query[0] for r in polar_server.requests) == [
        ("page", "1"),
        ("page", "2"),
        ("page", "3"),
    ]
    for request in polar_server.requests:
        assert ("limit", "100") in request.query
        assert request.query[-1] == ("beta", "yes")
        assert request.headers["x-trace-id"] == "walk"


async def test_an_extra_header_may_ask_one_call_for_another_api_version(
    polar_server: PolarTestServer,
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    async with client(polar_server, api_version="2026-04") as polar:
        got = await polar.checkout_links.with_raw_response.get(
            link_id, extra_headers={"polar-version": "2026-10"}
        )
    assert got.response.polar_version == "2026-10"
    [request] = polar_server.requests
    assert request.headers["polar-version"] == "2026-10"  # one header, not two


def test_the_sync_client_sends_the_extras_too(polar_server: PolarTestServer) -> None:
    with SyncPolar(polar_server.token, base_url=polar_server.base_url) as polar:
        polar.checkout_links.list(limit=1, extra_query={"beta": "1"}).first_page()
    assert polar_server.requests[0].query[-1] == ("beta", "1")


# -------------------------------------------------------------------- extras: refusals


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"extra_headers": {"Authorization": "Bearer other"}},
            "extra_headers may not set 'Authorization': the client sends the access token "
            "itself (pass access_token= to the client, or set POLAR_ACCESS_TOKEN)",
        ),
        (
            {"extra_headers": {"authorization": "Bearer other"}},
            "extra_headers may not set 'authorization'",
        ),
        (
            {"extra_headers": {"Content-Length": "0"}},
            "extra_headers may not set 'Content-Length': the HTTP layer sets it from the body",
        ),
        (
            {"extra_headers": {"X-Evil": "a\r\nAuthorization: Bearer x"}},
            "extra_headers['X-Evil'] must not contain line breaks or NUL characters",
        ),
        (
            {"extra_headers": {"Bad Name": "x"}},
            "extra_headers: 'Bad Name' is not a valid HTTP header name",
        ),
        ({"extra_headers": {"X-N": 3}}, "extra_headers['X-N'] must be a str, got int"),
        (
            {"extra_headers": [("X-A", "b")]},
            "extra_headers must be a mapping of header names to str values, got list",
        ),
        (
            {"extra_query": {"page": "7"}},
            "extra_query may not set 'page': the paginator sets it: pass page= to list()",
        ),
        (
            {"extra_query": {"limit": 1000}},
            "extra_query may not set 'limit': the paginator sets it: pass limit= to list()",
        ),
        (
            {"extra_query": {"organization_id": "nope"}},
            "extra_query may not set 'organization_id': pass organization_id= to list(), "
            "which checks it",
        ),
        (
            {"extra_query": {"x": 1.5}},
            "extra_query['x'] must be a str, an int or a list of them, got 1.5",
        ),
        ({"extra_query": {"": "x"}}, "extra_query: parameter names must be non-empty str"),
    ],
)
async def test_bad_extras_are_refused_before_any_request(
    polar_server: PolarTestServer, kwargs: dict[str, Any], message: str
) -> None:
    async with client(polar_server) as polar:
        with pytest.raises(InvalidArgumentError, match="^" + re.escape(message)):
            polar.checkout_links.list(**kwargs)
        with pytest.raises(InvalidArgumentError, match="^" + re.escape(message)):
            await polar.checkout_links.get(MISSING, **kwargs)
        with pytest.raises(InvalidArgumentError, match="^" + re.escape(message)):
            await polar.checkout_links.with_raw_response.delete(MISSING, **kwargs)
    assert polar_server.requests == []
