"""Mistakes a newcomer makes with the async client get a message saying what to do."""

from __future__ import annotations

import asyncio
import gc
import re
import warnings

import pytest

from polar_links import Polar
from polar_links.testing import PolarTestServer

from .conftest import BASE, TOKEN


def test_with_instead_of_async_with_names_async_with_and_the_sync_client() -> None:
    polar = Polar(TOKEN, base_url=BASE)
    with pytest.raises(TypeError) as raised, polar:
        pass
    assert str(raised.value) == (
        "Polar is the async client: use `async with Polar(...) as polar:` inside an async "
        "function, or the synchronous client: `with SyncPolar(...) as polar:`"
    )


def test_for_instead_of_async_for_names_async_for_and_the_sync_client() -> None:
    polar = Polar(TOKEN, base_url=BASE)
    with pytest.raises(TypeError) as raised:
        for _link in polar.checkout_links.list():  # type: ignore[var-annotated]
            pass
    message = str(raised.value)
    assert "`async for link in ...`" in message
    assert "SyncPolar" in message
    with pytest.raises(TypeError, match=re.escape("`async for link in ...`")):
        list(polar.checkout_links.list())


async def test_awaiting_the_paginator_names_first_page_and_collect() -> None:
    async with Polar(TOKEN, base_url=BASE) as polar:
        with pytest.raises(TypeError) as raised:
            await polar.checkout_links.list()
    assert str(raised.value) == (
        "polar.checkout_links.list(...) is not awaitable: await "
        "`polar.checkout_links.list(...).first_page()` for one page or `.collect()` for "
        "every link as a list, or iterate it with `async for`"
    )


def test_one_client_in_two_asyncio_runs_says_one_client_per_event_loop(
    polar_server: PolarTestServer,
) -> None:
    polar = Polar(polar_server.token, base_url=polar_server.base_url)

    async def count(polar: Polar) -> int:
        return (await polar.checkout_links.list(limit=1).first_page()).total_count

    assert asyncio.run(count(polar)) == 250
    sent = len(polar_server.requests)
    with pytest.raises(RuntimeError) as raised:
        asyncio.run(count(polar))
    message = str(raised.value)
    assert message == (
        "this Polar client was first used in another event loop (each asyncio.run() makes "
        "a new one); use one client per event loop: create the Polar client inside the "
        "coroutine that asyncio.run() runs, or use SyncPolar from synchronous code"
    )
    assert len(polar_server.requests) == sent  # refused before sending
    # Its pool belongs to the first loop, now closed: let it go without the noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del polar, raised
        gc.collect()


def test_a_client_garbage_collected_unclosed_warns_once_naming_polar_links(
    polar_server: PolarTestServer,
) -> None:
    async def use_and_forget() -> None:
        polar = Polar(polar_server.token, base_url=polar_server.base_url)
        await polar.checkout_links.list(limit=1).first_page()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(use_and_forget())
        gc.collect()
        shown = [(w.category, str(w.message)) for w in caught]
        # aiohttp's warnings hold its objects (``source``): let them go here too.
        caught.clear()
        gc.collect()
        shown += [(w.category, str(w.message)) for w in caught]
        caught.clear()
    ours = [(category, message) for category, message in shown if "polar-links" in message]
    assert len(ours) == 1, shown
    assert ours[0][0] is ResourceWarning
    assert shown[0] == ours[0]  # the first thing the user reads
    assert ours[0][1].startswith(
        f"unclosed polar-links client <Polar base_url='{polar_server.base_url}' "
        "access_token='***'>: use `async with Polar(...) as polar:` or `await polar.aclose()`"
    )
    assert all(polar_server.token not in message for _, message in shown)


async def test_a_closed_or_unused_client_is_collected_silently(
    polar_server: PolarTestServer,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Polar(TOKEN, base_url=BASE)  # never used: it holds nothing
        async with Polar(polar_server.token, base_url=polar_server.base_url) as polar:
            await polar.checkout_links.list(limit=1).first_page()
        del polar
        gc.collect()
    assert [str(w.message) for w in caught] == []
