"""Resumable walks against the bundled server, over real sockets: a walk stopped after
N pages and resumed from its checkpoint yields exactly the links of one uninterrupted
walk; checkpoints of another list call or format version are refused."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import msgspec
import pytest

from polar_links import InvalidArgumentError, Polar
from polar_links.testing import PolarTestServer

from .conftest import FAST_BACKOFF

LINKS = 230


@pytest.fixture
async def server() -> AsyncIterator[PolarTestServer]:
    async with PolarTestServer(links=LINKS, seed=11) as srv:
        yield srv


@pytest.fixture
async def polar(server: PolarTestServer) -> AsyncIterator[Polar]:
    async with Polar(server.token, base_url=server.base_url, backoff=FAST_BACKOFF) as client:
        yield client


async def walk_killed_after(
    polar: Polar, pages: int, extra: int = 0, **options: object
) -> tuple[list[str], str]:
    """Walk in a task that is cancelled once ``pages`` pages (and ``extra`` more links)
    were delivered; return the ids delivered and the checkpoint read after each one."""
    got: list[str] = []
    checkpoint: list[str] = []
    limit = int(options.get("limit", 100))  # type: ignore[call-overload]
    enough = asyncio.Event()

    async def job() -> None:
        paginator = polar.checkout_links.list(**options)  # type: ignore[arg-type]
        async for link in paginator:
            got.append(link.id)
            checkpoint[:] = [paginator.checkpoint or ""]
            if len(got) == pages * limit + extra:
                enough.set()
                await asyncio.sleep(3600)  # killed here, as a worker would be

    task = asyncio.ensure_future(job())
    await asyncio.wait(
        [task, asyncio.ensure_future(enough.wait())], timeout=30, return_when="FIRST_COMPLETED"
    )
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return got, checkpoint[0]


async def resumed(polar: Polar, checkpoint: str, **options: object) -> list[str]:
    paginator = polar.checkout_links.list(resume=checkpoint, **options)  # type: ignore[arg-type]
    return [link.id async for link in paginator]


@pytest.mark.parametrize("sorting", [None, ["-created_at"]])
@pytest.mark.parametrize(
    ("limit", "pages", "extra"),
    [(7, 1, 0), (7, 5, 3), (25, 2, 0), (25, 8, 24), (100, 1, 0), (100, 2, 29)],
)
async def test_a_killed_walk_resumed_yields_exactly_the_uninterrupted_walk(
    polar: Polar, sorting: list[str] | None, limit: int, pages: int, extra: int
) -> None:
    options = {"limit": limit, "sorting": sorting}
    whole = [link.id async for link in polar.checkout_links.list(**options)]  # type: ignore[arg-type]
    assert len(whole) == LINKS
    before, checkpoint = await walk_killed_after(polar, pages, extra, **options)
    assert len(before) == pages * limit + extra
    after = await resumed(polar, checkpoint, **options)
    assert before + after == whole


@pytest.mark.parametrize("sorting", [None, ["-created_at"]])
@pytest.mark.parametrize("kind", ["organization_id", "product_id"])
async def test_resume_holds_with_one_organization_or_product_filter(
    polar: Polar, server: PolarTestServer, sorting: list[str] | None, kind: str
) -> None:
    link = server.store.all_links()[0]
    value = link["organization_id"] if kind == "organization_id" else link["products"][0]["id"]
    options = {"limit": 4, "sorting": sorting, kind: value}
    whole = [x.id async for x in polar.checkout_links.list(**options)]  # type: ignore[arg-type]
    assert len(whole) > 12
    before, checkpoint = await walk_killed_after(polar, 2, 1, **options)
    assert before + await resumed(polar, checkpoint, **options) == whole


async def test_a_walk_resumed_several_times_still_matches(polar: Polar) -> None:
    whole = [x.id async for x in polar.checkout_links.list(limit=10)]
    got: list[str] = []
    checkpoint = None
    for _ in range(40):
        paginator = polar.checkout_links.list(limit=10, resume=checkpoint, max_items=17)
        got += [x.id async for x in paginator]
        checkpoint = paginator.checkpoint
    assert got == whole


async def test_the_checkpoint_after_pages_covers_each_whole_page(polar: Polar) -> None:
    whole = [x.id async for x in polar.checkout_links.list(limit=20)]
    paginator = polar.checkout_links.list(limit=20)
    checkpoints = []
    async for _page in paginator.pages():
        checkpoints.append(paginator.checkpoint)
        if len(checkpoints) == 4:
            break
    assert await resumed(polar, checkpoints[-1], limit=20) == whole[80:]
    assert await resumed(polar, checkpoints[0], limit=20) == whole[20:]


@pytest.mark.parametrize("sorting", [None, ["-created_at"]])
async def test_links_deleted_or_created_before_the_boundary_between_runs(
    polar: Polar, server: PolarTestServer, sorting: list[str] | None
) -> None:
    options = {"limit": 10, "sorting": sorting}
    before, checkpoint = await walk_killed_after(polar, 5, 3, **options)
    # Between the runs: 12 already-yielded links deleted (the window shifts back by more
    # than a page) and 15 new links created (the newest: first in -created_at order).
    for link_id in before[:12]:
        server.store.delete(link_id)
    created = server.store.create_newest(15)
    after = await resumed(polar, checkpoint, **options)
    now = [x.id async for x in polar.checkout_links.list(**options)]  # type: ignore[arg-type]
    expected = [i for i in now if i not in set(before)]
    if sorting is not None:  # new links sort before the checkpoint: not yielded
        expected = [i for i in expected if i not in set(created)]
    assert after == expected
    assert not set(after) & set(before)


async def test_other_orders_reread_the_boundary_page_and_leave_out_its_ids(
    polar: Polar, server: PolarTestServer
) -> None:
    options = {"limit": 10, "sorting": ["label"]}
    whole = [x.id async for x in polar.checkout_links.list(**options)]  # type: ignore[arg-type]
    for extra, boundary in ((0, "3"), (4, "4")):
        before, checkpoint = await walk_killed_after(polar, 3, extra, **options)
        server.requests.clear()
        after = await resumed(polar, checkpoint, **options)
        assert before + after == whole
        first = server.requests[0].query
        assert ("page", boundary) in first


async def test_a_finished_walk_resumed_yields_only_links_created_since(
    polar: Polar, server: PolarTestServer
) -> None:
    paginator = polar.checkout_links.list(limit=50)
    assert len([x async for x in paginator]) == LINKS
    created = server.store.create_newest(3)
    assert await resumed(polar, paginator.checkpoint or "", limit=50) == created


async def test_the_checkpoint_holds_no_token_and_is_small(
    polar: Polar, server: PolarTestServer
) -> None:
    paginator = polar.checkout_links.list(limit=100, sorting=["label"])
    async for _ in paginator.pages():
        break
    checkpoint = paginator.checkpoint or ""
    assert checkpoint.startswith("plc1.")
    assert server.token not in checkpoint
    raw = base64.urlsafe_b64decode(checkpoint[5:] + "=" * (-len(checkpoint) % 4))
    assert server.token.encode() not in raw
    assert len(checkpoint) < 1200
    keyed = polar.checkout_links.list(limit=100)
    async for _ in keyed:
        break
    assert len(keyed.checkpoint or "") < 80


@pytest.mark.parametrize(
    ("made", "used", "message"),
    [
        ({"limit": 20}, {"limit": 50}, "made with limit=20, this walk has limit=50"),
        (
            {"sorting": ["label"]},
            {},
            "made with sorting=['label'], this walk has sorting=None (the default, created_at)",
        ),
        (
            {"organization_id": "6f1c5d8e-94a1-4d8b-8e0b-3a7f1f1f2b3c"},
            {"organization_id": "0b1c5d8e-94a1-4d8b-8e0b-3a7f1f1f2b3c"},
            "other organization_id/product_id filters",
        ),
    ],
)
async def test_a_checkpoint_of_another_list_call_is_refused_before_any_request(
    polar: Polar,
    server: PolarTestServer,
    made: dict[str, object],
    used: dict[str, object],
    message: str,
) -> None:
    paginator = polar.checkout_links.list(**made)  # type: ignore[arg-type]
    checkpoint = paginator.checkpoint
    server.requests.clear()
    with pytest.raises(
        InvalidArgumentError,
        match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)"),
    ):
        polar.checkout_links.list(resume=checkpoint, **used)  # type: ignore[arg-type]
    assert server.requests == []


async def test_filters_given_in_another_order_are_the_same_binding(polar: Polar) -> None:
    a, b = "6f1c5d8e-94a1-4d8b-8e0b-3a7f1f1f2b3c", "0b1c5d8e-94a1-4d8b-8e0b-3a7f1f1f2b3c"
    checkpoint = polar.checkout_links.list(product_id=[a, b]).checkpoint
    polar.checkout_links.list(product_id=[b, a], resume=checkpoint)


@pytest.mark.parametrize(
    ("checkpoint", "error", "message"),
    [
        ("plc2.kQ", ValueError, "format version 2; this version of polar-links reads version 1"),
        ("plc1.!!!!", ValueError, "its data is damaged"),
        ("nonsense", ValueError, "resume is not a checkpoint"),
        (42, TypeError, "resume must be a checkpoint string"),
    ],
)
async def test_stale_or_damaged_checkpoints_are_refused(
    polar: Polar, checkpoint: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        polar.checkout_links.list(resume=checkpoint)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidArgumentError)


async def test_a_checkpoint_cut_short_is_refused(polar: Polar) -> None:
    paginator = polar.checkout_links.list(limit=10)
    async for _ in paginator:
        break
    text = paginator.checkpoint or ""
    with pytest.raises(InvalidArgumentError, match="its data is damaged"):
        polar.checkout_links.list(limit=10, resume=text[:-6])
    wire = msgspec.msgpack.encode([[], "x", 10, 0, None, b""])
    zero_page = "plc1." + base64.urlsafe_b64encode(wire).decode().rstrip("=")
    with pytest.raises(InvalidArgumentError, match="bad page"):
        polar.checkout_links.list(limit=10, resume=zero_page)


async def test_resume_and_page_together_are_refused(polar: Polar) -> None:
    checkpoint = polar.checkout_links.list().checkpoint
    with pytest.raises(InvalidArgumentError, match="either resume or page, not both"):
        polar.checkout_links.list(page=3, resume=checkpoint)


def test_the_sync_client_resumes_after_the_last_link_its_loop_received(
    polar_server: PolarTestServer,
) -> None:
    from polar_links import SyncPolar

    with SyncPolar(polar_server.token, base_url=polar_server.base_url) as polar:
        whole = [link.id for link in polar.checkout_links.list(limit=20)]
        paginator = polar.checkout_links.list(limit=20)
        before = []
        for link in paginator:
            before.append(link.id)
            if len(before) == 47:
                break
        after = polar.checkout_links.list(limit=20, resume=paginator.checkpoint)
        assert before + [link.id for link in after] == whole


@pytest.mark.parametrize("sorting", [None, ["-created_at"], ["label"], ["-allow_discount_codes"]])
@pytest.mark.parametrize(("limit", "pages", "extra"), [(5, 2, 0), (5, 3, 2), (9, 1, 4)])
async def test_resume_with_several_product_ids_matches_the_uninterrupted_walk(
    polar: Polar,
    server: PolarTestServer,
    sorting: list[str] | None,
    limit: int,
    pages: int,
    extra: int,
) -> None:
    # Two products sold together by some links: the server joins without DISTINCT, so
    # those links come back once per product and pages overlap.
    counts: dict[tuple[str, str], int] = {}
    for link in server.store.all_links():
        ids = sorted(p["id"] for p in link["products"])
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                counts[a, b] = counts.get((a, b), 0) + 1
    pair = max(counts, key=counts.__getitem__)
    options = {"limit": limit, "sorting": sorting, "product_id": list(pair)}
    first = await polar.checkout_links.list(**options).first_page()  # type: ignore[arg-type]
    whole = [x.id async for x in polar.checkout_links.list(**options)]  # type: ignore[arg-type]
    assert first.total_count > len(whole)  # duplicate rows were served
    before, checkpoint = await walk_killed_after(polar, pages, extra, **options)
    assert before + await resumed(polar, checkpoint, **options) == whole


async def test_a_checkpoint_is_bound_to_extra_query_too(polar: Polar) -> None:
    checkpoint = polar.checkout_links.list(extra_query={"flag": "1"}).checkpoint
    polar.checkout_links.list(extra_query={"flag": "1"}, resume=checkpoint)
    with pytest.raises(InvalidArgumentError, match=r"filters \(or extra_query\)"):
        polar.checkout_links.list(resume=checkpoint)
