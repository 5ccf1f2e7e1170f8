"""The token never leaves the client except in the Authorization header to the API host:
not in an exception, anything reachable from one (args, attributes, the cause/context
chain with aiohttp's request_info, a traceback printed with its locals), a log record
of any logger at DEBUG, or a warning. Over real sockets."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import traceback
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from polar_links import (
    APIConnectionError,
    AuthenticationError,
    InvalidArgumentError,
    InvalidResponseError,
    Polar,
    PolarError,
    ResponseTooLargeError,
    SyncPolar,
    Timeout,
)
from polar_links.testing import PolarTestServer

from . import factories as f
from .conftest import FAST_BACKOFF, serve

pytestmark = pytest.mark.usefixtures("strict_loop")

TOKEN = "polar_oat_SECRET_never_printed_4f9c2a"
LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reachable(exc: BaseException) -> str:
    """Everything an error reporter or a debugger can print from ``exc``: str and repr
    of it, its args and attributes (one level into objects such as aiohttp's
    request_info), the same for every exception of its cause/context chain, and the
    traceback formatted with local variables."""
    parts: list[str] = []

    def show(value: Any, depth: int = 0) -> None:
        parts.append(repr(value))
        parts.append(str(value))
        if depth < 2:
            attributes = getattr(value, "__dict__", None)
            if isinstance(value, tuple):
                attributes = dict(enumerate(value))
            for item in (attributes or {}).values():
                show(item, depth + 1)

    seen: set[int] = set()
    queue: list[BaseException | None] = [exc]
    while queue:
        current = queue.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        show(current)
        show(current.args)
        for value in vars(current).values():
            show(value)
        queue += [current.__cause__, current.__context__]
    # The traceback from the first frame of the SDK on (the test's own frames hold what
    # the test passed in).
    tb = exc.__traceback__
    while tb is not None and "/tests/" in tb.tb_frame.f_code.co_filename:
        tb = tb.tb_next
    exc.with_traceback(tb)
    parts.extend(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    return "\n".join(parts)


class Upstream:
    """A small API answering every request with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handler(request)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        return app


def answer(status: int, body: bytes = b"", **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, headers=headers)

    return handler


async def echo_token(request: web.Request) -> web.StreamResponse:
    token = request.headers.get("Authorization", "").partition(" ")[2]
    return web.json_response(
        {"error": "Unauthorized", "detail": f"token {token} is not valid", "token": [token]},
        status=401,
        headers={"X-Request-Id": f"req-{token}"},
    )


async def echo_token_in_200(request: web.Request) -> web.StreamResponse:
    token = request.headers.get("Authorization", "").partition(" ")[2]
    return web.Response(status=200, body=f"not json, but {token}".encode())


