"""Retries, rate limits, timeouts, cancellation and wire safety against real local servers."""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from polar_links import (
    APIConnectionError,
    APITimeoutError,
    Backoff,
    InternalServerError,
    NotFoundError,
    Polar,
    RateLimit,
    ResponseTooLargeError,
    Timeout,
)
from polar_links.testing import PolarTestServer

from .conftest import FAST_BACKOFF, eventually, serve

LIST_PATH = "/v1/checkout-links/"


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=500, seed=3) as srv:
        yield srv


def client(server: PolarTestServer, **kwargs: Any) -> Polar:
    kwargs.setdefault("backoff", FAST_BACKOFF)
    return Polar(server.token, base_url=server.base_url, **kwargs)


def expected(server: PolarTestServer, sorting: list[str] | None = None) -> list[str]:
    return server.store.expected_order(sorting or ["created_at"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Recorder(logging.Handler):
    def __init__(self, on_record: Callable[[logging.LogRecord], object]) -> None:
        super().__init__(logging.DEBUG)
        self._on_record = on_record

    def emit(self, record: logging.LogRecord) -> None:
        self._on_record(record)


def list_requests(server: PolarTestServer) -> list[Any]:
    return [r for r in server.requests if r.path == LIST_PATH]


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_5xx_burst_shorter_than_the_budget_completes_with_every_item_once(
    server: PolarTestServer, concurrency: int
) -> None:
    async with client(server, concurrency=concurrency) as polar:
        paginator = polar.checkout_links.list(limit=50)
        got = []
        async for link in paginator:
            if len(got) == 60:
                server.faults.fail_next(2, 503)  # mid-walk, hits whatever is in flight
            got.append(link.id)
    assert got == expected(server)
    assert [r.status for r in server.requests].count(503) == 2


async def test_a_5xx_burst_longer_than_the_budget_raises(server: PolarTestServer) -> None:
    server.faults.fail_next(3, 503)
    async with client(server, max_retries=2) as polar:
        with pytest.raises(InternalServerError):
            await polar.checkout_links.list().collect()
    assert [r.status for r in server.requests] == [503, 503, 503]


async def test_after_a_429_every_request_waits_for_retry_after(server: PolarTestServer) -> None:
    server.faults.rate_limit_per_minute = 4
    server.faults.rate_limit_window = 0.4
    server.faults.retry_after_override = 0.4  # the whole window: always enough
    async with client(server, concurrency=4, backoff=Backoff(max_retry_after=2.0)) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=50)]
    assert got == expected(server)
    statuses = [r.status for r in server.requests]
    assert 429 in statuses
    for i, rejected in enumerate(server.requests):
        if rejected.status != 429:
            continue
        # Requests that arrived after this 429 was answered came after the cooldown
        # (requests already in flight before it are not held back).
        later = [r for r in server.requests[i + 1 :] if r.time > rejected.time + 0.1]
        assert all(r.time >= rejected.time + 0.4 - 0.02 for r in later)


@pytest.mark.parametrize("concurrency", [8, 16])
async def test_a_429_storm_does_not_end_a_concurrent_export(
    server: PolarTestServer, concurrency: int
) -> None:
    # The server allows far less than the client would send (no client-side limit):
    # every 429 round hits all requests in flight, and each must still get through.
    server.faults.rate_limit_per_minute = 5
    server.faults.rate_limit_window = 0.5
    server.faults.retry_after_override = 0.5
    async with client(server, concurrency=concurrency, rate_limit=None, max_retries=2) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=50)]
    assert got == expected(server)
    assert 429 in [r.status for r in server.requests]


async def test_a_rate_limited_export_at_steady_state_gets_no_429(server: PolarTestServer) -> None:
    server.faults.rate_limit_per_minute = 10
    server.faults.rate_limit_window = 0.5
    budget = RateLimit(requests=10, per=0.5)
    async with client(server, rate_limit=budget, concurrency=8) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=20)]
    assert got == expected(server)
    assert [r.status for r in server.requests] == [200] * 25


