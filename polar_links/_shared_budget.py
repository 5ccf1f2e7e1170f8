"""One request budget in Redis for every client that uses the same token, in any number
of processes and machines (the ``redis`` extra: ``pip install 'polar-links[redis]'``).

The rule is :class:`~polar_links._ratelimit.Budget`'s, run atomically in Redis by a Lua
script on Redis's own clock (the clients' clocks may disagree): a sorted set holds one
entry per request, scored with when its answer arrived (or, while it is in flight, when
its lease ends); a second key holds the burst bucket's next theoretical arrival time; a
third, the cooldown after a 429. Keys are named after a SHA-256 of the token, never the
token itself.

When Redis cannot be reached the client paces itself with its local budget, logs one
warning, probes Redis in the background every few seconds and shares the budget again
(with one info line) once Redis answers.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._config import RateLimit
from ._exceptions import InvalidArgumentValueError
from ._ratelimit import DEFAULT_LEASE, Budget, Slot, Throttle

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["SharedThrottle", "budget_key", "check_redis_url", "redacted_url"]

logger = logging.getLogger("polar_links")

#: Seconds a Redis command (or connecting) may take before Redis counts as unreachable.
REDIS_TIMEOUT = 2.0
#: Seconds between two probes of an unreachable Redis.
PROBE_INTERVAL = 2.0
#: Longest sleep between two looks at the shared budget, in seconds: a window full of
#: requests still in flight frees when one is answered, which no key tells a waiter.
_MAX_POLL = 1.0
_SCHEMES = ("redis://", "rediss://", "unix://")

# KEYS: window (sorted set), bucket (next theoretical arrival time), cooldown.
# ARGV: requests (0: no budget, cooldown only), per, interval, tolerance, lease (all in
# milliseconds), the new entry's name. Returns {taken (0/1), wait in ms, why}.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local cooldown = redis.call('PTTL', KEYS[3])
if cooldown > 0 then return {0, cooldown, 'cooldown'} end
local requests = tonumber(ARGV[1])
if requests == 0 then return {1, 0, ''} end
local per, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local tolerance, lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[2])) or now
local wait = tat - tolerance - now
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - per))
if redis.call('ZCARD', KEYS[1]) >= requests then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + per - now)
end
if wait > 0 then return {0, math.ceil(wait), 'budget'} end
local keep = math.ceil(per + lease)
redis.call('SET', KEYS[2], string.format('%.3f', math.max(tat, now) + interval), 'PX', keep)
redis.call('ZADD', KEYS[1], string.format('%.3f', now + lease), ARGV[6])
redis.call('PEXPIRE', KEYS[1], keep)
return {1, 0, ''}
"""
# KEYS: window. ARGV: the entry's name. Its answer arrived: score it with now.
_RELEASE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
return redis.call('ZADD', KEYS[1], 'XX', string.format('%.3f', now), ARGV[1])
"""
# KEYS: cooldown. ARGV: milliseconds. Extends the cooldown, never shortens it.
_COOL_DOWN = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


def budget_key(token: str) -> str:
    """The prefix of ``token``'s keys in Redis: ``polar-links:{<SHA-256 of the token>}``
    (the braces keep a token's keys in one Redis Cluster slot)."""
    digest = hashlib.sha256(b"polar-links budget\0" + token.encode()).hexdigest()
    return f"polar-links:{{{digest[:32]}}}"


def redacted_url(url: str) -> str:
    """``url`` without its user name and password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}"


def check_redis_url(name: str, url: object) -> str:
    """Return ``url`` if it is a Redis URL, or raise naming ``name`` and what is allowed
    (the URL shown without its password)."""
    if not isinstance(url, str) or not url.startswith(_SCHEMES):
        shown = repr(redacted_url(url)) if isinstance(url, str) else type(url).__name__
        raise InvalidArgumentValueError(
            f"{name} must be a redis://, rediss:// or unix:// URL, got {shown}"
        )
    return url


class SharedThrottle(Throttle):
    """A :class:`Throttle` whose budget and cooldown live in Redis, shared by every client
    with the same ``key``; its own (inherited) budget is the fallback while Redis is
    unreachable."""

    def __init__(
        self,
        limit: RateLimit | None,
        *,
        url: str,
        key: str,
        clock: Callable[[], float] = time.monotonic,
        lease: float = DEFAULT_LEASE,
    ) -> None:
        super().__init__(limit, clock, lease=lease)
        self._lease = lease
        self._url = url
        self._keys = [f"{key}:window", f"{key}:bucket", f"{key}:cooldown"]
        if limit is None:
            self._budget_args: list[float] = [0, 0, 0, 0, 0]
        else:
            interval = limit.per * 1000 / limit.requests
            self._budget_args = [
                limit.requests,
                limit.per * 1000,
                interval,
                (limit.capacity - 1) * interval,
                lease * 1000,
            ]
        self._names = (f"{secrets.token_hex(8)}:{n}" for n in itertools.count())
        self._redis: redis.asyncio.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._shared_lock = asyncio.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def shared(self) -> bool:
        """True while the budget is drawn from Redis (False: the local fallback)."""
        return self._down_since is None

    async def acquire(self) -> Slot:
        """Wait until the shared budget (or, while Redis is unreachable, the local one)
        allows one more request; return its :class:`Slot`."""
        if self._down_since is None:
            try:
                async with self._shared_lock:
                    if self._down_since is None:  # it may have gone down while we queued
                        return await self._acquire_shared()
            except _redis_errors() as exc:
                self._went_down(exc)
        elif self._clock() >= self._next_probe:
            self._next_probe = self._clock() + PROBE_INTERVAL
            self._spawn(self._probe())
        return await super().acquire()

    def cool_down(self, seconds: float) -> None:
        """Hold every request of every client sharing the budget for ``seconds``."""
        super().cool_down(seconds)
        if self._down_since is None and seconds > 0:
            self._spawn(self._run("cool_down", [self._keys[2]], [math.ceil(seconds * 1000)]))

    async def aclose(self) -> None:
        """Let pending releases reach Redis (briefly), then close the connections."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=REDIS_TIMEOUT)
        for task in self._tasks:
            task.cancel()
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    async def _acquire_shared(self) -> Slot:
        while True:
            cooldown = self.cooldown_remaining()
            if cooldown > 0:
                await asyncio.sleep(cooldown)
                continue
            name = next(self._names)
            script = asyncio.ensure_future(
                self._run("acquire", self._keys, [*self._budget_args, name])
            )
            try:
                # A caller that gives up (a call's time bound) must not lose a place
                # the script took for it: that place would count until its lease ends.
                taken, wait_ms, why = await asyncio.shield(script)
            except asyncio.CancelledError:
                script.add_done_callback(functools.partial(self._give_back, name=name))
                raise
            if taken:
                return self._shared_slot(name) if self._budget_args[0] else Slot()
            wait = int(wait_ms) / 1000
            if why == b"cooldown":
                super().cool_down(wait)  # known here too: cooldown_remaining() tells it
                continue
            await asyncio.sleep(min(wait, _MAX_POLL))

    def _give_back(self, script: asyncio.Future[Any], name: str) -> None:
        """Remove the place ``script`` took for a caller that was cancelled meanwhile."""
        if not script.cancelled() and script.exception() is None and script.result()[0]:
            self._spawn(self._client().zrem(self._keys[0], name))

    def _shared_slot(self, name: str) -> Slot:
        def release() -> None:
            if self._down_since is None:
                self._spawn(self._run("release", self._keys[:1], [name]))

        return Slot(release)

    def _client(self) -> redis.asyncio.Redis:
        if self._redis is None:
            import redis.asyncio
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._redis = redis.asyncio.Redis.from_url(
                self._url,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
                # One quick retry for a pooled connection Redis closed (a restart, an
                # idle timeout); unreachable means fall back, not wait.
                retry=Retry(NoBackoff(), 1),
            )
            self._scripts = {
                name: self._redis.register_script(source)
                for name, source in (
                    ("acquire", _ACQUIRE),
                    ("release", _RELEASE),
                    ("cool_down", _COOL_DOWN),
                )
            }
        return self._redis

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        self._client()
        return await self._scripts[script](keys=keys, args=args)

    async def _probe(self) -> None:
        try:
            await self._client().ping()
        except _redis_errors():
            return
        down_for = self._clock() - (self._down_since or self._clock())
        self._down_since = None
        if self._limit is not None:
            # What the fallback counted is no longer the budget in force.
            self._budget = Budget(self._limit, self._lease)
        logger.info(
            "Redis at %s is back after %.0f s: sharing the request budget again",
            redacted_url(self._url),
            down_for,
        )

    def _went_down(self, exc: BaseException) -> None:
        if self._down_since is not None:
            return
        self._down_since = self._clock()
        self._next_probe = self._clock() + PROBE_INTERVAL
        client, self._redis = self._redis, None  # the probe starts with fresh connections
        if client is not None:
            self._spawn(client.aclose())
        logger.warning(
            "Redis at %s is unreachable (%s: %s): pacing this client with its own "
            "budget until Redis answers again",
            redacted_url(self._url),
            type(exc).__name__,
            exc,
        )

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def run() -> None:
            try:
                await work
            except _redis_errors() as exc:
                self._went_down(exc)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _redis_errors() -> tuple[type[BaseException], ...]:
    """What an unreachable or misbehaving Redis raises."""
    import redis.exceptions

    return (redis.exceptions.RedisError, OSError, asyncio.TimeoutError)
