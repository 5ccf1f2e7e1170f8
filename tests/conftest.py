"""Shared fixtures: a mocked API (aioresponses) and a client pointed at it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from polar_links import Backoff, Polar

BASE = "https://polar.test"
TOKEN = "polar_oat_SECRET_unit_test_token"
LIST_URL = re.compile(r"^https://polar\.test/v1/checkout-links/(\?.*)?$")
#: Backoff short enough that retry tests take milliseconds.
FAST_BACKOFF = Backoff(initial=0.001, maximum=0.002, max_retry_after=0.05)


@pytest.fixture
def api() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture
async def polar(api: aioresponses) -> AsyncIterator[Polar]:
    async with Polar(TOKEN, base_url=BASE, backoff=FAST_BACKOFF) as client:
        yield client


def sent(api: aioresponses, method: str = "GET") -> list[tuple[str, dict[str, Any]]]:
    """Every request the mock received for ``method``, as (url, call kwargs)."""
    return [
        (str(url), call.kwargs)
        for (m, url), calls in api.requests.items()
        if m == method
        for call in calls
    ]


def count_requests(api: aioresponses) -> int:
    """How many requests the mock received, all methods together."""
    return sum(len(calls) for calls in api.requests.values())
