"""Test server fault knobs and request recording, each observed from a plain client."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from polar_links.testing import PolarTestServer

LIST = "/v1/checkout-links/"


async def status_of(http: aiohttp.ClientSession, path: str = LIST) -> int:
    async with http.get(path) as response:
        await response.read()
        return response.status


async def test_latency_delays_every_request(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.latency = 0.2
    for _ in range(2):
        started = time.monotonic()
        assert await status_of(http) == 200
        assert time.monotonic() - started >= 0.2


@pytest.mark.polar_server(links=5, read_only_token="polar_oat_reader")
async def test_rate_limit_answers_429_with_retry_after_per_token(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.rate_limit_per_minute = 3
    polar_server.faults.rate_limit_window = 0.5
    assert [await status_of(http) for _ in range(3)] == [200, 200, 200]
    async with http.get(LIST) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        # As the real server: no body, no content type, no X-RateLimit-* headers.
        assert await response.read() == b""
        assert "Content-Type" not in response.headers
        assert not [name for name in response.headers if name.lower().startswith("x-ratelimit")]
    reader = {"Authorization": "Bearer polar_oat_reader"}
    async with http.get(LIST, headers=reader) as response:
        assert response.status == 200  # another token has its own window
    await asyncio.sleep(0.55)
    assert await status_of(http) == 200


async def test_retry_after_override_is_sent_verbatim(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.rate_limit_per_minute = 1
    polar_server.faults.retry_after_override = 0.05
    assert await status_of(http) == 200
    async with http.get(LIST) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "0.05"


async def test_fail_next_answers_json_polar_errors_then_recovers(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.fail_next(2, 503, retry_after=2)
    for _ in range(2):
        async with http.get(LIST) as response:
            assert response.status == 503
            assert response.headers["Retry-After"] == "2"
            assert response.content_type == "application/json"
            body = await response.json()
        assert body == {"error": "ServiceUnavailable", "detail": "503 Service Unavailable"}
    assert await status_of(http) == 200
    assert polar_server.faults.pending == 0


async def test_fail_next_429_answers_an_empty_body_like_the_real_server(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.fail_next(1, 429, retry_after=60)
    async with http.get(LIST) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "60"
        assert "Content-Type" not in response.headers
        assert await response.read() == b""
    assert await status_of(http) == 200


async def test_fail_next_html_answers_a_proxy_page(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.fail_next(1, 502, html=True)
    async with http.get(LIST) as response:
        assert response.status == 502
        assert response.content_type == "text/html"
        assert await response.text() == "<html><body><h1>502 Bad Gateway</h1></body></html>"


async def test_fail_next_with_path_prefix_only_hits_matching_paths(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    link_id = polar_server.store.all_links()[0]["id"]
    polar_server.faults.fail_next(1, 500, path_prefix=LIST + link_id)
    assert await status_of(http) == 200
    assert await status_of(http, LIST + link_id) == 500
    assert await status_of(http, LIST + link_id) == 200


async def test_scheduled_faults_apply_in_order(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.fail_next(1, 504)
    polar_server.faults.drop_next(2)  # 2: aiohttp retries a dropped GET once by itself
    assert await status_of(http) == 504
    with pytest.raises(aiohttp.ClientError):
        await status_of(http)
    assert await status_of(http) == 200


async def test_drop_reset_closes_without_a_response(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.drop_next(2, mode="reset")
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        await status_of(http)
    # aiohttp retried the idempotent GET once on its own; both attempts were dropped.
    assert [r.status for r in polar_server.requests] == [0, 0]


async def test_drop_reset_of_a_post_reaches_the_client_at_once(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.drop_next(1, mode="reset")
    with pytest.raises((aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)):
        async with http.post(LIST, json={}) as response:
            await response.read()
    assert [r.status for r in polar_server.requests] == [0]


async def test_drop_truncate_sends_half_the_body(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.drop_next(1, mode="truncate")
    async with http.get(LIST) as response:
        assert response.status == 200
        declared = response.content_length
        assert declared is not None
        assert declared > 0
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert await status_of(http) == 200


async def test_hang_after_headers_sends_the_head_then_stalls_the_body(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.hang_next(1, after_headers=True)
    async with http.get(LIST) as response:
        assert response.status == 200
        assert response.content_length is not None
        first = await response.content.readany()  # half the body arrives
        assert 0 < len(first) < response.content_length
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(response.read(), timeout=0.3)


async def test_hang_next_never_answers_so_the_client_times_out(
    polar_server: PolarTestServer,
) -> None:
    polar_server.faults.hang_next(1)
    timeout = aiohttp.ClientTimeout(total=0.3)
    async with aiohttp.ClientSession(
        base_url=polar_server.base_url, headers=polar_server.auth_headers, timeout=timeout
    ) as http:
        with pytest.raises(asyncio.TimeoutError):
            await status_of(http)
        assert await status_of(http) == 200


async def test_stopping_the_server_releases_hung_requests() -> None:
    async with PolarTestServer(links=3) as server, aiohttp.ClientSession() as http:
        server.faults.hang_next(1)
        pending = asyncio.ensure_future(http.get(server.url, headers=server.auth_headers))
        for _ in range(500):  # wait (up to 5 s) for the request to arrive
            if server.requests:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await server.close()
        stopped_in = time.monotonic() - started
        # The hung GET is disconnected; aiohttp's own retry then finds no server.
        with pytest.raises(aiohttp.ClientConnectionError):
            await asyncio.wait_for(pending, 5)
    assert stopped_in < 4  # the shutdown grace period (5 s) was not needed
    assert server.requests[0].status == 0


async def test_create_on_page_adds_links_after_that_page(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.faults.create_on_page(1, 5)
    totals = []
    for page in (1, 2, 3, 1):
        async with http.get(LIST, params={"page": str(page), "limit": "100"}) as response:
            totals.append((await response.json())["pagination"]["total_count"])
    assert totals == [250, 255, 255, 255]
    newest = polar_server.store.expected_order(["-created_at"])[:5]
    assert {polar_server.store.get(i)["label"] for i in newest} == {"Created while paginating"}  # type: ignore[index]


async def test_delete_on_page_removes_oldest_links_so_a_walk_misses_some(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    order = polar_server.store.expected_order()
    polar_server.faults.delete_on_page(1, 10)
    async with http.get(LIST, params={"page": "1", "limit": "100"}) as response:
        first = await response.json()
    async with http.get(LIST, params={"page": "2", "limit": "100"}) as response:
        second = await response.json()
    assert first["pagination"]["total_count"] == 250
    assert second["pagination"]["total_count"] == 240
    assert second["items"][0]["id"] == order[110]  # order[100:110] were skipped


async def test_requests_are_recorded_without_authorization(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.requests.clear()
    params = [("sorting", "label"), ("organization_id", "x"), ("sorting", "-created_at")]
    async with http.get(LIST, params=params, headers={"Polar-Version": "2026-10"}) as response:
        await response.read()
    async with http.post(LIST, json={"payment_processor": "stripe"}) as response:
        await response.read()
    first, second = polar_server.requests
    assert (first.method, first.path, first.status) == ("GET", LIST, 422)
    assert first.query == params
    assert first.headers["polar-version"] == "2026-10"
    assert "authorization" not in first.headers
    assert all("authorization" not in k.lower() for r in polar_server.requests for k in r.headers)
    assert (second.method, second.status) == ("POST", 422)
    assert second.json() == {"payment_processor": "stripe"}
    assert first.time <= second.time <= time.monotonic()


async def test_faults_clear_turns_everything_off(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    faults = polar_server.faults
    faults.latency = 5
    faults.rate_limit_per_minute = 0
    faults.fail_next(3)
    faults.create_on_page(1, 3)
    faults.clear()
    assert faults.pending == 0
    assert await status_of(http) == 200
    assert len(polar_server.store) == 250
