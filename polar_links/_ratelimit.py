"""Client-side pacing: a token bucket and a shared cooldown after a 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ._config import RateLimit

__all__ = ["Throttle"]


class Throttle:
    """Paces every request of one client.

    ``acquire()`` returns when a request may be sent: after any cooldown set by a 429
    has passed and, if a :class:`RateLimit` is set, when the token bucket has a token.
    """

    def __init__(
        self, limit: RateLimit | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._cooldown_until = 0.0
        self._tokens = float(limit.capacity) if limit else 0.0
        self._updated = clock()
        self._lock = asyncio.Lock()

    @property
    def limit(self) -> RateLimit | None:
        """The rate limit in force, or ``None`` when only cooldowns apply."""
        return self._limit

    def cool_down(self, seconds: float) -> None:
        """Hold every request of this client for ``seconds`` from now (a 429's Retry-After)."""
        self._cooldown_until = max(self._cooldown_until, self._clock() + seconds)

    async def acquire(self) -> None:
        """Wait until one more request may be sent, then take its token.

        Waiters go through one at a time, in arrival order: one sleeps per token rather
        than all of them waking for it, and no request starves behind newer ones.
        """
        if self._limit is None and self._cooldown_until <= self._clock():
            return  # nothing to wait for: no lock on the common path
        async with self._lock:
            await self._wait_and_take()

    async def _wait_and_take(self) -> None:
        while True:
            now = self._clock()
            wait = self._cooldown_until - now
            if wait <= 0:
                limit = self._limit
                if limit is None:
                    return
                rate = limit.refill_per_second
                self._tokens = min(
                    float(limit.capacity), self._tokens + (now - self._updated) * rate
                )
                self._updated = now
                # A tolerance: float rounding can leave 0.99999... tokens, and a wait
                # shorter than the clock's resolution would never end.
                if self._tokens >= 1.0 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                wait = (1.0 - self._tokens) / rate
            await asyncio.sleep(wait)
