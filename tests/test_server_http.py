"""Test server, HTTP surface: auth, scopes, API versions, 404 bodies, path ids, redirects.

Bodies and headers are those of the real server (FACTS.md, "Observed on the real server").
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from polar_links.testing import DEFAULT_TOKEN, PolarTestServer
from polar_links.testing import _app as app_module

LIST = "/v1/checkout-links/"


@pytest.fixture
async def http(polar_server: PolarTestServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=polar_server.base_url) as session:
        yield session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


INVALID_TOKEN = (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons."
)
INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": DEFAULT_TOKEN}, {"Authorization": "Bearer"}],
    ids=["missing", "no-scheme", "empty-token"],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_no_token_gets_401_unauthorized_with_a_bare_challenge(
    http: aiohttp.ClientSession, headers: dict[str, str], method: str
) -> None:
    path = LIST if method == "GET" else LIST + str(uuid.uuid4())
    async with http.request(method, path, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="polar"'
        assert response.content_type == "application/json"
        assert await response.json() == {"error": "Unauthorized", "detail": "Unauthorized"}


async def test_an_unknown_token_gets_401_invalid_token_without_detail(
    http: aiohttp.ClientSession,
) -> None:
    async with http.get(LIST, headers=bearer("polar_oat_revoked")) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == (
            f'Bearer realm="polar", error="invalid_token", error_description="{INVALID_TOKEN}"'
        )
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"
        body = await response.json()
    assert body == {"error": "invalid_token", "error_description": INVALID_TOKEN}


async def test_a_default_server_accepts_the_documented_token(http: aiohttp.ClientSession) -> None:
    # docs/testing.md and `polar-links serve --help` name this token.
    async with http.get(LIST, headers=bearer("polar_oat_local_test_token")) as response:
        assert response.status == 200


@pytest.mark.polar_server(links=5, token="polar_oat_custom", read_only_token="polar_oat_reader")
async def test_read_only_token_reads_but_gets_403_on_writes(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    reader = bearer("polar_oat_reader")
    link_id = polar_server.store.all_links()[0]["id"]
    async with http.get(LIST, headers=reader) as response:
        assert response.status == 200
    async with http.delete(LIST + link_id, headers=reader) as response:
        assert response.status == 403
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="polar", scope="checkout_links:write", error="insufficient_scope", '
            f'error_description="{INSUFFICIENT_SCOPE}"'
        )
        body = await response.json()
    assert body == {"error": "insufficient_scope", "error_description": INSUFFICIENT_SCOPE}
    async with http.delete(LIST + link_id, headers=bearer("polar_oat_custom")) as response:
        assert response.status == 204


@pytest.mark.parametrize("version", ["2026-04", "2026-10"])
async def test_known_polar_version_is_echoed(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, version: str
) -> None:
    headers = {**polar_server.auth_headers, "Polar-Version": version}
    async with http.get(LIST, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Polar-Version"] == version


@pytest.mark.parametrize("version", ["2019-01", "garbage"])
@pytest.mark.parametrize(
    ("method", "path", "token"),
    [
        ("GET", LIST, True),
        ("POST", LIST, True),
        ("GET", LIST + "c069bc07-cd86-4fb3-8cb8-8c0dff0a7231", True),
        ("DELETE", LIST + "not-a-uuid", True),
        ("GET", "/v1/nothing-here/", True),
        ("GET", LIST, False),
    ],
    ids=["list", "create", "get", "delete-bad-id", "unknown-route", "no-token"],
)
async def test_unknown_polar_version_gets_a_bare_404_on_every_route(
    http: aiohttp.ClientSession,
    polar_server: PolarTestServer,
    version: str,
    method: str,
    path: str,
    token: bool,
) -> None:
    headers = {**(polar_server.auth_headers if token else {}), "Polar-Version": version}
    async with http.request(method, path, headers=headers, json={}) as response:
        assert response.status == 404
        assert "polar-version" not in response.headers
        assert await response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "token", "status"),
    [
        ("GET", LIST, True, 200),
        ("GET", LIST, False, 401),
        ("GET", LIST + "not-a-uuid", True, 422),
        ("GET", "/v1/nothing-here/", True, 404),
        ("PUT", LIST, True, 405),
        ("GET", LIST.rstrip("/"), True, 307),
    ],
)
async def test_every_answer_carries_the_default_polar_version(
    http: aiohttp.ClientSession,
    polar_server: PolarTestServer,
    method: str,
    path: str,
    token: bool,
    status: int,
) -> None:
    headers = polar_server.auth_headers if token else {}
    async with http.request(method, path, headers=headers, allow_redirects=False) as response:
        assert response.status == status
        assert response.headers["polar-version"] == "2026-04"


async def test_unknown_link_id_gets_404_resource_not_found(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    missing = LIST + str(uuid.uuid4())
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"label": "x"}} if method == "PATCH" else {}
        async with http.request(
            method, missing, headers=polar_server.auth_headers, **kwargs
        ) as response:
            assert response.status == 404, method
            assert await response.json() == {"error": "ResourceNotFound", "detail": "Not found"}


async def test_non_uuid_path_id_gets_422_on_path_id(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    async with http.get(LIST + "not-a-uuid", headers=polar_server.auth_headers) as response:
        assert response.status == 422
        body = await response.json()
    assert body == {
        "error": "RequestValidationError",
        "detail": [
            {
                "type": "uuid_parsing",
                "loc": ["path", "id"],
                "msg": "Input should be a valid UUID, invalid character: found `n` at 1",
                "input": "not-a-uuid",
                "ctx": {"error": "invalid character: found `n` at 1"},
            }
        ],
    }


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_a_version_1_uuid_in_the_path_gets_422_not_404(
    http: aiohttp.ClientSession, polar_server: PolarTestServer, method: str
) -> None:
    v1 = "00000000-0000-1000-8000-000000000000"
    async with http.request(
        method, LIST + v1, headers=polar_server.auth_headers, json={"label": "x"}
    ) as response:
        assert response.status == 422
        body = await response.json()
    assert body == {
        "error": "RequestValidationError",
        "detail": [
            {
                "type": "uuid_version",
                "loc": ["path", "id"],
                "msg": "UUID version 4 expected",
                "input": v1,
                "ctx": {"expected_version": 4},
            }
        ],
    }


async def test_the_list_path_without_its_slash_gets_307_to_the_slashed_url(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    # As FastAPI's redirect_slashes: before authentication, query kept, absolute URL.
    async with http.get("/v1/checkout-links?limit=1&sorting=-label", allow_redirects=False) as r:
        assert r.status == 307
        assert r.headers["Location"] == (
            f"{polar_server.base_url}/v1/checkout-links/?limit=1&sorting=-label"
        )
        assert await r.read() == b""
    async with http.get("/v1/checkout-links?limit=1", headers=polar_server.auth_headers) as r:
        assert r.status == 200
        assert str(r.url) == f"{polar_server.base_url}/v1/checkout-links/?limit=1"
        assert len((await r.json())["items"]) == 1


async def test_the_old_api_v1_root_works_and_adds_a_deprecation_notice(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    headers = polar_server.auth_headers
    async with http.get("/api/v1/checkout-links/?limit=3", headers=headers) as old:
        assert old.status == 200
        assert old.headers["x-polar-deprecation-notice"] == (
            "The API root has moved from /api/v1 to /v1. Please update your integration."
        )
        old_body = await old.json()
    async with http.get("/v1/checkout-links/?limit=3", headers=headers) as new:
        assert "x-polar-deprecation-notice" not in new.headers
        assert await new.json() == old_body
    link_id = old_body["items"][0]["id"]
    async with http.delete(f"/api/v1/checkout-links/{link_id}", headers=headers) as deleted:
        assert deleted.status == 204
        assert "x-polar-deprecation-notice" in deleted.headers
    assert polar_server.store.get(link_id) is None


async def test_unknown_route_gets_fastapi_404(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    async with http.get("/v1/nothing-here/", headers=polar_server.auth_headers) as response:
        assert response.status == 404
        assert await response.json() == {"detail": "Not Found"}


async def test_wrong_method_gets_405(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    async with http.put(LIST, headers=polar_server.auth_headers) as response:
        assert response.status == 405
        assert await response.json() == {"detail": "Method Not Allowed"}


async def test_the_request_log_forgets_its_oldest_half_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "MAX_RECORDED_REQUESTS", 4)
    async with PolarTestServer(links=3) as server, aiohttp.ClientSession() as http:
        for page in range(1, 6):
            async with http.get(f"{server.url}?page={page}", headers=server.auth_headers) as r:
                assert r.status == 200
    assert [dict(r.query)["page"] for r in server.requests] == ["3", "4", "5"]
