"""The HTTP layer: one aiohttp session per client, headers, retries with backoff,
rate limiting, redirects, body-size cap, and mapping every failure to a PolarError.

This is the only module that touches aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import ssl as ssl_module
import time
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._config import Backoff, Timeout
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    InvalidArgumentTypeError,
    ResponseTooLargeError,
    snippet,
    status_error,
)
from ._options import CallOptions
from ._ratelimit import Throttle
from ._retry import Answer, Failure, RetryRules, RetryState, Verdict, decide, parse_retry_after
from ._security import Secret
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
        options: CallOptions,
        *,
        query: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        gone_is_done: bool = False,
    ) -> Response:
        """Send one API request with ``options`` (timeout per attempt, retries), retrying
        as :func:`~polar_links._retry.decide` says, and return its 2xx response.

        Raises an :class:`APIStatusError` subclass for a 4xx/5xx answer,
        :class:`APIConnectionError`/:class:`APITimeoutError` for transport failures.
        ``gone_is_done``: a 404 after an attempt that may have been applied is returned
        as a response (a DELETE whose answer was lost has done its job).
        """
        session = self._get_session()
        url = self.base_url.with_path(self.base_url.path.rstrip("/") + path, encoded=True)
        query = [*(query or ()), *options.extra_query]
        if query:
            url = url.with_query(query)
        shown = f"{path}?{url.raw_query_string}" if query else path  # for the log: page numbers
        rules = RetryRules(method, options.max_retries, self.backoff, gone_is_done)
        client_timeout = _client_timeout(options.timeout)
        state = RetryState()
        sent = 0  # every attempt, 429s included
        while True:
            slot = await self.throttle.acquire()
            sent += 1
            started = time.monotonic()
            try:
                result = await self._attempt(
                    session, method, url, body, client_timeout, options.extra_headers
                )
            finally:
                # The server stamped the request between sending and now: the budget
                # counts it until ``per`` seconds from now.
                slot.release()
            retry_after = None
            if isinstance(result, Response):
                retry_after = parse_retry_after(result.headers.get("Retry-After"), time.time())
                outcome: Answer | Failure = Answer(result.status, retry_after)
            else:
                outcome = _failure(result)
            decision = decide(rules, state, outcome, time.monotonic())
            if decision.cool_down is not None:
                self.throttle.cool_down(decision.cool_down)
            self._log(method, shown, result, sent, started, decision.wait)
            if decision.verdict is Verdict.DONE and isinstance(result, Response):
                return result
            if decision.verdict is Verdict.STOP:
                if isinstance(result, Response):
                    raise _status_error(result, retry_after, self._headers)
                raise _error(result, method, url, sent) from result
            state = decision.state
            # After a 429 the throttle holds the next attempt until the cooldown is over.
            if decision.cool_down is None and decision.wait:
                await asyncio.sleep(decision.wait)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> Response | BaseException:
        """Send once: the response, or the network failure that stopped it."""
        try:
            return await self._send(session, method, url, body, timeout, extra_headers)
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
            return exc

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
        headers["Authorization"] = f"Bearer {self._token.reveal()}"
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

    def _log(
        self,
        method: str,
        path: str,
        result: Response | BaseException,
        attempt: int,
        started: float,
        retry_in: float | None,
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            outcome: int | str = (
                result.status if isinstance(result, Response) else _error_name(result)
            )
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


def _failure(exc: BaseException) -> Failure:
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.TooManyRedirects | aiohttp.InvalidURL):
        return Failure.FINAL
    if isinstance(exc, (aiohttp.ClientConnectorError, *_CONNECT_TIMEOUT)):
        return Failure.NOT_SENT
    return Failure.MAYBE_SENT


def _error_name(exc: BaseException) -> str:
    return "APITimeoutError" if isinstance(exc, asyncio.TimeoutError) else "APIConnectionError"


def _error(exc: BaseException, method: str, url: URL, attempts: int) -> APIConnectionError:
    where = f"{method} {url} after {attempts} attempt{'' if attempts == 1 else 's'}"
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            f"timed out on {where}", method=method, url=str(url), attempts=attempts
        )
    reason = str(exc) or type(exc).__name__
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
    except msgspec.DecodeError:
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
