"""Shared fixtures: a mocked API (aioresponses) and a client pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp import web
from aioresponses import CallbackResult, aioresponses

from polar_links import Backoff, Polar, _decoding
from polar_links.testing import PolarTestServer

from . import aioresponses_compat
from . import factories as f

aioresponses_compat.install()

BASE = "https://polar.test"
TOKEN = "polar_oat_SECRET_unit_test_token"
LIST_URL = re.compile(r"^https://polar\.test/v1/checkout-links/(\?.*)?$")
#: Backoff short enough that retry tests take milliseconds.
FAST_BACKOFF = Backoff(initial=0.001, maximum=0.002, max_retry_after=0.05)


@pytest.fixture(autouse=True)
def _no_polar_host_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose the API host themselves: a developer's exported POLAR_BASE_URL or
    POLAR_ENVIRONMENT must not send them elsewhere."""
    monkeypatch.delenv("POLAR_BASE_URL", raising=False)
    monkeypatch.delenv("POLAR_ENVIRONMENT", raising=False)


@pytest.fixture(autouse=True)
def _decoders_start_over() -> None:
    """Each test decodes as a fresh process would: the tolerant pass builds its shells
    and learns kinds and keys from that test's bodies only (no dependence on test order;
    and under mutation testing the mutated builders run in every test)."""
    _decoding._start_over()


@pytest.fixture
def api() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


def answer_pages(api: aioresponses, body_of: Callable[[int], dict[str, Any]]) -> list[int]:
    """Mock the list endpoint: each request for page ``n`` gets ``body_of(n)``. Returns the
    page numbers requested, in order (filled as the requests come)."""
    requested: list[int] = []

    async def answer(url: yarl.URL, **kwargs: Any) -> CallbackResult:
        page = int(url.query["page"])
        requested.append(page)
        return CallbackResult(body=f.to_bytes(body_of(page)), content_type="application/json")

    api.get(LIST_URL, callback=answer, repeat=True)
    return requested


@pytest.fixture
async def http(polar_server: PolarTestServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session to the ``polar_server`` fixture's server, with its token."""
    async with aiohttp.ClientSession(
        base_url=polar_server.base_url, headers=polar_server.auth_headers
    ) as session:
        yield session


@pytest.fixture
async def polar(api: aioresponses) -> AsyncIterator[Polar]:
    async with Polar(TOKEN, base_url=BASE, backoff=FAST_BACKOFF) as client:
        yield client


def sent(api: aioresponses, method: str = "GET") -> list[tuple[str, dict[str, Any]]]:
    """Every request the mock received for ``method``, as (url, call kwargs)."""
    return [
        (str(url), call.kwargs)
        for (m, url), calls in api.requests.items()
        if m == method
        for call in calls
    ]


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Let the event loop run (cleanups, finalizers) until ``check()`` is true; fail if it
    is still false after ``timeout`` seconds. Fast on a quiet machine, patient on a busy one."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        await asyncio.sleep(0.01)


def count_requests(api: aioresponses) -> int:
    """How many requests the mock received, all methods together."""
    return sum(len(calls) for calls in api.requests.values())


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run a small aiohttp app on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def strict_loop() -> AsyncIterator[None]:
    """Run the test with asyncio's debug mode on, and fail it if it leaves a task
    pending or a resource unclosed (ResourceWarnings are errors under ``-W error``)."""
    loop = asyncio.get_running_loop()
    debug = loop.get_debug()
    loop.set_debug(True)
    try:
        yield
        gc.collect()  # unclosed sessions and transports warn when collected
        await asyncio.sleep(0)
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not pending, f"tasks left pending: {pending}"
    finally:
        loop.set_debug(debug)
