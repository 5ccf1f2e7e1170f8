"""Test server, HTTP surface: auth, scopes, API versions, 404 bodies, path ids."""

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


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("polar_oat_wrong"), {"Authorization": DEFAULT_TOKEN}, {"Authorization": "Bearer"}],
    ids=["missing", "wrong-token", "no-scheme", "empty-token"],
)
async def test_missing_or_wrong_token_gets_401_with_www_authenticate(
    http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    async with http.get(LIST, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="polar"'
        body = await response.json()
    assert body["error"] == "Unauthorized"
    assert isinstance(body["detail"], str)


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
        assert (await response.json())["error"] == "Forbidden"
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


async def test_unknown_polar_version_gets_404_polar_error(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    headers = {**polar_server.auth_headers, "Polar-Version": "2019-01"}
    async with http.get(LIST, headers=headers) as response:
        assert response.status == 404
        body = await response.json()
    assert body["error"] == "ResourceNotFound"
    assert "2019-01" in body["detail"]


async def test_no_polar_version_header_means_none_echoed(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    async with http.get(LIST, headers=polar_server.auth_headers) as response:
        assert "Polar-Version" not in response.headers


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
    async with http.get(LIST + "abc", headers=polar_server.auth_headers) as response:
        assert response.status == 422
        [entry] = (await response.json())["detail"]
    assert entry["loc"] == ["path", "id"]
    assert entry["type"] == "uuid_parsing"
    assert entry["input"] == "abc"


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
