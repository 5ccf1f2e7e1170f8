"""Client-side pacing: a request budget that never overfills a sliding window, and a
shared cooldown after a 429.

The budget counts a request from the moment it is sent until ``per`` seconds after its
answer arrived. The server stamps a request somewhere between those two moments, so
however long the network took, no window of ``per`` seconds on the server's clock holds
more than ``requests`` of this client's requests, while the client still uses the
whole budget (less one round trip per window).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Callable

from ._config import RateLimit

__all__ = ["DEFAULT_LEASE", "Budget", "Slot", "Throttle"]

#: Seconds a request sent but never released still counts as in flight (a caller that
#: lost its slot without releasing it cannot hold the budget for ever).
DEFAULT_LEASE = 120.0


class Budget:
    """The pacing rule, with no I/O and no clock of its own (times are seconds).

    Two rules, both must allow a request:

    * the window: at most ``requests`` requests in flight or answered within the last
      ``per`` seconds;
    * the burst: a bucket of ``burst`` requests refilled at ``requests / per`` per
      second (generic cell rate), so a full budget is not sent all at once.
    """

    def __init__(self, limit: RateLimit, lease: float = DEFAULT_LEASE) -> None:
        self.limit = limit
        self._lease = lease
        self._interval = limit.per / limit.requests
        self._tolerance = (limit.capacity - 1) * self._interval
        self._tat = -math.inf  # theoretical arrival time of the next request (GCRA)
        self._answered: deque[float] = deque()  # answer times, oldest first
        self._in_flight: dict[int, float] = {}  # slot -> when it was sent
        self._ids = itertools.count()

    def _expire(self, now: float) -> int:
        """Forget requests that left the window; return how many it still holds."""
        horizon = now - self.limit.per
        answered = self._answered
        while answered and answered[0] <= horizon:
            answered.popleft()
        lease = self._lease
        for slot in [s for s, sent in self._in_flight.items() if sent + lease <= horizon]:
            del self._in_flight[slot]
        return len(answered) + len(self._in_flight)

    def wait(self, now: float) -> tuple[float, bool]:
        """Seconds from ``now`` until one more request may be sent (0.0: at once), and
        whether an answer to a request in flight would shorten that wait (the window is
        full of requests not answered yet)."""
        wait = max(0.0, self._tat - self._tolerance - now)
        if self._expire(now) < self.limit.requests:
            return wait, False
        leased = min((sent + self._lease for sent in self._in_flight.values()), default=math.inf)
        oldest = self._answered[0] if self._answered else math.inf
        return max(wait, min(leased, oldest) + self.limit.per - now), leased < oldest

    def wait_behind(self, now: float, ahead: int) -> float:
        """Seconds from ``now`` until the burst rule lets a request through once
        ``ahead`` others have gone first (the window rule aside)."""
        due = max(self._tat, now) + ahead * self._interval
        return max(0.0, due - self._tolerance - now)

    def take(self, now: float) -> int:
        """Count a request sent at ``now``; return its slot for :meth:`release`."""
        self._tat = max(self._tat, now) + self._interval
        slot = next(self._ids)
        self._in_flight[slot] = now
        return slot

    def release(self, slot: int, now: float) -> None:
        """The answer to ``slot``'s request arrived (or the attempt failed) at ``now``."""
        if self._in_flight.pop(slot, None) is not None:
            self._answered.append(now)


class Slot:
    """One request's place in the budget: call :meth:`release` once its answer has
    arrived or its attempt failed (later calls do nothing)."""

    __slots__ = ("_release",)

    def __init__(self, release: Callable[[], None] | None = None) -> None:
        self._release = release

    def release(self) -> None:
        """Start the request's last ``per`` seconds in the budget's window."""
        release, self._release = self._release, None
        if release is not None:
            release()


_FREE = Slot()


class Throttle:
    """Paces every request of one client.

    ``acquire()`` returns a :class:`Slot` when a request may be sent: after any
    cooldown set by a 429 has passed and, if a :class:`RateLimit` is set, when its
    budget has room. The caller releases the slot when the answer arrives.
    """

    def __init__(
        self,
        limit: RateLimit | None,
        clock: Callable[[], float] = time.monotonic,
        *,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._cooldown_until = 0.0
        self._budget = Budget(limit, lease) if limit is not None else None
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    @property
    def limit(self) -> RateLimit | None:
        """The rate limit in force, or ``None`` when only cooldowns apply."""
        return self._limit

    def cool_down(self, seconds: float) -> None:
        """Hold every request of this client for ``seconds`` from now (a 429's Retry-After)."""
        self._cooldown_until = max(self._cooldown_until, self._clock() + seconds)

    def cooldown_remaining(self) -> float:
        """Seconds until the cooldown set by :meth:`cool_down` is over (0.0: none)."""
        return max(0.0, self._cooldown_until - self._clock())

    async def acquire(self) -> Slot:
        """Wait until one more request may be sent; return its :class:`Slot`.

        Waiters go through one at a time, in arrival order: one sleeps per slot rather
        than all of them waking for it, and no request starves behind newer ones.
        """
        if self._budget is None and self._cooldown_until <= self._clock():
            return _FREE  # nothing to wait for: no lock on the common path
        async with self._lock:
            return await self._wait_and_take()

    def expected_wait(self, ahead: int = 0) -> float:
        """Seconds an :meth:`acquire` called now, behind ``ahead`` others already
        waiting, would wait, as far as this process can tell (0.0: none): the cooldown
        after a 429, or the budget's wait. While the window is full of requests still
        in flight, at least ``per`` seconds: an answer may come at any moment, and its
        request leaves the window ``per`` seconds after it."""
        now = self._clock()
        pause = max(0.0, self._cooldown_until - now)
        budget = self._budget
        if budget is None:
            return pause
        wait, on_release = budget.wait(now)
        window = min(wait, budget.limit.per) if on_release else wait
        return max(pause, window, budget.wait_behind(now, ahead))

    async def aclose(self) -> None:
        """Release what the throttle holds (nothing for a local one)."""

    async def _wait_and_take(self) -> Slot:
        while True:
            now = self._clock()
            wait = self._cooldown_until - now
            if wait <= 0:
                budget = self._budget
                if budget is None:
                    return _FREE
                wait, on_release = budget.wait(now)
                if wait <= 1e-9:  # float rounding must not leave a wait that never ends
                    return self._slot(budget, budget.take(now))
                if on_release:
                    # Every request in the window is still in flight: the first answer
                    # tells when room frees, long before the lease would.
                    self._released.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._released.wait(), wait)
                    continue
            await asyncio.sleep(wait)

    def _slot(self, budget: Budget, slot: int) -> Slot:
        def release() -> None:
            budget.release(slot, self._clock())
            self._released.set()

        return Slot(release)