async def hang(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(5)
    return web.Response()


#: Upstreams that make the client raise, and what it raises.
FAILURES: dict[str, tuple[Handler, type[PolarError]]] = {
    "redirect loop": (
        answer(307, Location=f"/v1/checkout-links/{LINK_ID}"),
        InvalidResponseError,
    ),
    "malformed Location": (answer(302, Location="http://[::1"), InvalidResponseError),
    "3xx without Location": (answer(302), InvalidResponseError),
    "body over the cap": (answer(200, b"x" * 5000), ResponseTooLargeError),
    "token echoed in a 401": (echo_token, AuthenticationError),
    "token echoed in a 200 that is not JSON": (echo_token_in_200, InvalidResponseError),
    "timeout": (hang, APIConnectionError),
}


def failing_client(url: str) -> Polar:
    """A client on which every case of FAILURES fails fast."""
    return Polar(
        TOKEN,
        base_url=url,
        max_response_bytes=1024,
        timeout=Timeout(total=0.2),
        max_retries=1,
        backoff=FAST_BACKOFF,
    )


@pytest.mark.parametrize("case", list(FAILURES))
async def test_the_token_is_not_reachable_from_any_error(case: str) -> None:
    handler, error = FAILURES[case]
    async with (
        serve(Upstream(handler).app()) as url,
        failing_client(url) as polar,
    ):
        with pytest.raises(error) as raised:
            await polar.checkout_links.get(LINK_ID)
    text = reachable(raised.value)
    assert TOKEN not in text
    assert "Traceback (most recent call last)" in text


async def test_a_refused_connection_reaches_no_token() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with Polar(TOKEN, base_url=f"http://127.0.0.1:{port}", backoff=FAST_BACKOFF) as polar:
        with pytest.raises(APIConnectionError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert TOKEN not in reachable(raised.value)


async def test_a_dropped_connection_reaches_no_token() -> None:
    async with PolarTestServer(links=3, token=TOKEN) as server:
        server.faults.drop_next(3, mode="truncate")
        async with Polar(TOKEN, base_url=server.base_url, backoff=FAST_BACKOFF) as polar:
            with pytest.raises(APIConnectionError) as raised:
                await polar.checkout_links.list().first_page()
    assert TOKEN not in reachable(raised.value)


async def test_no_error_chains_to_an_aiohttp_exception() -> None:
    handler, _ = FAILURES["redirect loop"]
    async with (
        serve(Upstream(handler).app()) as url,
        Polar(TOKEN, base_url=url, backoff=FAST_BACKOFF) as polar,
    ):
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None


async def test_a_token_echoed_by_the_server_is_scrubbed_from_the_error() -> None:
    async with (
        serve(Upstream(echo_token).app()) as url,
        Polar(TOKEN, base_url=url) as polar,
    ):
        with pytest.raises(AuthenticationError) as raised:
            await polar.checkout_links.get(LINK_ID)
    error = raised.value
    assert str(error).endswith("token *** is not valid (request id req-***)")
    assert error.detail == "token *** is not valid"
    assert error.body == {
        "error": "Unauthorized",
        "detail": "token *** is not valid",
        "token": ["***"],
    }
    assert error.request_id == "req-***"


# ------------------------------------------------------------ logs and warnings


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def every_log() -> Iterator[Records]:
    """Every record of every logger at DEBUG (aiohttp's and asyncio's included)."""
    records = Records()
    records.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    loggers = [root] + [
        logging.getLogger(name)
        for name in ("aiohttp", "aiohttp.client", "aiohttp.internal", "asyncio", "polar_links")
    ]
    levels = [logger.level for logger in loggers]
    root.addHandler(records)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(records)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


async def test_no_log_record_and_no_warning_holds_the_token(every_log: Records) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for handler, error in FAILURES.values():
            async with (
                serve(Upstream(handler).app()) as url,
                failing_client(url) as polar,
            ):
                with pytest.raises(error):
                    await polar.checkout_links.get(LINK_ID)
        async with PolarTestServer(links=5, token=TOKEN) as server:
            server.faults.fail_next(1, 503)
            async with Polar(TOKEN, base_url=server.base_url, backoff=FAST_BACKOFF) as polar:
                await polar.checkout_links.list().collect()
    assert any("polar_links DEBUG GET /v1/checkout-links/" in line for line in every_log.lines)
    assert TOKEN not in "\n".join(every_log.lines)
    assert TOKEN not in "\n".join(str(w.message) for w in caught)


# ------------------------------------------------------------ construction


@pytest.mark.parametrize(
    "token",
    [
        "polar_oat_caf\u00e9_SECRET",
        "polar_oat_\u200bSECRET",
        "polar_oat_SECRET\x00",
        "polar_oat_SECRET\x7f",
        "polar_oat_SECRET\r\nX-Evil: 1",
    ],
    ids=["non-ascii", "zero-width space", "NUL", "DEL", "CRLF"],
)
def test_a_token_outside_printable_ascii_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        Polar(token)
    message = str(raised.value)
    assert "access_token must be a str without whitespace, control or non-ASCII characters" in (
        message
    )
    assert "SECRET" not in reachable(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_construction_error_of_either_client_shows_no_token_in_its_locals() -> None:
    for client in (Polar, SyncPolar):
        with pytest.raises(InvalidArgumentError) as raised:
            client(TOKEN, environment="staging")  # type: ignore[arg-type]
        assert "environment must be one of" in str(raised.value)
        assert TOKEN not in reachable(raised.value)


def test_a_base_url_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        Polar(TOKEN, base_url="https://admin:hunter2@api.example.com")
    message = str(raised.value)
    assert message.startswith("base_url must not contain a user name or password (user:password@)")
    assert "'https://api.example.com' with credentials removed" in message
    assert "hunter2" not in message
    assert "admin" not in message


@pytest.mark.parametrize("base_url", ["https://api.example.com:99999", "http://[::1"])
def test_a_base_url_that_does_not_parse_is_refused_clearly(base_url: str) -> None:
    with pytest.raises(InvalidArgumentError, match="base_url must be an http:// or https:// URL"):
        Polar(TOKEN, base_url=base_url)


# ------------------------------------------------------------ https -> http downgrade


class LoopbackResolver(aiohttp.abc.AbstractResolver):
    """Resolves every ``*.test`` host to 127.0.0.1, so real sockets can play hosts that
    are not loopback by name."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[dict[str, Any]]:  # type: ignore[override]
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def downgrade() -> AsyncIterator[tuple[str, list[dict[str, str]], aiohttp.ClientSession]]:
    """An https API at ``api.polar.test`` redirecting to plain http at ``plain.test``;
    yields the API's base URL, the requests the plain host received, and a session
    trusting the API's certificate and resolving both names to this machine."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("api.polar.test").configure_cert(server_context)
    seen: list[dict[str, str]] = []

    async def plain(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        return web.json_response(f.link(id=LINK_ID))

    plain_app = web.Application()
    plain_app.router.add_get("/{tail:.*}", plain)
    async with serve(plain_app) as plain_url:
        port = plain_url.rsplit(":", 1)[1]
        target = f"http://plain.test:{port}/v1/checkout-links/{LINK_ID}"
        api = web.Application()
        api.router.add_get("/{tail:.*}", answer(302, Location=target))
        runner = web.AppRunner(api)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
        await site.start()
        client_context = ssl.create_default_context()
        authority.configure_trust(client_context)
        connector = aiohttp.TCPConnector(resolver=LoopbackResolver(), ssl=client_context)
        try:
            async with aiohttp.ClientSession(connector=connector) as session:
                yield f"https://api.polar.test:{runner.addresses[0][1]}", seen, session
        finally:
            await runner.cleanup()


async def test_a_redirect_from_https_to_plain_http_is_refused(
    downgrade: tuple[str, list[dict[str, str]], aiohttp.ClientSession],
) -> None:
    base_url, seen, session = downgrade
    async with Polar(TOKEN, base_url=base_url, session=session) as polar:
        with pytest.raises(InvalidResponseError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert "answered 302 with a redirect to http://plain.test:" in str(raised.value)
    assert "plain http to a non-loopback host: refused, as a plain-http base_url would be" in str(
        raised.value
    )
    assert "allow_insecure_http=True" in str(raised.value)
    assert seen == []  # nothing went out in clear


async def test_allow_insecure_http_allows_the_downgrade_without_the_token(
    downgrade: tuple[str, list[dict[str, str]], aiohttp.ClientSession],
) -> None:
    base_url, seen, session = downgrade
    async with Polar(TOKEN, base_url=base_url, session=session, allow_insecure_http=True) as polar:
        assert (await polar.checkout_links.get(LINK_ID)).id == LINK_ID
    assert len(seen) == 1
    assert "Authorization" not in seen[0]
