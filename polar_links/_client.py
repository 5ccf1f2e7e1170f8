"""The ``Polar`` client: configuration, the connection pool's lifetime, resources."""

from __future__ import annotations

import re
import ssl as ssl_module
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Literal, NoReturn

from ._checkout_links import CheckoutLinks
from ._config import (
    Backoff,
    RateLimit,
    Timeout,
    check_concurrency,
    check_max_retries,
    default_rate_limit,
)
from ._environ import resolve_access_token, resolve_base_url, resolve_redis_url
from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._options import (
    NOT_GIVEN,
    CallOptions,
    NotGiven,
    RequestOptions,
    check_call_timeout,
    timeout_option,
)
from ._ratelimit import Throttle
from ._security import Secret
from ._transport import Transport, check_session
from ._validation import check_int

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_CONCURRENCY", "Polar"]

#: Page requests in flight during a walk. Eight covers a 500 requests/minute budget
#: (8.3 requests/s) even when each page takes ~1 s, and at 100 ms per page turns a
#: walk ~8x faster than one request at a time, while staying polite to the API.
DEFAULT_CONCURRENCY = 8
#: Largest response body accepted, in bytes (a 100-link page is well under 1 MiB).
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: Connections the client's pool opens at most: more than a walk at the largest
#: per-call concurrency (64) needs, so page requests never queue for a connection.
_CONNECTION_LIMIT = 100
_API_VERSION_RE = re.compile(r"\d{4}-\d{2}")
_AUTO: Literal["auto"] = "auto"
_DEFAULT_TIMEOUT = Timeout()
_DEFAULT_BACKOFF = Backoff()


