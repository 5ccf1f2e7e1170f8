"""The aiohttp application: routes, auth, API versions, faults and request recording.

Request pipeline, in order: record arrival -> ``faults.latency`` -> one scheduled fault
(hang / drop / fail) -> ``Polar-Version`` check -> missing trailing slash (307) -> route
exists -> bearer token -> write scope -> rate limit -> request budget (``_budget.py``) ->
handler. The response status is then written into the request's :class:`RecordedRequest`.

Bodies and headers follow what the real server was seen to send (FACTS.md, "Observed on
the real server"), including where they differ from the published schema: OAuth-style
401/403 bodies without ``detail``, a 429 with no body at all, a bare ``{"detail": "Not
Found"}`` for an unknown ``Polar-Version``, a 204 that claims a JSON content type, a
``polar-version`` header on every answer and the deprecated ``/api/v1`` root.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgspec
from aiohttp import web

from ._budget import RequestBudget, budget_middleware
from ._data import build_catalogue, generate_links
from ._faults import Faults, ScheduledFault
from ._store import LinkStore
from ._validation import (
    Error,
    parse_list_query,
    parse_path_id,
    rejection_name,
    validate_create,
    validate_update,
)

logger = logging.getLogger("polar_links.testing")
#: Requests the log keeps; past that the oldest half is forgotten, so a long-running
#: ``polar-links serve`` does not grow without bound.
MAX_RECORDED_REQUESTS = 100_000

__all__ = [
    "DEFAULT_TOKEN",
    "KNOWN_VERSIONS",
    "RecordedRequest",
    "ServerState",
    "create_app",
]

#: The bearer token the test server accepts unless told otherwise.
DEFAULT_TOKEN = "polar_oat_local_test_token"
#: ``Polar-Version`` values the server accepts (and echoes back).
KNOWN_VERSIONS = frozenset({"2026-04", "2026-10"})
#: The version answered (``polar-version`` header) when the request names none.
DEFAULT_VERSION = "2026-04"
LIST_PATH = "/v1/checkout-links/"
#: The old API root: it still works, and each answer carries a deprecation notice.
DEPRECATED_ROOT = "/api/v1/"
DEPRECATION_NOTICE = "The API root has moved from /api/v1 to /v1. Please update your integration."

_JSON = "application/json"
_LIST_PATHS = (LIST_PATH, "/api" + LIST_PATH)
_UNSLASHED = frozenset(path.rstrip("/") for path in _LIST_PATHS)
_INVALID_TOKEN = (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons."
)
_INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."
# What the OAuth layer of the real server adds to its 401 invalid_token and 403 answers.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    ``query`` holds the query pairs in order (repeated keys repeated); ``headers`` has
    lowercased names and never contains ``authorization``; ``time`` is
    ``time.monotonic()`` (seconds) at arrival; ``status`` is the HTTP status answered,
    ``0`` while the request is in flight or when no response was sent (dropped or hung
    connection); ``body`` is the raw request body.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    time: float
    status: int = 0
    body: bytes = b""

    def json(self) -> Any:
        """Return the request body decoded as JSON (``None`` for an empty body)."""
        return _decode(self.body) if self.body else None


@dataclass
class ServerState:
    """Everything the app needs: the store, tokens, fault knobs and the request log."""

    store: LinkStore
    token: str = DEFAULT_TOKEN
    read_only_token: str | None = None
    faults: Faults = field(default_factory=Faults)
    requests: list[RecordedRequest] = field(default_factory=list)
    budget: RequestBudget = field(default_factory=RequestBudget)
    _waiters: set[asyncio.Future[None]] = field(default_factory=set)
    _closing: bool = False

    async def pause(self, seconds: float | None) -> None:
        """Sleep ``seconds`` (``None``: until :meth:`release_all`); returns early on release."""
        if self._closing:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        handle = None
        if seconds is not None:
            handle = loop.call_later(seconds, _resolve, waiter)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            self._waiters.discard(waiter)
            if handle is not None:
                handle.cancel()

    def release_all(self) -> None:
        """Wake every paused request now and make later pauses return at once (shutdown)."""
        self._closing = True
        for waiter in list(self._waiters):
            _resolve(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


# ---------------------------------------------------------------- responses


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Return a JSON response encoded with msgspec."""
    return web.Response(body=_encode(payload), status=status, content_type=_JSON, headers=headers)


