"""The client's connection pool over real sockets: at most 100 connections open at once,
however many calls run together (the rest wait for a free connection)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from polar_links import Polar

from . import factories as f
from .conftest import serve


async def test_at_most_100_connections_are_open_at_once() -> None:
    link = f.link()
    in_flight = 0
    peak = 0
    peers: set[object] = set()
    crowded = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        if in_flight >= 100:
            crowded.set()
        try:
            # Hold every answer until the pool is full (or 2 s passed): a pool without
            # the cap would then have more than 100 requests in flight.
            await asyncio.wait_for(asyncio.shield(crowded.wait()), 2)
            await asyncio.sleep(0.1)
        except asyncio.TimeoutError:
            pass
        in_flight -= 1
        return web.json_response(link)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serve(app) as url, Polar("polar_oat_pool_test", base_url=url) as polar:
        got = await asyncio.gather(*(polar.checkout_links.get(link["id"]) for _ in range(130)))
    assert {g.id for g in got} == {link["id"]}
    assert peak == 100
    assert len(peers) == 100
