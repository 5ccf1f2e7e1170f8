"""The HTTP layer: one aiohttp session per client, headers, retries with backoff,
rate limiting, redirects, body-size cap, and mapping every failure to a PolarError.

This is the only module that touches aiohttp.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import ipaddress
import logging
import math
import platform
import random
import ssl as ssl_module
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
import msgspec
from multidict import CIMultiDictProxy
from yarl import URL

from ._config import Backoff, Timeout
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    InvalidArgumentTypeError,
    InvalidArgumentValueError,
    RateLimitError,
    ResponseTooLargeError,
    snippet,
    status_error_class,
)
from ._ratelimit import Throttle
from ._version import __version__

__all__ = ["Response", "Secret", "Transport", "check_base_url"]

logger = logging.getLogger("polar_links")

USER_AGENT = (
    f"polar-links/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-polar-request-id")
# aiohttp >= 3.13 caps a decompressed body itself (DecompressSizeError).
_DECOMPRESS_SIZE: tuple[type[BaseException], ...] = tuple(
    cls
    for cls in (getattr(aiohttp.http_exceptions, "DecompressSizeError", None),)
    if cls is not None
)
# aiohttp >= 3.10 tells a connect timeout apart from a read timeout.
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "ConnectionTimeoutError", None),) if cls is not None
)


class Secret:
    """Holds the access token; prints as ``'***'`` and refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The token itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("the Polar access token cannot be pickled")


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> URL:
    """Return ``base_url`` parsed, or raise ValueError if the token could leak over it.

    ``https://`` is always accepted; ``http://`` only for loopback hosts, unless
    ``allow_insecure_http`` is True.
    """
    if not isinstance(base_url, str):
        raise InvalidArgumentTypeError(f"base_url must be a str, got {type(base_url).__name__}")
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentValueError(
            f"base_url must be an http:// or https:// URL, got {base_url!r}"
        )
    if url.query_string or url.fragment:
        raise InvalidArgumentValueError(
            f"base_url must not have a query or fragment, got {base_url!r}"
        )
    if url.scheme == "http" and not is_loopback(url.host) and not allow_insecure_http:
        raise InvalidArgumentValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host: the access token "
            "would travel unencrypted. Use https://, or pass allow_insecure_http=True if you "
            "really mean it."
        )
    return url.with_path(url.path.rstrip("/"))


