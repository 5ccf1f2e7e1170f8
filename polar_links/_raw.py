"""The HTTP response behind a result: ``APIResponse`` (status, headers, the API version
the server answered with), ``RawResult`` (a result with its response), and the means to
build ``with_raw_response`` views of a resource without repeating its methods."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from ._transport import Response

__all__ = ["APIResponse", "RawResult", "RawView", "note_response", "with_response"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

# While a ``with_raw_response`` call runs: the responses its requests were answered with.
_SEEN: contextvars.ContextVar[list[Response] | None] = contextvars.ContextVar(
    "polar_links_seen_responses", default=None
)


@dataclass(frozen=True, slots=True)
class APIResponse:
    """The HTTP response a result was decoded from (the last attempt's, after retries).

    ``status_code``: the HTTP status (e.g. 200, 201, 204). ``headers``: the response
    headers, read-only, looked up case-insensitively (``headers["polar-version"]``).
    ``method`` and ``url``: the request that got it.
    """

    status_code: int
    headers: Mapping[str, str]
    method: str
    url: str

    @property
    def polar_version(self) -> str | None:
        """The API version the server answered with (its ``Polar-Version`` header: the
        version the request asked for, else the server's default, e.g. ``"2026-04"``),
        or ``None`` if the response has no such header."""
        return self.headers.get("polar-version")

    @classmethod
    def of(cls, response: Response) -> APIResponse:
        """The public view of one of the transport's responses (without its body)."""
        return cls(response.status, response.headers, response.method, response.url)


@dataclass(frozen=True, slots=True)
class RawResult(Generic[T]):
    """What a ``with_raw_response`` call returns: ``data``, the call's usual result
    (``None`` for ``delete``), and ``response``, the :class:`APIResponse` it came from."""

    data: T
    response: APIResponse


def note_response(response: Response) -> Response:
    """Hand ``response`` to the ``with_raw_response`` call running, if any; return it."""
    seen = _SEEN.get()
    if seen is not None:
        seen.append(response)
    return response


class RawView(Generic[R]):
    """Base of a resource's ``with_raw_response`` view: holds the resource."""

    def __init__(self, resource: R) -> None:
        self._resource = resource


def with_response(
    method: Callable[Concatenate[R, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[RawView[R], P], Coroutine[Any, Any, RawResult[T]]]:
    """A resource's async method as a method of its raw view: same arguments and
    exceptions, returning the result together with the response it was decoded from."""

    @functools.wraps(method)
    async def with_raw_response(
        self: RawView[R], /, *args: P.args, **kwargs: P.kwargs
    ) -> RawResult[T]:
        seen: list[Response] = []
        token = _SEEN.set(seen)
        try:
            data = await method(self._resource, *args, **kwargs)
        finally:
            _SEEN.reset(token)
        return RawResult(data, APIResponse.of(seen[-1]))

    return with_raw_response
