"""Tolerant and hostile 200 bodies over real sockets: drifting links from the bundled
server, and bodies no real server sends from a small aiohttp app."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable

import msgspec
import pytest
from aiohttp import web

from polar_links import (
    CheckoutLink,
    InvalidResponseError,
    Polar,
    UnknownBenefit,
    UnknownProductPrice,
    _decoding,
)
from polar_links.testing import PolarTestServer, drift_links, generate_links

from . import factories as f

LINK_ID = "9c3f1c52-2a55-4c1f-8d4e-6f3a2b1c0d9e"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[bytes], asyncio.Future[str]]]:
    """``await serve(body)``: a server answering every request with 200 and ``body``;
    returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(body: bytes) -> str:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    yield start  # type: ignore[misc]
    for runner in runners:
        await runner.cleanup()


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def list_body(*items: bytes) -> bytes:
    return (
        b'{"items": [' + b",".join(items) + b'], "pagination": {"total_count": 1, "max_page": 1}}'
    )


HOSTILE = {
    "nested 100,000 levels": (
        f.to_bytes(f.link(id=LINK_ID))[:-1] + b', "brand_new": ' + deep(100_000) + b"}",
        "JSON nested too deeply to decode",
    ),
    "invalid UTF-8": (
        f.to_bytes(f.link(id=LINK_ID, label="cafe")).replace(b'"cafe"', b'"caf\xe9"'),
        "not valid UTF-8 (byte 0xe9 at offset",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_a_hostile_200_body_is_an_invalid_response_error(
    case: str, serve: Callable[[bytes], asyncio.Future[str]]
) -> None:
    link, expected = HOSTILE[case]
    base = await serve(link)
    async with Polar("polar_oat_x", base_url=base, allow_insecure_http=True) as polar:
        with pytest.raises(InvalidResponseError) as got:
            await polar.checkout_links.get(LINK_ID)
        assert got.value.status_code == 200
        assert f"answered 200 with a body that is not a checkout link ({expected}" in str(got.value)
        assert len(str(got.value)) < 1000
    base = await serve(list_body(link))
    async with Polar("polar_oat_x", base_url=base, allow_insecure_http=True) as polar:
        with pytest.raises(InvalidResponseError, match="not a list of checkout links") as got:
            await polar.checkout_links.list().collect()
        assert expected in str(got.value)


async def test_a_link_missing_a_required_field_is_an_error_from_get_and_skipped_from_list(
    serve: Callable[[bytes], asyncio.Future[str]], caplog: pytest.LogCaptureFixture
) -> None:
    broken, kept = f.link(id=LINK_ID), f.link()
    del broken["created_at"]
    base = await serve(f.to_bytes(broken))
    async with Polar("polar_oat_x", base_url=base, allow_insecure_http=True) as polar:
        with pytest.raises(InvalidResponseError, match="missing required field `created_at`"):
            await polar.checkout_links.get(LINK_ID)
    base = await serve(list_body(f.to_bytes(broken), f.to_bytes(kept)))
    async with Polar("polar_oat_x", base_url=base, allow_insecure_http=True) as polar:
        with caplog.at_level(logging.WARNING, logger="polar_links"):
            page = await polar.checkout_links.list().first_page()
    assert [link.id for link in page.items] == [kept["id"]]
    assert [msgspec.json.decode(s.raw) for s in page.skipped] == [broken]
    assert page.skipped[0].reason == "missing required field `created_at`"
    assert f"skipped an undecodable checkout link {LINK_ID}" in caplog.text


async def test_a_walk_where_every_link_drifts_yields_every_link() -> None:
    links = drift_links(generate_links(1_000, seed=11))
    async with (
        PolarTestServer(data=links) as server,
        Polar(server.token, base_url=server.base_url) as polar,
    ):
        got = await polar.checkout_links.list().collect()
        one = await polar.checkout_links.get(links[3]["id"])
    assert sorted(link.id for link in got) == sorted(link["id"] for link in links)
    for link in [*got, one]:
        assert link.trial_interval == "fortnight"
        for product in link.products:
            assert isinstance(product.prices[0], UnknownProductPrice)
            assert product.prices[0].amount_type == "tiered_volume"
            assert isinstance(product.benefits[-1], UnknownBenefit)
            assert product.benefits[-1].type == "telegram_group"


async def test_a_large_page_is_decoded_off_the_event_loop_item_by_item(
    serve: Callable[[bytes], asyncio.Future[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    links = drift_links(generate_links(600, seed=2))
    body = msgspec.json.encode({"items": links, "pagination": {"total_count": 600, "max_page": 1}})
    assert len(body) > _decoding.OFF_LOOP_BYTES
    threads: list[threading.Thread] = []
    original = _decoding._by_items

    def spy(raws: list[msgspec.Raw]) -> tuple[list[CheckoutLink], list[_decoding.SkippedItem]]:
        threads.append(threading.current_thread())
        return original(raws)

    monkeypatch.setattr(_decoding, "_by_items", spy)
    base = await serve(body)
    async with Polar("polar_oat_x", base_url=base, allow_insecure_http=True) as polar:
        page = await polar.checkout_links.list().first_page()
    assert [link.id for link in page.items] == [link["id"] for link in links]
    assert page.skipped == []
    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()


async def test_a_link_needing_hundreds_of_repairs_comes_whole_from_the_server() -> None:
    benefits = [f.benefit("telegram_group", n=n) for n in range(150)]
    prices = [f.price("tiered_volume", n=n) for n in range(40)]
    big = f.link(id=LINK_ID, products=[f.product(prices=prices, benefits=benefits)])
    async with (
        PolarTestServer(data=[big, f.link()]) as server,
        Polar(server.token, base_url=server.base_url) as polar,
    ):
        page = await polar.checkout_links.list().first_page()
        one = await polar.checkout_links.get(LINK_ID)
    assert page.skipped == []
    listed = next(link for link in page.items if link.id == LINK_ID)
    for link in (listed, one):
        assert [p.data for p in link.products[0].prices] == prices  # type: ignore[union-attr]
        assert [b.data for b in link.products[0].benefits] == benefits  # type: ignore[union-attr]
