"""An event loop running in a thread of its own, for the synchronous client: blocking
callers hand it coroutines and async generators and wait for their results."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["BackgroundLoop"]

T = TypeVar("T")
_DONE = object()


class BackgroundLoop:
    """One asyncio event loop in one daemon thread, started on creation.

    ``run(coro)`` blocks until the coroutine is done in that loop and returns its result
    (or raises its exception); an interrupt while waiting (Ctrl-C) cancels it and waits
    until it has unwound. ``iterate(agen)`` turns an async generator into a blocking one,
    one ``__anext__`` per item, and closes the async generator (in the loop) when the
    blocking one is closed or dropped. ``close()`` cancels whatever is left, shuts down
    the loop's executor and ends the thread.
    """

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        # Async generators being iterated: closed in order (outermost first) on close().
        self._open: set[AsyncGenerator[Any, None]] = set()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._closed

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop runs in."""
        return self._thread

    def _main(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                # aiohttp resolves host names in the default executor: join its threads.
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def in_loop_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T], *, what: str = "this client") -> T:
        """Run ``coro`` in the loop and return its result; blocks the calling thread."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"{what} is closed; create a new one (or use `with`)")
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(f"{what} was called from its own event loop's thread")
        finished = threading.Event()
        future = asyncio.run_coroutine_threadsafe(_tracked(coro, finished), self._loop)
        try:
            return future.result()
        except BaseException:
            if not future.done():  # interrupted while waiting: stop the work too
                future.cancel()
                finished.wait()
            raise

    def iterate(
        self, agen: AsyncGenerator[T, None], *, what: str = "this client"
    ) -> Generator[T, None, None]:
        """Yield the items of ``agen``, each fetched in the loop; closing (or dropping)
        the returned generator closes ``agen`` there, cancelling what it has started."""
        self._open.add(agen)
        try:
            while True:
                item = self.run(_next(agen), what=what)
                if item is _DONE:
                    return
                yield item  # type: ignore[misc]
        finally:
            self._close_generator(agen)

    def _close_generator(self, agen: AsyncGenerator[Any, None]) -> None:
        self._open.discard(agen)
        if self._closed:
            return  # closing the loop finalized it
        if self.in_loop_thread():  # dropped by a garbage collection in the loop's thread
            self._loop.create_task(_quiet_aclose(agen))
            return
        with contextlib.suppress(RuntimeError):  # closed meanwhile by another thread
            self.run(_quiet_aclose(agen))

    def close(self, last: Coroutine[Any, Any, object] | None = None) -> None:
        """Run ``last`` (if given), then stop the loop and, unless called from the loop's
        own thread, wait for the thread to end. Idempotent."""
        if self._closed:
            if last is not None:
                last.close()
            return
        if self.in_loop_thread():
            # A finalizer running in the loop's thread cannot wait for it: finish there.
            self._closed = True
            if last is not None:
                task = self._loop.create_task(last)
                task.add_done_callback(lambda _: self._loop.stop())
            else:
                self._loop.stop()
            return
        try:
            # Walks left open: each closes the generators it started, then the pool goes.
            for agen in list(self._open):
                self._close_generator(agen)
            if last is not None:
                self.run(last)
        finally:
            self._closed = True
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()


async def _tracked(coro: Coroutine[Any, Any, T], finished: threading.Event) -> T:
    try:
        return await coro
    finally:
        finished.set()


async def _next(agen: AsyncGenerator[T, None]) -> T | object:
    try:
        return await agen.__anext__()
    except StopAsyncIteration:
        return _DONE


async def _quiet_aclose(agen: AsyncGenerator[Any, None]) -> None:
    with contextlib.suppress(Exception):
        await agen.aclose()
