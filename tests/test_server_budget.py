"""The test server's request budget, observed from a plain client over a real socket."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import pytest

from polar_links.cli import main
from polar_links.testing import PolarTestServer, RequestBudget

LIST = "/v1/checkout-links/"


async def status_of(http: aiohttp.ClientSession, headers: dict[str, str] | None = None) -> int:
    async with http.get(LIST, headers=headers) as response:
        await response.read()
        return response.status


async def test_a_request_over_the_budget_gets_an_empty_429_like_the_real_server(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.budget.requests, polar_server.budget.per = 2, 30.0
    assert [await status_of(http) for _ in range(2)] == [200, 200]
    async with http.get(LIST, headers={"Polar-Version": "2026-10"}) as response:
        assert response.status == 429
        assert await response.read() == b""
        assert "Content-Type" not in response.headers
        # Seconds until the oldest accepted request leaves the 30 s window.
        assert response.headers["Retry-After"] == "30"
        assert response.headers["Polar-Version"] == "2026-10"
    assert [r.status for r in polar_server.requests] == [200, 200, 429]


async def test_the_window_slides_and_refused_requests_do_not_count(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.budget.requests, polar_server.budget.per = 2, 1.0
    assert await status_of(http) == 200
    await asyncio.sleep(0.5)
    assert [await status_of(http) for _ in range(3)] == [200, 429, 429]
    await asyncio.sleep(0.6)  # the first request left the window, the second did not
    assert [await status_of(http) for _ in range(2)] == [200, 429]


@pytest.mark.polar_server(read_only_token="polar_oat_reader")
async def test_each_token_has_its_own_budget_and_bad_tokens_use_none(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.budget.requests = 1
    assert [await status_of(http) for _ in range(2)] == [200, 429]
    assert await status_of(http, {"Authorization": "Bearer polar_oat_reader"}) == 200
    assert await status_of(http, {"Authorization": "Bearer polar_oat_wrong"}) == 401
    assert await status_of(http, {"Authorization": "Bearer polar_oat_wrong"}) == 401


async def test_clear_turns_the_budget_off(
    http: aiohttp.ClientSession, polar_server: PolarTestServer
) -> None:
    polar_server.budget.requests = 1
    assert [await status_of(http) for _ in range(2)] == [200, 429]
    polar_server.budget.clear()
    assert polar_server.budget.requests is None
    assert [await status_of(http) for _ in range(3)] == [200, 200, 200]


def test_the_budget_counts_per_token_in_a_sliding_window() -> None:
    budget = RequestBudget(3, per=10.0)
    assert [budget.admit("a", t) for t in (0.0, 4.0, 9.0, 9.5)] == [None, None, None, 1]
    assert budget.admit("b", 9.5) is None
    assert budget.admit("a", 10.0) is None  # the request at 0.0 left the window
    assert budget.admit("a", 10.5) == 4  # the one at 4.0 leaves at 14.0


def test_serve_takes_a_budget_flag() -> None:
    probe = (
        "import asyncio, aiohttp\n"
        "async def main(url, token):\n"
        "    async with aiohttp.ClientSession(headers={'Authorization': 'Bearer ' + token}) as s:\n"
        "        for _ in range(3):\n"
        "            async with s.get(url + '/v1/checkout-links/') as r:\n"
        "                print(r.status, r.headers.get('Retry-After'))\n"
    )
    with subprocess.Popen(
        [sys.executable, "-m", "polar_links.testing", "--port", "0", "--budget", "2/60"],
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip().rsplit(" ", 1)[1]
            token = server.stdout.readline().strip().split(": ", 1)[1]
            out = subprocess.run(
                [sys.executable, "-c", probe + f"asyncio.run(main({url!r}, {token!r}))"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout
        finally:
            server.terminate()
    assert out.split("\n")[:3] == ["200 None", "200 None", "429 60"]


@pytest.mark.parametrize("value", ["300", "0/5", "300/0", "300/x", "a/5"])
def test_serve_rejects_a_budget_that_is_not_requests_per_seconds(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["serve", "--budget", value]) == 2
    assert (
        f"argument --budget: must be REQUESTS/SECONDS such as 300/5 (a positive integer and "
        f"a positive number of seconds), got {value!r}" in capsys.readouterr().err
    )
