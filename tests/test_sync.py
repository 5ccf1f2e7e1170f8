"""The synchronous client: same results and errors as the async one, the same prefetch,
and nothing left running after a loop is left early or the client is closed."""

from __future__ import annotations

import asyncio
import gc
import inspect
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from polar_links import (
    CheckoutLink,
    CheckoutLinks,
    InvalidArgumentError,
    NotFoundError,
    Page,
    Polar,
    SyncCheckoutLinks,
    SyncPolar,
)
from polar_links.testing import PolarTestServer

from . import factories as f


def wait_until(check: Callable[[], bool], *, timeout: float = 5.0) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"still not true after {timeout} s"
        time.sleep(0.01)


def client_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads alive now that were not alive in ``before``."""
    return [t for t in threading.enumerate() if t not in before and t.is_alive()]


def sync_client(server: PolarTestServer, **options: object) -> SyncPolar:
    return SyncPolar(server.token, base_url=server.base_url, **options)  # type: ignore[arg-type]


# --------------------------------------------------------------- same API, same results


def test_every_method_takes_the_async_methods_arguments() -> None:
    for name in ("list", "get", "create", "update", "delete"):
        assert inspect.signature(getattr(SyncCheckoutLinks, name)) == inspect.signature(
            getattr(CheckoutLinks, name)
        ), name
    sync_params = inspect.signature(SyncPolar).parameters
    async_params = dict(inspect.signature(Polar).parameters)
    del async_params["session"]  # the pool lives in the sync client's own thread
    assert list(sync_params) == list(async_params)
    for name, param in async_params.items():
        assert sync_params[name].default == param.default, name


@pytest.mark.polar_server(links=1_050)
def test_for_streams_every_link_in_the_async_clients_order(
    polar_server: PolarTestServer,
) -> None:
    async def async_ids() -> list[str]:
        async with Polar(polar_server.token, base_url=polar_server.base_url) as polar:
            return [link.id async for link in polar.checkout_links.list(sorting=["label"])]

    expected = asyncio.run(async_ids())
    with sync_client(polar_server) as polar:
        paginator = polar.checkout_links.list(sorting=["label"])
        links = list(paginator)
        assert all(isinstance(link, CheckoutLink) for link in links)
        assert [link.id for link in links] == expected
        assert len(expected) == 1_050
        assert [link.id for link in paginator.collect()] == expected
        pages = list(polar.checkout_links.list(limit=100, page=10).pages())
        assert [(p.page, len(p.items), p.max_page) for p in pages] == [(10, 100, 11), (11, 50, 11)]
        first = polar.checkout_links.list(sorting=["label"], limit=7, page=2).first_page()
        assert isinstance(first, Page)
        assert (first.page, first.total_count, [x.id for x in first.items]) == (
            2,
            1_050,
            [link.id for link in asyncio.run(_async_page(polar_server, limit=7, page=2))],
        )
        assert polar.checkout_links.list(sorting=["label"], max_items=3).collect() == links[:3]


async def _async_page(server: PolarTestServer, *, limit: int, page: int) -> list[CheckoutLink]:
    async with Polar(server.token, base_url=server.base_url) as polar:
        paginator = polar.checkout_links.list(sorting=["label"], limit=limit, page=page)
        return (await paginator.first_page()).items


def test_create_get_update_delete_and_the_same_exceptions(polar_server: PolarTestServer) -> None:
    product = next(iter(polar_server.store.catalogue.products))
    with sync_client(polar_server) as polar:
        created = polar.checkout_links.create(products=[product], label="sync made")
        assert isinstance(created, CheckoutLink)
        assert polar.checkout_links.get(created.id) == created
        updated = polar.checkout_links.update(created.id, label="renamed", units=3)
        assert (updated.label, updated.id) == ("renamed", created.id)
        assert polar.checkout_links.delete(created.id) is None
        with pytest.raises(NotFoundError) as missing:
            polar.checkout_links.get(created.id)
        assert missing.value.status_code == 404
        assert created.id in str(missing.value)
        # Bad arguments: the async client's error, raised before any request.
        sent_before = len(polar_server.requests)
        with pytest.raises(InvalidArgumentError, match=r"^id must be a UUID"):
            polar.checkout_links.get("not-an-id")
        with pytest.raises(InvalidArgumentError, match="limit must be an int from 1 to 100"):
            polar.checkout_links.list(limit=1000)
        assert len(polar_server.requests) == sent_before


def test_bad_configuration_is_rejected_before_a_thread_starts() -> None:
    before = set(threading.enumerate())
    with pytest.raises(InvalidArgumentError, match="concurrency must be an int from 1 to 64"):
        SyncPolar("polar_oat_x", concurrency=0)
    with pytest.raises(InvalidArgumentError, match="no access token"):
        SyncPolar("")
    assert client_threads(before) == []


def test_repr_hides_the_token_and_the_client_cannot_be_pickled() -> None:
    import pickle

    with SyncPolar("polar_oat_SECRET_sync", base_url="http://127.0.0.1:9") as polar:
        assert repr(polar) == "<SyncPolar base_url='http://127.0.0.1:9' access_token='***'>"
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(polar)
    assert repr(polar).endswith("closed>")


# --------------------------------------------------------------------- closing, threads


def test_after_close_no_thread_started_by_the_client_is_alive(
    polar_server: PolarTestServer,
) -> None:
    before = set(threading.enumerate())
    polar = sync_client(polar_server)
    assert len(client_threads(before)) == 1
    assert len(polar.checkout_links.list(limit=10).first_page().items) == 10
    polar.close()
    polar.close()  # idempotent
    assert client_threads(before) == []
    assert polar.closed
    with pytest.raises(RuntimeError, match="this SyncPolar client is closed"):
        polar.checkout_links.list().first_page()


def test_a_host_name_resolved_in_the_executor_leaves_no_thread_either(
    polar_server: PolarTestServer,
) -> None:
    before = set(threading.enumerate())
    url = polar_server.base_url.replace("127.0.0.1", "localhost")
    with SyncPolar(polar_server.token, base_url=url) as polar:
        assert polar.checkout_links.list(limit=1).first_page().total_count == 250
    assert client_threads(before) == []


def test_with_closes_the_client_even_when_the_body_raises(polar_server: PolarTestServer) -> None:
    before = set(threading.enumerate())
    clients: list[SyncPolar] = []

    def work() -> None:
        with sync_client(polar_server) as polar:
            clients.append(polar)
            polar.checkout_links.list(limit=1).first_page()
            raise KeyError("boom")

    with pytest.raises(KeyError):
        work()
    assert clients[0].closed
    assert client_threads(before) == []


def test_a_client_dropped_unclosed_warns_once_and_ends_its_thread(
    polar_server: PolarTestServer,
) -> None:
    before = set(threading.enumerate())
    polar = sync_client(polar_server)
    polar.checkout_links.list(limit=1).first_page()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del polar
        gc.collect()
    ours = [w for w in caught if "polar-links" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert ours[0].category is ResourceWarning
    assert str(ours[0].message).startswith("unclosed polar-links client <SyncPolar ")
    assert "polar.close()" in str(ours[0].message)
    assert client_threads(before) == []


# ------------------------------------------------------ a running loop, several threads


async def test_works_while_an_event_loop_runs_in_the_calling_thread(
    polar_server: PolarTestServer,
) -> None:
    asyncio.get_running_loop()  # as in a notebook cell or an async framework's sync hook
    with sync_client(polar_server) as polar:
        assert len(list(polar.checkout_links.list(limit=25))) == 250
        assert polar.checkout_links.list().first_page().total_count == 250


def test_threads_can_share_one_client(polar_server: PolarTestServer) -> None:
    results: list[int] = []
    with sync_client(polar_server) as polar:

        def work() -> None:
            results.append(sum(1 for _ in polar.checkout_links.list(limit=20)))

        workers = [threading.Thread(target=work) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert results == [250] * 4


# ------------------------------------------- prefetch: concurrency, bounds, cancellation


@dataclass
class SlowPages:
    """An API whose page 1 answers at once and later pages wait for ``release``; it
    records the pages asked for and those whose request the client abandoned (its
    connection closed before the answer)."""

    total: int = 100
    per_page: int = 10
    started: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    items: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.items = [f.link() for _ in range(self.total)]

    async def handle(self, request: web.Request) -> web.Response:
        page = int(request.query["page"])
        self.started.append(page)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            while page > 1 and not self.release.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    self.abandoned.append(page)
                    return web.Response(status=499)
                await asyncio.sleep(0.005)
        finally:
            self.in_flight -= 1
        start = (page - 1) * self.per_page
        body = f.list_body(
            self.items[start : start + self.per_page],
            total_count=self.total,
            max_page=-(-self.total // self.per_page),
        )
        return web.Response(body=f.to_bytes(body), content_type="application/json")


@pytest.fixture
def slow_pages() -> Iterator[tuple[SlowPages, str]]:
    """A ``SlowPages`` API served from a thread of its own, and its base URL."""
    api = SlowPages()
    ready = threading.Event()
    stop: list[Callable[[], object]] = []
    urls: list[str] = []

    def serve() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/v1/checkout-links/", api.handle)
        runner = web.AppRunner(app, handler_cancellation=False)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        urls.append(f"http://127.0.0.1:{port}")
        stop.append(lambda: loop.call_soon_threadsafe(loop.stop))
        ready.set()
        loop.run_forever()
        api.release.set()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield api, urls[0]
    api.release.set()
    stop[0]()
    thread.join(10)


def _slow_client(url: str, concurrency: int = 4) -> SyncPolar:
    return SyncPolar("polar_oat_x", base_url=url, concurrency=concurrency)


def test_pages_are_fetched_ahead_with_at_most_concurrency_in_flight(
    slow_pages: tuple[SlowPages, str],
) -> None:
    api, url = slow_pages
    with _slow_client(url, concurrency=4) as polar:
        links = iter(polar.checkout_links.list(limit=10))
        next(links)
        # While the loop body works on page 1, four more pages are on their way...
        wait_until(lambda: sorted(api.started) == [1, 2, 3, 4, 5])
        time.sleep(0.1)
        # ...and no more: memory stays bounded by concurrency pages.
        assert sorted(api.started) == [1, 2, 3, 4, 5]
        api.release.set()
        assert len([next(links), *links]) == 99
    assert api.peak == 4
    assert sorted(api.started) == list(range(1, 11))


@pytest.mark.parametrize("how", ["break", "exception"])
def test_leaving_the_loop_early_cancels_the_prefetch_before_it_returns(
    slow_pages: tuple[SlowPages, str], how: str
) -> None:
    api, url = slow_pages
    before = set(threading.enumerate())
    with _slow_client(url, concurrency=4) as polar:
        loop = polar._loop  # to look inside the client's loop: nothing may be left there
        with pytest.raises(ZeroDivisionError) if how == "exception" else _nothing():
            for _link in polar.checkout_links.list(limit=10):
                wait_until(lambda: len(api.started) == 5)
                if how == "break":
                    break
                1 / 0  # noqa: B018
        assert loop.run(_pending_tasks()) == []
        wait_until(lambda: sorted(api.abandoned) == [2, 3, 4, 5])
        # The client still works after the abandoned walk.
        api.release.set()
        assert len(polar.checkout_links.list(limit=10).collect()) == 100
    assert client_threads(before) == []


async def _pending_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def test_closing_with_a_walk_still_open_cancels_it(slow_pages: tuple[SlowPages, str]) -> None:
    api, url = slow_pages
    before = set(threading.enumerate())
    polar = _slow_client(url)
    links = iter(polar.checkout_links.list(limit=10))
    next(links)
    wait_until(lambda: len(api.started) == 5)
    polar.close()
    assert client_threads(before) == []
    wait_until(lambda: sorted(api.abandoned) == [2, 3, 4, 5])
    with pytest.raises(RuntimeError, match=re.escape("this SyncPolar client is closed")):
        list(links)  # the rest of page 1, then the next page is asked for


def test_an_async_for_over_the_sync_paginator_says_to_use_for() -> None:
    with SyncPolar("polar_oat_x", base_url="http://127.0.0.1:9") as polar:
        paginator = polar.checkout_links.list()

        async def misuse() -> None:
            async for _ in paginator:
                pass

        with pytest.raises(TypeError, match=re.escape("iterate it with `for link in")):
            asyncio.run(misuse())


def test_async_with_on_the_sync_client_says_to_use_with() -> None:
    polar = SyncPolar("polar_oat_x", base_url="http://127.0.0.1:9")

    async def misuse() -> None:
        async with polar:
            pass

    with pytest.raises(TypeError, match=re.escape("use `with SyncPolar(...) as polar:`")):
        asyncio.run(misuse())
    polar.close()


def test_with_options_views_share_the_clients_pool_and_thread(
    polar_server: PolarTestServer,
) -> None:
    before = set(threading.enumerate())
    with sync_client(polar_server) as polar:
        view = polar.with_options(concurrency=2, max_retries=0)
        assert repr(view).startswith("<SyncPolar view base_url=")
        assert view.checkout_links.list().concurrency == 2
        assert polar.checkout_links.list().concurrency == 8
        assert len(list(view.checkout_links.list(limit=50))) == 250
        view.close()  # a view owns nothing
        assert not polar.closed
        assert polar.checkout_links.list(limit=1).first_page().total_count == 250
        assert len(client_threads(before)) == 1
    assert view.closed
    assert client_threads(before) == []


def test_ctrl_c_during_a_call_cancels_its_request_and_the_client_still_works(
    slow_pages: tuple[SlowPages, str],
) -> None:
    import signal

    api, url = slow_pages
    main = threading.main_thread()
    assert threading.current_thread() is main  # SIGINT is delivered to the main thread
    with _slow_client(url) as polar:
        paginator = polar.checkout_links.list(limit=10, page=2)  # page 2 hangs

        def interrupt() -> None:
            wait_until(lambda: api.started == [2])
            signal.pthread_kill(main.ident, signal.SIGINT)  # type: ignore[arg-type]

        threading.Thread(target=interrupt).start()
        with pytest.raises(KeyboardInterrupt):
            paginator.first_page()
        # The interrupted request was cancelled before the call returned...
        assert polar._loop.run(_pending_tasks()) == []
        wait_until(lambda: api.abandoned == [2])
        # ...and the client goes on.
        assert len(polar.checkout_links.list(limit=10).first_page().items) == 10
