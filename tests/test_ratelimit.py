"""The client-side budget: sliding-window guarantee, whole-budget pace, burst, cooldown."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from polar_links import RateLimit
from polar_links._ratelimit import Budget, Throttle


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    clock = VirtualClock()
    monkeypatch.setattr("polar_links._ratelimit.asyncio.sleep", clock.sleep)
    return clock


def most_in_any_window(stamps: list[float], per: float) -> int:
    """The largest number of ``stamps`` inside one window ``[t, t + per)``."""
    stamps = sorted(stamps)
    best, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamps[first] <= stamp - per:
            first += 1
        best = max(best, last - first + 1)
    return best


async def walk(throttle: Throttle, clock: VirtualClock, requests: int, seed: int) -> list[float]:
    """Send ``requests`` one after another, each answered 1 to 10 ms after it left; return
    when the server stamped each one (anywhere between sending and answering)."""
    rng = random.Random(seed)
    stamps = []
    for _ in range(requests):
        slot = await throttle.acquire()
        sent = clock.now
        clock.now += rng.uniform(0.001, 0.010)
        stamps.append(rng.uniform(sent, clock.now))
        slot.release()
    return stamps


@pytest.mark.parametrize("burst", [None, 1, 300])
async def test_a_long_walk_sustains_the_whole_budget_without_overfilling_a_sliding_window(
    clock: VirtualClock, burst: int | None
) -> None:
    limit = RateLimit(requests=300, per=5.0, burst=burst)
    stamps = await walk(Throttle(limit, clock=clock), clock, 1_500, seed=burst or 0)
    # The server's sliding window never sees more than the budget...
    assert most_in_any_window(stamps, 5.0) <= 300
    # ...and the steady state (after the first window) uses at least 98% of it.
    steady = [t for t in stamps if t >= 5.0]
    share = len(steady) / ((stamps[-1] - 5.0) / 5.0 * 300)
    assert share >= 0.98, f"{share:.3f} of the budget"


async def test_the_first_burst_leaves_at_once_then_requests_are_spread_at_the_full_rate(
    clock: VirtualClock,
) -> None:
    limit = RateLimit(requests=100, per=10.0)  # burst: a tenth, 10 requests
    throttle = Throttle(limit, clock=clock)
    sent = []
    for _ in range(20):
        (await throttle.acquire()).release()
        sent.append(clock.now)
    assert sent[:10] == [0.0] * 10
    gaps = [b - a for a, b in itertools.pairwise(sent[10:])]
    assert gaps == pytest.approx([0.1] * 9)  # requests / per = 10 per second
    assert limit.refill_per_second == 10.0


async def test_a_request_counts_until_per_seconds_after_its_answer(clock: VirtualClock) -> None:
    throttle = Throttle(RateLimit(requests=2, per=1.0, burst=2), clock=clock)
    first = await throttle.acquire()
    (await throttle.acquire()).release()  # answered at 0.0
    clock.now = 0.5
    first.release()  # answered at 0.5: in the window until 1.5
    await throttle.acquire()
    assert clock.now == pytest.approx(1.0)  # the second left the window at 1.0
    await throttle.acquire()
    assert clock.now == pytest.approx(1.5)


async def test_a_full_window_of_requests_in_flight_waits_for_the_first_answer() -> None:
    throttle = Throttle(RateLimit(requests=2, per=0.05, burst=2))
    slots = [await throttle.acquire(), await throttle.acquire()]
    waiting = asyncio.ensure_future(throttle.acquire())
    await asyncio.sleep(0.02)
    assert not waiting.done()  # both requests are still in flight
    slots[0].release()
    await asyncio.wait_for(waiting, 1.0)  # 0.05 s after the answer, not the 120 s lease


def test_a_slot_never_released_stops_counting_after_its_lease() -> None:
    budget = Budget(RateLimit(requests=1, per=1.0, burst=1), lease=10.0)
    budget.take(0.0)  # never released
    assert budget.wait(5.0) == (pytest.approx(6.0), True)
    assert budget.wait(11.0)[0] == 0.0


def test_releasing_a_slot_twice_counts_it_once() -> None:
    budget = Budget(RateLimit(requests=2, per=1.0, burst=2))
    slot = budget.take(0.0)
    budget.release(slot, 0.1)
    budget.release(slot, 0.2)
    assert budget.wait(0.3) == (0.0, False)


async def test_waiters_get_slots_in_arrival_order_with_one_sleep_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sleep = asyncio.sleep
    sleeps = 0

    async def counting_sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        await real_sleep(seconds)

    throttle = Throttle(RateLimit(requests=200, per=1.0, burst=1))  # a slot every 5 ms
    (await throttle.acquire()).release()  # the bucket is empty now
    monkeypatch.setattr("polar_links._ratelimit.asyncio.sleep", counting_sleep)
    order: list[int] = []

    async def worker(i: int) -> None:
        (await throttle.acquire()).release()
        order.append(i)

    await asyncio.gather(*(worker(i) for i in range(10)))
    assert order == list(range(10))
    # One sleeper at a time: about one sleep per slot, not every waiter per slot.
    assert sleeps <= 12


async def test_a_cooldown_holds_the_next_acquire(clock: VirtualClock) -> None:
    throttle = Throttle(None, clock=clock)
    throttle.cool_down(7.5)
    assert throttle.cooldown_remaining() == 7.5
    await throttle.acquire()
    assert clock.now == pytest.approx(7.5)
    assert throttle.cooldown_remaining() == 0.0