class Polar:
    """An async client for the Polar API's checkout links.

    Use it as ``async with Polar(...) as polar:`` (or call ``await polar.aclose()``),
    and keep one per application: it holds a connection pool. :meth:`with_options`
    gives views of it with other settings that share that pool.

    ``access_token``: an organization access token; defaults to the
    ``POLAR_ACCESS_TOKEN`` environment variable. ``environment``: ``"production"`` or
    ``"sandbox"``. ``base_url`` overrides the environment (e.g. the bundled test
    server's ``http://127.0.0.1:PORT``). Without either argument, the
    ``POLAR_BASE_URL`` then ``POLAR_ENVIRONMENT`` environment variables choose the
    host, else production. ``timeout``: a :class:`Timeout`, a number of
    seconds per attempt, or ``None`` for no time limit. ``max_retries``: retries
    after the first attempt (0 disables). ``call_timeout``: seconds a whole call may
    take (waits for the rate limit and a 429 pause, attempts, retries), ``None`` (the
    default) for no bound; a call that cannot finish in time fails at once.
    ``backoff``: waits between retries. ``rate_limit``: client-side request budget;
    ``"auto"`` uses Polar's documented limit for the production (500/min) and sandbox
    (100/min) hosts and none for other hosts; ``None`` disables it. ``concurrency``:
    page requests in flight while listing. ``api_version``: sends ``Polar-Version``
    (``"YYYY-MM"``). ``session``: an ``aiohttp.ClientSession`` to use as is (never
    closed by this client). ``ssl``: an ``ssl.SSLContext`` for the client's own pool.
    ``max_response_bytes``: largest body accepted. ``allow_insecure_http``: allow a
    plain-http ``base_url`` to a non-loopback host (the token would travel in clear).
    ``redis_url``: a Redis URL (``redis://host:6379/0``); every client using the same
    token and Redis then draws from one ``rate_limit`` budget and shares the pause
    after a 429 (needs ``polar-links[redis]``); defaults to the ``POLAR_REDIS_URL``
    environment variable; ``""`` turns it off.
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        environment: Literal["production", "sandbox"] | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = _DEFAULT_TIMEOUT,
        max_retries: int = 2,
        call_timeout: float | None = None,
        backoff: Backoff = _DEFAULT_BACKOFF,
        rate_limit: RateLimit | Literal["auto"] | None = _AUTO,
        concurrency: int = DEFAULT_CONCURRENCY,
        api_version: str | None = None,
        session: aiohttp.ClientSession | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        redis_url: str | None = None,
    ) -> None:
        # From here on, only the Secret holds the token: no local variable does, so a
        # traceback printed with its locals (of any error below) cannot show it.
        token = access_token if isinstance(access_token, Secret) else Secret(access_token)
        del access_token
        token = resolve_access_token(token)
        if api_version is not None and (
            not isinstance(api_version, str) or not _API_VERSION_RE.fullmatch(api_version)
        ):
            raise InvalidArgumentValueError(
                f"api_version must look like '2026-10' (YYYY-MM), got {api_version!r}"
            )
        check_session(session)
        if ssl is not None and session is not None:
            raise InvalidArgumentValueError(
                "ssl applies to the client's own connection pool; with session=..., set the "
                "SSL context on that session's connector instead"
            )
        if ssl is not None and not isinstance(ssl, ssl_module.SSLContext):
            raise InvalidArgumentTypeError(
                f"ssl must be an ssl.SSLContext, got {type(ssl).__name__}"
            )
        if rate_limit is not None and rate_limit != _AUTO and not isinstance(rate_limit, RateLimit):
            raise InvalidArgumentTypeError(
                f"rate_limit must be a RateLimit, 'auto' or None, got {rate_limit!r}"
            )
        if not isinstance(backoff, Backoff):
            raise InvalidArgumentTypeError(f"backoff must be a Backoff, got {backoff!r}")
        url = resolve_base_url(environment, base_url, allow_insecure_http=allow_insecure_http)
        self._options = CallOptions(
            timeout=timeout_option(timeout),
            max_retries=check_max_retries(max_retries),
            concurrency=check_concurrency(concurrency),
            call_timeout=check_call_timeout(call_timeout),
        )
        self._transport = Transport(
            base_url=url,
            token=token,
            api_version=api_version,
            backoff=backoff,
            throttle=_throttle(
                default_rate_limit(str(url)) if rate_limit == _AUTO else rate_limit,
                token.reveal(),
                resolve_redis_url(redis_url),
            ),
            max_response_bytes=check_int("max_response_bytes", max_response_bytes, minimum=1024),
            session=session,
            ssl=ssl,
            connection_limit=_CONNECTION_LIMIT,
            allow_insecure_http=allow_insecure_http,
        )
        self._owns_transport = True
        #: The checkout-links resource: ``list``, ``get``, ``create``, ``update``, ``delete``.
        self.checkout_links = CheckoutLinks(self._transport, self._options)

    def with_options(
        self,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        concurrency: int | NotGiven = NOT_GIVEN,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> Polar:
        """Return a view of this client whose calls use these settings by default.

        The view shares this client's connection pool, rate limiter and 429 pause; it
        owns none of them. Closing the view (``aclose()``, leaving ``async with``) leaves
        the pool open; closing the client that ``Polar(...)`` created closes it for every
        view. Settings left out keep this client's; ``timeout=None`` means no time
        limit per attempt, ``call_timeout=None`` no bound on a call. A call's own
        ``timeout=``/``max_retries=``/``concurrency=``/``call_timeout=`` still win over
        the view's.
        """
        given = RequestOptions.of(
            timeout=timeout,
            max_retries=max_retries,
            concurrency=concurrency,
            call_timeout=call_timeout,
        )
        # Not copy.copy: a client refuses to be pickled, which copy relies on.
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._options = self._options.override(given)
        view._owns_transport = False
        view.checkout_links = CheckoutLinks(self._transport, view._options)
        return view

    @property
    def base_url(self) -> str:
        """The API base URL requests go to."""
        return str(self._transport.base_url)

    @property
    def closed(self) -> bool:
        """True once the client (the one ``Polar(...)`` created, for a view) has been
        closed; it cannot be used again."""
        return self._transport.closed

    async def aclose(self) -> None:
        """Close the client's connection pool (not an injected session), for every view
        of it too. On a view from :meth:`with_options`, does nothing: the pool belongs to
        the client. Idempotent."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> Polar:
        self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> NoReturn:
        raise TypeError(
            "Polar is the async client: use `async with Polar(...) as polar:` inside an "
            "async function, or the synchronous client: `with SyncPolar(...) as polar:`"
        )

    def __exit__(self, *exc_info: object) -> None:
        return None

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        transport = getattr(self, "_transport", None)
        owner = getattr(self, "_owns_transport", False)
        if owner and transport is not None and transport.pool_open:
            # Said once, by the client: aiohttp's own warnings about the pool follow.
            _warn(
                f"unclosed polar-links client {self!r}: use `async with Polar(...) as "
                "polar:` or `await polar.aclose()` when you are done with it",
                ResourceWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        transport = getattr(self, "_transport", None)  # None while __init__ checks arguments
        if transport is None:
            return "<Polar (not constructed) access_token='***'>"
        state = " closed" if transport.closed else ""
        view = "" if getattr(self, "_owns_transport", True) else " view"
        return f"<Polar{view} base_url={self.base_url!r} access_token='***'{state}>"

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("a Polar client cannot be pickled (it holds a token and a connection pool)")


def _throttle(limit: RateLimit | None, token: str, redis_url: str | None) -> Throttle:
    """The local throttle, or one sharing its budget through Redis at ``redis_url``."""
    if redis_url is None:
        return Throttle(limit)
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise InvalidArgumentValueError(
            "redis_url (or POLAR_REDIS_URL) needs the redis client: "
            "pip install 'polar-links[redis]'"
        ) from None
    from ._shared_budget import SharedThrottle, budget_key

    return SharedThrottle(limit, url=redis_url, key=budget_key(token))
