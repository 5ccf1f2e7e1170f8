"""``polar.checkout_links``: list, get, create, update and delete checkout links."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from ._checkpoint import Binding, Checkpoint
from ._config import Timeout
from ._decoding import decode_link_async, decode_list_async
from ._exceptions import InvalidArgumentValueError, InvalidResponseError, shorten, snippet
from ._link_fields import LINK_FIELDS, check_fields
from ._models import CheckoutLink
from ._options import NOT_GIVEN, CallOptions, NotGiven, RequestOptions
from ._pagination import CheckoutLinkPaginator, Page, sort_key
from ._query import MAX_LIMIT, TIE_BREAKER, check_page_args, check_sorting, list_query, page_query
from ._raw import APIResponse, RawView, note_response, with_response
from ._requests import CheckoutLinkCreate, CheckoutLinkUpdate, encode_body
from ._transport import Response, Transport
from ._validation import check_int, check_uuid

__all__ = ["CheckoutLinks", "CheckoutLinksWithRawResponse"]

_PATH = "/v1/checkout-links/"
#: A ``max_items`` above this is no limit at all (and would not fit a float).
_NO_LIMIT = 2**53
IdLike = str | uuid.UUID
Ids = IdLike | Sequence[IdLike]


class CheckoutLinks:
    """The checkout-links resource of one :class:`~polar_links.Polar` client.

    Every method also takes ``extra_query`` (parameter name to a str, an int or a list
    of them) and ``extra_headers`` (header name to str): sent with each of its requests,
    checked first (no ``Authorization``, no ``page``/``limit`` or filter the method has
    an argument for). :attr:`with_raw_response` returns results with their responses.
    """

    def __init__(self, transport: Transport, options: CallOptions) -> None:
        self._transport = transport
        self._options = options

    def _call_options(
        self,
        timeout: Timeout | float | NotGiven | None,
        max_retries: int | NotGiven | None,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None,
        extra_headers: Mapping[str, str] | None,
        call_timeout: float | NotGiven | None,
        concurrency: int | NotGiven | None = NOT_GIVEN,
    ) -> CallOptions:
        given = RequestOptions.of(
            timeout=timeout,
            max_retries=max_retries,
            call_timeout=call_timeout,
            concurrency=concurrency,
            extra_query=extra_query,
            extra_headers=extra_headers,
        )
        return self._options.override(given)

    @property
    def with_raw_response(self) -> CheckoutLinksWithRawResponse:
        """The same methods, each returning a :class:`RawResult`: the result and the
        :class:`APIResponse` (status, headers, ``polar_version``) it came from."""
        return CheckoutLinksWithRawResponse(self)

    def list(
        self,
        *,
        organization_id: Ids | None = None,
        product_id: Ids | None = None,
        sorting: Sequence[str] | None = None,
        limit: int = MAX_LIMIT,
        page: int = 1,
        max_items: int | None = None,
        concurrency: int | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
        resume: str | None = None,
    ) -> CheckoutLinkPaginator:
        """List checkout links; returns a paginator without sending anything.

        ``organization_id``/``product_id``: one id or a list (a link matches any of them).
        ``sorting``: criteria applied in order, e.g. ``["-created_at", "label"]``; when
        they do not name ``created_at``, it is sent as the last criterion, so that links
        tying on all of them still have one order for every page (the server has no
        tie-breaker of its own; see "Consistency" in the listing docs).
        ``limit``: links per page, 1..100 (default 100: fewest requests).
        ``page``: the page to start from (1-based). ``max_items``: stop after this many
        links, without fetching further pages. ``concurrency``: page requests in flight
        at once. ``timeout`` (seconds per attempt, ``None``: no limit),
        ``max_retries`` and ``call_timeout`` (seconds for the whole of one page request,
        its waits and retries included; ``None``: no bound) apply to each page request.
        Left out (or ``None``, for ``max_retries`` and ``concurrency``), a setting is the
        client's. ``resume``: a ``paginator.checkpoint`` string from an earlier walk with
        the same filters, sorting and limit; the walk continues after the last link that
        walk delivered (see "Resumable walks" in the docs for what holds in each order).
        Arguments are checked now, before any request.
        """
        base = list_query(organization_id=organization_id, product_id=product_id, sorting=sorting)
        page, limit = check_page_args(page, limit)
        # Extra query parameters can change what the list holds: a checkpoint binds them too.
        extra = [(f"extra_query:{k}", repr(v)) for k, v in sorted((extra_query or {}).items())]
        binding = Binding.of(
            [*base, *extra], None if sorting is None else check_sorting(sorting), limit
        )
        if resume is not None and page != 1:
            raise InvalidArgumentValueError(
                f"give either resume or page, not both (got page={page}): a checkpoint "
                "knows the page to continue from"
            )
        start = (
            Checkpoint.at_start(binding, page)
            if resume is None
            else Checkpoint.decode(resume, binding)
        )
        if max_items is not None and check_int("max_items", max_items, minimum=0) > _NO_LIMIT:
            max_items = None  # more links than any list holds: the same as no limit
        options = self._call_options(
            timeout, max_retries, extra_query, extra_headers, call_timeout, concurrency
        )

        async def fetch_page(number: int) -> Page:
            response = await self._transport.request(
                "GET", _PATH, options, query=page_query(base, number, limit)
            )
            try:
                items, pagination, skipped = await decode_list_async(response.body)
            except msgspec.MsgspecError as exc:
                raise _invalid(response, "a list of checkout links", exc) from None
            return Page(
                items,
                number,
                pagination.total_count,
                pagination.max_page,
                skipped,
                APIResponse.of(response),
            )

        sent_sorting = [value for key, value in base if key == "sorting"]
        return CheckoutLinkPaginator(
            fetch_page,
            start_page=page,
            max_items=max_items,
            concurrency=options.concurrency,
            sort_key=sort_key(sent_sorting or [TIE_BREAKER]),
            rows_per_link=max(1, sum(1 for key, _ in base if key == "product_id")),
            limit=limit,
            url=str(self._transport.base_url).rstrip("/") + _PATH,
            start=start,
            resume=resume is not None,
        )

    async def get(
        self,
        id: IdLike,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> CheckoutLink:
        """Return the checkout link with this id; raises ``NotFoundError`` if there is none.

        ``timeout`` (seconds per attempt, ``None``: no limit), ``max_retries`` and
        ``call_timeout`` (seconds for the whole call, waits and retries included;
        ``None``: no bound): left out, the client's.
        """
        path = _PATH + check_uuid("id", id)
        options = self._call_options(timeout, max_retries, extra_query, extra_headers, call_timeout)
        response = await self._transport.request("GET", path, options)
        return await _link(response)

    async def create(
        self,
        *,
        products: Sequence[IdLike] | None = None,
        product_id: IdLike | None = None,
        product_price_id: IdLike | None = None,
        payment_processor: Literal["stripe"] = "stripe",
        label: str | None = None,
        allow_discount_codes: bool | None = None,
        require_billing_address: bool | None = None,
        discount_id: IdLike | None = None,
        success_url: str | None = None,
        return_url: str | None = None,
        seats: int | None = None,
        units: int | None = None,
        trial_interval: Literal["day", "week", "month", "year"] | None = None,
        trial_interval_count: int | None = None,
        metadata: dict[str, str | int | float | bool] | None = None,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> CheckoutLink:
        """Create a checkout link and return it.

        Give exactly one of ``products`` (a list of product ids: the current way),
        ``product_id`` or ``product_price_id`` (both deprecated by Polar). Optional
        fields left as ``None`` are not sent, so the server's defaults apply
        (``allow_discount_codes=True``, ``require_billing_address=False``).
        ``success_url`` may contain the literal ``{CHECKOUT_ID}`` placeholder.
        A create is never retried once it may have reached the server, so it can never
        make two links; ``max_retries`` bounds the retries after failures to connect.
        ``timeout``/``max_retries``/``call_timeout`` as for :meth:`get`.
        """
        arguments = locals()  # by name; LINK_FIELDS says which ones are link fields
        options = self._call_options(timeout, max_retries, extra_query, extra_headers, call_timeout)
        sells = [f.name for f in LINK_FIELDS if f.sells and arguments[f.name] is not None]
        if len(sells) != 1:
            raise InvalidArgumentValueError(
                "give exactly one of products (a list of product ids), product_id or "
                f"product_price_id; got {', '.join(sells) or 'none'}"
            )
        if payment_processor != "stripe":
            raise InvalidArgumentValueError(
                f"payment_processor must be 'stripe', got {payment_processor!r}"
            )
        # None means "not given" here: the server's defaults apply.
        fields = check_fields(
            {f.name: arguments[f.name] for f in LINK_FIELDS if arguments[f.name] is not None}
        )
        body = CheckoutLinkCreate(payment_processor=payment_processor, **fields)
        response = await self._transport.request("POST", _PATH, options, body=encode_body(body))
        return await _link(response)

    async def update(
        self,
        id: IdLike,
        *,
        products: Sequence[IdLike] | UnsetType = UNSET,
        label: str | UnsetType | None = UNSET,
        allow_discount_codes: bool | UnsetType = UNSET,
        require_billing_address: bool | UnsetType = UNSET,
        discount_id: IdLike | UnsetType | None = UNSET,
        success_url: str | UnsetType | None = UNSET,
        return_url: str | UnsetType | None = UNSET,
        seats: int | UnsetType | None = UNSET,
        units: int | UnsetType | None = UNSET,
        trial_interval: Literal["day", "week", "month", "year"] | UnsetType | None = UNSET,
        trial_interval_count: int | UnsetType | None = UNSET,
        metadata: dict[str, str | int | float | bool] | UnsetType = UNSET,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> CheckoutLink:
        """Change the given fields of a checkout link and return it.

        Only the arguments you pass are sent: an omitted one stays as it is, ``None``
        clears a nullable field (``label``, ``success_url``, ``seats``, ``units``...). ``products``
        replaces the whole product list; ``metadata`` replaces the whole map.
        ``timeout``/``max_retries``/``call_timeout`` as for :meth:`get`.
        """
        arguments = locals()  # by name; LINK_FIELDS says which ones are link fields
        path = _PATH + check_uuid("id", id)
        options = self._call_options(timeout, max_retries, extra_query, extra_headers, call_timeout)
        fields = check_fields({f.name: arguments[f.name] for f in LINK_FIELDS if f.updatable})
        body = encode_body(CheckoutLinkUpdate(**fields))
        response = await self._transport.request("PATCH", path, options, body=body)
        return await _link(response)

    async def delete(
        self,
        id: IdLike,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, str | int | Sequence[str | int]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Delete the checkout link with this id; raises ``NotFoundError`` if there is none.

        A DELETE is retried like a GET. If an attempt was applied but its answer lost (a
        timeout, a dropped connection, a 5xx from a proxy), the retry finds the link gone:
        that 404 counts as success, so the call returns ``None`` once the link is deleted.
        ``timeout``/``max_retries``/``call_timeout`` as for :meth:`get`.
        """
        path = _PATH + check_uuid("id", id)
        options = self._call_options(timeout, max_retries, extra_query, extra_headers, call_timeout)
        note_response(await self._transport.request("DELETE", path, options, gone_is_done=True))


class CheckoutLinksWithRawResponse(RawView[CheckoutLinks]):
    """``polar.checkout_links.with_raw_response``: ``get``, ``create``, ``update`` and
    ``delete`` with the arguments and exceptions of :class:`CheckoutLinks`, each
    returning a :class:`RawResult` (``.data``: the usual result, ``.response``: its
    status, headers and ``polar_version``). For listing, every :class:`Page` carries
    its own ``response``."""

    get = with_response(CheckoutLinks.get)
    create = with_response(CheckoutLinks.create)
    update = with_response(CheckoutLinks.update)
    delete = with_response(CheckoutLinks.delete)


async def _link(response: Response) -> CheckoutLink:
    note_response(response)
    try:
        return await decode_link_async(response.body)
    except msgspec.MsgspecError as exc:
        raise _invalid(response, "a checkout link", exc) from None


def _invalid(response: Response, expected: str, exc: Exception) -> InvalidResponseError:
    error = InvalidResponseError(
        f"{response.method} {shorten(response.url)} answered {response.status} with a body "
        f"that is not {expected} ({exc}): {snippet(response.body)!r}",
        status_code=response.status,
        method=response.method,
        url=response.url,
    )
    response.scrub(error)  # a body may echo the token
    return error
