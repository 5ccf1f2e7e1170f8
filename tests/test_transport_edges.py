"""The transport at its edges, over real sockets: redirect targets it refuses and the
words it uses, a bound that runs out while a call waits for the rate limit, the words
of a connection failure, and what a traceback printed with its local variables shows
when a call is cancelled in the middle (no token, anywhere)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from polar_links import (
    APIConnectionError,
    Backoff,
    CallTimeoutError,
    InvalidResponseError,
    Polar,
    RateLimit,
    _retry,
)

from . import factories as f
from .conftest import BASE, FAST_BACKOFF, serve

TOKEN = "polar_oat_transport_edges_token"
LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"


def app_with(handler: Callable[[web.Request], object]) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)  # type: ignore[arg-type]
    return app


# ---------------------------------------------------------------- redirect targets


@pytest.mark.parametrize(
    "location",
    [
        "https:///no-host",  # an https URL without a host
        "ftp://files.example/link",  # a host and a port, but not http(s)
        "mailto:someone@example.com",
    ],
)
async def test_a_redirect_to_anything_but_an_http_url_is_refused(location: str) -> None:
    seen: list[str] = []

    async def moved(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=302, headers={"Location": location})

    async with serve(app_with(moved)) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(LINK_ID)
    target = f"{url}/v1/checkout-links/{LINK_ID}"
    assert str(raised.value) == (
        f"GET {target} answered 302 with a Location that is not an http(s) URL: {location!r}"
    )
    assert (raised.value.method, raised.value.url, raised.value.status_code) == ("GET", target, 302)
    assert seen == [f"/v1/checkout-links/{LINK_ID}"]


async def test_a_redirect_to_plain_http_elsewhere_is_refused_and_says_how_to_allow_it() -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": "http://api.example/v1/x"})

    async with serve(app_with(moved)) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(LINK_ID)
    message = str(raised.value)
    assert message.startswith(
        f"GET {url}/v1/checkout-links/{LINK_ID} answered 307 with a redirect to "
        "http://api.example/v1/x, "
    )
    assert message.endswith(
        ": refused, as a plain-http base_url would be (the data would travel unencrypted); "
        "pass allow_insecure_http=True to allow it"
    )


# ---------------------------------------------------------------- a bound that runs out


async def test_a_bound_that_runs_out_while_waiting_for_the_rate_limit() -> None:
    # One request in flight for 1.5 s holds the only slot: the call behind it expects
    # to wait a window (0.3 s), starts waiting, and its 0.8 s bound runs out first.
    started = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(1.5)
        return web.json_response(f.link(id=LINK_ID))

    budget = RateLimit(requests=1, per=0.3, burst=1)
    async with serve(app_with(slow)) as url, Polar(TOKEN, base_url=url, rate_limit=budget) as polar:
        first = asyncio.ensure_future(polar.checkout_links.get(LINK_ID))
        await started.wait()
        with pytest.raises(CallTimeoutError) as raised:
            await polar.checkout_links.get(LINK_ID, call_timeout=0.8)
        await first
    error = raised.value
    target = f"{url}/v1/checkout-links/{LINK_ID}"
    match = re.fullmatch(
        rf"GET {re.escape(target)} not sent: the client-side rate limit would hold it longer "
        r"than that, past its call_timeout=0\.8 s \(elapsed (\d+\.\d) s\)",
        str(error),
    )
    assert match, str(error)
    assert 0.5 <= float(match[1]) <= 5.0
    assert (error.reason, error.wait, error.attempts) == ("budget", None, 0)
    assert (error.method, error.url, error.call_timeout) == ("GET", target, 0.8)


async def test_a_wait_under_a_second_longer_than_the_bound_is_refused_before_waiting() -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(f.link(id=LINK_ID))

    budget = RateLimit(requests=1, per=0.9, burst=1)
    seen: list[int] = []
    async with (
        serve(app_with(answer)) as url,
        Polar(TOKEN, base_url=url, rate_limit=budget) as polar,
    ):
        await polar.checkout_links.get(LINK_ID)
        seen.append(1)
        with pytest.raises(CallTimeoutError) as raised:
            await polar.checkout_links.get(LINK_ID, call_timeout=0.5)
    error = raised.value
    assert error.reason == "budget"
    assert error.wait is not None
    assert 0.5 < error.wait <= 0.9
    assert error.attempts == 0  # refused before sending anything
    assert "would hold it about 0." in str(error)


# ---------------------------------------------------------------- waits


@pytest.mark.parametrize("cap", [3600.0, 0.2])
async def test_after_a_429_the_call_waits_its_retry_after_once(
    cap: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client-wide pause after a 429 and the call's own wait run together: the retry
    # goes after the Retry-After, not twice as late, and not earlier when the pause of
    # the whole client is capped (at MAX_COOL_DOWN, an hour) below it.
    monkeypatch.setattr(_retry, "MAX_COOL_DOWN", cap)
    seen: list[float] = []

    async def limited(request: web.Request) -> web.Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return web.Response(status=429, headers={"Retry-After": "1"})
        return web.json_response(f.link(id=LINK_ID))

    async with serve(app_with(limited)) as url, Polar(TOKEN, base_url=url) as polar:
        await polar.checkout_links.get(LINK_ID)
    assert len(seen) == 2
    assert 0.95 <= seen[1] - seen[0] < 1.7  # 1 s, not 2 s


async def test_the_debug_line_gives_the_attempts_time_in_milliseconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.2)
        return web.json_response(f.link(id=LINK_ID))

    async with serve(app_with(slow)) as url, Polar(TOKEN, base_url=url) as polar:
        with caplog.at_level(logging.DEBUG, logger="polar_links"):
            await polar.checkout_links.get(LINK_ID)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "polar_links"]
    elapsed = float(line.split("elapsed_ms=")[1].split()[0])
    assert 190 <= elapsed < 5000, line


# ---------------------------------------------------------------- connection failures


@pytest.mark.parametrize(
    ("exception", "shown"),
    [
        (aiohttp.ClientPayloadError(), "ClientPayloadError: ClientPayloadError"),
        (aiohttp.ServerDisconnectedError(), "ServerDisconnectedError: Server disconnected"),
    ],
)
async def test_a_connection_failure_names_aiohttps_error_and_its_words(
    api: aioresponses, exception: Exception, shown: str
) -> None:
    target = f"{BASE}/v1/checkout-links/{LINK_ID}"
    api.get(target, exception=exception)
    async with Polar(TOKEN, base_url=BASE, max_retries=0) as polar:
        with pytest.raises(APIConnectionError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert str(raised.value) == f"connection failed on GET {target} after 1 attempt: {shown}"
    assert (raised.value.method, raised.value.url, raised.value.attempts) == ("GET", target, 1)


async def test_a_connection_failure_after_retries_counts_every_attempt(
    api: aioresponses,
) -> None:
    target = f"{BASE}/v1/checkout-links/{LINK_ID}"
    for _ in range(3):
        api.get(target, exception=aiohttp.ServerDisconnectedError())
    async with Polar(TOKEN, base_url=BASE, max_retries=2, backoff=FAST_BACKOFF) as polar:
        with pytest.raises(APIConnectionError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert str(raised.value) == (
        f"connection failed on GET {target} after 3 attempts: "
        "ServerDisconnectedError: Server disconnected"
    )
    assert raised.value.attempts == 3


# ---------------------------------------------------------------- cancelled mid-call


def with_locals(error: BaseException) -> str:
    """``error`` as Sentry, rich or ``pytest --showlocals`` would show it: its traceback
    (and the ones it chains to) with every frame's local variables."""
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    return "".join(shown.format())


