"""The DEBUG line of each attempt for a 429: the status, the attempt and the wait before
the next attempt (from Retry-After, or the backoff when there is none)."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest
from aioresponses import aioresponses

from polar_links import Backoff, Polar

from . import factories as f
from .conftest import BASE, LIST_URL, TOKEN

LINK_ID = "3f2c9a4e-1b2d-4c3e-8f4a-5b6c7d8e9f01"
URL = f"{BASE}/v1/checkout-links/{LINK_ID}"


def polar_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "polar_links"]


async def test_a_429_with_retry_after_logs_its_wait(
    api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(URL, status=429, headers={"Retry-After": "0.05"}, payload={})
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE) as polar:
        with caplog.at_level(logging.DEBUG, logger="polar_links"):
            await polar.checkout_links.get(LINK_ID)
    first, second = polar_lines(caplog)
    assert re.fullmatch(
        rf"GET /v1/checkout-links/{LINK_ID} -> 429 attempt=1 elapsed_ms=\d+\.\d retry_in_s=0\.050",
        first,
    )
    assert re.fullmatch(
        rf"GET /v1/checkout-links/{LINK_ID} -> 200 attempt=2 elapsed_ms=\d+\.\d retry_in_s=-",
        second,
    )


async def test_a_429_without_retry_after_logs_a_backoff_within_the_first_bound(
    api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(URL, status=429, payload={})
    api.get(URL, status=429, payload={})
    api.get(URL, payload=f.link(id=LINK_ID))
    backoff = Backoff(initial=0.04, maximum=1.0)
    async with Polar(TOKEN, base_url=BASE, backoff=backoff) as polar:
        with caplog.at_level(logging.DEBUG, logger="polar_links"):
            await polar.checkout_links.get(LINK_ID)
    lines = polar_lines(caplog)
    assert [line.split(" -> ")[1].split(" ")[0] for line in lines] == ["429", "429", "200"]
    waits = [float(line.rsplit("retry_in_s=", 1)[1]) for line in lines[:2]]
    assert 0.0 <= waits[0] <= 0.04  # full jitter up to initial * 2**0
    assert 0.0 <= waits[1] <= 0.08  # then up to initial * 2**1


async def test_a_list_request_logs_its_query_so_the_page_is_visible(
    api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(LIST_URL, payload=f.list_body([f.link(id=LINK_ID)], total_count=1, max_page=1))
    async with Polar(TOKEN, base_url=BASE) as polar:
        with caplog.at_level(logging.DEBUG, logger="polar_links"):
            page = await polar.checkout_links.list(limit=7).first_page()
    assert [link.id for link in page.items] == [LINK_ID]
    (line,) = polar_lines(caplog)
    assert re.fullmatch(
        r"GET /v1/checkout-links/\?page=1&limit=7 -> 200 attempt=1 "
        r"elapsed_ms=\d+\.\d retry_in_s=-",
        line,
    ), line


async def test_a_failed_attempt_logs_the_error_it_got(
    api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(URL, exception=aiohttp.ServerDisconnectedError())
    api.get(URL, payload=f.link(id=LINK_ID))
    async with Polar(TOKEN, base_url=BASE, backoff=Backoff(initial=0.01, maximum=0.02)) as polar:
        with caplog.at_level(logging.DEBUG, logger="polar_links"):
            await polar.checkout_links.get(LINK_ID)
    first, second = polar_lines(caplog)
    assert re.fullmatch(
        rf"GET /v1/checkout-links/{LINK_ID} -> APIConnectionError attempt=1 "
        r"elapsed_ms=\d+\.\d retry_in_s=0\.0[0-2]\d",
        first,
    ), first
    assert " -> 200 attempt=2 " in second
