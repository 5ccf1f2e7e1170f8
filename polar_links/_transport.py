"""The HTTP layer: one aiohttp session per client, headers, retries with backoff,
rate limiting, redirects, body-size cap, and mapping every failure to a PolarError.

This is the only module that touches aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import math
import platform
import ssl as ssl_module
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
import msgspec
from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._config import Backoff
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    CallTimeoutError,
    InvalidArgumentTypeError,
    InvalidResponseError,
    PolarError,
    RateLimitError,
    ResponseTooLargeError,
    shorten,
    snippet,
    status_error,
)
from ._options import CallOptions
from ._ratelimit import Slot, Throttle
from ._retry import Answer, Failure, RetryRules, RetryState, Verdict, decide, parse_retry_after
from ._security import Secret, insecure_reason
from ._version import __version__

__all__ = ["Response", "Transport", "check_session"]

logger = logging.getLogger("polar_links")

USER_AGENT = (
    f"polar-links/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-polar-request-id")
# aiohttp >= 3.13 caps a decompressed body itself (DecompressSizeError).
_DECOMPRESS_SIZE: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in (getattr(aiohttp.http_exceptions, "DecompressSizeError", None),)
    if cls is not None
)
#: What a send can fail with besides our own errors: aiohttp's, timeouts, the OS's, and
#: ValueError (a URL or header aiohttp or yarl cannot parse).
_NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError)
# aiohttp >= 3.10 tells a connect timeout apart from a read timeout.
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "ConnectionTimeoutError", None),) if cls is not None
)


@dataclass(frozen=True, slots=True)
class Response:
    """A finished HTTP exchange: status, headers and the whole body (bytes)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    method: str
    url: str
    secret: Secret

    def scrub(self, error: BaseException) -> None:
        """Remove the client's token from ``error`` (built from this response), in place."""
        self.secret.scrub_exception(error)

    def __repr__(self) -> str:
        # Not the body or the headers: a traceback printed with its locals shows this,
        # and a server may echo the token in either (or in a URL it redirects to).
        url = shorten(self.secret.scrub(self.url))
        return f"<Response {self.status} to {self.method} {url}: {len(self.body)} bytes>"


def check_session(session: object) -> None:
    """Raise unless ``session`` is None or an ``aiohttp.ClientSession``."""
    if session is not None and not isinstance(session, aiohttp.ClientSession):
        raise InvalidArgumentTypeError(
            f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
        )


