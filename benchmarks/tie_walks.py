"""How many links a walk misses when the sort has ties: the measurement of issue 9.

The bundled server (default, real-server ordering) holds 230 links whose labels come from
7 values or null and whose ``allow_discount_codes`` alternate, like the real-server run
the issue reports. Each sorting is walked with the SDK (``async for``, limits 7 and 100)
and the script prints, per walk, the links never yielded and the links yielded twice::

    python -m benchmarks.tie_walks [--seed S] [--without-tie-breaker]

``--without-tie-breaker`` sends the sorting as given, as the SDK did before it appended
``created_at``: the "before" column of issue 9's note.
"""

from __future__ import annotations

import argparse
import asyncio

from polar_links import Polar, _query
from polar_links.testing import PolarTestServer, generate_links

LABELS = ("Spring sale", "Newsletter", "Homepage hero", "Partner", "Docs", "Blog", "Launch")
SORTINGS: tuple[list[str] | None, ...] = (
    None,
    ["label"],
    ["-label"],
    ["allow_discount_codes"],
    ["-allow_discount_codes"],
    ["success_url"],
    ["-success_url"],
    ["-created_at"],
    ["label", "-allow_discount_codes"],
    ["-label", "created_at"],
)


def tied_links(count: int = 230, seed: int = 0) -> list[dict[str, object]]:
    """``count`` links with labels from 7 values or null and alternating booleans."""
    links = generate_links(count, seed=seed)
    for i, link in enumerate(links):
        link["label"] = None if i % 8 == 7 else LABELS[(i * 5) % 8 % 7]
        link["allow_discount_codes"] = i % 2 == 0
    return links


async def measure(
    server: PolarTestServer, sorting: list[str] | None, limit: int, products: list[str] | None
) -> tuple[int, int, int]:
    """Walk once; return (links expected, links never yielded, links yielded twice)."""
    async with Polar(server.token, base_url=server.base_url, rate_limit=None) as polar:
        paginator = polar.checkout_links.list(sorting=sorting, limit=limit, product_id=products)
        got = [link.id async for link in paginator]
    expected = set(server.store.expected_order(product_id=products))
    return len(expected), len(expected - set(got)), len(got) - len(set(got))


async def main(seed: int) -> None:
    print("| sorting | product_id | limit | links | never yielded | yielded twice |")
    print("|---|---|---|---|---|---|")
    async with PolarTestServer(data=tied_links(seed=seed)) as server:
        catalogue = server.store.catalogue
        products = [p["id"] for p in catalogue.products_of(catalogue.organizations[0])]
        for sorting in SORTINGS:
            for chosen in (None, products):
                for limit in (100, 7):
                    expected, missed, twice = await measure(server, sorting, limit, chosen)
                    name = "default" if sorting is None else ",".join(sorting)
                    filtered = "-" if chosen is None else f"{len(chosen)} ids"
                    print(f"| {name} | {filtered} | {limit} | {expected} | {missed} | {twice} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the 230 links (default 0)")
    parser.add_argument(
        "--without-tie-breaker",
        action="store_true",
        help="send the sorting as given, as the SDK did before it appended created_at",
    )
    args = parser.parse_args()
    if args.without_tie_breaker:
        _query.total_order = lambda criteria: criteria  # the old query
    asyncio.run(main(args.seed))