@pytest.mark.parametrize("mode", ["reset", "truncate"])
async def test_dropped_connections_and_truncated_bodies_are_retried(
    server: PolarTestServer, mode: str
) -> None:
    server.faults.drop_next(2, mode=mode)  # type: ignore[arg-type]
    async with client(server, max_retries=3) as polar:
        got = [link.id async for link in polar.checkout_links.list()]
    assert got == expected(server)


async def test_dropped_connections_beyond_the_budget_raise_api_connection_error(
    server: PolarTestServer,
) -> None:
    server.faults.drop_next(20, mode="truncate")
    async with client(server, max_retries=1) as polar:
        with pytest.raises(APIConnectionError):
            await polar.checkout_links.list().first_page()


async def test_a_response_that_never_finishes_raises_api_timeout_error_after_retries(
    server: PolarTestServer,
) -> None:
    server.faults.hang_next(2)
    async with client(server, max_retries=1, timeout=Timeout(total=0.3, connect=1.0)) as polar:
        with pytest.raises(APITimeoutError):
            await polar.checkout_links.list().first_page()
    assert len(list_requests(server)) == 2


async def test_a_body_that_stalls_halfway_raises_api_timeout_error_after_retries(
    server: PolarTestServer,
) -> None:
    server.faults.hang_next(2, after_headers=True)
    async with client(server, max_retries=1, timeout=Timeout(total=0.3, connect=1.0)) as polar:
        with pytest.raises(APITimeoutError, match="timed out on GET"):
            await polar.checkout_links.list().first_page()
    assert len(list_requests(server)) == 2


async def test_a_hang_shorter_than_the_budget_recovers(server: PolarTestServer) -> None:
    server.faults.hang_next(1)
    async with client(server, max_retries=1, timeout=0.3) as polar:
        page = await polar.checkout_links.list().first_page()
    assert page.total_count == 500


async def test_a_create_is_not_replayed_after_a_5xx(server: PolarTestServer) -> None:
    product = server.store.all_links()[0]["products"][0]["id"]
    before = len(server.store)
    server.faults.fail_next(1, 503, path_prefix=LIST_PATH)
    async with client(server, max_retries=5) as polar:
        with pytest.raises(InternalServerError):
            await polar.checkout_links.create(products=[product])
    assert [r.method for r in server.requests] == ["POST"]
    assert len(server.store) == before


async def test_a_create_is_not_replayed_after_a_dropped_connection(server: PolarTestServer) -> None:
    product = server.store.all_links()[0]["products"][0]["id"]
    server.faults.drop_next(1, mode="reset")
    async with client(server, max_retries=5) as polar:
        with pytest.raises(APIConnectionError):
            await polar.checkout_links.create(products=[product])
    assert [r.method for r in server.requests] == ["POST"]


async def test_a_create_is_retried_when_the_server_could_not_be_reached() -> None:
    srv = PolarTestServer(links=1, port=free_port())
    product = srv.store.all_links()[0]["products"][0]["id"]
    before = len(srv.store)
    refused = asyncio.Event()

    async def start_once_refused() -> None:
        # The server comes up only after the client's first connect was refused.
        await refused.wait()
        await srv.start()

    backoff = Backoff(initial=0.3, maximum=0.3)
    async with Polar(srv.token, base_url=f"http://127.0.0.1:{srv.port}", backoff=backoff) as polar:
        polar_logger = logging.getLogger("polar_links")
        handler = _Recorder(lambda record: "POST" in record.getMessage() and refused.set())
        polar_logger.addHandler(handler)
        polar_logger.setLevel(logging.DEBUG)
        starter = asyncio.create_task(start_once_refused())
        try:
            link = await polar.checkout_links.create(products=[product])
        finally:
            polar_logger.removeHandler(handler)
            polar_logger.setLevel(logging.NOTSET)
            await starter
            await srv.close()
    assert refused.is_set(), "the first attempt should have been refused"
    assert [r.method for r in srv.requests] == ["POST"]
    assert len(srv.store) == before + 1
    assert srv.store.get(link.id) is not None