@dataclass(frozen=True, slots=True)
class Response:
    """A finished HTTP exchange: status, headers and the whole body (bytes)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    method: str
    url: str


class Transport:
    """Sends requests to one API base URL with one connection pool.

    Retries connection failures, timeouts, 408, 429 and 5xx with exponential backoff and
    full jitter (or the server's ``Retry-After``); a POST is retried only after a failure
    to connect, never after it may have reached the server.
    """

    def __init__(
        self,
        *,
        base_url: URL,
        token: Secret,
        api_version: str | None,
        timeout: Timeout,
        max_retries: int,
        backoff: Backoff,
        throttle: Throttle,
        max_response_bytes: int,
        session: aiohttp.ClientSession | None,
        ssl: ssl_module.SSLContext | None,
        connection_limit: int,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.throttle = throttle
        self.max_response_bytes = max_response_bytes
        self._session = session
        self._owns_session = session is None
        self._ssl = ssl
        self._connection_limit = connection_limit
        self._closed = False
        # The Authorization header is added per request from the Secret, so the token
        # sits in no plain attribute of this object.
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_version:
            self._headers["Polar-Version"] = api_version

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has been called."""
        return self._closed

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError(
                "this Polar client is closed; create a new Polar(...) (or use `async with`)"
            )
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                ssl=self._ssl if self._ssl is not None else True,
            )
            session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
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
        *,
        query: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        gone_after_retry_ok: bool = False,
    ) -> Response:
        """Send one API request, retrying as configured, and return its 2xx response.

        Raises an :class:`APIStatusError` subclass for a 4xx/5xx answer,
        :class:`APIConnectionError`/:class:`APITimeoutError` for transport failures.
        ``gone_after_retry_ok``: a 404 to a retry (not to the first attempt) is returned
        as a response: a DELETE whose first attempt was applied before its answer was
        lost has done its job.
        """
        session = self._get_session()
        url = self.base_url.with_path(self.base_url.path.rstrip("/") + path, encoded=True)
        if query:
            url = url.with_query(query)
        retries = self.max_retries if max_retries is None else max_retries
        client_timeout = _client_timeout(timeout or self.timeout)
        shown = f"{path}?{url.raw_query_string}" if query else path  # for the log: page numbers
        attempt = 0  # retries after failures, bounded by max_retries
        sent = 0  # every attempt, 429s included
        limited = 0  # 429s this request got
        first_limited = 0.0  # when it got the first (monotonic seconds)
        while True:
            slot = await self.throttle.acquire()
            sent += 1
            started = time.monotonic()
            try:
                try:
                    response = await self._send(session, method, url, body, client_timeout)
                finally:
                    # The server stamped the request between sending and now: the budget
                    # counts it until ``per`` seconds from now.
                    slot.release()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if _decompressed_too_large(exc):
                    # aiohttp's own limit on an inflating body, below our cap: the same
                    # answer would come again, so no retry.
                    raise ResponseTooLargeError(
                        f"response to {method} {url} inflates past aiohttp's decompression "
                        f"limit (max_response_bytes={self.max_response_bytes})",
                        limit=self.max_response_bytes,
                        method=method,
                        url=str(url),
                    ) from exc
                error = _connection_error(exc, method, url)
                may_retry = attempt < retries and _replayable(method, exc)
                delay = self._backoff_delay(attempt) if may_retry else None
                self._log(method, shown, type(error).__name__, sent, started, delay)
                if delay is None:
                    raise error from exc
                await asyncio.sleep(delay)
                attempt += 1
                continue
            status = response.status
            # A 404 after an attempt that may have been applied (not after a 429, which
            # never was) means that attempt did the job.
            if status < 400 or (status == 404 and attempt > 0 and gone_after_retry_ok):
                self._log(method, shown, status, sent, started, None)
                return response
            retry_after = _retry_after(response.headers)
            if status == 429:
                # The request was not processed: waiting the server's Retry-After and
                # sending it again is safe, so 429s do not use up max_retries; they are
                # bounded by time since the first one instead. Counting them would make
                # every request in flight lose a retry on each 429 storm and end a long
                # export early. With no positive Retry-After, back off (never spin).
                now = time.monotonic()
                if not limited:
                    first_limited = now
                wait = retry_after if retry_after else self._backoff_delay(limited)
                limited += 1
                may_wait = (
                    retries > 0
                    and method != "POST"
                    and now - first_limited + wait <= self.backoff.max_rate_limit_wait
                )
                # Every request of this client waits, not only this one.
                self.throttle.cool_down(min(wait, self.backoff.max_rate_limit_wait))
                self._log(method, shown, status, sent, started, wait if may_wait else None)
                if not may_wait:
                    raise _status_error(response, retry_after)
                continue  # the throttle holds the next attempt until the cooldown is over
            delay = None
            if status in RETRYABLE_STATUSES and method != "POST" and attempt < retries:
                delay = self._backoff_delay(attempt, retry_after)
            self._log(method, shown, status, sent, started, delay)
            if delay is None:
                raise _status_error(response, retry_after)
            await asyncio.sleep(delay)
            attempt += 1

    async def _send(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
    ) -> Response:
        headers = {**self._headers, "Authorization": f"Bearer {self._token.reveal()}"}
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
                location = resp.headers.get("Location")
                if resp.status in _REDIRECTS and location:
                    url = resp.url.join(URL(location))
                    if resp.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                        method, body = "GET", None
                        headers.pop("Content-Type", None)
                    if url.origin() != self.base_url.origin():
                        # The token is for the API host only, never for where it points.
                        headers.pop("Authorization", None)
                    continue
                data = await self._read_body(resp, method)
                return Response(resp.status, resp.headers, data, method, str(resp.url))
        raise aiohttp.TooManyRedirects(resp.request_info, resp.history)

    async def _read_body(self, resp: aiohttp.ClientResponse, method: str) -> bytes:
        cap = self.max_response_bytes
        length = resp.content_length
        if length is not None and length > cap:
            _too_large(cap, length, method, str(resp.url))
        # Content-Length counts the bytes on the wire: a compressed body can inflate far
        # past the cap, so only an identity-encoded one may be read in one go; the rest
        # is read chunk by chunk, decompressed, and counted as it grows.
        if length is not None and resp.headers.get("Content-Encoding", "identity") == "identity":
            return await resp.read()
        data = bytearray()
        async for chunk in resp.content.iter_any():
            data += chunk
            if len(data) > cap:
                _too_large(cap, None, method, str(resp.url))
        return bytes(data)

    def _backoff_delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff.max_retry_after)
        return random.uniform(0.0, min(self.backoff.maximum, self.backoff.initial * 2**attempt))

    def _log(
        self,
        method: str,
        path: str,
        outcome: int | str,
        attempt: int,
        started: float,
        retry_in: float | None,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s attempt=%d elapsed_ms=%.1f retry_in_s=%s",
                method,
                path,
                outcome,
                attempt,
                (time.monotonic() - started) * 1000,
                "-" if retry_in is None else f"{retry_in:.3f}",
            )


def _client_timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=timeout.total, sock_connect=timeout.connect)


def _too_large(cap: int, length: int | None, method: str, url: str) -> NoReturn:
    size = f"{length} bytes" if length is not None else f"more than {cap} bytes"
    raise ResponseTooLargeError(
        f"response to {method} {url} is {size}, over max_response_bytes={cap}",
        limit=cap,
        method=method,
        url=url,
    )


def _decompressed_too_large(exc: BaseException) -> bool:
    return isinstance(exc, aiohttp.ClientPayloadError) and isinstance(
        exc.__cause__, _DECOMPRESS_SIZE
    )


def _replayable(method: str, exc: BaseException) -> bool:
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.TooManyRedirects | aiohttp.InvalidURL):
        return False
    if method != "POST":
        return True
    # A POST is replayed only when it certainly never left this machine.
    return isinstance(exc, (aiohttp.ClientConnectorError, *_CONNECT_TIMEOUT))


def _connection_error(exc: BaseException, method: str, url: URL) -> APIConnectionError:
    where = f"{method} {url}"
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(f"timed out on {where}", method=method, url=str(url))
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(
        f"connection failed on {where}: {type(exc).__name__}: {reason}", method=method, url=str(url)
    )


def _retry_after(headers: CIMultiDictProxy[str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, says RFC 5322, not local time
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - time.time())


def _status_error(response: Response, retry_after: float | None) -> Exception:
    body: Any
    try:
        body = msgspec.json.decode(response.body)
    except msgspec.DecodeError:
        body = snippet(response.body)
    request_id = next(
        (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
    )
    common: dict[str, Any] = {
        "status_code": response.status,
        "body": body,
        "method": response.method,
        "url": response.url,
        "request_id": request_id,
    }
    if response.status == 429:
        return RateLimitError(retry_after=retry_after, **common)
    return status_error_class(response.status)(**common)
