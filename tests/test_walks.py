"""Every link exactly once against a server that orders ties like the real one (issue 9).

The bundled server runs in its default mode: links that tie on every sorting criterion
come back in an order that depends on the page's offset and limit, and several
``product_id`` values join one row per matching product. Each walk is compared to the
store's set of matching ids.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from polar_links import SORTING_VALUES, Polar, SyncPolar, WalkReport
from polar_links.cli import main
from polar_links.testing import PolarTestServer

LINKS = 250


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=LINKS, seed=0) as srv:
        yield srv


@pytest.fixture
async def polar(server: PolarTestServer) -> AsyncIterator[Polar]:
    async with Polar(server.token, base_url=server.base_url, rate_limit=None) as client:
        yield client


def all_ids(server: PolarTestServer) -> set[str]:
    return {link["id"] for link in server.store.all_links()}


def assert_exactly_once(got: list[str], expected: set[str]) -> None:
    assert len(got) == len(set(got)), "a link came twice"
    assert set(got) == expected, f"{len(expected - set(got))} links never came"


@pytest.mark.parametrize("limit", [7, 100])
@pytest.mark.parametrize("criterion", SORTING_VALUES)
async def test_each_criterion_both_directions_yields_every_link_once(
    polar: Polar, server: PolarTestServer, criterion: str, limit: int
) -> None:
    got = [link.id async for link in polar.checkout_links.list(sorting=[criterion], limit=limit)]
    assert_exactly_once(got, all_ids(server))


@pytest.mark.parametrize("limit", [1, 7, 100])
@pytest.mark.parametrize(
    "sorting",
    [["label", "-allow_discount_codes"], ["-success_url", "label"], ["allow_discount_codes"]],
)
async def test_several_criteria_keep_the_requested_order_and_yield_every_link_once(
    polar: Polar, server: PolarTestServer, sorting: list[str], limit: int
) -> None:
    links = await polar.checkout_links.list(sorting=sorting, limit=limit).collect()
    assert_exactly_once([link.id for link in links], all_ids(server))
    # The caller's order holds; created_at only orders links equal on every criterion.
    assert [link.id for link in links] == server.store.expected_order([*sorting, "created_at"])


@pytest.mark.parametrize("limit", [1, 7, 100])
async def test_several_product_ids_yield_every_matching_link_once(
    polar: Polar, server: PolarTestServer, limit: int
) -> None:
    catalogue = server.store.catalogue
    products = [p["id"] for p in catalogue.products_of(catalogue.organizations[0])]
    matching = set(server.store.expected_order(product_id=products))
    rows = sum(
        1 for link in server.store.all_links() for p in link["products"] if p["id"] in products
    )
    assert rows > len(matching)  # the join repeats links

    paginator = polar.checkout_links.list(product_id=products, sorting=["label"], limit=limit)
    pages = [page async for page in paginator.pages()]
    assert_exactly_once([link.id for page in pages for link in page.items], matching)
    # The walk went to max_page, short pages and all.
    assert [page.page for page in pages] == list(range(1, -(-rows // limit) + 1))
    assert pages[-1].max_page == -(-rows // limit)


@pytest.mark.parametrize("criterion", ["label", "-allow_discount_codes"])
async def test_pages_collect_and_max_items_agree_on_one_order(
    polar: Polar, server: PolarTestServer, criterion: str
) -> None:
    expected = server.store.expected_order([criterion, "created_at"])
    paginator = polar.checkout_links.list(sorting=[criterion], limit=7)
    assert [link.id async for link in paginator] == expected
    assert [link.id for p in [p async for p in paginator.pages()] for link in p.items] == expected
    assert [link.id for link in await paginator.collect()] == expected
    cut = polar.checkout_links.list(sorting=[criterion], limit=7, max_items=60)
    assert [link.id for link in await cut.collect()] == expected[:60]


async def test_walks_split_by_page_number_neither_overlap_nor_leave_gaps(
    polar: Polar, server: PolarTestServer
) -> None:
    sorting = ["allow_discount_codes"]
    head: list[str] = []
    for number in range(1, 6):
        page = await polar.checkout_links.list(sorting=sorting, limit=7, page=number).first_page()
        head += [link.id for link in page.items]
    tail = [link.id async for link in polar.checkout_links.list(sorting=sorting, limit=7, page=6)]
    assert_exactly_once(head + tail, all_ids(server))


@pytest.mark.polar_server(links=LINKS, seed=0)
def test_cli_list_sort_label_exports_every_link_once(
    polar_server: PolarTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["list", "--sort", "label", "--limit", "7", "--format", "jsonl"]
    code = main([*argv, "--base-url", polar_server.base_url, "--token", polar_server.token])
    out, _ = capsys.readouterr()
    assert code == 0
    rows: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines()]
    assert_exactly_once([row["id"] for row in rows], all_ids(polar_server))
    labels = [row["label"] for row in rows]
    named = [label for label in labels if label is not None]
    assert named == sorted(named)
    assert labels[len(named) :] == [None] * (len(labels) - len(named))  # nulls last


# ---------------------------------------------------------------- the walk's report


async def test_a_clean_walk_reports_nothing_missed(polar: Polar, server: PolarTestServer) -> None:
    paginator = polar.checkout_links.list(sorting=["label"], limit=7)
    assert paginator.report is None  # no walk yet
    got = [link.id async for link in paginator]
    assert paginator.report == WalkReport(
        pages=36,
        links=LINKS,
        repeats=0,
        skipped=0,
        first_total_count=LINKS,
        last_total_count=LINKS,
        shrank=False,
        tied_boundaries=(),
        complete=True,
        unseen=0,
    )
    assert not paginator.report.may_have_missed
    assert len(got) == LINKS


@pytest.mark.parametrize("limit", [7, 100])
async def test_ties_on_every_key_across_a_boundary_are_reported(limit: int) -> None:
    # Forced created_at repeats: links equal on allow_discount_codes AND created_at.
    sorting = ["allow_discount_codes", "created_at"]
    async with (
        PolarTestServer(links=LINKS, seed=3, created_at_ties=0.6) as server,
        Polar(server.token, base_url=server.base_url, rate_limit=None) as polar,
    ):
        paginator = polar.checkout_links.list(sorting=sorting[:1], limit=limit)
        got = {link.id async for link in paginator}
        missed = all_ids(server) - got
        report = paginator.report
    by_id = {link["id"]: link for link in server.store.all_links()}
    keys = [
        (by_id[i]["allow_discount_codes"], by_id[i]["created_at"])
        for i in server.store.expected_order(sorting)
    ]
    straddling = tuple(
        p for p in range(1, -(-LINKS // limit)) if keys[p * limit - 1] == keys[p * limit]
    )
    assert report is not None
    assert report.tied_boundaries == straddling
    assert report.unseen == len(missed)
    assert report.may_have_missed == bool(straddling)
    if limit == 7:
        assert straddling, "the forced ties should straddle some boundary of 7-link pages"
        assert missed, "and the server's tie order should then lose links"


async def test_a_list_that_shrinks_during_the_walk_is_reported(
    polar: Polar, server: PolarTestServer
) -> None:
    server.faults.delete_on_page(1, 5)  # after page 1, delete the 5 oldest links
    paginator = polar.checkout_links.list(limit=50, concurrency=1)
    got = [link.id async for link in paginator]
    report = paginator.report
    assert report is not None
    assert (report.first_total_count, report.last_total_count) == (LINKS, LINKS - 5)
    assert report.shrank
    assert report.may_have_missed
    assert report.complete
    # Five links that still exist were pulled onto page 1 after it was read.
    assert len(all_ids(server) - set(got)) == 5


async def test_several_product_ids_report_repeats_but_no_loss(
    polar: Polar, server: PolarTestServer
) -> None:
    catalogue = server.store.catalogue
    products = [p["id"] for p in catalogue.products_of(catalogue.organizations[0])]
    paginator = polar.checkout_links.list(product_id=products, limit=7)
    got = [link.id async for link in paginator]
    report = paginator.report
    assert report is not None
    assert report.repeats > 0  # links split across pages by the join
    assert report.links == len(got) == len(set(server.store.expected_order(product_id=products)))
    assert report.unseen is None  # total_count counts rows: no count check
    assert report.tied_boundaries == ()  # the same link on both sides is not a tie
    assert not report.may_have_missed


async def test_a_walk_stopped_by_max_items_is_not_complete(polar: Polar) -> None:
    paginator = polar.checkout_links.list(limit=7, max_items=10)
    assert len(await paginator.collect()) == 10
    report = paginator.report
    assert report is not None
    assert (report.pages, report.links, report.complete, report.unseen) == (2, 10, False, None)
    # The walk's state holds the ids it yielded, not the ones cut by max_items.
    assert paginator._last_walk is not None
    assert (paginator._last_walk.page, len(paginator._last_walk.seen)) == (2, 10)


@pytest.mark.polar_server(links=LINKS, seed=0)
def test_cli_list_warns_when_the_list_shrank_during_the_walk(
    polar_server: PolarTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    polar_server.faults.delete_on_page(1, 3)
    argv = ["list", "--limit", "50", "--concurrency", "1", "--format", "jsonl"]
    code = main([*argv, "--base-url", polar_server.base_url, "--token", polar_server.token])
    out, err = capsys.readouterr()
    assert code == 0
    assert len(out.splitlines()) == LINKS - 3  # three links that remain were pulled back
    assert err == (
        "polar-links: warning: links may be missing: the list shrank during the walk "
        f"(total_count {LINKS} then {LINKS - 3}); run the listing again\n"
    )


@pytest.mark.polar_server(links=LINKS, seed=0)
def test_the_sync_client_gives_the_same_exact_walk_and_report(
    polar_server: PolarTestServer,
) -> None:
    polar_server.faults.delete_on_page(2, 1)
    with SyncPolar(polar_server.token, base_url=polar_server.base_url) as polar:
        paginator = polar.checkout_links.list(sorting=["-label"], limit=7, concurrency=1)
        got = [link.id for link in paginator]
        report = paginator.report
    assert len(got) == len(set(got))
    assert report is not None
    assert report.shrank
    assert report.links == len(got)
