"""``SyncPolar``: the blocking client, for scripts, notebooks and sync web backends.

A thin layer over :class:`~polar_links.Polar`: each ``SyncPolar`` owns one async client
and one event loop running in a thread of its own; every call is that client's
coroutine run there, so requests, retries, rate limits, pagination and decoding are the
async client's, unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import ssl as ssl_module
import warnings
import weakref
from collections.abc import Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, Concatenate, Generic, Literal, NoReturn, ParamSpec, TypeVar

from ._background_loop import BackgroundLoop
from ._checkout_links import CheckoutLinks, CheckoutLinksWithRawResponse
from ._client import (
    _AUTO,
    _DEFAULT_BACKOFF,
    _DEFAULT_TIMEOUT,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_RESPONSE_BYTES,
    Polar,
)
from ._config import Backoff, RateLimit, Timeout
from ._models import CheckoutLink
from ._options import NOT_GIVEN, NotGiven
from ._pagination import CheckoutLinkPaginator, Page, WalkReport
from ._raw import RawView
from ._security import Secret

__all__ = [
    "SyncCheckoutLinkPaginator",
    "SyncCheckoutLinks",
    "SyncCheckoutLinksWithRawResponse",
    "SyncPolar",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
_WHAT = "this SyncPolar client"


class SyncCheckoutLinkPaginator:
    """The result of ``polar.checkout_links.list(...)`` on a :class:`SyncPolar`; creating
    it sends nothing.

    * ``for link in paginator``: every link of every page, in server order, each id at
      most once.
    * ``for page in paginator.pages()``: the :class:`Page` objects.
    * ``paginator.first_page()``: only the start page.
    * ``paginator.collect()``: all links as a list.

    The walk is the async client's: later pages are fetched ahead, at most
    ``concurrency`` requests in flight and at most ``concurrency`` pages held, while your
    loop body runs. Leaving a ``for`` loop early (``break``, an exception) cancels the
    requests fetched ahead before the loop is left.
    """

    def __init__(self, paginator: CheckoutLinkPaginator, loop: BackgroundLoop) -> None:
        self._paginator = paginator
        self._loop = loop

    @property
    def concurrency(self) -> int:
        """The most page requests this paginator keeps in flight at once."""
        return self._paginator.concurrency

    @property
    def report(self) -> WalkReport | None:
        """What the latest walk saw (see :attr:`CheckoutLinkPaginator.report`)."""
        return self._paginator.report

    @property
    def checkpoint(self) -> str | None:
        """Where the latest walk stands, to pass as ``list(..., resume=checkpoint)``
        (see :attr:`CheckoutLinkPaginator.checkpoint`); it moves with every link your
        ``for`` loop receives, or every page ``pages()`` gives."""
        return self._paginator.checkpoint

    def first_page(self) -> Page:
        """Fetch and return only the start page (``page=``, default 1)."""
        return self._loop.run(self._paginator.first_page(), what=_WHAT)

    def collect(self) -> list[CheckoutLink]:
        """Fetch every page (up to ``max_items`` links) and return the links as a list."""
        return self._loop.run(self._paginator.collect(), what=_WHAT)

    def pages(self) -> Iterator[Page]:
        """Iterate the pages from the start page to the last, in order (see
        :meth:`CheckoutLinkPaginator.pages`). Close it, or let it go, to stop the walk."""
        return self._loop.iterate(self._paginator.pages(), what=_WHAT)

    def __iter__(self) -> Iterator[CheckoutLink]:
        # Pages cross from the loop's thread, one hand-over per page, not per link.
        paginator = self._paginator
        with contextlib.closing(self._loop.iterate(paginator._item_pages(), what=_WHAT)) as pages:
            for page in pages:
                for link in page.items:
                    paginator._delivered(page, link)
                    yield link

    def __aiter__(self) -> NoReturn:
        raise TypeError(
            "this paginator belongs to the synchronous client SyncPolar: iterate it with "
            "`for link in polar.checkout_links.list(...)`, or use the async client Polar "
            "with `async for`"
        )


class _Blocking(Generic[R]):
    """Base of a blocking resource: an async resource and the loop its calls run in."""

    def __init__(self, resource: R, loop: BackgroundLoop) -> None:
        self._resource = resource
        self._loop = loop


def _blocking(
    method: Callable[Concatenate[R, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[_Blocking[R], P], T]:
    """The blocking version of an async resource's method: same arguments, same result,
    same exceptions."""

    @functools.wraps(method)
    def blocking(self: _Blocking[R], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._loop.run(method(self._resource, *args, **kwargs), what=_WHAT)

    return blocking


def _paginating(
    method: Callable[Concatenate[CheckoutLinks, P], CheckoutLinkPaginator],
) -> Callable[Concatenate[_Blocking[CheckoutLinks], P], SyncCheckoutLinkPaginator]:
    @functools.wraps(method)
    def paginating(
        self: _Blocking[CheckoutLinks], /, *args: P.args, **kwargs: P.kwargs
    ) -> SyncCheckoutLinkPaginator:
        return SyncCheckoutLinkPaginator(method(self._resource, *args, **kwargs), self._loop)

    return paginating


class SyncCheckoutLinksWithRawResponse(_Blocking[RawView[CheckoutLinks]]):
    """``polar.checkout_links.with_raw_response`` of a :class:`SyncPolar`: ``get``,
    ``create``, ``update`` and ``delete``, each returning a :class:`RawResult` (the
    result and the :class:`APIResponse` it came from)."""

    get = _blocking(CheckoutLinksWithRawResponse.get)
    create = _blocking(CheckoutLinksWithRawResponse.create)
    update = _blocking(CheckoutLinksWithRawResponse.update)
    delete = _blocking(CheckoutLinksWithRawResponse.delete)


class SyncCheckoutLinks(_Blocking[CheckoutLinks]):
    """The checkout-links resource of one :class:`SyncPolar` client: the methods of
    :class:`CheckoutLinks`, with the same arguments, results and exceptions, returning
    their results instead of awaitables. ``list`` returns a
    :class:`SyncCheckoutLinkPaginator`."""

    @property
    def with_raw_response(self) -> SyncCheckoutLinksWithRawResponse:
        """The same methods, each returning a :class:`RawResult`: the result and the
        :class:`APIResponse` (status, headers, ``polar_version``) it came from."""
        return SyncCheckoutLinksWithRawResponse(self._resource.with_raw_response, self._loop)

    get = _blocking(CheckoutLinks.get)
    create = _blocking(CheckoutLinks.create)
    update = _blocking(CheckoutLinks.update)
    delete = _blocking(CheckoutLinks.delete)
    list = _paginating(CheckoutLinks.list)


class SyncPolar:
    """A synchronous client for the Polar API's checkout links: the same resource,
    methods, arguments, results and exceptions as :class:`Polar`, without ``await``.

    Use it as ``with SyncPolar(...) as polar:`` (or call ``polar.close()``), and keep one
    per application: it holds a connection pool and a thread running its event loop.
    It works where an event loop already runs in the calling thread (a notebook cell, an
    async framework calling sync code), and threads may share one client: their calls
    run concurrently in its loop. The arguments are :class:`Polar`'s, except
    ``session`` (the pool lives in the client's own thread).
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        environment: Literal["production", "sandbox"] | None = None,
        base_url: str | None = None,
        timeout: Timeout | float | None = _DEFAULT_TIMEOUT,
        max_retries: int = 2,
        call_timeout: float | None = None,
        backoff: Backoff = _DEFAULT_BACKOFF,
        rate_limit: RateLimit | Literal["auto"] | None = _AUTO,
        concurrency: int = DEFAULT_CONCURRENCY,
        api_version: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        redis_url: str | None = None,
    ) -> None:
        # Only the Secret holds the token from here on (a traceback printed with its
        # locals shows no local variable holding it), and Polar takes it as it is.
        token = Secret(access_token)
        del access_token
        # Arguments are checked here, in the caller's thread, before any thread starts.
        self._client = Polar(
            token,  # type: ignore[arg-type]
            environment=environment,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            call_timeout=call_timeout,
            backoff=backoff,
            rate_limit=rate_limit,
            api_version=api_version,
            ssl=ssl,
            max_response_bytes=max_response_bytes,
            allow_insecure_http=allow_insecure_http,
            concurrency=concurrency,
            redis_url=redis_url,
        )
        self._loop = BackgroundLoop(name=f"polar-links-sync-{id(self):x}")
        self._owner = True
        #: The checkout-links resource: ``list``, ``get``, ``create``, ``update``, ``delete``.
        self.checkout_links = SyncCheckoutLinks(self._client.checkout_links, self._loop)
        self._finalizer = weakref.finalize(
            self, _warn_unclosed, self._loop, self._client, repr(self)
        )

    def with_options(
        self,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        concurrency: int | NotGiven = NOT_GIVEN,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> SyncPolar:
        """Return a view of this client whose calls use these settings by default (see
        :meth:`Polar.with_options`). The view shares this client's pool, thread and
        rate limiter; closing the view leaves them open, closing this client closes
        them for every view."""
        client = self._client.with_options(
            timeout=timeout,
            max_retries=max_retries,
            concurrency=concurrency,
            call_timeout=call_timeout,
        )
        view = object.__new__(type(self))
        view._client = client
        view._loop = self._loop
        view._owner = False
        view.checkout_links = SyncCheckoutLinks(client.checkout_links, self._loop)
        return view

    @property
    def base_url(self) -> str:
        """The API base URL requests go to."""
        return self._client.base_url

    @property
    def closed(self) -> bool:
        """True once the client has been closed; it cannot be used again."""
        return self._loop.closed

    def close(self) -> None:
        """Close the connection pool and end the client's thread. Idempotent. On a view
        from :meth:`with_options`, does nothing: the pool belongs to the client."""
        if self._owner:
            self._finalizer.detach()
            self._loop.close(self._client.aclose())

    def __enter__(self) -> SyncPolar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> NoReturn:
        raise TypeError(
            "SyncPolar is the synchronous client: use `with SyncPolar(...) as polar:`, or "
            "the async client with `async with Polar(...) as polar:`"
        )

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __repr__(self) -> str:
        if not hasattr(self, "_loop"):  # __init__ is still checking its arguments
            return "<SyncPolar (not constructed) access_token='***'>"
        state = " closed" if self.closed else ""
        view = "" if self._owner else " view"
        return f"<SyncPolar{view} base_url={self.base_url!r} access_token='***'{state}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "a SyncPolar client cannot be pickled (it holds a token and a connection pool)"
        )


def _warn_unclosed(loop: BackgroundLoop, client: Polar, shown: str) -> None:
    warnings.warn(
        f"unclosed polar-links client {shown}: use `with SyncPolar(...) as polar:` or call "
        "polar.close() (it is closed for you now)",
        ResourceWarning,
        stacklevel=2,
    )
    loop.close(client.aclose())
