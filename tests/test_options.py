"""Request options: per call > ``with_options()`` view > client, ``timeout=None`` means no
limit, and views share (and never close) the client's connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aioresponses import aioresponses

from polar_links import (
    NOT_GIVEN,
    APITimeoutError,
    InternalServerError,
    InvalidArgumentError,
    Polar,
    Timeout,
)

from . import factories as f
from .conftest import BASE, FAST_BACKOFF, LIST_URL, TOKEN, count_requests, sent, serve

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
URL = f"{BASE}/v1/checkout-links/{LINK_ID}"


class Peers:
    """A small API that answers every GET with a link after ``delay`` seconds and
    records the client port of the connection each request came on."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.delay = 0.0

    def app(self) -> web.Application:
        async def get(request: web.Request) -> web.Response:
            peer = request.transport.get_extra_info("peername") if request.transport else None
            self.ports.append(peer[1] if peer else -1)
            await asyncio.sleep(self.delay)
            return web.json_response(f.link(id=request.match_info["id"]))

        app = web.Application()
        app.router.add_get("/v1/checkout-links/{id}", get)
        return app


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Peers, str]]:
    recorder = Peers()
    async with serve(recorder.app()) as url:
        yield recorder, url


# ------------------------------------------------------------ one pool


async def test_a_view_sends_over_the_clients_connection_pool(peers: tuple[Peers, str]) -> None:
    recorder, url = peers
    async with Polar(TOKEN, base_url=url) as polar:
        view = polar.with_options(timeout=5, max_retries=0)
        other = view.with_options(max_retries=1)
        for client in (polar, view, other, polar, view):
            await client.checkout_links.get(LINK_ID)
    # Sequential requests through the client and its views reuse one keep-alive
    # connection: one pool, not one per view.
    assert len(recorder.ports) == 5
    assert len(set(recorder.ports)) == 1


async def test_closing_a_view_leaves_the_pool_open(peers: tuple[Peers, str]) -> None:
    recorder, url = peers
    async with Polar(TOKEN, base_url=url) as polar:
        await polar.checkout_links.get(LINK_ID)
        async with polar.with_options(timeout=5) as view:
            await view.checkout_links.get(LINK_ID)
        await view.aclose()
        assert not view.closed
        assert not polar.closed
        await polar.checkout_links.get(LINK_ID)
        await view.checkout_links.get(LINK_ID)
    assert len(set(recorder.ports)) == 1  # the same connection throughout


async def test_closing_the_client_closes_the_pool_for_every_view(
    peers: tuple[Peers, str],
) -> None:
    _, url = peers
    polar = Polar(TOKEN, base_url=url)
    views = [polar.with_options(timeout=5), polar.with_options(max_retries=0).with_options()]
    await views[0].checkout_links.get(LINK_ID)
    await polar.aclose()
    for view in views:
        assert view.closed
        assert "closed" in repr(view)
        with pytest.raises(RuntimeError, match="this Polar client is closed"):
            await view.checkout_links.get(LINK_ID)


# ------------------------------------------------------------ precedence


async def test_timeout_per_call_wins_over_the_view_which_wins_over_the_client(
    api: aioresponses,
) -> None:
    api.get(URL, payload=f.link(id=LINK_ID), repeat=True)
    async with Polar(TOKEN, base_url=BASE, timeout=30) as polar:
        view = polar.with_options(timeout=Timeout(total=7, connect=2))
        await polar.checkout_links.get(LINK_ID)
        await view.checkout_links.get(LINK_ID)
        await view.checkout_links.get(LINK_ID, timeout=3)
        await view.checkout_links.get(LINK_ID, timeout=NOT_GIVEN)
    timeouts = [(c["timeout"].total, c["timeout"].sock_connect) for _, c in sent(api)]
    assert timeouts == [(30.0, 10.0), (7, 2), (3.0, 10.0), (7, 2)]


