"""Reading answers over real sockets: bodies that arrive in many reads (chunked, gzip),
the size cap at its exact edge, and the attributes of the errors for a body too large,
a timeout and a refused connection."""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
import socket
from typing import Any

import pytest
from aiohttp import web

from polar_links import (
    APIConnectionError,
    APITimeoutError,
    Backoff,
    Polar,
    ResponseTooLargeError,
)

from . import factories as f
from .conftest import serve

TOKEN = "polar_oat_body_test_token"
NO_RETRY = Backoff(initial=0.001, maximum=0.002)


def link_bytes(size: int | None = None, label: str | None = None) -> tuple[dict[str, Any], bytes]:
    """A link and its JSON, padded with trailing spaces (still valid JSON) to ``size``."""
    link = f.link(label=label)
    data = json.dumps(link).encode()
    if size is not None:
        assert len(data) <= size
        data += b" " * (size - len(data))
    return link, data


def app_sending(data: bytes, *, chunk: int = 4096, gzipped: bool = False) -> web.Application:
    """An app answering every request with ``data``: without Content-Length, in chunks
    of ``chunk`` bytes written separately (gzip-encoded on the wire when ``gzipped``)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        wire = gzip.compress(data) if gzipped else data
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        if gzipped:
            resp.headers["Content-Encoding"] = "gzip"
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for start in range(0, len(wire), chunk):
            await resp.write(wire[start : start + chunk])
            await asyncio.sleep(0.001)  # each chunk its own read on the client
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def test_a_chunked_body_of_many_reads_is_read_whole() -> None:
    link, data = link_bytes(label="a" * 200_000)
    async with serve(app_sending(data)) as url, Polar(TOKEN, base_url=url) as polar:
        got = await polar.checkout_links.get(link["id"])
    assert got.id == link["id"]
    assert got.label == "a" * 200_000


async def test_a_gzip_body_of_many_reads_is_read_whole() -> None:
    label = secrets.token_hex(100_000)  # does not compress to one read
    link, data = link_bytes(label=label)
    assert len(gzip.compress(data)) > 100_000
    async with serve(app_sending(data, gzipped=True)) as url, Polar(TOKEN, base_url=url) as polar:
        got = await polar.checkout_links.get(link["id"])
    assert got.label == label


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_of_exactly_max_response_bytes_is_accepted(chunked: bool) -> None:
    link, data = link_bytes(size=4096)
    if chunked:
        app = app_sending(data, chunk=1000)
    else:
        app = web.Application()

        async def handle(request: web.Request) -> web.Response:
            return web.Response(body=data, content_type="application/json")

        app.router.add_route("*", "/{tail:.*}", handle)
    async with serve(app) as url, Polar(TOKEN, base_url=url, max_response_bytes=4096) as polar:
        assert (await polar.checkout_links.get(link["id"])).id == link["id"]


async def test_a_chunked_body_one_byte_over_the_cap_is_refused() -> None:
    link, data = link_bytes(size=4097)
    async with (
        serve(app_sending(data, chunk=1000)) as url,
        Polar(TOKEN, base_url=url, max_response_bytes=4096) as polar,
    ):
        with pytest.raises(ResponseTooLargeError) as raised:
            await polar.checkout_links.get(link["id"])
    target = f"{url}/v1/checkout-links/{link['id']}"
    error = raised.value
    assert str(error) == (
        f"response to GET {target} is more than 4096 bytes, over max_response_bytes=4096"
    )
    assert (error.limit, error.method, error.url) == (4096, "GET", target)


async def test_an_announced_length_over_the_cap_is_refused_before_the_body_is_read() -> None:
    link_id = f.new_id()
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = 4097
        await resp.prepare(request)
        await resp.write(b"{")
        await release.wait()  # the rest never comes while the client waits for it
        return resp

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    async with serve(app) as url:
        async with Polar(TOKEN, base_url=url, max_response_bytes=4096, timeout=30) as polar:
            with pytest.raises(ResponseTooLargeError) as raised:
                await asyncio.wait_for(polar.checkout_links.get(link_id), 10)
        release.set()
    target = f"{url}/v1/checkout-links/{link_id}"
    assert str(raised.value) == (
        f"response to GET {target} is 4097 bytes, over max_response_bytes=4096"
    )
    assert (raised.value.limit, raised.value.method, raised.value.url) == (4096, "GET", target)


async def test_a_timeout_error_names_the_method_the_url_and_the_attempts() -> None:
    link_id = f.new_id()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", slow)
    async with (
        serve(app) as url,
        Polar(TOKEN, base_url=url, timeout=0.2, max_retries=1, backoff=NO_RETRY) as polar,
    ):
        with pytest.raises(APITimeoutError) as raised:
            await polar.checkout_links.get(link_id)
    target = f"{url}/v1/checkout-links/{link_id}"
    assert str(raised.value) == f"timed out on GET {target} after 2 attempts"
    assert (raised.value.method, raised.value.url, raised.value.attempts) == ("GET", target, 2)


async def test_a_refused_connection_names_the_method_the_url_and_the_attempts() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens
    url = f"http://127.0.0.1:{port}"
    link_id = f.new_id()
    async with Polar(TOKEN, base_url=url, max_retries=0) as polar:
        with pytest.raises(APIConnectionError) as raised:
            await polar.checkout_links.delete(link_id)
    target = f"{url}/v1/checkout-links/{link_id}"
    assert str(raised.value).startswith(f"connection failed on DELETE {target} after 1 attempt: ")
    assert (raised.value.method, raised.value.url, raised.value.attempts) == ("DELETE", target, 1)
