"""``PolarTestServer``: the stand-in API on a local port, in the current loop or a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from aiohttp import web

from ._app import DEFAULT_TOKEN, RecordedRequest, create_app
from ._budget import RequestBudget
from ._data import Catalogue, build_catalogue, generate_links
from ._faults import Faults
from ._store import LinkStore

__all__ = ["PolarTestServer", "serve_forever"]

#: Seconds the server waits for in-flight requests when it stops.
_SHUTDOWN_TIMEOUT = 5.0


class PolarTestServer:
    """A local, in-memory Polar checkout-links API for tests and benchmarks.

    ``links`` seeded links (default 250) are generated from ``seed`` across
    ``organizations`` organizations (``created_at_ties``: share of links whose
    ``created_at`` repeats the previous one's, default 0), unless ``data`` (a list of link
    dicts) is given, in which case those links are served and the catalogue is collected
    from them.

    Like the real server, it orders links that tie on every sorting criterion
    differently for each page offset and limit, so offset pages can overlap and leave
    gaps (see :class:`LinkStore`). ``stable_ties=True`` breaks ties by id instead, for
    tests that need one fixed order (``store.stable_ties`` switches it later).

    Use it as ``async with PolarTestServer() as server:`` in a running loop, or call
    :meth:`start_in_thread` / :meth:`stop` (or ``with server.run_in_thread():``) to serve
    from a background thread with its own loop. Once started, :attr:`base_url` is
    ``http://127.0.0.1:<port>``.

    Attributes: ``token`` (read/write bearer token), ``read_only_token`` (reads only,
    or ``None``), ``faults`` (:class:`Faults` knobs), ``budget`` (a
    :class:`RequestBudget`, off until its ``requests`` is set), ``requests`` (list of
    the last 100,000 :class:`RecordedRequest`, in arrival order; ``clear()`` it freely)
    and ``store`` (:class:`LinkStore`).
    """

    def __init__(
        self,
        *,
        links: int = 250,
        seed: int = 0,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        data: Sequence[Mapping[str, Any]] | None = None,
        read_only_token: str | None = None,
        organizations: int = 3,
        stable_ties: bool = False,
        created_at_ties: float = 0.0,
    ) -> None:
        if data is None:
            catalogue: Catalogue | None = build_catalogue(seed, organizations)
            items: Sequence[Mapping[str, Any]] = generate_links(
                links,
                seed=seed,
                organizations=organizations,
                catalogue=catalogue,
                created_at_ties=created_at_ties,
            )
        else:
            catalogue, items = None, data
        self.token = token
        self.read_only_token = read_only_token
        self.host = host
        self.port = port
        self.faults = Faults()
        self.budget = RequestBudget()
        self.requests: list[RecordedRequest] = []
        self.store = LinkStore(items, catalogue, stable_ties=stable_ties)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        """The server's root URL, ``http://<host>:<port>`` (no trailing slash)."""
        if self._runner is None:
            raise RuntimeError("the server is not running; start it first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The list/create endpoint's full URL (``<base_url>/v1/checkout-links/``)."""
        return self.base_url + "/v1/checkout-links/"

    @property
    def auth_headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for the read/write token."""
        return {"Authorization": f"Bearer {self.token}"}

    # ------------------------------------------------------------ in the current loop

    async def start(self) -> None:
        """Bind the port and start serving in the running event loop."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        app = create_app(
            self.store,
            token=self.token,
            read_only_token=self.read_only_token,
            faults=self.faults,
            requests=self.requests,
            budget=self.budget,
        )
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def close(self) -> None:
        """Stop serving: release hung and delayed requests, close connections, free the port."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> PolarTestServer:
        """Start the server; return it."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.close()

    # ------------------------------------------------------------ in a thread

    def start_in_thread(self, timeout: float = 30.0) -> None:
        """Serve from a new daemon thread with its own event loop; return once listening.

        Raises whatever starting raised (e.g. the port is taken), or ``TimeoutError`` after
        ``timeout`` seconds.
        """
        if self._thread is not None:
            raise RuntimeError("the server already runs in a thread")
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(self._serve_in_thread(ready))
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=main, name="polar-test-server", daemon=True)
        thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"the test server did not start within {timeout} s")
        if failure:
            thread.join()
            raise failure[0]
        self._thread = thread

    def stop(self, timeout: float = 30.0) -> None:
        """Stop a server started with :meth:`start_in_thread` and wait (up to ``timeout``
        seconds) for its thread to finish. Does nothing if it is not running."""
        thread, loop, event = self._thread, self._loop, self._stop_event
        if thread is None or loop is None or event is None:
            return
        loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        self._thread = None

    @contextmanager
    def run_in_thread(self) -> Iterator[PolarTestServer]:
        """Context manager: serve from a background thread while the block runs."""
        self.start_in_thread()
        try:
            yield self
        finally:
            self.stop()

    async def _serve_in_thread(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        await self.start()
        try:
            ready.set()
            await self._stop_event.wait()
        finally:
            await self.close()
            self._loop = self._stop_event = None


async def serve_forever(
    *,
    links: int,
    seed: int,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    latency_ms: float = 0,
    ready: Callable[[str], None] | None = None,
    budget: tuple[int, float] | None = None,
    stable_ties: bool = False,
) -> None:
    """Run a :class:`PolarTestServer` until cancelled (e.g. by Ctrl-C).

    ``latency_ms`` milliseconds are added to every request. ``budget``: ``(requests,
    seconds)``, a sliding-window budget per token (none by default). ``stable_ties``:
    break sort ties by id instead of ordering them like the real server.
    ``ready(base_url)`` is called once, as soon as the server listens.
    """
    async with PolarTestServer(
        links=links, seed=seed, token=token, host=host, port=port, stable_ties=stable_ties
    ) as server:
        server.faults.latency = latency_ms / 1000
        if budget is not None:
            server.budget.requests, server.budget.per = budget
        if ready is not None:
            ready(server.base_url)
        await asyncio.Event().wait()
