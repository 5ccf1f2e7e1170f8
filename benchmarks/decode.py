"""Decode time of one 100-link list page: the SDK's tolerant ``decode_list`` next to a
plain msgspec decode into the same models (the floor), on a clean page and on a page
where one link carries a price kind the models do not know.

    python -m benchmarks.decode        # prints one JSON line (milliseconds per page)
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

from polar_links._decoding import decode_list
from polar_links._models import ListResponse
from polar_links.testing import generate_links

PAGE = 100


def _body(items: list[dict[str, Any]]) -> bytes:
    return msgspec.json.encode({"items": items, "pagination": {"total_count": 100, "max_page": 1}})


def _best_ms(fn: Callable[[], object], loops: int, repeats: int = 7) -> float:
    """Fastest of ``repeats`` runs, in milliseconds per call (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - started) / loops * 1e3)
    return best


def measure() -> dict[str, float]:
    """Milliseconds per 100-link page for the floor, the SDK, and the SDK on a drifted page."""
    links = generate_links(PAGE, seed=1)
    clean = _body(links)
    drifted_links = copy.deepcopy(links)
    drifted_links[PAGE // 2]["products"][0]["prices"][0]["amount_type"] = "brand_new_kind"
    drifted = _body(drifted_links)
    items, _, skipped = decode_list(drifted)
    if len(items) != PAGE or skipped:
        raise RuntimeError("the drifted page did not decode whole; the benchmark is wrong")
    floor = msgspec.json.Decoder(ListResponse)
    return {
        "page_kib": len(clean) / 1024,
        "floor_ms": _best_ms(lambda: floor.decode(clean), 200),
        "sdk_ms": _best_ms(lambda: decode_list(clean), 200),
        "sdk_drifted_ms": _best_ms(lambda: decode_list(drifted), 50),
    }


if __name__ == "__main__":
    json.dump(measure(), sys.stdout)
    print()
