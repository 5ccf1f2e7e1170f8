"""Decode CPU time of one 100-link list page, and how long a huge page holds the loop.

Pages (same 100 links, ``generate_links(100, seed=1)``):
* ``floor``: plain msgspec decoding the clean page into the same models (the floor);
* ``sdk``: the SDK's ``decode_list`` on the clean page (its fast strict path);
* ``sdk_drifted``: the SDK on a page where one link has a price kind it does not know;
* ``sdk_repairs``: the SDK on a page where every link drifts (``drift_links``: a new
  price kind and a new benefit kind in every product, a new enum value, fields the
  schema does not list, optional fields missing), i.e. every link needs repairs.

Each is timed in CPU time (``time.process_time``), in rounds that alternate the four,
and the median of the rounds is reported: on a shared machine the ratios of one run are
what to compare.

The loop check decodes a page of about 26 MB in which every link drifts with
``decode_list_async`` while a ticker task runs every millisecond, and reports the
longest gap between ticks (how long the event loop was held), next to the time the
same page takes to decode in one synchronous call (what it would have held the loop).

    python -m benchmarks.decode        # prints one JSON line (milliseconds)
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from polar_links._decoding import decode_list, decode_list_async
from polar_links._models import ListResponse
from polar_links.testing import drift_links, generate_links

PAGE = 100
ROUNDS = 40
HUGE_LINKS = 8_000  # about 26 MB


def _body(items: list[dict[str, Any]]) -> bytes:
    pagination = {"total_count": len(items), "max_page": 1}
    return msgspec.json.encode({"items": items, "pagination": pagination})


def _cpu_ms(fn: Callable[[], object], loops: int) -> float:
    # Start each case with no collection pending, so it is not billed for the garbage
    # collector's work on what the case before it allocated.
    gc.collect()
    started = time.process_time()
    for _ in range(loops):
        fn()
    return (time.process_time() - started) / loops * 1e3


def _check(body: bytes, links: int) -> None:
    items, _, skipped = decode_list(body)
    if len(items) != links or skipped:
        raise RuntimeError("a page did not decode whole; the benchmark is wrong")


async def _loop_stall(body: bytes) -> tuple[float, float]:
    """Longest gap between 1 ms ticks while ``body`` is decoded (ms), and the decode's
    wall time (ms)."""
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    items, _, skipped = await decode_list_async(body)
    wall = time.perf_counter() - started
    done = True
    await task
    if len(items) != HUGE_LINKS or skipped:
        raise RuntimeError("the huge page did not decode whole; the benchmark is wrong")
    return max(gaps) * 1e3, wall * 1e3


def measure(rounds: int = ROUNDS) -> dict[str, float]:
    """Medians (ms per page) of alternating rounds, and the loop check (ms)."""
    links = generate_links(PAGE, seed=1)
    clean = _body(links)
    one_drifted = copy.deepcopy(links)
    one_drifted[PAGE // 2]["products"][0]["prices"][0]["amount_type"] = "brand_new_kind"
    drifted = _body(one_drifted)
    repairs = _body(drift_links(links))
    for body in (clean, drifted, repairs):
        _check(body, PAGE)
    floor = msgspec.json.Decoder(ListResponse)
    cases: dict[str, tuple[Callable[[], object], int]] = {
        "floor_ms": (lambda: floor.decode(clean), 30),
        "sdk_ms": (lambda: decode_list(clean), 30),
        "sdk_drifted_ms": (lambda: decode_list(drifted), 20),
        "sdk_repairs_ms": (lambda: decode_list(repairs), 20),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    for _ in range(rounds):
        for name in order:
            fn, loops = cases[name]
            samples[name].append(_cpu_ms(fn, loops))
        order.reverse()  # so that no case always runs right after the same one
    out = {name: statistics.median(values) for name, values in samples.items()}

    huge = _body(drift_links(generate_links(HUGE_LINKS, seed=3)))
    started = time.perf_counter()
    _check(huge, HUGE_LINKS)
    sync_ms = (time.perf_counter() - started) * 1e3
    stall_ms, async_ms = asyncio.run(_loop_stall(huge))
    out.update(
        page_kib=len(clean) / 1024,
        repairs_page_kib=len(repairs) / 1024,
        huge_mib=len(huge) / 2**20,
        huge_sync_ms=sync_ms,
        huge_async_ms=async_ms,
        huge_loop_stall_ms=stall_ms,
    )
    return out


if __name__ == "__main__":
    json.dump(measure(), sys.stdout)
    print()
