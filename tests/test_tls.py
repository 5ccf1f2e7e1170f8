"""TLS over real sockets: verification is on by default, a custom SSLContext is used,
and a certificate the client does not trust fails at once, typed and without retries."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
from aiohttp import web

from polar_links import APIConnectionError, InvalidArgumentError, Polar
from polar_links.testing import create_app

TOKEN = "polar_oat_tls_test_token"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def https_url(authority: trustme.CA) -> AsyncIterator[str]:
    """The bundled API app served over HTTPS with a certificate from ``authority``."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    runner = web.AppRunner(create_app(token=TOKEN))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_a_certificate_the_client_does_not_trust_fails_without_retries(
    https_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="polar_links")
    async with Polar(TOKEN, base_url=https_url, max_retries=3) as polar:
        with pytest.raises(APIConnectionError, match=r"[Cc]ertificate"):
            await polar.checkout_links.list().first_page()
    attempts = [r for r in caplog.records if "attempt=" in r.getMessage()]
    assert len(attempts) == 1  # the same certificate would fail again: no retry


async def test_a_custom_ssl_context_that_trusts_the_authority_works(
    https_url: str, authority: trustme.CA
) -> None:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    async with Polar(TOKEN, base_url=https_url, ssl=context) as polar:
        page = await polar.checkout_links.list(limit=5).first_page()
    assert len(page.items) == 5


async def test_ssl_with_an_injected_session_is_refused() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidArgumentError, match="set the SSL context on that session"):
            Polar(TOKEN, session=session, ssl=ssl.create_default_context())
