"""Redirects as a browser-independent HTTP client follows them, over real sockets: what
each hop sends (method, body, token), how many hops are followed, and which answers
with a ``Location`` are not redirects at all."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from polar_links import InvalidResponseError, NotFoundError, Polar

from . import factories as f
from .conftest import serve

TOKEN = "polar_oat_redirect_test_token"
PRODUCT = "5b9a4a5e-6f34-4d8a-9f57-0a1cbd2f7e11"


class Recorder:
    """An app that answers ``/hop/<n>`` per ``answers`` and records every request:
    (method, path, body, Authorization header, Content-Type header)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes, str | None, str | None]] = []
        self.link = f.link()
        self.redirects: dict[str, tuple[int, str]] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            (
                request.method,
                request.path,
                body,
                request.headers.get("Authorization"),
                request.headers.get("Content-Type"),
            )
        )
        if request.path in self.redirects:
            status, location = self.redirects[request.path]
            return web.Response(status=status, headers={"Location": location})
        return web.json_response(self.link, status=201 if request.method == "POST" else 200)


def sent_body(products: list[str]) -> dict[str, Any]:
    return {"payment_processor": "stripe", "products": products}


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_a_post_redirected_with_301_302_303_becomes_a_get_without_body(
    status: int,
) -> None:
    rec = Recorder()
    rec.redirects["/v1/checkout-links/"] = (status, "/elsewhere/created")
    async with serve(rec.app()) as url, Polar(TOKEN, base_url=url) as polar:
        link = await polar.checkout_links.create(products=[PRODUCT])
    assert link.id == rec.link["id"]
    (m1, p1, b1, a1, c1), (m2, p2, b2, a2, c2) = rec.seen
    assert (m1, p1, json.loads(b1), a1, c1) == (
        "POST",
        "/v1/checkout-links/",
        sent_body([PRODUCT]),
        f"Bearer {TOKEN}",
        "application/json",
    )
    assert (m2, p2, b2, a2, c2) == ("GET", "/elsewhere/created", b"", f"Bearer {TOKEN}", None)


@pytest.mark.parametrize("status", [307, 308])
async def test_a_post_redirected_with_307_308_keeps_its_method_and_body(status: int) -> None:
    rec = Recorder()
    rec.redirects["/v1/checkout-links/"] = (status, "/v2/checkout-links/")
    async with serve(rec.app()) as url, Polar(TOKEN, base_url=url) as polar:
        await polar.checkout_links.create(products=[PRODUCT])
    assert [(m, p) for m, p, *_ in rec.seen] == [
        ("POST", "/v1/checkout-links/"),
        ("POST", "/v2/checkout-links/"),
    ]
    for _, _, body, auth, content_type in rec.seen:
        assert json.loads(body) == sent_body([PRODUCT])
        assert auth == f"Bearer {TOKEN}"
        assert content_type == "application/json"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_get_stays_a_get_on_every_redirect(status: int) -> None:
    rec = Recorder()
    link_id = rec.link["id"]
    rec.redirects[f"/v1/checkout-links/{link_id}"] = (status, "/moved")
    async with serve(rec.app()) as url, Polar(TOKEN, base_url=url) as polar:
        await polar.checkout_links.get(link_id)
    assert [(m, p) for m, p, *_ in rec.seen] == [
        ("GET", f"/v1/checkout-links/{link_id}"),
        ("GET", "/moved"),
    ]


async def test_five_hops_are_followed_and_a_sixth_is_refused() -> None:
    rec = Recorder()
    link_id = rec.link["id"]
    start = f"/v1/checkout-links/{link_id}"
    rec.redirects[start] = (302, "/hop/1")
    for n in range(1, 5):
        rec.redirects[f"/hop/{n}"] = (302, f"/hop/{n + 1}")
    async with serve(rec.app()) as url, Polar(TOKEN, base_url=url) as polar:
        assert (await polar.checkout_links.get(link_id)).id == link_id  # 5 hops
        assert [p for _, p, *_ in rec.seen] == [start] + [f"/hop/{n}" for n in range(1, 6)]
        rec.seen.clear()
        rec.redirects["/hop/5"] = (302, "/hop/6")  # now 6 hops
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(link_id)
    assert str(raised.value) == f"GET {url}/hop/6 was redirected more than 5 times"
    assert raised.value.status_code == 302
    assert raised.value.method == "GET"
    assert raised.value.url == f"{url}/hop/6"
    assert len(rec.seen) == 6  # the sixth Location is not requested