async def test_max_retries_per_call_wins_over_the_view_which_wins_over_the_client(
    api: aioresponses,
) -> None:
    api.get(URL, status=503, payload={"detail": "down"}, repeat=True)
    async with Polar(TOKEN, base_url=BASE, max_retries=3, backoff=FAST_BACKOFF) as polar:
        view = polar.with_options(max_retries=1)
        counts = []
        for call in (
            polar.checkout_links.get(LINK_ID),
            view.checkout_links.get(LINK_ID),
            view.checkout_links.get(LINK_ID, max_retries=0),
        ):
            before = count_requests(api)
            with pytest.raises(InternalServerError):
                await call
            counts.append(count_requests(api) - before)
    assert counts == [4, 2, 1]


async def test_concurrency_per_call_wins_over_the_view_which_wins_over_the_client() -> None:
    async with Polar(TOKEN, base_url=BASE, concurrency=4) as polar:
        view = polar.with_options(concurrency=2)
        assert polar.checkout_links.list().concurrency == 4
        assert view.checkout_links.list().concurrency == 2
        assert view.checkout_links.list(concurrency=16).concurrency == 16
        assert view.checkout_links.list(concurrency=None).concurrency == 2


async def test_a_view_keeps_the_settings_it_does_not_change(api: aioresponses) -> None:
    api.get(LIST_URL, payload=f.list_body([f.link()], total_count=1, max_page=1))
    async with Polar(TOKEN, base_url=BASE, timeout=12, concurrency=3) as polar:
        view = polar.with_options(max_retries=0)
        paginator = view.checkout_links.list()
        assert paginator.concurrency == 3
        await paginator.first_page()
    [(_, call)] = sent(api)
    assert call["timeout"].total == 12.0


# ------------------------------------------------------------ timeout=None


async def test_timeout_none_per_call_means_no_time_limit(peers: tuple[Peers, str]) -> None:
    recorder, url = peers
    recorder.delay = 0.3
    async with Polar(TOKEN, base_url=url, timeout=0.05, max_retries=0) as polar:
        with pytest.raises(APITimeoutError):
            await polar.checkout_links.get(LINK_ID)
        link = await polar.checkout_links.get(LINK_ID, timeout=None)
    assert link.id == LINK_ID


async def test_timeout_none_on_a_view_means_no_time_limit(peers: tuple[Peers, str]) -> None:
    recorder, url = peers
    recorder.delay = 0.3
    async with Polar(TOKEN, base_url=url, timeout=0.05, max_retries=0) as polar:
        link = await polar.with_options(timeout=None).checkout_links.get(LINK_ID)
    assert link.id == LINK_ID


async def test_timeout_none_is_sent_as_no_limit_at_all(api: aioresponses) -> None:
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE) as polar:
        await polar.checkout_links.get(LINK_ID, timeout=None)
    [(_, call)] = sent(api)
    assert (call["timeout"].total, call["timeout"].sock_connect) == (None, None)


async def test_a_client_may_have_no_time_limit(api: aioresponses) -> None:
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE, timeout=None) as polar:
        await polar.checkout_links.get(LINK_ID)
    [(_, call)] = sent(api)
    assert (call["timeout"].total, call["timeout"].sock_connect) == (None, None)


# ------------------------------------------------------------ checks


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"timeout": -1}, ValueError, "Timeout.total must be a positive number of seconds"),
        ({"timeout": "5"}, TypeError, "timeout must be a Timeout or a number of seconds"),
        ({"max_retries": 11}, ValueError, "max_retries must be"),
        ({"max_retries": 1.5}, TypeError, "max_retries must be an int"),
        ({"concurrency": 0}, ValueError, "concurrency must be"),
    ],
)
async def test_with_options_checks_its_arguments(
    api: aioresponses, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    async with Polar(TOKEN, base_url=BASE) as polar:
        with pytest.raises(error, match=message) as raised:
            polar.with_options(**kwargs)  # type: ignore[arg-type]
    assert isinstance(raised.value, InvalidArgumentError)
    assert count_requests(api) == 0


def test_a_view_says_it_is_one_and_hides_the_token() -> None:
    view = Polar(TOKEN, base_url=BASE).with_options(timeout=3)
    assert repr(view) == f"<Polar view base_url={BASE!r} access_token='***'>"


def test_not_given_is_a_falsy_singleton() -> None:
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert not NOT_GIVEN
    assert type(NOT_GIVEN)() is NOT_GIVEN
