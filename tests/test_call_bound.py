"""One client is not frozen by one answer, and no call outlives its limits: the bound on
a whole call (``call_timeout``), and the shared 429 pause capped by each call's own
limits. Over real sockets, against the bundled server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from polar_links import (
    Backoff,
    CallTimeoutError,
    InvalidArgumentError,
    Polar,
    RateLimit,
    RateLimitError,
)
from polar_links.testing import PolarTestServer

from .conftest import FAST_BACKOFF

pytestmark = pytest.mark.usefixtures("strict_loop")

#: Slack for the event loop and a busy machine, in seconds.
SLACK = 0.15


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=20, seed=4) as srv:
        yield srv


@pytest.fixture
def link_id(server: PolarTestServer) -> str:
    return str(server.store.all_links()[0]["id"])


async def timed(call: asyncio.Future[object] | object) -> tuple[float, object]:
    """Await ``call`` (with a guard far below the old behaviour's waits); return the
    seconds it took and its result or the exception it raised."""
    started = time.monotonic()
    try:
        result: object = await asyncio.wait_for(call, 10)  # type: ignore[arg-type]
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


# ------------------------------------------------------------ the shared 429 pause


async def test_a_call_whose_bound_is_shorter_than_the_pause_fails_at_once(
    server: PolarTestServer, link_id: str
) -> None:
    server.faults.fail_next(1, 429, retry_after=15)
    async with Polar(server.token, base_url=server.base_url) as polar:
        with pytest.raises(RateLimitError):
            await polar.checkout_links.get(link_id, max_retries=0)  # sets a 15 s pause
        took, error = await timed(polar.checkout_links.get(link_id, timeout=2, call_timeout=2))
    assert took < 0.5
    assert isinstance(error, RateLimitError)
    assert error.retry_after == pytest.approx(15, abs=1)
    assert str(error).startswith(f"429 on GET {server.base_url}/v1/checkout-links/{link_id}: ")
    assert "not sent: this client is pausing for 1" in str(error)
    assert "s more after a 429 from the server, and this call's call_timeout=2 s leaves" in str(
        error
    )
    assert len(server.requests) == 1  # the second call sent nothing


async def test_a_huge_retry_after_does_not_freeze_unrelated_calls(
    server: PolarTestServer, link_id: str
) -> None:
    server.faults.fail_next(1, 429, retry_after=1_000_000_000)
    async with Polar(server.token, base_url=server.base_url) as polar:
        took_first, first = await timed(polar.checkout_links.get(link_id))
        # Another call, with no bound of its own: its patience with 429s (120 s) is
        # shorter than the pause, so it fails at once rather than waiting 120 s.
        took_other, other = await timed(polar.checkout_links.get(link_id))
    assert took_first < 0.5
    assert took_other < 0.5
    assert isinstance(first, RateLimitError)
    assert first.retry_after == 1_000_000_000
    assert isinstance(other, RateLimitError)
    assert other.retry_after == pytest.approx(3600, abs=5)  # the pause is capped at an hour
    assert "its patience with 429s (Backoff.max_rate_limit_wait=120 s) leaves 120.0 s" in str(other)


async def test_a_call_that_can_wait_out_the_pause_still_waits_for_it(
    server: PolarTestServer, link_id: str
) -> None:
    server.faults.fail_next(1, 429, retry_after=0.3)
    async with Polar(server.token, base_url=server.base_url) as polar:
        first = asyncio.ensure_future(polar.checkout_links.get(link_id))
        await asyncio.sleep(0.1)  # its 429 came back: the client pauses
        took, link = await timed(polar.checkout_links.get(link_id, call_timeout=2))
        await first
    assert getattr(link, "id", None) == link_id
    assert 0.1 <= took < 0.3 + SLACK  # it waited for the pause, as every call does


async def test_a_pause_that_starts_while_a_call_waits_fails_it_at_once(
    server: PolarTestServer, link_id: str
) -> None:
    server.faults.latency = 0.3
    server.faults.fail_next(1, 429, retry_after=30)
    budget = RateLimit(requests=2, per=2.0, burst=1)  # one request a second
    async with Polar(server.token, base_url=server.base_url, rate_limit=budget) as polar:
        first = asyncio.ensure_future(polar.checkout_links.get(link_id, max_retries=0))
        await asyncio.sleep(0.05)  # the first request is out: the next one waits ~1 s
        took, error = await timed(polar.checkout_links.get(link_id, call_timeout=3))
        with pytest.raises(RateLimitError):
            await first
    # The 429 came back at ~0.3 s with a 30 s pause: the waiting call learnt it then.
    assert isinstance(error, RateLimitError)
    assert error.body is None
    assert error.retry_after == pytest.approx(30, abs=1)
    assert took < 0.3 + 2 * SLACK
    assert len(server.requests) == 1


async def test_repeated_429s_end_within_the_bound(server: PolarTestServer, link_id: str) -> None:
    server.faults.fail_next(3, 429, retry_after=0.4)
    async with Polar(server.token, base_url=server.base_url) as polar:
        took, error = await timed(
            polar.checkout_links.get(link_id, timeout=5, max_retries=1, call_timeout=1.0)
        )
    # 429 at 0 s, 0.4 s and 0.8 s: a fourth attempt at 1.2 s would be past the bound.
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 0.4
    assert took <= 1.0
    assert len(server.requests) == 3


# ------------------------------------------------------------ attempts and the budget


async def test_an_attempt_never_outlives_the_bound(server: PolarTestServer, link_id: str) -> None:
    server.faults.latency = 2.0
    async with Polar(server.token, base_url=server.base_url, timeout=30) as polar:
        took, error = await timed(polar.checkout_links.get(link_id, call_timeout=0.3))
    assert isinstance(error, CallTimeoutError)
    assert error.reason == "attempt"
    assert error.call_timeout == 0.3
    assert str(error) == (
        f"GET {server.base_url}/v1/checkout-links/{link_id}: call_timeout=0.3 s ran out "
        "during an attempt"
    )
    assert 0.25 <= took < 0.3 + SLACK


async def test_calls_the_rate_limit_cannot_serve_in_time_fail_at_once(
    server: PolarTestServer, link_id: str
) -> None:
    budget = RateLimit(requests=5, per=1.0, burst=1)  # one request every 0.2 s
    async with Polar(server.token, base_url=server.base_url, rate_limit=budget) as polar:
        results = await asyncio.gather(
            *(timed(polar.checkout_links.get(link_id, call_timeout=1.0)) for _ in range(30))
        )
    served = [took for took, result in results if not isinstance(result, Exception)]
    refused = [(took, result) for took, result in results if isinstance(result, Exception)]
    assert 3 <= len(served) <= 6  # at 0 s, 0.2 s, ... up to the bound
    assert all(took < 1.0 + 2 * SLACK for took, _ in results)  # no call outlived its bound
    assert len(refused) >= 24
    for took, error in refused:
        assert isinstance(error, CallTimeoutError)
        assert error.reason == "budget"
        if error.wait is not None:  # known before waiting: refused at once
            assert "not sent: the client-side rate limit would hold it about" in str(error)
            assert took < 0.2
    # Nearly all of them were refused at once, not after waiting for nothing.
    assert sum(1 for _, error in refused if error.wait is not None) >= len(refused) - 2
    assert len(server.requests) == len(served)


# ------------------------------------------------------------ settings


async def test_call_timeout_per_call_wins_over_the_view_and_the_client(
    server: PolarTestServer, link_id: str
) -> None:
    server.faults.latency = 0.4
    async with Polar(server.token, base_url=server.base_url, call_timeout=0.1) as polar:
        with pytest.raises(CallTimeoutError):
            await polar.checkout_links.get(link_id)
        view = polar.with_options(call_timeout=2)
        assert (await view.checkout_links.get(link_id)).id == link_id
        with pytest.raises(CallTimeoutError):
            await view.checkout_links.get(link_id, call_timeout=0.1)
        assert (await polar.checkout_links.get(link_id, call_timeout=None)).id == link_id


async def test_a_page_request_takes_the_bound_too(server: PolarTestServer) -> None:
    server.faults.latency = 0.4
    async with Polar(server.token, base_url=server.base_url, backoff=FAST_BACKOFF) as polar:
        with pytest.raises(CallTimeoutError):
            await polar.checkout_links.list(call_timeout=0.1).first_page()


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "call_timeout must be a positive number of seconds or None, got 0"),
        (float("inf"), ValueError, "call_timeout must be a positive number of seconds"),
        ("5", TypeError, "call_timeout must be a number of seconds or None, got '5'"),
        (True, TypeError, "call_timeout must be a number of seconds or None, got True"),
    ],
)
async def test_a_bad_call_timeout_is_refused_before_any_request(
    server: PolarTestServer, link_id: str, value: object, error: type[Exception], message: str
) -> None:
    async with Polar(server.token, base_url=server.base_url) as polar:
        for attempt in (
            lambda: Polar(server.token, call_timeout=value),  # type: ignore[arg-type]
            lambda: polar.with_options(call_timeout=value),  # type: ignore[arg-type]
            lambda: polar.checkout_links.list(call_timeout=value),  # type: ignore[arg-type]
        ):
            with pytest.raises(error, match=message) as raised:
                attempt()
            assert isinstance(raised.value, InvalidArgumentError)
        with pytest.raises(error, match=message):
            await polar.checkout_links.get(link_id, call_timeout=value)  # type: ignore[arg-type]
    assert server.requests == []


def test_the_backoff_patience_still_applies_without_a_bound() -> None:
    # (Documented default, relied on by the messages above.)
    assert Backoff().max_rate_limit_wait == 120.0
