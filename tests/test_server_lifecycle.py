"""Test server lifecycle: in-loop, in a thread, the bare app, serve_forever."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from polar_links.testing import DEFAULT_TOKEN, PolarTestServer, create_app, serve_forever

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def test_base_url_before_start_raises() -> None:
    with pytest.raises(RuntimeError):
        _ = PolarTestServer(links=1).base_url


async def test_async_context_binds_a_free_local_port() -> None:
    async with PolarTestServer(links=3) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.port > 0
        async with aiohttp.ClientSession() as http, http.get(server.url, headers=AUTH) as r:
            assert (await r.json())["pagination"]["total_count"] == 3


def test_run_in_thread_serves_then_frees_the_port() -> None:
    server = PolarTestServer(links=2)
    with server.run_in_thread():
        request = urllib.request.Request(server.url, headers=AUTH)
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        url = server.url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(urllib.request.Request(url, headers=AUTH), timeout=5)


def test_start_in_thread_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = PolarTestServer(links=1, port=taken.getsockname()[1])
        with pytest.raises(OSError, match=r"(?i)in use"):
            server.start_in_thread()
    server.stop()  # a no-op: it never started


async def test_create_app_serves_a_default_store() -> None:
    async with TestClient(TestServer(create_app())) as client:
        response = await client.get("/v1/checkout-links/", headers=AUTH)
        assert response.status == 200
        assert (await response.json())["pagination"]["total_count"] == 250


async def test_serve_forever_reports_ready_and_stops_when_cancelled() -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(serve_forever(links=4, seed=1, ready=ready.put_nowait))
    base_url = await asyncio.wait_for(ready.get(), 10)
    url = base_url + "/v1/checkout-links/"
    async with aiohttp.ClientSession() as http, http.get(url, headers=AUTH) as response:
        assert (await response.json())["pagination"]["total_count"] == 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _raw_walk_ids(base_url: str, token: str, sorting: str, limit: int) -> list[str]:
    """Pages 1..max_page of the list, as plain HTTP; the ids in the order received."""
    ids: list[str] = []
    page = 1
    while True:
        request = urllib.request.Request(
            f"{base_url}/v1/checkout-links/?sorting={sorting}&limit={limit}&page={page}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
        ids += [item["id"] for item in body["items"]]
        if page >= body["pagination"]["max_page"]:
            return ids
        page += 1


@pytest.mark.parametrize("stable", [False, True])
def test_serve_stable_ties_flag_gives_one_order_for_every_page(stable: bool) -> None:
    flags = ["--stable-ties"] if stable else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "polar_links", "serve", "--port", "0", "--links", "100", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        base_url = ready.rsplit(" ", 1)[-1].strip()
        ids = _raw_walk_ids(base_url, DEFAULT_TOKEN, "allow_discount_codes", 7)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert len(ids) == 100
    # Stable ties: pages partition the list. Real ties: pages overlap and leave gaps.
    assert (len(set(ids)) == 100) is stable
