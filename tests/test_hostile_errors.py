"""Hostile and broken upstreams, over real sockets: every failure the transport sees is a
typed PolarError with a short message, never a raw ValueError or UnicodeDecodeError,
and a redirect that cannot be followed is not a success."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from polar_links import (
    BadRequestError,
    InternalServerError,
    InvalidResponseError,
    Polar,
)
from polar_links.testing import PolarTestServer

from . import factories as f
from .conftest import FAST_BACKOFF, serve

pytestmark = pytest.mark.usefixtures("strict_loop")

TOKEN = "polar_oat_hostile_upstream_token"
LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Upstream:
    """A small API whose answer to ``GET /v1/checkout-links/{id}`` is scripted: each
    request gets the next handler of ``script`` (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[Handler] = []
        self.requests = 0

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            handler = self.script[min(self.requests, len(self.script)) - 1]
            return await handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    scripted = Upstream()
    async with serve(scripted.app()) as url:
        yield scripted, url


def answer(status: int, body: bytes = b"", **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers=headers)

    return handler


async def link(request: web.Request) -> web.StreamResponse:
    return web.json_response(f.link(id=LINK_ID))


def client(url: str, **kwargs: object) -> Polar:
    kwargs.setdefault("backoff", FAST_BACKOFF)
    return Polar(TOKEN, base_url=url, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------ a proxy's latin-1 page


LATIN1_JSON = '{"detail": "Service indisponible, réessayez"}'.encode("latin-1")


async def test_a_503_with_a_latin1_body_stays_a_typed_failure(
    upstream: tuple[Upstream, str],
) -> None:
    scripted, url = upstream
    scripted.script = [answer(503, LATIN1_JSON, **{"Content-Type": "application/json"})]
    async with client(url, max_retries=1) as polar:
        with pytest.raises(InternalServerError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert raised.value.status_code == 503
    assert "Service indisponible, r\ufffdessayez" in str(raised.value)
    assert scripted.requests == 2  # it was retried as any 503


async def test_a_503_with_a_latin1_body_is_retried_to_success(
    upstream: tuple[Upstream, str],
) -> None:
    scripted, url = upstream
    scripted.script = [answer(503, LATIN1_JSON), link]
    async with client(url, max_retries=1) as polar:
        assert (await polar.checkout_links.get(LINK_ID)).id == LINK_ID
    assert scripted.requests == 2


async def test_an_error_body_nested_past_the_stack_is_a_typed_failure(
    upstream: tuple[Upstream, str],
) -> None:
    scripted, url = upstream
    deep = b'{"detail": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    scripted.script = [answer(500, deep, **{"Content-Type": "application/json"})]
    async with client(url, max_retries=0) as polar:
        with pytest.raises(InternalServerError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert len(str(raised.value)) < 500


# ------------------------------------------------------------ redirects


@pytest.mark.parametrize(
    ("location", "says"),
    [
        ("http://[::1", "with a Location that is not a valid URL"),
        ("http://127.0.0.1:99999/v1/x", "with a Location that is not a valid URL"),
        ("file:///etc/passwd", "with a Location that is not an http(s) URL: 'file:///etc/passwd'"),
        ("javascript:alert(1)", "with a Location that is not an http(s) URL: 'javascript:"),
    ],
)
async def test_a_redirect_that_cannot_be_followed_is_a_typed_error(
    upstream: tuple[Upstream, str], location: str, says: str
) -> None:
    scripted, url = upstream
    scripted.script = [answer(302, Location=location)]
    async with client(url, max_retries=3) as polar:
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert f"GET {url}/v1/checkout-links/{LINK_ID} answered 302 {says}" in str(raised.value)
    assert raised.value.status_code == 302
    assert scripted.requests == 1  # the same answer would come again: no retry


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300, 304])
async def test_a_3xx_without_location_is_not_a_success(
    upstream: tuple[Upstream, str], status: int
) -> None:
    scripted, url = upstream
    scripted.script = [answer(status)]
    async with client(url) as polar:
        with pytest.raises(InvalidResponseError, match=f"answered {status} without a Location"):
            await polar.checkout_links.get(LINK_ID)


async def test_a_redirect_loop_ends_with_a_typed_error(upstream: tuple[Upstream, str]) -> None:
    scripted, url = upstream
    scripted.script = [answer(307, Location=f"/v1/checkout-links/{LINK_ID}")]
    async with client(url, max_retries=2) as polar:
        with pytest.raises(
            InvalidResponseError, match="was redirected more than 5 times"
        ) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert raised.value.__cause__ is None
    assert scripted.requests == 6  # the request and 5 redirects, not retried


async def test_a_followed_redirect_still_works(upstream: tuple[Upstream, str]) -> None:
    scripted, url = upstream
    scripted.script = [answer(308, Location=f"/v1/checkout-links/{LINK_ID}/"), link]
    async with client(url) as polar:
        assert (await polar.checkout_links.get(LINK_ID)).id == LINK_ID


# ------------------------------------------------------------ sizes


async def test_max_items_beyond_any_float_works() -> None:
    async with (
        PolarTestServer(links=30, seed=5) as server,
        Polar(server.token, base_url=server.base_url) as polar,
    ):
        links = await polar.checkout_links.list(limit=7, max_items=10**400).collect()
    assert len(links) == 30


async def test_ten_thousand_organization_ids_give_a_short_message() -> None:
    ids = [str(uuid.UUID(int=i, version=4)) for i in range(10_000)]
    async with (
        PolarTestServer(links=5) as server,
        Polar(server.token, base_url=server.base_url, max_retries=0) as polar,
    ):
        base_url = server.base_url
        with pytest.raises(BadRequestError) as raised:
            await polar.checkout_links.list(organization_id=ids).first_page()
    message = str(raised.value)
    assert len(message) < 600
    assert message.startswith(f"400 on GET {base_url}/v1/checkout-links/?organization_id=")
    assert "… (+" in message
    assert " characters)" in message
    assert len(raised.value.url) > 400_000  # the attribute keeps the whole URL
