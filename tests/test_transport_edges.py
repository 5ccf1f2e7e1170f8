"""The transport at its edges, over real sockets: redirect targets it refuses and the
words it uses, a bound that runs out while a call waits for the rate limit, the words
of a connection failure, and what a traceback printed with its local variables shows
when a call is cancelled in the middle (no token, anywhere)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import re
import time
import traceback
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from polar_links import (
    APIConnectionError,
    APITimeoutError,
    Backoff,
    CallTimeoutError,
    InvalidResponseError,
    Polar,
    RateLimit,
    RateLimitError,
    ResponseTooLargeError,
    Timeout,
    _retry,
)
from polar_links._ratelimit import Slot, Throttle

from . import factories as f
from .conftest import BASE, FAST_BACKOFF, serve

TOKEN = "polar_oat_transport_edges_token"
LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def app_with(handler: Handler) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def stalled_for(seconds: float) -> Handler:
    """A handler that answers nothing for ``seconds`` (longer than the test waits)."""

    async def stalled(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(status=204)  # pragma: no cover (the client gave up before)

    return stalled


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


async def test_a_call_waiting_out_a_short_pause_fails_when_a_longer_one_starts() -> None:
    # No rate limit and no bound: a call waits out the client's short pause, but when a
    # 429 (to a request already in flight) starts a pause longer than its patience, it
    # fails at once instead of waiting.
    in_flight, first, waiting = (f.link()["id"] for _ in range(3))
    limited = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        link_id = request.path.rsplit("/", 1)[1]
        if link_id == in_flight:
            await asyncio.sleep(0.4)
            return web.Response(status=429, headers={"Retry-After": "30"})
        if link_id == first and not limited.is_set():
            limited.set()
            return web.Response(status=429, headers={"Retry-After": "0.8"})
        return web.json_response(f.link(id=link_id))

    backoff = Backoff(max_rate_limit_wait=2.0)
    async with serve(app_with(answer)) as url, Polar(TOKEN, base_url=url, backoff=backoff) as polar:
        slow = asyncio.ensure_future(polar.checkout_links.get(in_flight))
        a = asyncio.ensure_future(polar.checkout_links.get(first))
        await limited.wait()
        await asyncio.sleep(0.1)  # the client has started its 0.8 s pause
        b = asyncio.ensure_future(polar.checkout_links.get(waiting))
        with pytest.raises(RateLimitError):
            await slow  # its 429 starts a 30 s pause
        started = time.monotonic()
        with pytest.raises(RateLimitError) as raised:
            await asyncio.wait_for(b, 5)
        assert time.monotonic() - started < 1.0
        assert "pausing for" in str(raised.value)
        with pytest.raises(RateLimitError):
            await a


def limited_once(retry_after: str) -> Handler:
    """A handler that answers the first request for each link 429 with ``retry_after``,
    and every later one with the link."""
    limited: set[str] = set()

    async def answer(request: web.Request) -> web.Response:
        link_id = request.path.rsplit("/", 1)[1]
        if link_id not in limited:
            limited.add(link_id)
            return web.Response(status=429, headers={"Retry-After": retry_after})
        return web.json_response(f.link(id=link_id))

    return answer


async def test_a_bound_shorter_than_a_sub_second_pause_fails_at_once_saying_so() -> None:
    async with serve(app_with(limited_once("0.8"))) as url, Polar(TOKEN, base_url=url) as polar:
        first = asyncio.ensure_future(polar.checkout_links.get(LINK_ID))
        await asyncio.sleep(0.2)  # its 429 started a 0.8 s pause
        started = time.monotonic()
        with pytest.raises(RateLimitError) as raised:
            await polar.checkout_links.get(f.link()["id"], call_timeout=0.3)
        assert time.monotonic() - started < 0.2
        await first
    assert re.search(
        r"not sent: this client is pausing for 0\.[4-6] s more after a 429 from the server, "
        r"and this call's call_timeout=0\.3 s leaves 0\.[23] s$",
        str(raised.value),
    ), str(raised.value)


async def test_a_calls_patience_counts_from_its_own_first_429() -> None:
    # The call's own 429 (Retry-After 0.5) comes first; while it waits, a 429 to another
    # request in flight pauses the client longer. When the call is due again, what is
    # left of its patience (1 s minus the 0.5 s since its 429) is shorter than the
    # pause: it fails at once instead of outliving its patience.
    handler = limited_once("0.5")
    other = f.link()["id"]

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path.endswith(other):
            await asyncio.sleep(0.3)
            return web.Response(status=429, headers={"Retry-After": "0.8"})
        return await handler(request)

    backoff = Backoff(max_rate_limit_wait=1.0)
    async with serve(app_with(answer)) as url, Polar(TOKEN, base_url=url, backoff=backoff) as polar:
        slow = asyncio.ensure_future(polar.checkout_links.get(other))
        with pytest.raises(RateLimitError) as raised:
            await polar.checkout_links.get(LINK_ID)
        with contextlib.suppress(RateLimitError):
            await slow
    assert re.search(
        r"its patience with 429s \(Backoff\.max_rate_limit_wait=1 s\) leaves 0\.[3-5] s$",
        str(raised.value),
    ), str(raised.value)


async def test_a_bound_cuts_an_attempt_that_has_no_time_limit_of_its_own() -> None:
    async with (
        serve(app_with(stalled_for(3))) as url,
        Polar(TOKEN, base_url=url, timeout=None) as polar,
    ):
        started = time.monotonic()
        with pytest.raises(CallTimeoutError) as raised:
            await polar.checkout_links.get(LINK_ID, call_timeout=0.5)
        assert time.monotonic() - started < 2.0
    assert (raised.value.reason, raised.value.attempts) == ("attempt", 1)


async def test_an_attempts_own_timeout_still_applies_within_a_longer_bound() -> None:
    # The attempt's timeout (1 s) fires half a second before the bound (1.6 s): it is
    # the attempt's timeout, not the bound running out.
    timeout = Timeout(total=1.0)
    async with (
        serve(app_with(stalled_for(3))) as url,
        Polar(TOKEN, base_url=url, timeout=timeout, max_retries=0) as polar,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as raised:
            await polar.checkout_links.get(LINK_ID, call_timeout=1.6)
        assert time.monotonic() - started < 1.5
    assert type(raised.value) is APITimeoutError  # the attempt's, not the bound's
    assert raised.value.attempts == 1


async def test_calls_waiting_ahead_are_counted_after_earlier_waiters_left() -> None:
    # Two calls wait for the rate limit and are served; later, with two calls waiting
    # again, a bounded call is refused at once from its expected wait (three windows).
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(f.link(id=LINK_ID))

    budget = RateLimit(requests=1, per=0.4, burst=1)
    async with (
        serve(app_with(answer)) as url,
        Polar(TOKEN, base_url=url, rate_limit=budget) as polar,
    ):
        await asyncio.gather(*(polar.checkout_links.get(LINK_ID) for _ in range(3)))
        ahead = [asyncio.ensure_future(polar.checkout_links.get(LINK_ID)) for _ in range(2)]
        await asyncio.sleep(0.01)
        with pytest.raises(CallTimeoutError) as raised:
            await polar.checkout_links.get(LINK_ID, call_timeout=0.9)
        await asyncio.gather(*ahead)
    assert raised.value.wait is not None
    assert raised.value.wait >= 0.9


class GatedThrottle(Throttle):
    """The client's throttle (a roomy RateLimit), whose slots are handed out only once
    ``gate`` is set; records each slot given back."""

    def __init__(self) -> None:
        super().__init__(RateLimit(requests=1000, per=1.0))
        self.gate = asyncio.Event()
        self.given_back = 0

    async def acquire(self) -> Slot:
        await self.gate.wait()
        slot = await super().acquire()

        def release() -> None:
            self.given_back += 1
            slot.release()

        return Slot(release)


async def test_a_slot_granted_as_its_call_is_cancelled_goes_back() -> None:
    throttle = GatedThrottle()
    async with Polar(TOKEN, base_url=BASE) as polar:
        polar._transport.throttle = throttle
        call = asyncio.ensure_future(polar.checkout_links.get(LINK_ID))
        await asyncio.sleep(0.05)  # waiting for a slot
        throttle.gate.set()
        await asyncio.sleep(0)  # the slot is granted ...
        call.cancel()  # ... and the call cancelled before it could use it
        with pytest.raises(asyncio.CancelledError):
            await call
    assert throttle.given_back == 1


async def test_a_timeout_of_5_s_or_more_fires_on_time_not_at_the_next_whole_second() -> None:
    # aiohttp rounds such a timeout up to the next whole second of the loop's clock:
    # started just after a whole second, a 5.3 s timeout would fire 0.6 s late.
    loop = asyncio.get_running_loop()
    timeout = Timeout(total=5.3)
    async with (
        serve(app_with(stalled_for(7))) as url,
        Polar(TOKEN, base_url=url, timeout=timeout, max_retries=0) as polar,
    ):
        await asyncio.sleep(1.05 - loop.time() % 1)  # just after a whole second
        started = loop.time()
        with pytest.raises(APITimeoutError):
            await polar.checkout_links.get(LINK_ID)
        took = loop.time() - started
    assert 5.2 <= took < 5.75, took  # late by 0.65 s if rounded up


needs_decompress_limit = pytest.mark.skipif(
    not aiohttp.__version__.startswith("3.13."),
    reason="only aiohttp 3.13 stops a body inflating past its own limit (32 MiB a chunk)",
)


@needs_decompress_limit
async def test_a_body_inflating_past_aiohttps_own_limit_is_too_large_and_not_retried() -> None:
    bomb = gzip.compress(bytes(40 * 1024 * 1024))  # 40 MiB of zeros in about 40 kB
    seen: list[str] = []

    async def inflating(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(
            body=bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    cap = 64 * 1024 * 1024
    async with (
        serve(app_with(inflating)) as url,
        Polar(TOKEN, base_url=url, max_response_bytes=cap) as polar,
    ):
        with pytest.raises(ResponseTooLargeError) as raised:
            await polar.checkout_links.get(LINK_ID)
    target = f"{url}/v1/checkout-links/{LINK_ID}"
    assert str(raised.value) == (
        f"response to GET {target} inflates past aiohttp's decompression limit "
        f"(max_response_bytes={cap})"
    )
    assert (raised.value.limit, raised.value.method, raised.value.url) == (cap, "GET", target)
    assert len(seen) == 1  # the same answer would come again: no retry


@pytest.mark.parametrize("prefix", ["/proxy%20one/X", "/tenant%2Fa"])
async def test_a_base_url_with_a_percent_encoded_path_keeps_it(prefix: str) -> None:
    # %2F is a slash inside one path segment, not a separator: decoding it would send
    # the request to another path.
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response(f.link(id=LINK_ID))

    async with (
        serve(app_with(answer)) as url,
        Polar(TOKEN, base_url=f"{url}{prefix}/") as polar,
    ):
        assert polar.base_url == f"{url}{prefix}"
        await polar.checkout_links.get(LINK_ID)
    assert seen == [f"{prefix}/v1/checkout-links/{LINK_ID}"]


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
    async with serve(app_with(stalled_for(3))) as url, Polar(TOKEN, base_url=url) as polar:
        with pytest.raises(asyncio.TimeoutError) as raised:  # also on Python 3.10
            await asyncio.wait_for(polar.checkout_links.get(LINK_ID), 0.3)
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
        with pytest.raises(asyncio.TimeoutError) as raised:  # also on Python 3.10
            await asyncio.wait_for(polar.checkout_links.get(LINK_ID), 0.5)
    shown = with_locals(raised.value)
    assert f"<Response 503 to GET {url}/v1/checkout-links/{LINK_ID}/?echo=***: " in shown
    assert TOKEN not in shown