async def test_a_call_cancelled_while_sending_shows_its_headers_without_the_token() -> None:
    async def stalled(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(status=204)  # pragma: no cover (cancelled before)

    async with serve(app_with(stalled)) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(TimeoutError) as raised:
            async with asyncio.timeout(0.3):
                await polar.checkout_links.get(LINK_ID)
    shown = with_locals(raised.value)
    assert "_send" in shown  # the frame that holds the request's headers (under any name)
    assert "'Authorization': '***'" in shown
    assert TOKEN not in shown


async def test_a_call_cancelled_between_attempts_shows_the_answer_without_the_token() -> None:
    # A server that echoes the token into the URL it redirects to, then answers 503
    # with the token in its body: the call waits to retry, and is cancelled then.

    async def echo(request: web.Request) -> web.Response:
        if "echo" not in request.query:
            location = f"/v1/checkout-links/{LINK_ID}/?echo={TOKEN}"
            return web.Response(status=307, headers={"Location": location})
        return web.Response(status=503, text=f"down {TOKEN}", headers={"Retry-After": "2"})

    async with (
        serve(app_with(echo)) as url,
        Polar(TOKEN, base_url=url, backoff=Backoff(max_retry_after=10)) as polar,
    ):
        with pytest.raises(TimeoutError) as raised:
            async with asyncio.timeout(0.5):
                await polar.checkout_links.get(LINK_ID)
    shown = with_locals(raised.value)
    assert f"<Response 503 to GET {url}/v1/checkout-links/{LINK_ID}/?echo=***: " in shown
    assert TOKEN not in shown
