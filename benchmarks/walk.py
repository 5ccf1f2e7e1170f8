"""One measured walk of the list endpoint, run in its own process so that its peak
RSS is its own. Prints one JSON line: items, pages, seconds, peak RSS (MiB).

Variants:
* ``sdk``: ``async for link in polar.checkout_links.list(...)`` with the given
  concurrency: the path users take (pages, deduplication by id, items one by one).
* ``floor``: the least code that does the same walk: one aiohttp session, pages 1..max_page
  one after another, each decoded with a prebuilt msgspec decoder into the same models.
* ``sync``: ``for link in polar.checkout_links.list(...)`` on a ``SyncPolar``, in a
  plain script (no event loop of the caller's).
* ``sync-thread``: the same ``for`` loop in a worker thread while an event loop runs in
  the main thread (an async application calling sync code), with a 10 ms ticker task.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import time

import aiohttp
import msgspec

from polar_links import Polar, SyncPolar
from polar_links._models import ListResponse


async def walk_sdk(base_url: str, token: str, concurrency: int) -> tuple[int, int]:
    items = 0
    async with Polar(token, base_url=base_url, concurrency=concurrency, rate_limit=None) as polar:
        async for _link in polar.checkout_links.list(limit=100):
            items += 1
    return items, math.ceil(items / 100)


def walk_sync(base_url: str, token: str, concurrency: int) -> tuple[int, int]:
    items = 0
    with SyncPolar(token, base_url=base_url, concurrency=concurrency, rate_limit=None) as polar:
        for _link in polar.checkout_links.list(limit=100):
            items += 1
    return items, math.ceil(items / 100)


async def walk_sync_in_thread(base_url: str, token: str, concurrency: int) -> tuple[int, int]:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        return await asyncio.to_thread(walk_sync, base_url, token, concurrency)
    finally:
        task.cancel()


async def walk_floor(base_url: str, token: str) -> tuple[int, int]:
    decoder = msgspec.json.Decoder(ListResponse)
    headers = {"Authorization": f"Bearer {token}"}
    items = pages = 0
    page_no, max_page = 1, 1
    async with aiohttp.ClientSession(headers=headers) as session:
        while page_no <= max_page:
            params = {"page": str(page_no), "limit": "100"}
            async with session.get(f"{base_url}/v1/checkout-links/", params=params) as resp:
                body = decoder.decode(await resp.read())
            max_page = body.pagination.max_page
            pages += 1
            for _link in body.items:
                items += 1
            page_no += 1
    return items, pages


def own_peak_rss_mib() -> float:
    """This process's own peak resident memory, in MiB. Linux carries ``ru_maxrss``
    over from the parent at fork (a walk started by a 100 MiB parent reported 100 MiB
    whatever it used); ``VmHWM`` in /proc/self/status counts only this process."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("variant", choices=["sdk", "floor", "sync", "sync-thread"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.variant == "sdk":
        items, pages = asyncio.run(walk_sdk(args.base_url, args.token, args.concurrency))
    elif args.variant == "sync":
        items, pages = walk_sync(args.base_url, args.token, args.concurrency)
    elif args.variant == "sync-thread":
        coro = walk_sync_in_thread(args.base_url, args.token, args.concurrency)
        items, pages = asyncio.run(coro)
    else:
        items, pages = asyncio.run(walk_floor(args.base_url, args.token))
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "items": items,
            "pages": pages,
            "seconds": seconds,
            "peak_rss_mib": own_peak_rss_mib(),
            # CPU and page faults of the whole process: the allocator's work shows here.
            "cpu_user_s": usage.ru_utime,
            "cpu_sys_s": usage.ru_stime,
            "minor_faults": usage.ru_minflt,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