class Transport:
    """Sends requests to one API base URL with one connection pool (the pool of every
    view of a client: the client that created it closes it).

    Each attempt: wait for the throttle, send, then obey the retry decision
    (:mod:`polar_links._retry`): return, raise, or wait and send again.
    """

    def __init__(
        self,
        *,
        base_url: URL,
        token: Secret,
        api_version: str | None,
        backoff: Backoff,
        throttle: Throttle,
        max_response_bytes: int,
        session: aiohttp.ClientSession | None,
        ssl: ssl_module.SSLContext | None,
        connection_limit: int,
        allow_insecure_http: bool,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self.backoff = backoff
        self.throttle = throttle
        self.max_response_bytes = max_response_bytes
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl
        self._connection_limit = connection_limit
        self._allow_insecure_http = allow_insecure_http
        self._waiting = 0  # calls waiting for the throttle
        self._pause_started = asyncio.Event()  # set (and replaced) when a 429 pause starts
        self._closed = False
        #: The event loop this transport was first used in: the only one it works in.
        self._loop: asyncio.AbstractEventLoop | None = None
        # The Authorization header is added per request from the Secret, so the token
        # sits in no plain attribute of this object.
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_version:
            self._headers["Polar-Version"] = api_version

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    @property
    def pool_open(self) -> bool:
        """True while this transport holds a connection pool it created and must close."""
        return self._owns_session and self._session is not None and not self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError(
                "this Polar client is closed; create a new Polar(...) (or use `async with`)"
            )
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "this Polar client was first used in another event loop (each asyncio.run() "
                "makes a new one); use one client per event loop: create the Polar client "
                "inside the coroutine that asyncio.run() runs, or use SyncPolar from "
                "synchronous code"
            )
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                ssl=self._ssl or True,  # True: aiohttp's default certificate checks
            )
            # No raise_for_status here: every request passes its own (False).
            session = aiohttp.ClientSession(connector=connector)
            # aiohttp resends an idempotent request once, unseen, when its connection
            # drops; retries are this class's job (counted, logged, backed off), and a
            # hidden resend of a DELETE that was applied would turn success into a 404.
            # aiohttp's own test client turns it off the same way.
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        return self._session

    def open(self) -> None:
        """Create the connection pool now (it is otherwise created on first use)."""
        self._get_session()

    async def aclose(self) -> None:
        """Close the connection pool if this client created it. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self.throttle.aclose()
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        options: CallOptions,
        *,
        query: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        gone_is_done: bool = False,
    ) -> Response:
        """Send one API request with ``options`` (timeout per attempt, retries, bound on
        the whole call), retrying as :func:`~polar_links._retry.decide` says, and
        return its 2xx response.

        Raises an :class:`APIStatusError` subclass for a 4xx/5xx answer,
        :class:`APIConnectionError`/:class:`APITimeoutError` for transport failures,
        :class:`CallTimeoutError` or :class:`RateLimitError` at once when the call
        cannot be served within ``options.call_timeout``. No error holds the token, an
        aiohttp exception, or a traceback into the send path.
        ``gone_is_done``: a 404 after an attempt that may have been applied is returned
        as a response (a DELETE whose answer was lost has done its job).
        """
        session = self._get_session()
        # The raw (still percent-encoded) path: a base path with %20 in it stays so.
        url = self.base_url.with_path(self.base_url.raw_path.rstrip("/") + path, encoded=True)
        query = [*(query or ()), *options.extra_query]
        if query:
            url = url.with_query(query)
        call = _Call(method, url, options, time.monotonic())
        try:
            return await self._run(session, call, path, query, body, gone_is_done)
        except PolarError as exc:
            error = exc
        # Raised here, outside the except block and with a fresh traceback: nothing
        # chains to an aiohttp exception (whose request_info holds the Authorization
        # header) or to the frames of the send path.
        self._token.scrub_exception(error)
        raise error.with_traceback(None)

    async def _run(
        self,
        session: aiohttp.ClientSession,
        call: _Call,
        path: str,
        query: list[tuple[str, str]] | None,
        body: bytes | None,
        gone_is_done: bool,
    ) -> Response:
        """The loop of one call: acquire, send, decide."""
        method, url = call.method, call.url
        shown = f"{path}?{url.raw_query_string}" if query else path  # for the log: page numbers
        rules = RetryRules(
            method, call.options.max_retries, self.backoff, gone_is_done, call.deadline
        )
        state = RetryState()
        sent = 0  # every attempt, 429s included
        while True:
            slot = await self._acquire(call, state, sent)
            sent += 1
            started = time.monotonic()
            try:
                result = await self._attempt(session, call, body, sent)
            finally:
                # The server stamped the request between sending and now: the budget
                # counts it until ``per`` seconds from now.
                slot.release()
            if isinstance(result, Response):
                retry_after = parse_retry_after(result.headers.get("Retry-After"), time.time())
                outcome: Answer | Failure = Answer(result.status, retry_after)
            else:
                outcome = result.failure
            decision = decide(rules, state, outcome, time.monotonic())
            if decision.cool_down is not None:
                self._cool_down(decision.cool_down)
            retry_in = decision.wait  # None unless the verdict is RETRY
            self._log(method, shown, result, sent, started, retry_in)
            if decision.verdict is Verdict.DONE and isinstance(result, Response):
                return result
            if decision.verdict is Verdict.STOP:
                if isinstance(result, Response):
                    raise _status_error(result, retry_after, self._headers)
                raise result.error
            state = decision.state
            # After a 429 this call waits its own Retry-After, and the throttle holds
            # every call of the client for the pause (the same wait, capped at
            # MAX_COOL_DOWN): the two end together unless the cap cut the pause.
            if decision.wait:
                await asyncio.sleep(decision.wait)

    async def _acquire(self, call: _Call, state: RetryState, sent: int) -> Slot:
        """Wait for the throttle, within what the call allows: fail at once when the
        429 pause or the rate limit would hold it longer than its bound or patience,
        also when a pause starts (or grows) while it waits."""
        self._check_pause(call, state)
        if (
            call.deadline is None
            and self.throttle.limit is None
            and self.throttle.cooldown_remaining() <= 0
        ):
            return await self.throttle.acquire()  # nothing to wait for, no bound to keep
        remaining = call.remaining()
        if remaining is not None:
            expected = self.throttle.expected_wait(ahead=self._waiting)
            if expected >= remaining:  # no time would be left for the request itself
                raise call.out_of_time("budget", expected, sent)
        # Counted from now, not from when the throttle sees it: calls that start
        # together each see the ones before them.
        self._waiting += 1
        acquiring = asyncio.ensure_future(self.throttle.acquire())
        try:
            while True:
                paused = asyncio.ensure_future(self._pause_started.wait())
                done, _ = await asyncio.wait(
                    {acquiring, paused},
                    timeout=call.remaining(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                paused.cancel()
                if acquiring in done:
                    return acquiring.result()
                self._check_pause(call, state)  # a new pause, or the bound ran out in one
                if paused not in done:
                    raise call.out_of_time("budget", None, sent)
        except BaseException:
            if acquiring.done() and not acquiring.cancelled() and not acquiring.exception():
                acquiring.result().release()  # taken just as the call gave up
            elif not acquiring.done():
                acquiring.cancel()
                await asyncio.wait({acquiring})
            raise
        finally:
            self._waiting -= 1

    def _check_pause(self, call: _Call, state: RetryState) -> None:
        """Raise RateLimitError if the client's pause after a 429 lasts longer than the
        call may wait (its bound, or its patience with 429s)."""
        pause = self.throttle.cooldown_remaining()
        if pause <= 0:
            return
        now = time.monotonic()
        remaining = call.remaining()
        since_first = 0.0 if state.first_limited is None else now - state.first_limited
        patience = self.backoff.max_rate_limit_wait - since_first
        if pause <= patience and (remaining is None or pause <= remaining):
            return
        limit = (
            f"this call's call_timeout={call.options.call_timeout:g} s leaves "
            f"{max(remaining, 0.0):.1f} s"
            if remaining is not None and remaining < patience
            else "its patience with 429s (Backoff.max_rate_limit_wait="
            f"{self.backoff.max_rate_limit_wait:g} s) leaves {max(patience, 0.0):.1f} s"
        )
        raise RateLimitError(
            retry_after=pause,
            reason=(
                f"not sent: this client is pausing for {pause:.1f} s more after a 429 from "
                f"the server, and {limit}"
            ),
            status_code=429,
            body=None,
            method=call.method,
            url=str(call.url),
        )

    def _cool_down(self, seconds: float) -> None:
        """Pause every request of the client, and wake the calls waiting for the
        throttle so that each checks the new pause against its own limits."""
        self.throttle.cool_down(seconds)
        self._pause_started.set()
        self._pause_started = asyncio.Event()

    async def _attempt(
        self, session: aiohttp.ClientSession, call: _Call, body: bytes | None, attempts: int
    ) -> Response | _Failed:
        """Send once: the response, or how it failed and the error to raise for it."""
        method, url = call.method, call.url
        timeout = call.options.timeout
        total, connect = timeout.total, timeout.connect
        if call.deadline is not None:  # no attempt outlives the call (connecting included)
            remaining = max(call.deadline - time.monotonic(), 0.001)
            total = remaining if total is None else min(total, remaining)
        try:
            return await self._send(
                session,
                method,
                url,
                body,
                aiohttp.ClientTimeout(
                    total=total,
                    sock_connect=connect,
                    # aiohttp rounds a timeout of 5 s or more up to the next whole
                    # second of the loop's clock: a timeout (and a bound) fires on time.
                    ceil_threshold=math.inf,
                ),
                call.options.extra_headers,
            )
        except PolarError as exc:  # the answer cannot be used: the same would come again
            return _Failed(Failure.FINAL, exc)
        except _NETWORK_ERRORS as exc:
            if _decompressed_too_large(exc):
                # aiohttp's own limit on an inflating body, below our cap: the same
                # answer would come again, so no retry.
                return _Failed(
                    Failure.FINAL,
                    ResponseTooLargeError(
                        f"response to {method} {shorten(str(url))} inflates past aiohttp's "
                        f"decompression limit (max_response_bytes={self.max_response_bytes})",
                        limit=self.max_response_bytes,
                        method=method,
                        url=str(url),
                    ),
                )
            if (
                isinstance(exc, asyncio.TimeoutError)
                and call.deadline is not None
                and time.monotonic() >= call.deadline - 0.005
            ):
                return _Failed(_failure(exc), call.out_of_time("attempt", None, attempts))
            return _Failed(_failure(exc), _error(exc, method, url, attempts))

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        headers = CIMultiDict(self._headers)
        for name, value in extra_headers:  # checked: never Authorization or Content-*
            headers[name] = value  # replaces a default of any case (Polar-Version)
        headers["Authorization"] = self._token.authorization()
        if body is not None:
            headers["Content-Type"] = "application/json"
        for _ in range(_MAX_REDIRECTS + 1):
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                # An injected session may raise for statuses itself; errors are ours to map.
                raise_for_status=False,
            ) as resp:
                if 300 <= resp.status < 400:
                    url = self._redirect_target(resp, method)
                    if resp.status in (301, 302, 303):  # a GET after them (no-op for one)
                        method, body = "GET", None
                        headers.pop("Content-Type", None)
                    if url.origin() != self.base_url.origin():
                        # The token is for the API host only, never for where it points.
                        headers.pop("Authorization", None)
                    continue
                data = await self._read_body(resp, method)
                return Response(resp.status, resp.headers, data, method, str(resp.url), self._token)
        raise InvalidResponseError(
            f"{method} {shorten(str(url))} was redirected more than {_MAX_REDIRECTS} times",
            status_code=resp.status,
            method=method,
            url=str(url),
        )

    def _redirect_target(self, resp: aiohttp.ClientResponse, method: str) -> URL:
        """Where a 3xx answer points, or raise InvalidResponseError if it cannot or must
        not be followed (no Location, a malformed one, another scheme, plain http)."""
        where = f"{method} {shorten(str(resp.url))} answered {resp.status}"

        def refuse(why: str) -> NoReturn:
            raise InvalidResponseError(
                f"{where} {why}", status_code=resp.status, method=method, url=str(resp.url)
            )

        location = resp.headers.get("Location")
        if resp.status not in _REDIRECTS or not location:
            refuse(
                "without a Location to follow; a redirect that cannot be followed is not a success"
            )
        try:
            target = resp.url.join(URL(location))
            port = target.port
        except ValueError as exc:
            refuse(f"with a Location that is not a valid URL ({exc}): {snippet(location)!r}")
        if target.scheme not in ("http", "https") or not target.host or port is None:
            refuse(f"with a Location that is not an http(s) URL: {snippet(location)!r}")
        insecure = insecure_reason(target)
        if insecure and not self._allow_insecure_http:
            refuse(
                f"with a redirect to {shorten(str(target))}, {insecure}: refused, as a "
                "plain-http base_url would be (the data would travel unencrypted); pass "
                "allow_insecure_http=True to allow it"
            )
        return target

    async def _read_body(self, resp: aiohttp.ClientResponse, method: str) -> bytes:
        cap = self.max_response_bytes
        length = resp.content_length
        if length is not None and length > cap:
            _too_large(cap, length, method, str(resp.url))
        if length is not None and hdrs.CONTENT_ENCODING not in resp.headers:
            # Its announced length is what it reads to (checked above): one read, the
            # fastest (about 15% off a walk's time).
            return await resp.read()
        # Content-Length counts the bytes on the wire: a compressed body can inflate far
        # past the cap, and one without a length can be any size, so these are read
        # chunk by chunk (decompressed) and counted as they grow.
        data = bytearray()
        async for chunk in resp.content.iter_any():
            data += chunk
            if len(data) > cap:
                _too_large(cap, None, method, str(resp.url))
        return bytes(data)

    def _log(
        self,
        method: str,
        path: str,
        result: Response | _Failed,
        attempt: int,
        started: float,
        retry_in: float | None,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            outcome = result.status if isinstance(result, Response) else type(result.error).__name__
            logger.debug(
                "%s %s -> %s attempt=%d elapsed_ms=%.1f retry_in_s=%s",
                method,
                path,
                outcome,
                attempt,
                (time.monotonic() - started) * 1000,
                "-" if retry_in is None else f"{retry_in:.3f}",
            )


@dataclass(frozen=True, slots=True)
class _Call:
    """One call: what it sends, its options, and when it started (monotonic seconds)."""

    method: str
    url: URL
    options: CallOptions
    started: float

    @property
    def deadline(self) -> float | None:
        """When the SDK stops waiting for this call (monotonic seconds), or None: a
        little before its bound (2%, at most 0.1 s), so that a busy event loop, whose
        timers fire late, does not push the call past it."""
        bound = self.options.call_timeout
        return None if bound is None else self.started + bound - min(bound * 0.02, 0.1)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (0.0 once past it), or None: no bound."""
        deadline = self.deadline
        return None if deadline is None else max(deadline - time.monotonic(), 0.0)

    def out_of_time(self, reason: str, wait: float | None, attempts: int) -> CallTimeoutError:
        """The error for a call that cannot finish within its call_timeout, after
        ``attempts`` attempts."""
        bound = self.options.call_timeout or 0.0
        where = f"{self.method} {shorten(str(self.url))}"
        if reason == "budget":
            held = f"about {wait:.1f} s" if wait is not None else "longer than that"
            message = (
                f"{where} not sent: the client-side rate limit would hold it {held}, past "
                f"its call_timeout={bound:g} s (elapsed {time.monotonic() - self.started:.1f} s)"
            )
        else:
            message = f"{where}: call_timeout={bound:g} s ran out during an attempt"
        return CallTimeoutError(
            message,
            method=self.method,
            url=str(self.url),
            call_timeout=bound,
            reason=reason,
            wait=wait,
            attempts=attempts,
        )


