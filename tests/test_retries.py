"""Retries, backoff, Retry-After, rate limiting, timeouts and wire safety (unit level)."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import time

import aiohttp
import pytest
from aioresponses import aioresponses

from polar_links import (
    APIConnectionError,
    APITimeoutError,
    Backoff,
    InternalServerError,
    NotFoundError,
    Polar,
    RateLimitError,
    ResponseTooLargeError,
)

from . import factories as f
from .conftest import BASE, FAST_BACKOFF, TOKEN, count_requests, sent

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
URL = f"{BASE}/v1/checkout-links/{LINK_ID}"
CREATE_URL = f"{BASE}/v1/checkout-links/"
PRODUCT = "5b9a4a5e-6f34-4d8a-9f57-0a1cbd2f7e11"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_a_retryable_status_shorter_than_the_budget_succeeds(
    polar: Polar, api: aioresponses, status: int
) -> None:
    api.get(URL, status=status, payload={"detail": "try again"})
    api.get(URL, status=status, payload={"detail": "try again"})
    api.get(URL, payload=f.link(id=LINK_ID))
    link = await polar.checkout_links.get(LINK_ID)
    assert link.id == LINK_ID
    assert count_requests(api) == 3


async def test_a_burst_longer_than_the_budget_raises_after_max_retries_plus_one_attempts(
    polar: Polar, api: aioresponses
) -> None:
    for _ in range(3):
        api.get(URL, status=503, payload={"detail": "down"})
    with pytest.raises(InternalServerError, match="down"):
        await polar.checkout_links.get(LINK_ID)
    assert count_requests(api) == 3


async def test_max_retries_per_call_overrides_the_client(polar: Polar, api: aioresponses) -> None:
    api.get(URL, status=503, payload={"detail": "down"})
    with pytest.raises(InternalServerError):
        await polar.checkout_links.get(LINK_ID, max_retries=0)
    assert count_requests(api) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_client_errors_are_never_retried(
    polar: Polar, api: aioresponses, status: int
) -> None:
    api.get(URL, status=status, payload={"detail": "no"}, repeat=True)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the class is covered in test_errors
        await polar.checkout_links.get(LINK_ID)
    assert count_requests(api) == 1


async def test_retry_after_seconds_is_honoured(api: aioresponses) -> None:
    api.get(URL, status=503, payload={}, headers={"Retry-After": "0.2"})
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE, backoff=Backoff(initial=0.001, maximum=0.001)) as polar:
        started = time.monotonic()
        await polar.checkout_links.get(LINK_ID)
        assert time.monotonic() - started >= 0.19


async def test_retry_after_as_an_http_date_is_honoured(api: aioresponses) -> None:
    when = email.utils.formatdate(time.time() + 1.2, usegmt=True)
    api.get(URL, status=429, payload={}, headers={"Retry-After": when})
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE) as polar:
        started = time.monotonic()
        await polar.checkout_links.get(LINK_ID)
        # One-second resolution of HTTP dates: at least a few hundred ms remain.
        assert time.monotonic() - started >= 0.15


async def test_retry_after_is_capped(api: aioresponses) -> None:
    api.get(URL, status=503, payload={}, headers={"Retry-After": "3600"})
    api.get(URL, payload=f.link(id=LINK_ID))
    backoff = Backoff(initial=0.001, maximum=0.001, max_retry_after=0.05)
    async with Polar(TOKEN, base_url=BASE, backoff=backoff) as polar:
        started = time.monotonic()
        await polar.checkout_links.get(LINK_ID)
        assert time.monotonic() - started < 5


async def test_a_429_pauses_every_request_of_the_client(api: aioresponses) -> None:
    api.get(URL, status=429, payload={}, headers={"Retry-After": "0.3"})
    api.get(URL, payload=f.link(id=LINK_ID), repeat=True)
    other = f"{BASE}/v1/checkout-links/{PRODUCT}"
    api.get(other, payload=f.link(id=PRODUCT), repeat=True)
    async with Polar(
        TOKEN, base_url=BASE, backoff=FAST_BACKOFF.__class__(max_retry_after=1.0)
    ) as polar:
        first = asyncio.create_task(polar.checkout_links.get(LINK_ID))
        await asyncio.sleep(0.05)  # the 429 has been received: the cooldown is on
        started = time.monotonic()
        await polar.checkout_links.get(PRODUCT)
        waited = time.monotonic() - started
        await first
    assert waited >= 0.2


async def test_post_is_not_replayed_after_a_5xx(polar: Polar, api: aioresponses) -> None:
    api.post(CREATE_URL, status=503, payload={"detail": "maybe created"})
    api.post(CREATE_URL, status=201, payload=f.link())
    with pytest.raises(InternalServerError):
        await polar.checkout_links.create(products=[PRODUCT])
    assert len(sent(api, "POST")) == 1


async def test_post_is_not_replayed_after_a_dropped_connection(
    polar: Polar, api: aioresponses
) -> None:
    api.post(CREATE_URL, exception=aiohttp.ServerDisconnectedError())
    api.post(CREATE_URL, status=201, payload=f.link())
    with pytest.raises(APIConnectionError):
        await polar.checkout_links.create(products=[PRODUCT])
    assert len(sent(api, "POST")) == 1


async def test_post_is_not_replayed_after_a_read_timeout(polar: Polar, api: aioresponses) -> None:
    api.post(CREATE_URL, exception=asyncio.TimeoutError())
    api.post(CREATE_URL, status=201, payload=f.link())
    with pytest.raises(APITimeoutError):
        await polar.checkout_links.create(products=[PRODUCT])
    assert len(sent(api, "POST")) == 1


async def test_post_is_retried_when_the_connection_was_never_made(
    polar: Polar, api: aioresponses
) -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("polar.test", 443, True, True, None, None, None),
        OSError(111, "Connection refused"),
    )
    api.post(CREATE_URL, exception=refused)
    created = f.link()
    api.post(CREATE_URL, status=201, payload=created)
    link = await polar.checkout_links.create(products=[PRODUCT])
    assert link.id == created["id"]
    assert len(sent(api, "POST")) == 2


async def test_create_takes_max_retries_per_call(polar: Polar, api: aioresponses) -> None:
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey("polar.test", 443, True, True, None, None, None),
        OSError(111, "Connection refused"),
    )
    api.post(CREATE_URL, exception=refused)
    api.post(CREATE_URL, status=201, payload=f.link())
    with pytest.raises(APIConnectionError, match="Connection refused"):
        await polar.checkout_links.create(products=[PRODUCT], max_retries=0)
    assert len(sent(api, "POST")) == 1


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("truncated"),
        aiohttp.ClientOSError(),
    ],
)
async def test_get_is_retried_after_transport_failures(
    polar: Polar, api: aioresponses, exc: Exception
) -> None:
    api.get(URL, exception=exc)
    api.get(URL, payload=f.link(id=LINK_ID))
    assert (await polar.checkout_links.get(LINK_ID)).id == LINK_ID


async def test_timeouts_raise_api_timeout_error_after_retries(
    polar: Polar, api: aioresponses
) -> None:
    for _ in range(3):
        api.get(URL, exception=asyncio.TimeoutError())
    with pytest.raises(APITimeoutError, match=f"timed out on GET {URL}"):
        await polar.checkout_links.get(LINK_ID)
    assert count_requests(api) == 3


async def test_429_on_post_raises_rate_limit_error_without_replay(
    polar: Polar, api: aioresponses
) -> None:
    api.post(CREATE_URL, status=429, payload={}, headers={"Retry-After": "0"})
    with pytest.raises(RateLimitError):
        await polar.checkout_links.create(products=[PRODUCT])
    assert len(sent(api, "POST")) == 1


async def test_each_attempt_is_logged_at_debug_without_the_token(
    polar: Polar, api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(URL, status=503, payload={})
    api.get(URL, payload=f.link(id=LINK_ID))
    with caplog.at_level(logging.DEBUG, logger="polar_links"):
        await polar.checkout_links.get(LINK_ID)
    lines = [r.getMessage() for r in caplog.records if r.name == "polar_links"]
    assert len(lines) == 2
    assert lines[0].startswith(f"GET /v1/checkout-links/{LINK_ID} -> 503 attempt=1 elapsed_ms=")
    assert "retry_in_s=0.0" in lines[0]
    assert lines[1].startswith(f"GET /v1/checkout-links/{LINK_ID} -> 200 attempt=2")
    assert lines[1].endswith("retry_in_s=-")
    assert TOKEN not in caplog.text


async def test_a_body_over_max_response_bytes_is_refused(api: aioresponses) -> None:
    api.get(URL, body=b"x" * 5000)
    async with Polar(TOKEN, base_url=BASE, max_response_bytes=1024) as polar:
        with pytest.raises(ResponseTooLargeError, match="over max_response_bytes=1024"):
            await polar.checkout_links.get(LINK_ID)


async def test_a_redirect_to_another_host_does_not_carry_the_token(
    polar: Polar, api: aioresponses
) -> None:
    api.get(URL, status=307, headers={"Location": "https://elsewhere.test/v1/link"})
    api.get("https://elsewhere.test/v1/link", payload=f.link(id=LINK_ID))
    await polar.checkout_links.get(LINK_ID)
    [(_, first)] = [c for c in sent(api) if c[0] == URL]
    [(_, second)] = [c for c in sent(api) if c[0].startswith("https://elsewhere.test")]
    assert first["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in second["headers"]


async def test_a_redirect_on_the_same_host_keeps_the_token(polar: Polar, api: aioresponses) -> None:
    api.get(URL, status=308, headers={"Location": f"{URL}/"})
    api.get(f"{URL}/", payload=f.link(id=LINK_ID))
    await polar.checkout_links.get(LINK_ID)
    [(_, second)] = [c for c in sent(api) if c[0] == f"{URL}/"]
    assert second["headers"]["Authorization"] == f"Bearer {TOKEN}"


# ------------------------------------------------------------ token bucket (virtual time)


async def test_a_not_found_is_raised_without_retry_even_with_a_large_budget(
    api: aioresponses,
) -> None:
    api.get(URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    async with Polar(TOKEN, base_url=BASE, max_retries=10) as polar:
        with pytest.raises(NotFoundError):
            await polar.checkout_links.get(LINK_ID)
    assert count_requests(api) == 1


async def test_a_404_to_a_retried_delete_means_the_first_attempt_deleted_it(
    polar: Polar, api: aioresponses
) -> None:
    api.delete(URL, status=503, payload={"error": "ServiceUnavailable", "detail": "busy"})
    api.delete(URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    assert await polar.checkout_links.delete(LINK_ID) is None
    assert count_requests(api) == 2


async def test_a_404_to_the_first_delete_attempt_is_not_found(
    polar: Polar, api: aioresponses
) -> None:
    api.delete(URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    with pytest.raises(NotFoundError, match="Not found"):
        await polar.checkout_links.delete(LINK_ID)
    assert count_requests(api) == 1


async def test_a_404_to_a_retried_get_is_still_not_found(polar: Polar, api: aioresponses) -> None:
    api.get(URL, status=503, payload={"error": "ServiceUnavailable", "detail": "busy"})
    api.get(URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    with pytest.raises(NotFoundError):
        await polar.checkout_links.get(LINK_ID)


async def test_429s_do_not_use_up_max_retries(api: aioresponses) -> None:
    for _ in range(4):
        api.get(URL, status=429, payload={}, headers={"Retry-After": "0"})
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE, max_retries=1, backoff=FAST_BACKOFF) as polar:
        assert (await polar.checkout_links.get(LINK_ID)).id == LINK_ID
    assert count_requests(api) == 5


async def test_a_retry_after_beyond_the_rate_limit_patience_raises_at_once(
    api: aioresponses,
) -> None:
    api.get(URL, status=429, payload={"detail": "slow down"}, headers={"Retry-After": "30"})
    backoff = Backoff(max_rate_limit_wait=10.0)
    async with Polar(TOKEN, base_url=BASE, backoff=backoff) as polar:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as raised:
            await polar.checkout_links.get(LINK_ID)
        assert time.monotonic() - started < 5  # it did not wait 10 s for nothing
    assert raised.value.retry_after == 30.0
    assert count_requests(api) == 1


async def test_429s_are_retried_until_the_patience_since_the_first_runs_out(
    api: aioresponses,
) -> None:
    for _ in range(10):
        api.get(URL, status=429, payload={}, headers={"Retry-After": "0.04"})
    backoff = Backoff(max_rate_limit_wait=0.1)
    async with Polar(TOKEN, base_url=BASE, backoff=backoff) as polar:
        with pytest.raises(RateLimitError):
            await polar.checkout_links.get(LINK_ID)
    # 0.04 s waits fit twice at most into 0.1 s from the first 429: 3 requests, or 2 on a
    # machine slow enough that the second arrives late.
    assert count_requests(api) in (2, 3)


async def test_a_404_after_only_429s_is_not_found_even_for_delete(
    polar: Polar, api: aioresponses
) -> None:
    # A 429 was never processed, so the 404 is about the id, not about an earlier attempt.
    api.delete(URL, status=429, payload={}, headers={"Retry-After": "0"})
    api.delete(URL, status=404, payload={"error": "ResourceNotFound", "detail": "Not found"})
    with pytest.raises(NotFoundError):
        await polar.checkout_links.delete(LINK_ID)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("17", 17.0),
        ("0.25", 0.25),
        ("-3", 0.0),
        ("inf", None),
        ("nan", None),
        ("soon", None),
    ],
)
async def test_retry_after_values_are_read_safely(
    api: aioresponses, header: str, expected: float | None
) -> None:
    api.get(URL, status=429, payload={}, headers={"Retry-After": header})
    async with Polar(TOKEN, base_url=BASE, max_retries=0) as polar:
        with pytest.raises(RateLimitError) as raised:
            await polar.checkout_links.get(LINK_ID)
    assert raised.value.retry_after == expected


async def test_an_http_date_in_minus_0000_is_utc_not_local_time(
    api: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # far from UTC
    time.tzset()
    try:
        naive = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        when = email.utils.format_datetime(naive + datetime.timedelta(seconds=30))  # "-0000"
        assert when.endswith("-0000")
        api.get(URL, status=429, payload={}, headers={"Retry-After": when})
        async with Polar(TOKEN, base_url=BASE, max_retries=0) as polar:
            with pytest.raises(RateLimitError) as raised:
                await polar.checkout_links.get(LINK_ID)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert raised.value.retry_after == pytest.approx(30, abs=2)


async def test_endless_429s_with_retry_after_zero_end_within_the_patience(
    api: aioresponses,
) -> None:
    api.get(URL, status=429, payload={}, headers={"Retry-After": "0"}, repeat=True)
    backoff = Backoff(initial=0.01, maximum=0.02, max_rate_limit_wait=0.3)
    async with Polar(TOKEN, base_url=BASE, backoff=backoff) as polar:
        started = time.monotonic()
        with pytest.raises(RateLimitError):
            await asyncio.wait_for(polar.checkout_links.get(LINK_ID), timeout=10)
        assert time.monotonic() - started < 2
    # It backed off between attempts instead of sending them back to back.
    assert count_requests(api) < 100
