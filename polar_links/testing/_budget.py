"""The server's request budget: ``requests`` per token in any window of ``per`` seconds.

Like the real server (FACTS.md), a request over the budget gets 429 with an empty body,
no content type and a ``Retry-After`` header. Here the window slides (the stricter of
the two kinds a server may use) and ``Retry-After`` is the whole number of seconds until
the oldest request in the window leaves it (the real server always says 60).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["RequestBudget", "budget_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestBudget:
    """A sliding-window budget per bearer token; off until ``requests`` is set.

    ``requests``: requests accepted per token in any window of ``per`` seconds
    (``None``: no budget). ``per``: the window's length in seconds (default 60, Polar's).
    Requests answered 429 do not count. Assign both from any thread, e.g.
    ``server.budget.requests, server.budget.per = 300, 5.0``; :meth:`clear` turns the
    budget off and forgets what was counted.
    """

    def __init__(self, requests: int | None = None, per: float = 60.0) -> None:
        self.requests = requests
        self.per = per
        self._lock = threading.Lock()
        self._accepted: dict[str, deque[float]] = {}

    def clear(self) -> None:
        """Turn the budget off and forget every token's requests."""
        with self._lock:
            self.requests = None
            self.per = 60.0
            self._accepted.clear()

    def admit(self, token: str, now: float) -> int | None:
        """Count a request by ``token`` at ``now`` (monotonic seconds) and return ``None``
        if the budget has room; otherwise return the ``Retry-After`` in whole seconds."""
        limit, per = self.requests, self.per
        if limit is None:
            return None
        with self._lock:
            accepted = self._accepted.setdefault(token, deque())
            while accepted and accepted[0] <= now - per:
                accepted.popleft()
            if len(accepted) < limit:
                accepted.append(now)
                return None
            frees_in = accepted[0] + per - now if accepted else per
        return max(1, math.ceil(frees_in))


def budget_middleware(budget: RequestBudget) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware answering 429 (empty body) to requests over ``budget``.

    It must run after authentication: it reads the bearer token as the budget's key.
    """

    @web.middleware
    async def enforce_budget(request: web.Request, handler: Handler) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").partition(" ")[2]
        retry_after = budget.admit(token.strip(), time.monotonic())
        if retry_after is not None:
            return web.Response(status=429, headers={"Retry-After": str(retry_after)})
        return await handler(request)

    return enforce_budget