@dataclass(frozen=True, slots=True)
class _Failed:
    """An attempt that got no usable answer: how it failed, and the error for it."""

    failure: Failure
    error: PolarError


def _too_large(cap: int, length: int | None, method: str, url: str) -> NoReturn:
    size = f"{length} bytes" if length is not None else f"more than {cap} bytes"
    raise ResponseTooLargeError(
        f"response to {method} {shorten(url)} is {size}, over max_response_bytes={cap}",
        limit=cap,
        method=method,
        url=url,
    )


def _decompressed_too_large(exc: BaseException) -> bool:
    return isinstance(exc, aiohttp.ClientPayloadError) and isinstance(
        exc.__cause__, _DECOMPRESS_SIZE
    )


def _failure(exc: BaseException) -> Failure:
    if isinstance(
        exc, aiohttp.ClientSSLError | aiohttp.TooManyRedirects | aiohttp.InvalidURL | ValueError
    ):
        return Failure.FINAL
    if isinstance(exc, (aiohttp.ClientConnectorError, *_CONNECT_TIMEOUT)):
        return Failure.NOT_SENT
    return Failure.MAYBE_SENT


def _error(exc: BaseException, method: str, url: URL, attempts: int) -> APIConnectionError:
    """Our error for a network failure, with aiohttp's words but none of its objects."""
    where = f"{method} {shorten(str(url))} after {attempts} attempt{'' if attempts == 1 else 's'}"
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            f"timed out on {where}", method=method, url=str(url), attempts=attempts
        )
    reason = snippet(str(exc) or type(exc).__name__)
    return APIConnectionError(
        f"connection failed on {where}: {type(exc).__name__}: {reason}",
        method=method,
        url=str(url),
        attempts=attempts,
    )


def _status_error(
    response: Response, retry_after: float | None, sent_headers: dict[str, str]
) -> Exception:
    body: Any
    try:
        body = msgspec.json.decode(response.body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        # msgspec 0.18.0's DecodeError is no ValueError (later releases' is).
        # Not JSON, invalid UTF-8 (a proxy's latin-1 page), or nested past the stack:
        # the start of the text, whatever the bytes.
        body = snippet(response.body)
    request_id = next(
        (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
    )
    return status_error(
        status_code=response.status,
        body=body,
        method=response.method,
        url=response.url,
        request_id=request_id,
        retry_after=retry_after,
        api_version=sent_headers.get("Polar-Version"),
        challenge=response.headers.get("WWW-Authenticate"),
    )