async def test_a_201_with_a_location_is_the_answer_not_a_redirect() -> None:
    rec = Recorder()

    async def created(request: web.Request) -> web.Response:
        rec.seen.append((request.method, request.path, b"", None, None))
        return web.json_response(rec.link, status=201, headers={"Location": "/somewhere"})

    app = web.Application()
    app.router.add_post("/v1/checkout-links/", created)
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    async with serve(app) as url, Polar(TOKEN, base_url=url) as polar:
        link = await polar.checkout_links.create(products=[PRODUCT])
    assert link.id == rec.link["id"]
    assert [(m, p) for m, p, *_ in rec.seen] == [("POST", "/v1/checkout-links/")]


async def test_the_token_goes_on_the_same_origin_hop_but_not_to_another_origin() -> None:
    api, other = Recorder(), Recorder()
    link_id = api.link["id"]
    async with serve(other.app()) as other_url, serve(api.app()) as url:
        api.redirects[f"/v1/checkout-links/{link_id}"] = (307, "/same-origin")
        api.redirects["/same-origin"] = (307, f"{other_url}/other-origin")
        other.link = api.link
        async with Polar(TOKEN, base_url=url) as polar:
            await polar.checkout_links.get(link_id)
    assert [(p, auth) for _, p, _, auth, _ in api.seen] == [
        (f"/v1/checkout-links/{link_id}", f"Bearer {TOKEN}"),
        ("/same-origin", f"Bearer {TOKEN}"),
    ]
    assert [(p, auth) for _, p, _, auth, _ in other.seen] == [("/other-origin", None)]


async def test_a_redirect_without_location_names_the_method_and_url() -> None:
    rec = Recorder()
    link_id = rec.link["id"]
    app = web.Application()

    async def bare(request: web.Request) -> web.Response:
        return web.Response(status=302)

    app.router.add_route("*", "/{tail:.*}", bare)
    async with serve(app) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.delete(link_id)
    target = f"{url}/v1/checkout-links/{link_id}"
    assert str(raised.value) == (
        f"DELETE {target} answered 302 without a Location to follow; a redirect that "
        "cannot be followed is not a success"
    )
    assert (raised.value.method, raised.value.url, raised.value.status_code) == (
        "DELETE",
        target,
        302,
    )


async def test_an_error_after_a_post_turned_get_names_the_get() -> None:
    rec = Recorder()
    app = web.Application()
    rec.redirects["/v1/checkout-links/"] = (303, "/gone")

    async def gone(request: web.Request) -> web.Response:
        return web.json_response({"detail": "Not Found"}, status=404)

    app.router.add_get("/gone", gone)
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    async with serve(app) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(NotFoundError) as raised:
            await polar.checkout_links.create(products=[PRODUCT])
    assert (raised.value.method, raised.value.url) == ("GET", f"{url}/gone")
    assert f"GET {url}/gone" in str(raised.value)


async def test_no_hop_after_leaving_the_api_origin_carries_the_token() -> None:
    api, other = Recorder(), Recorder()
    link_id = api.link["id"]
    async with serve(other.app()) as other_url, serve(api.app()) as url:
        api.redirects[f"/v1/checkout-links/{link_id}"] = (302, f"{other_url}/first")
        other.redirects["/first"] = (302, "/second")  # still not the API's origin
        other.link = api.link
        async with Polar(TOKEN, base_url=url) as polar:
            assert (await polar.checkout_links.get(link_id)).id == link_id
    assert [(p, auth) for _, p, _, auth, _ in other.seen] == [
        ("/first", None),
        ("/second", None),
    ]
