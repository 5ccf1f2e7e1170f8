"""Fault injection knobs for the test server; every knob is off by default.

Plain attributes (``latency``, ``rate_limit_per_minute``, ...) may be assigned from any
thread; the scheduling methods take a lock. One-shot faults (``fail_next``,
``drop_next``, ``hang_next``) form a single queue and are applied in the order they
were scheduled: ``fail_next(1); drop_next(1)`` fails the next matching request and
drops the one after it. Each request consumes at most one scheduled fault.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Literal

__all__ = ["DropMode", "Faults", "ScheduledFault"]

DropMode = Literal["reset", "truncate", "lost"]


@dataclass
class ScheduledFault:
    """One entry of the one-shot fault queue (``remaining`` requests still to hit)."""

    kind: Literal["fail", "drop", "hang"]
    remaining: int
    status: int = 503
    html: bool = False
    retry_after: float | None = None
    mode: DropMode = "reset"
    after_headers: bool = False
    path_prefix: str | None = None


class Faults:
    """Misbehaviours the test server can be told to show.

    Attributes (assign them directly; all off by default):

    ``latency``
        Seconds added to every request before it is handled (``0.0``: none).
    ``rate_limit_per_minute``
        At most this many accepted requests per token within a sliding window of
        ``rate_limit_window`` seconds; further requests get 429 with an empty body and a
        ``Retry-After`` header (whole seconds until the oldest request leaves the window,
        at least 1).
        ``None``: no limit. Rejected requests do not count against the window.
    ``rate_limit_window``
        Length of the rate-limit window in seconds (default ``60.0``, hence the name;
        set e.g. ``1.0`` so a test waits one second, not a minute).
    ``retry_after_override``
        When set, the ``Retry-After`` value (seconds) sent with every 429 instead of the
        computed one. Whole numbers are sent as integers; fractions (non-standard, but
        handy for fast tests) are sent as decimals such as ``0.05``.
    """

    def __init__(self) -> None:
        self.latency: float = 0.0
        self.rate_limit_per_minute: int | None = None
        self.rate_limit_window: float = 60.0
        self.retry_after_override: float | None = None
        self._lock = threading.Lock()
        self._queue: list[ScheduledFault] = []
        self._page_actions: list[tuple[int, int, int]] = []  # (page, create, delete)
        self._hits: dict[str, deque[float]] = {}

    # ------------------------------------------------------------ scheduling

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        html: bool = False,
        path_prefix: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``n`` requests (whose path starts with ``path_prefix``, if given)
        with HTTP ``status`` and a Polar JSON error body, or, with ``html=True``, an HTML
        page such as ``<html><body><h1>502 Bad Gateway</h1></body></html>`` (as a proxy
        would). ``retry_after`` (seconds) adds a ``Retry-After`` header. A 429 has no
        body at all, as the real server sends it.
        """
        self._schedule(
            ScheduledFault(
                "fail",
                n,
                status=status,
                html=html,
                retry_after=retry_after,
                path_prefix=path_prefix,
            )
        )

    def drop_next(
        self, n: int = 1, *, mode: DropMode = "reset", path_prefix: str | None = None
    ) -> None:
        """Break the connection of the next ``n`` (matching) requests.

        ``mode="reset"`` closes the connection (TCP RST) without sending anything;
        ``mode="truncate"`` sends the real status and headers with the full
        ``Content-Length`` but only half of the body, then closes the connection, so the
        client sees a payload error; ``mode="lost"`` handles the request (a create,
        update or delete takes effect), then closes the connection (TCP RST) without
        answering, as when a response is lost on the way back.

        Note: aiohttp's client silently retries an idempotent request (GET, DELETE, ...)
        once when its connection drops before a response, so a plain aiohttp GET only
        fails with ``n >= 2``; each attempt is recorded with status 0.
        """
        if mode not in ("reset", "truncate", "lost"):
            raise ValueError(f"unknown drop mode {mode!r}; use 'reset', 'truncate' or 'lost'")
        self._schedule(ScheduledFault("drop", n, mode=mode, path_prefix=path_prefix))

    def hang_next(
        self, n: int = 1, *, after_headers: bool = False, path_prefix: str | None = None
    ) -> None:
        """Never finish the next ``n`` (matching) requests: they hang until the server stops
        (then the connection is closed). With ``after_headers=True`` the real status,
        headers and half of the body go out first, so the client stalls while reading
        the body rather than while waiting for an answer."""
        self._schedule(
            ScheduledFault("hang", n, after_headers=after_headers, path_prefix=path_prefix)
        )

    def create_on_page(self, page: int, count: int) -> None:
        """Once, right after a list request for ``page`` has been answered from the store,
        create ``count`` links newer than all others (in the newest link's organization).
        With the default ascending order this shifts nothing already served, but grows
        ``total_count``; with ``-created_at`` it shifts every later page by ``count``."""
        with self._lock:
            self._page_actions.append((page, count, 0))

    def delete_on_page(self, page: int, count: int) -> None:
        """Once, right after a list request for ``page`` has been answered from the store,
        delete the ``count`` oldest links (first in the default ``created_at`` order), which
        shifts later pages of an ascending walk so the client misses ``count`` links."""
        with self._lock:
            self._page_actions.append((page, 0, count))

    def clear(self) -> None:
        """Turn every knob off and forget scheduled faults and rate-limit history."""
        with self._lock:
            self.latency = 0.0
            self.rate_limit_per_minute = None
            self.rate_limit_window = 60.0
            self.retry_after_override = None
            self._queue.clear()
            self._page_actions.clear()
            self._hits.clear()

    @property
    def pending(self) -> int:
        """How many requests scheduled one-shot faults will still hit."""
        with self._lock:
            return sum(f.remaining for f in self._queue)

    # ------------------------------------------------------------ used by the app

    def _schedule(self, fault: ScheduledFault) -> None:
        if fault.remaining > 0:
            with self._lock:
                self._queue.append(fault)

    def take(self, path: str) -> ScheduledFault | None:
        """Consume and return the first scheduled fault matching ``path``, if any."""
        if not self._queue:
            return None
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.path_prefix is None or path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._queue[index]
                    return fault
        return None

    def take_page_actions(self, page: int) -> tuple[int, int]:
        """Consume the actions scheduled for ``page``; return (links to create, to delete)."""
        if not self._page_actions:
            return 0, 0
        with self._lock:
            hits = [a for a in self._page_actions if a[0] == page]
            self._page_actions = [a for a in self._page_actions if a[0] != page]
        return sum(a[1] for a in hits), sum(a[2] for a in hits)

    def rate_limited(self, token: str, now: float) -> float | None:
        """Record a request by ``token`` at ``now`` (monotonic seconds) if the limit allows
        it and return ``None``; otherwise return the Retry-After value in seconds."""
        limit = self.rate_limit_per_minute
        if limit is None:
            return None
        window = self.rate_limit_window
        with self._lock:
            hits = self._hits.setdefault(token, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                return None
            wait = hits[0] + window - now if hits else window
        if self.retry_after_override is not None:
            return self.retry_after_override
        return float(max(1, math.ceil(wait)))