async def test_a_delete_whose_answer_was_lost_succeeds_on_retry(server: PolarTestServer) -> None:
    link_id = server.store.all_links()[0]["id"]
    server.faults.drop_next(1, mode="lost", path_prefix=LIST_PATH + link_id)
    async with client(server) as polar:
        assert await polar.checkout_links.delete(link_id) is None
    deletes = [r.status for r in server.requests if r.method == "DELETE"]
    # The first DELETE took effect but its answer was lost; the retry found it gone.
    assert deletes[0] == 0
    assert deletes[-1] == 404
    assert server.store.get(link_id) is None


async def test_an_injected_session_that_raises_for_status_still_gets_typed_errors(
    server: PolarTestServer,
) -> None:
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        client(server, session=session) as polar,
    ):
        with pytest.raises(NotFoundError, match="Not found"):
            await polar.checkout_links.get("00000000-0000-4000-8000-000000000000")
    assert [r.status for r in server.requests] == [404]


async def test_deleting_a_link_that_never_existed_is_still_not_found(
    server: PolarTestServer,
) -> None:
    async with client(server) as polar:
        with pytest.raises(NotFoundError):
            await polar.checkout_links.delete("00000000-0000-4000-8000-000000000000")


async def test_links_created_during_the_walk_do_not_come_out_twice(server: PolarTestServer) -> None:
    before = expected(server, ["-created_at"])
    server.faults.create_on_page(1, 7)  # newest first: every later page shifts by 7
    async with client(server, concurrency=1) as polar:
        got = [
            link.id async for link in polar.checkout_links.list(sorting=["-created_at"], limit=50)
        ]
    assert len(got) == len(set(got)) == 500
    assert got == before


@pytest.mark.parametrize("max_items", [None, 150])
async def test_pages_leave_out_links_already_delivered_and_count_the_budget_after_that(
    server: PolarTestServer, max_items: int | None
) -> None:
    before = expected(server, ["-created_at"])
    server.faults.create_on_page(1, 7)  # page 2 starts with 7 links page 1 already had
    async with client(server, concurrency=1) as polar:
        pages = [
            page
            async for page in polar.checkout_links.list(
                sorting=["-created_at"], limit=50, max_items=max_items
            ).pages()
        ]
    assert [len(p.items) for p in pages][:2] == [50, 43]
    got = [link.id for page in pages for link in page.items]
    assert got == before[: max_items or len(before)]


async def test_links_deleted_during_the_walk_make_it_miss_others(server: PolarTestServer) -> None:
    # The documented limit of offset pagination: deleting shifts the window back.
    before = expected(server)
    server.faults.delete_on_page(1, 5)
    async with client(server, concurrency=1) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=50)]
    assert got == before[:50] + before[55:]


@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_prefetch_order_equals_the_sequential_order(
    server: PolarTestServer, concurrency: int
) -> None:
    server.faults.latency = 0.005
    async with client(server, concurrency=concurrency) as polar:
        got = [link.id async for link in polar.checkout_links.list(limit=30, sorting=["-label"])]
    assert got == expected(server, ["-label", "created_at"])  # the SDK's tie-breaker


def acquired_connections(polar: Polar) -> int:
    session = polar._transport._session
    assert session is not None
    return len(session.connector._acquired)  # type: ignore[union-attr]


def page_fetches_alive() -> list[asyncio.Task[Any]]:
    """The client's page-fetch tasks still alive (the in-process server's own handler
    tasks, which share this loop, are not the client's business)."""
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and "fetch_page" in getattr(t.get_coro(), "__qualname__", "")
    ]


async def test_breaking_out_cancels_prefetches_and_releases_connections(
    server: PolarTestServer,
) -> None:
    server.faults.latency = 0.2
    async with client(server, concurrency=8) as polar:
        async for _link in polar.checkout_links.list(limit=10):
            break
        await eventually(lambda: acquired_connections(polar) == 0 and not page_fetches_alive())


