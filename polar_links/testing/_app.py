"""The aiohttp application: routes, auth, API versions, faults and request recording.

Request pipeline, in order: record arrival -> ``faults.latency`` -> one scheduled fault
(hang / drop / fail) -> ``Polar-Version`` check -> route exists -> bearer token ->
write scope -> rate limit -> request budget (``_budget.py``) -> handler. The response
status is then written into the request's :class:`RecordedRequest`.
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
from ._validation import Error, parse_list_query, parse_path_id, validate_create, validate_update

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
LIST_PATH = "/v1/checkout-links/"

_JSON = "application/json"
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
    """Return a FastAPI-shaped 422 response."""
    return json_response({"detail": errors}, 422)


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
        if self.store.update(link_id, changes) is None:
            return _not_found()
        return self._link_response(link_id)

    async def delete_link(self, request: web.Request) -> web.StreamResponse:
        link_id = parse_path_id(request.match_info["id"])
        if isinstance(link_id, list):
            return validation_error(link_id)
        if not self.store.delete(link_id):
            return _not_found()
        return web.Response(status=204)

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
            return polar_error(404, f"Unknown API version: {version}")
        response = await self._guarded(request, handler)
        if version is not None:
            response.headers["Polar-Version"] = version
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        state = self.state
        route_error = request.match_info.http_exception
        if route_error is not None:
            return json_response({"detail": route_error.reason}, route_error.status)
        token = _bearer(request)
        if token is None or token not in (state.token, state.read_only_token):
            challenge = {"WWW-Authenticate": 'Bearer realm="polar"'}
            return polar_error(401, "Missing or invalid access token.", challenge)
        if token != state.token and request.method in _WRITE_METHODS:
            return polar_error(403, "The access token lacks the checkout_links:write scope.")
        retry_after = state.faults.rate_limited(token, time.monotonic())
        if retry_after is not None:
            header = str(int(retry_after)) if float(retry_after).is_integer() else str(retry_after)
            return polar_error(
                429, f"Rate limit exceeded, retry in {header} seconds.", {"Retry-After": header}
            )
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


def _failure(fault: ScheduledFault) -> web.Response:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        value = fault.retry_after
        headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
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
    app.router.add_get(LIST_PATH, handlers.list_links)
    app.router.add_get(LIST_PATH.rstrip("/"), handlers.list_links)
    app.router.add_post(LIST_PATH, handlers.create_link)
    app.router.add_get(LIST_PATH + "{id}", handlers.get_link)
    app.router.add_patch(LIST_PATH + "{id}", handlers.update_link)
    app.router.add_delete(LIST_PATH + "{id}", handlers.delete_link)
    return app
