"""Constructing, configuring and closing the client."""

from __future__ import annotations

import re

import aiohttp
import pytest
from aioresponses import aioresponses

from polar_links import Polar, RateLimit, Timeout, __version__

from . import factories as f
from .conftest import BASE, LIST_URL, TOKEN, sent

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"


def test_no_token_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLAR_ACCESS_TOKEN", raising=False)
    with pytest.raises(
        ValueError,
        match=re.escape("no access token: pass access_token=... or set POLAR_ACCESS_TOKEN"),
    ):
        Polar()


async def test_the_token_falls_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, api: aioresponses
) -> None:
    monkeypatch.setenv("POLAR_ACCESS_TOKEN", "polar_oat_from_env")
    api.get(LIST_URL, payload=f.list_body([], total_count=0, max_page=0))
    async with Polar(base_url=BASE) as polar:
        await polar.checkout_links.list().first_page()
    [(_, call)] = sent(api)
    assert call["headers"]["Authorization"] == "Bearer polar_oat_from_env"


def test_environments_choose_the_base_url() -> None:
    assert Polar(TOKEN).base_url == "https://api.polar.sh"
    assert Polar(TOKEN, environment="sandbox").base_url == "https://sandbox-api.polar.sh"
    assert Polar(TOKEN, environment="sandbox", base_url="http://127.0.0.1:8080").base_url == (
        "http://127.0.0.1:8080"
    )


def test_default_rate_limits_follow_polars_documented_limits() -> None:
    assert Polar(TOKEN)._transport.throttle.limit == RateLimit(500, 60.0)
    assert Polar(TOKEN, environment="sandbox")._transport.throttle.limit == RateLimit(100, 60.0)
    assert Polar(TOKEN, base_url="http://127.0.0.1:9")._transport.throttle.limit is None
    assert Polar(TOKEN, rate_limit=None)._transport.throttle.limit is None


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"environment": "staging"},
            ValueError,
            "environment must be one of 'production', 'sandbox'",
        ),
        ({"base_url": "ftp://x"}, ValueError, "base_url must be an http:// or https:// URL"),
        ({"base_url": "http://api.example.com"}, ValueError, "plain http to a non-loopback host"),
        ({"api_version": "2026-10-01"}, ValueError, "api_version must look like '2026-10'"),
        ({"max_retries": -1}, ValueError, "max_retries must be an int from 0 to 10, got -1"),
        ({"concurrency": 100}, ValueError, "concurrency must be an int from 1 to 64, got 100"),
        ({"timeout": "30"}, TypeError, "timeout must be a Timeout or a number of seconds"),
        ({"timeout": -1}, ValueError, "Timeout.total must be a positive number of seconds"),
        ({"session": object()}, TypeError, "session must be an aiohttp.ClientSession, got object"),
        ({"rate_limit": 500}, TypeError, "rate_limit must be a RateLimit, 'auto' or None"),
    ],
)
def test_bad_configuration_is_rejected_at_construction(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        Polar(TOKEN, **kwargs)  # type: ignore[arg-type]


def test_a_token_with_whitespace_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="access_token must be a str without whitespace") as raised:
        Polar("polar_oat_abc\r\nX-Evil: 1")
    assert "polar_oat_abc" not in str(raised.value)


def test_plain_http_to_another_host_needs_an_explicit_opt_in() -> None:
    assert Polar(TOKEN, base_url="http://api.example.com", allow_insecure_http=True).base_url == (
        "http://api.example.com"
    )
    for host in ("127.0.0.1", "127.5.6.7", "[::1]", "localhost"):
        assert Polar(TOKEN, base_url=f"http://{host}:8000").base_url.startswith("http://")


async def test_every_request_names_polar_links_and_sends_the_api_version(api: aioresponses) -> None:
    api.get(f"{BASE}/v1/checkout-links/{LINK_ID}", payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE, api_version="2026-10") as polar:
        await polar.checkout_links.get(LINK_ID)
    [(_, kwargs)] = sent(api)
    headers = kwargs["headers"]
    assert headers["User-Agent"].startswith(f"polar-links/{__version__} ")
    assert headers["Polar-Version"] == "2026-10"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"


async def test_without_api_version_no_polar_version_header_is_sent(
    polar: Polar, api: aioresponses
) -> None:
    api.get(f"{BASE}/v1/checkout-links/{LINK_ID}", payload=f.link(id=LINK_ID))
    await polar.checkout_links.get(LINK_ID)
    [(_, kwargs)] = sent(api)
    assert "Polar-Version" not in kwargs["headers"]


async def test_per_call_timeout_is_passed_to_the_request(polar: Polar, api: aioresponses) -> None:
    api.get(f"{BASE}/v1/checkout-links/{LINK_ID}", payload=f.link(id=LINK_ID))
    await polar.checkout_links.get(LINK_ID, timeout=Timeout(total=3.0, connect=1.0))
    [(_, kwargs)] = sent(api)
    assert (kwargs["timeout"].total, kwargs["timeout"].sock_connect) == (3.0, 1.0)


async def test_using_a_closed_client_is_a_clear_error(api: aioresponses) -> None:
    polar = Polar(TOKEN, base_url=BASE)
    assert polar.closed is False  # a bool, as documented
    await polar.aclose()
    await polar.aclose()  # idempotent
    assert polar.closed is True
    assert "closed" in repr(polar)
    with pytest.raises(RuntimeError) as raised:
        await polar.checkout_links.get(LINK_ID)
    assert str(raised.value) == (
        "this Polar client is closed; create a new Polar(...) (or use `async with`)"
    )


async def test_an_injected_session_is_used_and_left_open(api: aioresponses) -> None:
    api.get(LIST_URL, payload=f.list_body([f.link()], total_count=1, max_page=1))
    async with aiohttp.ClientSession() as session:
        async with Polar(TOKEN, base_url=BASE, session=session) as polar:
            assert len(await polar.checkout_links.list().collect()) == 1
        assert not session.closed
        assert len(sent(api)) == 1


async def test_the_client_owns_and_closes_its_session_when_none_is_injected(
    api: aioresponses,
) -> None:
    async with Polar(TOKEN, base_url=BASE) as polar:
        session = polar._transport._session
        assert session is not None
        assert not session.closed
    assert session.closed