async def test_an_exception_in_the_consumer_cancels_prefetches(server: PolarTestServer) -> None:
    server.faults.latency = 0.2
    async with client(server, concurrency=8) as polar:
        with pytest.raises(ZeroDivisionError):  # noqa: PT012 (raised inside the loop)
            async for _link in polar.checkout_links.list(limit=10):
                _ = 1 / 0
        await eventually(lambda: acquired_connections(polar) == 0)


async def test_cancelling_the_task_cancels_prefetches(server: PolarTestServer) -> None:
    server.faults.latency = 0.2

    async def consume(polar: Polar) -> int:
        return len(await polar.checkout_links.list(limit=10).collect())

    async with client(server, concurrency=8) as polar:
        task = asyncio.create_task(consume(polar))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: acquired_connections(polar) == 0 and not page_fetches_alive())


async def test_max_items_stops_and_cancels_what_it_will_not_need(server: PolarTestServer) -> None:
    server.faults.latency = 0.05
    async with client(server, concurrency=8) as polar:
        got = await polar.checkout_links.list(limit=10, max_items=25).collect()
        await eventually(lambda: acquired_connections(polar) == 0)
    assert [link.id for link in got] == expected(server)[:25]
    assert len(list_requests(server)) == 3


async def test_a_body_larger_than_the_cap_is_refused(server: PolarTestServer) -> None:
    async with client(server, max_response_bytes=4096) as polar:
        with pytest.raises(ResponseTooLargeError):
            await polar.checkout_links.list().first_page()


def gzip_app(body: bytes) -> web.Application:
    """An app answering every list request with ``body``, gzip-encoded on the wire."""
    packed = gzip.compress(body)

    async def answer(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=packed, headers=headers)

    app = web.Application()
    app.router.add_get(LIST_PATH, answer)
    return app


@pytest.mark.parametrize("inflated_mib", [2, 40])  # below and above aiohttp's own 32 MiB
async def test_a_compressed_body_that_inflates_past_the_cap_is_refused(inflated_mib: int) -> None:
    bomb = b'{"items": [' + b" " * (inflated_mib * 2**20) + b'], "pagination": {}}'
    async with (
        serve(gzip_app(bomb)) as url,
        Polar("polar_oat_x_test", base_url=url, max_response_bytes=2**20) as polar,
    ):
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1048576"):
            await polar.checkout_links.list().first_page()


async def test_a_compressed_body_under_the_cap_is_read(server: PolarTestServer) -> None:
    items, total = server.store.page(page=1, limit=10)
    body = b'{"items":%s,"pagination":{"total_count":%d,"max_page":%d}}' % (
        items,
        total,
        -(-total // 10),
    )
    async with serve(gzip_app(body)) as url, Polar("polar_oat_x_test", base_url=url) as polar:
        page = await polar.checkout_links.list(limit=10).first_page()
    assert [link.id for link in page.items] == expected(server)[:10]


# ------------------------------------------------------------------ redirects


async def test_a_redirect_to_another_host_never_carries_the_token(server: PolarTestServer) -> None:
    seen: list[dict[str, str]] = []
    link = server.store.all_links()[0]

    async def target(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response(link)

    other = web.Application()
    other.router.add_get("/moved/{id}", target)
    async with serve(other) as other_url:

        async def redirect(request: web.Request) -> web.Response:
            seen.append(dict(request.headers))
            raise web.HTTPTemporaryRedirect(f"{other_url}/moved/{request.match_info['id']}")

        front = web.Application()
        front.router.add_get("/v1/checkout-links/{id}", redirect)
        async with serve(front) as front_url, Polar(server.token, base_url=front_url) as polar:
            got = await polar.checkout_links.get(link["id"])
    assert got.id == link["id"]
    assert seen[0]["Authorization"] == f"Bearer {server.token}"
    assert "Authorization" not in seen[1]
