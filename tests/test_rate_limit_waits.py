"""How long a request would wait for the client-side budget, as the transport asks it
before a call with a ``call_timeout`` (it fails at once when the wait leaves no time):
the 429 pause, the burst spacing behind the calls already waiting, and a window full of
answered requests. Virtual clock; times are exact binary fractions."""

from __future__ import annotations

import asyncio

import pytest

from polar_links import Backoff, Polar, RateLimit, RateLimitError
from polar_links._ratelimit import Throttle
from polar_links.testing import PolarTestServer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_without_a_budget_only_the_429_pause_is_waited() -> None:
    clock = Clock()
    throttle = Throttle(None, clock)
    assert throttle.expected_wait() == 0.0
    assert throttle.expected_wait(ahead=5) == 0.0
    throttle.cool_down(3.0)
    assert throttle.expected_wait() == 3.0
    clock.now = 1.0
    assert throttle.expected_wait() == 2.0
    clock.now = 5.0
    assert throttle.expected_wait() == 0.0


async def test_each_call_waiting_ahead_adds_one_interval() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(requests=4, per=1.0, burst=1), clock)  # 0.25 s apart
    assert throttle.expected_wait() == 0.0
    assert throttle.expected_wait(ahead=3) == 0.75
    (await throttle.acquire()).release()
    assert throttle.expected_wait() == 0.25
    assert throttle.expected_wait(ahead=2) == 0.75
    clock.now = 0.125
    assert throttle.expected_wait() == 0.125
    assert throttle.expected_wait(ahead=1) == 0.375


async def test_a_burst_leaves_at_once_before_the_spacing_applies() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(requests=4, per=1.0, burst=2), clock)
    assert throttle.expected_wait(ahead=1) == 0.0  # two may leave back to back
    assert throttle.expected_wait(ahead=2) == 0.25
    await throttle.acquire()
    assert throttle.expected_wait() == 0.0
    assert throttle.expected_wait(ahead=1) == 0.25


async def test_a_window_full_of_answered_requests_waits_for_the_oldest_to_leave_it() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(requests=2, per=1.0, burst=2), clock)
    first, second = await throttle.acquire(), await throttle.acquire()
    clock.now = 0.25
    first.release()
    clock.now = 0.5
    second.release()
    # Both answered: the first leaves the window at 1.25 s, 0.75 s from now.
    assert throttle.expected_wait() == 0.75
    throttle.cool_down(2.0)
    assert throttle.expected_wait() == 2.0  # the longer of the pause and the budget


async def test_a_window_full_of_requests_in_flight_waits_at_least_per_seconds() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(requests=2, per=1.0, burst=2), clock)
    await throttle.acquire()
    await throttle.acquire()
    clock.now = 0.25
    # No answer yet: a request counts until `per` seconds after its answer, so even an
    # answer arriving right now frees a place only 1 s from now.
    assert throttle.expected_wait() == 1.0


async def test_a_leased_slot_expiring_as_the_oldest_answer_does_waits_for_the_window() -> None:
    clock = Clock()
    throttle = Throttle(RateLimit(requests=2, per=1.0, burst=2), clock, lease=0.5)
    await throttle.acquire()  # never released: counts until 0.5 s (its lease) + 1 s
    answered = await throttle.acquire()
    clock.now = 0.5
    answered.release()  # counts until 1.5 s too
    # No answer can come to shorten it: both leave the window at 1.5 s, 1 s from now.
    assert throttle.expected_wait() == 1.0


async def test_a_slot_never_released_frees_its_place_after_the_lease() -> None:
    throttle = Throttle(RateLimit(requests=1, per=0.05, burst=1), lease=0.1)
    await throttle.acquire()  # lost: never released
    started = asyncio.get_running_loop().time()
    # The window is full of a request in flight: acquire waits for an answer that never
    # comes, then for the lease (0.1 s) and the window (0.05 s), and goes ahead.
    slot = await asyncio.wait_for(throttle.acquire(), 5)
    waited = asyncio.get_running_loop().time() - started
    assert 0.1 <= waited < 2.0
    slot.release()  # a real place in the budget, released like any other


async def test_an_answer_frees_the_place_a_waiting_request_gets() -> None:
    throttle = Throttle(RateLimit(requests=1, per=0.05, burst=1))
    first = await throttle.acquire()
    waiting = asyncio.ensure_future(throttle.acquire())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the window holds the request in flight
    first.release()
    second = await asyncio.wait_for(waiting, 5)
    second.release()


async def test_a_call_without_a_bound_waiting_for_the_budget_learns_of_a_long_pause() -> None:
    # A client with a RateLimit and no call_timeout: the second call waits for the
    # budget when the first gets a 429 asking for 30 s, past the second call's patience
    # with 429s (5 s). It fails at once instead of sleeping out the pause.
    async with PolarTestServer(links=3, seed=1) as server:
        link_id = str(server.store.all_links()[0]["id"])
        server.faults.latency = 0.2
        server.faults.fail_next(1, 429, retry_after=30)
        budget = RateLimit(requests=2, per=2.0, burst=1)  # one request a second
        backoff = Backoff(max_rate_limit_wait=5.0)
        async with Polar(
            server.token, base_url=server.base_url, rate_limit=budget, backoff=backoff
        ) as polar:
            first = asyncio.ensure_future(polar.checkout_links.get(link_id, max_retries=0))
            await asyncio.sleep(0.05)  # the first request is out: the next one waits ~1 s
            started = asyncio.get_running_loop().time()
            with pytest.raises(RateLimitError) as raised:
                await asyncio.wait_for(polar.checkout_links.get(link_id), 10)
            took = asyncio.get_running_loop().time() - started
            with pytest.raises(RateLimitError):
                await first
    assert raised.value.retry_after == pytest.approx(30, abs=1)
    assert "its patience with 429s (Backoff.max_rate_limit_wait=5 s)" in str(raised.value)
    assert took < 2.0
    assert len(server.requests) == 1