def polar_error(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    """Return a Polar error body ``{"error": <name>, "detail": ...}`` with ``status``."""
    name = _ERROR_NAMES.get(status) or HTTPStatus(status).phrase.replace(" ", "")
    return json_response({"error": name, "detail": detail}, status, headers)


def validation_error(errors: list[Error]) -> web.Response:
    """Return a 422 response ``{"error": <see rejection_name>, "detail": errors}``."""
    return json_response({"error": rejection_name(errors), "detail": errors}, 422)


def oauth_error(status: int, error: str, description: str, scope: str | None) -> web.Response:
    """Return the OAuth-style 401/403 answer: ``{"error", "error_description"}`` (no
    ``detail``) and a ``WWW-Authenticate`` challenge repeating them (and the ``scope``)."""
    challenge = 'Bearer realm="polar"'
    if scope is not None:
        challenge += f', scope="{scope}"'
    challenge += f', error="{error}", error_description="{description}"'
    headers = {**_NO_STORE, "WWW-Authenticate": challenge}
    return json_response({"error": error, "error_description": description}, status, headers)


def rate_limited(retry_after: float | None) -> web.Response:
    """Return a 429 as the real server sends it: no body, no content type, ``Retry-After``
    in seconds (whole seconds as an integer; no header when ``retry_after`` is ``None``)."""
    headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
    return web.Response(status=429, headers=headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _not_found() -> web.Response:
    return polar_error(404, "Not found")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ---------------------------------------------------------------- handlers


class _Handlers:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.store = state.store

    async def list_links(self, request: web.Request) -> web.StreamResponse:
        query = parse_list_query(request.query.items())
        if isinstance(query, list):
            return validation_error(query)
        items, total = self.store.page(
            organization_ids=query.organization_ids,
            product_ids=query.product_ids,
            sorting=query.sorting,
            page=query.page,
            limit=query.limit,
        )
        max_page = math.ceil(total / query.limit)
        body = b'{"items":%b,"pagination":{"total_count":%d,"max_page":%d}}' % (
            items,
            total,
            max_page,
        )
        create, delete = self.state.faults.take_page_actions(query.page)
        if create:
            self.store.create_newest(create)
        if delete:
            self.store.delete_oldest(delete)
        return web.Response(body=body, content_type=_JSON)

    async def create_link(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        fields = validate_create(body, self.store.catalogue)
        if isinstance(fields, list):
            return validation_error(fields)
        link = self.store.create(fields)
        return self._link_response(link["id"], 201)

    async def get_link(self, request: web.Request) -> web.StreamResponse:
        link_id = parse_path_id(request.match_info["id"])
        if isinstance(link_id, list):
            return validation_error(link_id)
        return self._link_response(link_id)

    async def update_link(self, request: web.Request) -> web.StreamResponse:
        link_id = parse_path_id(request.match_info["id"])
        if isinstance(link_id, list):
            return validation_error(link_id)
        current = self.store.get(link_id)
        if current is None:
            return _not_found()
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        changes = validate_update(body, self.store.catalogue, current["organization_id"])
        if isinstance(changes, list):
            return validation_error(changes)
        # Only values that differ are written: `PATCH {}` (or unknown fields, which are
        # ignored) changes nothing, not even modified_at. modified_at follows the link's
        # own columns; its products live in another table and leave it as it is.
        changed = {name: value for name, value in changes.items() if current.get(name) != value}
        if changed:
            touch = any(name != "products" for name in changed)
            if self.store.update(link_id, changed, touch=touch) is None:
                return _not_found()
        return self._link_response(link_id)

    async def delete_link(self, request: web.Request) -> web.StreamResponse:
        link_id = parse_path_id(request.match_info["id"])
        if isinstance(link_id, list):
            return validation_error(link_id)
        if not self.store.delete(link_id):
            return _not_found()
        # No body, yet the real server labels it JSON.
        return web.Response(status=204, content_type=_JSON)

    def _link_response(self, link_id: str, status: int = 200) -> web.Response:
        encoded = self.store.encoded(link_id)
        if encoded is None:
            return _not_found()
        return web.Response(body=encoded, status=status, content_type=_JSON)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return validation_error([_missing_body()])
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        entry: Error = {
            "type": "json_invalid",
            "loc": ["body", 0],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": str(exc)},
        }
        return validation_error([entry])


def _missing_body() -> Error:
    return {"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}


# ---------------------------------------------------------------- pipeline

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Pipeline:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrival = time.monotonic()
        body = await request.read() if request.body_exists else b""
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=list(request.query.items()),
            headers={
                k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"
            },
            time=arrival,
            body=body,
        )
        log = self.state.requests
        if len(log) >= MAX_RECORDED_REQUESTS:
            del log[: MAX_RECORDED_REQUESTS // 2]
        log.append(record)
        status = 0
        try:
            response, status = await self._dispatch(request, handler)
            return response
        except Exception:
            status = 500  # aiohttp answers 500 for an unexpected error
            raise
        finally:
            for index in range(len(log) - 1, -1, -1):  # the record is usually last
                if log[index] is record:
                    log[index] = dataclasses.replace(record, status=status)
                    break
            logger.debug("%s %s -> %s", request.method, request.path_qs, status or "dropped")

    async def _dispatch(
        self, request: web.Request, handler: Handler
    ) -> tuple[web.StreamResponse, int]:
        state = self.state
        faults = state.faults
        if faults.latency > 0:
            await state.pause(faults.latency)
        fault = faults.take(request.path)
        if fault is not None:
            return await self._inject(request, handler, fault)
        response = await self._answer(request, handler)
        return response, response.status

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        version = request.headers.get("Polar-Version")
        if version is not None and version not in KNOWN_VERSIONS:
            # Checked before routing, on every route: a bare FastAPI 404 (no "error" key)
            # and no polar-version header, although no link is missing.
            return json_response({"detail": "Not Found"}, 404)
        response = await self._guarded(request, handler)
        response.headers["polar-version"] = version or DEFAULT_VERSION
        if request.path.startswith(DEPRECATED_ROOT):
            response.headers["x-polar-deprecation-notice"] = DEPRECATION_NOTICE
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        if request.path in _UNSLASHED:
            return _redirect_to_slash(request)
        route_error = request.match_info.http_exception
        if route_error is not None:
            return json_response({"detail": route_error.reason}, route_error.status)
        token = _bearer(request)
        if token is None:
            challenge = {"WWW-Authenticate": 'Bearer realm="polar"'}
            return polar_error(401, "Unauthorized", challenge)
        if token not in (state.token, state.read_only_token):
            return oauth_error(401, "invalid_token", _INVALID_TOKEN, None)
        if token != state.token and request.method in _WRITE_METHODS:
            scope = "checkout_links:write"
            return oauth_error(403, "insufficient_scope", _INSUFFICIENT_SCOPE, scope)
        retry_after = state.faults.rate_limited(token, time.monotonic())
        if retry_after is not None:
            return rate_limited(retry_after)
        try:
            return await handler(request)
        except web.HTTPException as exc:
            return json_response({"detail": exc.reason}, exc.status)

    async def _inject(
        self, request: web.Request, handler: Handler, fault: ScheduledFault
    ) -> tuple[web.StreamResponse, int]:
        if fault.kind == "fail":
            return _failure(fault), fault.status
        if fault.kind == "hang":
            if fault.after_headers:
                await _send_half(request, await self._answer(request, handler))
            await self.state.pause(None)
            _reset(request)
            return web.Response(status=504), 0
        if fault.mode == "truncate":
            return await _truncate(request, await self._answer(request, handler)), 0
        if fault.mode == "lost":
            await self._answer(request, handler)
        _reset(request)
        return web.Response(status=500), 0


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _redirect_to_slash(request: web.Request) -> web.Response:
    """Answer 307 to the same URL with the trailing slash (FastAPI's redirect_slashes)."""
    # Spelled out: request.url fails on aiohttp < 3.10 with a recent yarl.
    location = f"{request.scheme}://{request.host}{request.rel_url.raw_path}/"
    if request.rel_url.raw_query_string:
        location += "?" + request.rel_url.raw_query_string
    return web.Response(status=307, headers={"Location": location})


def _failure(fault: ScheduledFault) -> web.Response:
    if fault.status == 429 and not fault.html:
        return rate_limited(fault.retry_after)
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = _seconds(fault.retry_after)
    title = f"{fault.status} {_phrase(fault.status)}"
    if fault.html:
        page = f"<html><body><h1>{title}</h1></body></html>"
        return web.Response(
            text=page, status=fault.status, content_type="text/html", headers=headers
        )
    return polar_error(fault.status, title, headers)


def _reset(request: web.Request) -> None:
    """Close the connection abruptly (RST), without sending anything."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _send_half(request: web.Request, full: web.StreamResponse) -> web.StreamResponse:
    """Send ``full``'s status and headers with its real Content-Length, and half its body."""
    body = full.body if isinstance(full, web.Response) and isinstance(full.body, bytes) else b""
    stream = web.StreamResponse(status=full.status, headers=full.headers)
    stream.content_length = max(len(body), 2)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    return stream


async def _truncate(request: web.Request, full: web.StreamResponse) -> web.StreamResponse:
    """Send ``full``'s status and headers with its real Content-Length, half its body, close."""
    stream = await _send_half(request, full)
    if request.transport is not None:
        request.transport.close()
    return stream


def create_app(
    store: LinkStore | None = None,
    *,
    token: str = DEFAULT_TOKEN,
    read_only_token: str | None = None,
    faults: Faults | None = None,
    requests: list[RecordedRequest] | None = None,
    budget: RequestBudget | None = None,
) -> web.Application:
    """Return an aiohttp application serving the checkout-links API from ``store``.

    ``store`` defaults to 250 links generated from seed 0. ``token`` may read and write;
    ``read_only_token`` (optional) may only read (writes get 403). ``faults`` and
    ``requests`` default to fresh objects; pass your own to steer and observe the app.
    ``budget`` (a :class:`RequestBudget`, off by default) limits requests per token.
    Hung and delayed requests are released when the app shuts down.
    """
    if store is None:
        catalogue = build_catalogue()
        store = LinkStore(generate_links(250, catalogue=catalogue), catalogue)
    state = ServerState(
        store,
        token=token,
        read_only_token=read_only_token,
        faults=faults if faults is not None else Faults(),
        requests=requests if requests is not None else [],
        budget=budget if budget is not None else RequestBudget(),
    )
    return _build(state)


def _build(state: ServerState) -> web.Application:
    handlers = _Handlers(state)
    # The budget runs inside the pipeline: after authentication, before the handlers.
    middlewares = [_Pipeline(state).middleware, budget_middleware(state.budget)]
    app = web.Application(middlewares=middlewares, client_max_size=4 * 1024**2)

    async def release(_: web.Application) -> None:
        state.release_all()

    app.on_shutdown.append(release)
    for path in _LIST_PATHS:  # /v1/ and the deprecated /api/v1/
        app.router.add_get(path, handlers.list_links)
        app.router.add_post(path, handlers.create_link)
        app.router.add_get(path + "{id}", handlers.get_link)
        app.router.add_patch(path + "{id}", handlers.update_link)
        app.router.add_delete(path + "{id}", handlers.delete_link)
    return app
