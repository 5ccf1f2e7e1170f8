"""Small value types for client configuration: timeouts, backoff, rate limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._validation import check_int

__all__ = [
    "ENVIRONMENTS",
    "MAX_CONCURRENCY",
    "MAX_RETRIES",
    "Backoff",
    "RateLimit",
    "Timeout",
    "check_concurrency",
    "check_max_retries",
    "coerce_timeout",
    "default_rate_limit",
]

#: Base URLs of Polar's two environments.
ENVIRONMENTS: dict[str, str] = {
    "production": "https://api.polar.sh",
    "sandbox": "https://sandbox-api.polar.sh",
}


def _check_seconds(name: str, value: float | None, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        allowed = "a positive number of seconds" + (" or None" if allow_none else "")
        raise InvalidArgumentValueError(f"{name} must be {allowed}, got {value!r}")


@dataclass(frozen=True)
class Timeout:
    """How long one attempt of a request may take, in seconds.

    ``connect``: to establish the TCP/TLS connection. ``total``: for the whole attempt,
    from sending to the last byte of the body. ``None`` disables that limit.
    Retries get a fresh budget each.
    """

    total: float | None = 30.0
    connect: float | None = 10.0

    def __post_init__(self) -> None:
        _check_seconds("Timeout.total", self.total, allow_none=True)
        _check_seconds("Timeout.connect", self.connect, allow_none=True)


@dataclass(frozen=True)
class Backoff:
    """Waits between retries, in seconds: exponential with full jitter.

    Retry ``n`` (0-based) after a failure waits a random time in
    ``[0, min(maximum, initial * 2**n)]``; a ``Retry-After`` sent with a 5xx or 408 is
    honoured instead, but never longer than ``max_retry_after``.

    A 429 is answered by waiting its ``Retry-After`` (all requests of the client wait
    together; a backoff wait if the server gives none) and sending again, for at most
    ``max_rate_limit_wait`` seconds from the request's first 429; such retries do not
    count against ``max_retries``.
    """

    initial: float = 0.5
    maximum: float = 8.0
    max_retry_after: float = 60.0
    max_rate_limit_wait: float = 120.0

    def __post_init__(self) -> None:
        _check_seconds("Backoff.initial", self.initial, allow_none=False)
        _check_seconds("Backoff.maximum", self.maximum, allow_none=False)
        _check_seconds("Backoff.max_retry_after", self.max_retry_after, allow_none=False)
        _check_seconds("Backoff.max_rate_limit_wait", self.max_rate_limit_wait, allow_none=False)


@dataclass(frozen=True)
class RateLimit:
    """Client-side request budget: at most ``requests`` requests in any ``per`` seconds.

    A request counts from when it is sent until ``per`` seconds after its answer
    arrived, so no window of ``per`` seconds holds more than ``requests`` requests on
    the server's clock (a sliding window, the stricter kind), and a long walk sustains
    the whole budget: ``requests / per`` requests per second, less one round trip per
    window. ``burst`` (default: a tenth of ``requests``) is how many requests may leave
    back to back: a bucket of that size refilled at ``requests / per`` per second, so
    the budget is spread over the window rather than spent in one go.
    """

    requests: int
    per: float = 60.0
    burst: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int):
            raise InvalidArgumentTypeError(
                f"RateLimit.requests must be an int, got {self.requests!r}"
            )
        if self.requests < 1:
            raise InvalidArgumentValueError(
                f"RateLimit.requests must be >= 1, got {self.requests!r}"
            )
        _check_seconds("RateLimit.per", self.per, allow_none=False)
        if self.burst is not None and (
            isinstance(self.burst, bool)
            or not isinstance(self.burst, int)
            or not 1 <= self.burst <= self.requests
        ):
            raise InvalidArgumentValueError(
                f"RateLimit.burst must be an int from 1 to requests ({self.requests}), "
                f"got {self.burst!r}"
            )

    @property
    def capacity(self) -> int:
        """Requests that may leave back to back: ``burst``, or a tenth of ``requests``."""
        return self.burst if self.burst is not None else max(1, self.requests // 10)

    @property
    def refill_per_second(self) -> float:
        """Requests per second the budget sustains (added to the burst bucket per second)."""
        return self.requests / self.per


_KNOWN_HOST_LIMITS = {
    "api.polar.sh": RateLimit(500, 60.0),
    "sandbox-api.polar.sh": RateLimit(100, 60.0),
}


def default_rate_limit(base_url: str) -> RateLimit | None:
    """Polar's documented default limit for a known API host; ``None`` for any other host."""
    return _KNOWN_HOST_LIMITS.get(urlsplit(base_url).hostname or "")


def coerce_timeout(value: object) -> Timeout:
    """Return a :class:`Timeout` from a Timeout or a number (the total, in seconds)."""
    if isinstance(value, Timeout):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(
            f"timeout must be a Timeout or a number of seconds, got {value!r}"
        )
    return Timeout(total=float(value))


#: The most page requests a walk may have in flight.
MAX_CONCURRENCY = 64
#: The most retries after the first attempt of a request.
MAX_RETRIES = 10


def check_concurrency(value: object) -> int:
    """Return ``value`` if it is an int from 1 to 64 (page requests in flight), or raise."""
    return check_int("concurrency", value, minimum=1, maximum=MAX_CONCURRENCY)


def check_max_retries(value: object) -> int:
    """Return ``value`` if it is an int from 0 to 10 (retries after the first attempt), or raise."""
    return check_int("max_retries", value, minimum=0, maximum=MAX_RETRIES)
