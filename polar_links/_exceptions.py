"""The exception tree of polar-links.

Every error the SDK raises for a server or network problem is a :class:`PolarError`.
Bad arguments are rejected before any request with an :class:`InvalidArgumentError`,
which is also a :class:`ValueError` (a bad value) or a :class:`TypeError` (a value of
the wrong type), naming the argument, the value and what is allowed.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CallTimeoutError",
    "ConflictError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidArgumentValueError",
    "InvalidResponseError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PolarError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnprocessableEntityError",
    "UnsupportedAPIVersionError",
    "ValidationErrorDetail",
]

_SNIPPET_CHARS = 200
# The scopes a 403's WWW-Authenticate names: Bearer realm="polar", scope="a b", error=...
_SCOPE_RE = re.compile(r'\bscope="([^"]*)"')


def snippet(body: bytes | str, limit: int = _SNIPPET_CHARS) -> str:
    """Return at most ``limit`` characters of a body, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten(text: str, limit: int = _SNIPPET_CHARS) -> str:
    """Return ``text`` if it has at most ``limit`` characters, else its start and how
    many characters were left out (a URL with 10,000 ids stays one readable line)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit:,} characters)"


class InvalidArgumentError(Exception):
    """Raised before any request when an argument is not allowed; every instance is
    also a :class:`ValueError` or a :class:`TypeError`."""


class InvalidArgumentValueError(InvalidArgumentError, ValueError):
    """Raised when an argument has an allowed type but a value that is not allowed."""


class InvalidArgumentTypeError(InvalidArgumentError, TypeError):
    """Raised when an argument has a type that is not allowed."""


class PolarError(Exception):
    """Base class of every error polar-links raises for a server or network problem."""


class APIConnectionError(PolarError):
    """Raised when the request could not be completed at the transport level
    (refused or dropped connection, DNS or TLS failure, truncated body), after retries;
    ``attempts`` is how many were made (429s included)."""

    def __init__(self, message: str, *, method: str, url: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts


class APITimeoutError(APIConnectionError):
    """Raised when the connect or per-attempt total timeout expired, after retries."""


class CallTimeoutError(APITimeoutError):
    """Raised when a call cannot finish within its ``call_timeout`` (seconds for the
    whole call), at once when that is known before waiting.

    ``call_timeout``: the bound, in seconds. ``reason``: ``"budget"`` (the client-side
    rate limit would hold the request past it) or ``"attempt"`` (an attempt was still
    running when it ran out). ``wait``: seconds the request would still have had to
    wait, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        call_timeout: float,
        reason: str,
        wait: float | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, method=method, url=url, attempts=attempts)
        self.call_timeout = call_timeout
        self.reason = reason
        self.wait = wait


class InvalidResponseError(PolarError):
    """Raised when a successful response's body is not the JSON the API documents
    (not JSON at all, or missing the fields needed to continue, such as ``pagination``)."""

    def __init__(self, message: str, *, status_code: int, method: str, url: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.url = url


class PaginationError(InvalidResponseError):
    """Raised when a walk's pages cannot come from a real list (empty pages before
    ``max_page``, page after page of links already yielded, a ``max_page`` that keeps
    growing, a ``pagination`` no list has); the walk stops after a bounded number of
    requests. ``page`` is the number of the page that ended it."""

    def __init__(self, message: str, *, page: int, url: str) -> None:
        super().__init__(message, status_code=200, method="GET", url=url)
        self.page = page


class ResponseTooLargeError(PolarError):
    """Raised when a response body is larger than the client's ``max_response_bytes``."""

    def __init__(self, message: str, *, limit: int, method: str, url: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.method = method
        self.url = url


class ValidationErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a 422 response: where (``loc``), what (``msg``) and the error ``type``."""

    loc: list[str | int] = msgspec.field(default_factory=list)
    msg: str = ""
    type: str = ""


class APIStatusError(PolarError):
    """Raised when the API answers with a 4xx or 5xx status (after retries, if any).

    Attributes: ``status_code``; ``body`` (the parsed JSON body, or the text of a body
    that is not JSON); ``detail`` (the server's message: its ``detail``, or the
    ``error_description`` of an OAuth-style 401/403 body); ``request_id`` (from the
    response headers, if any); ``method`` and ``url`` of the request.
    """

    def __init__(
        self,
        *,
        status_code: int,
        body: Any,
        method: str,
        url: str,
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.url = url
        self.request_id = request_id
        self.detail = _detail_text(body)
        message = f"{status_code} on {method} {shorten(url)}: {self._explain()}"
        if request_id:
            message += f" (request id {request_id})"
        super().__init__(message)

    def _explain(self) -> str:
        return self.detail


class BadRequestError(APIStatusError):
    """Raised on 400 Bad Request."""


class AuthenticationError(APIStatusError):
    """Raised on 401: the access token is missing, wrong, expired or for another environment."""


class PermissionDeniedError(APIStatusError):
    """Raised on 403: the token lacks the scope (``checkout_links:read``/``:write``).

    ``required_scopes`` are the scopes the server named (in its ``WWW-Authenticate``
    header) of which the token needs one; empty if it named none.
    """

    def __init__(self, *, required_scopes: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.required_scopes = required_scopes
        super().__init__(**kwargs)

    def _explain(self) -> str:
        if not self.required_scopes:
            return self.detail
        if len(self.required_scopes) == 1:
            return f"{self.detail}; the token needs the scope {self.required_scopes[0]}"
        return f"{self.detail}; the token needs one of the scopes {', '.join(self.required_scopes)}"


class NotFoundError(APIStatusError):
    """Raised on 404: no such checkout link."""


class UnsupportedAPIVersionError(NotFoundError):
    """Raised when the server does not support the API version the client pinned with
    ``Polar(api_version=...)`` (the ``Polar-Version`` header): Polar answers such a request
    with a bare 404 on every route. ``api_version`` is the version that was sent."""

    def __init__(self, *, api_version: str, **kwargs: Any) -> None:
        self.api_version = api_version
        super().__init__(**kwargs)

    def _explain(self) -> str:
        return (
            f"the server does not support API version {self.api_version!r} (sent as the "
            "Polar-Version header, from Polar(api_version=...)); pin a version it supports, "
            "such as '2026-10', or pass none to get the server's default"
        )


class ConflictError(APIStatusError):
    """Raised on 409 Conflict."""


class UnprocessableEntityError(APIStatusError):
    """Raised on 422: the server rejected a parameter or body field; see ``errors``."""

    @property
    def errors(self) -> list[ValidationErrorDetail]:
        """The server's validation details, one per rejected input."""
        items = self.body.get("detail") if isinstance(self.body, dict) else None
        if not isinstance(items, list):
            return []
        out = []
        for item in items:
            try:
                out.append(msgspec.convert(item, ValidationErrorDetail))
            except msgspec.ValidationError:
                continue
        return out


class RateLimitError(APIStatusError):
    """Raised on 429 once the retry budget is spent; ``retry_after`` is the server's
    ``Retry-After`` in seconds (``None`` if it sent none).

    Also raised, without sending the request, when the client is pausing after a 429
    for longer than the call may wait (its ``call_timeout``, or its patience with 429s:
    ``Backoff.max_rate_limit_wait``): ``retry_after`` is then the pause still to come,
    ``body`` is None and ``reason`` says why.
    """

    def __init__(
        self, *, retry_after: float | None, reason: str | None = None, **kwargs: Any
    ) -> None:
        self.retry_after = retry_after
        self.reason = reason
        super().__init__(**kwargs)

    def _explain(self) -> str:
        return self.reason or self.detail


class InternalServerError(APIStatusError):
    """Raised on any 5xx status, including a proxy's non-JSON 502/503/504 page."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
}


def status_error(
    *,
    status_code: int,
    body: Any,
    method: str,
    url: str,
    request_id: str | None,
    retry_after: float | None,
    api_version: str | None,
    challenge: str | None = None,
) -> APIStatusError:
    """Return the exception for an HTTP error answer: ``body`` is the decoded JSON body (or
    the text of one that is not JSON), ``retry_after`` the ``Retry-After`` in seconds,
    ``api_version`` the ``Polar-Version`` the request was sent with (``None``: none),
    ``challenge`` the ``WWW-Authenticate`` header, if any."""
    common: dict[str, Any] = {
        "status_code": status_code,
        "body": body,
        "method": method,
        "url": url,
        "request_id": request_id,
    }
    if status_code == 429:
        return RateLimitError(retry_after=retry_after, **common)
    if status_code == 404 and api_version is not None and _is_bare(body):
        # A missing link is {"error": "ResourceNotFound", ...}; an unknown version gets
        # FastAPI's bare {"detail": "Not Found"}, whatever the route.
        return UnsupportedAPIVersionError(api_version=api_version, **common)
    if status_code == 403:
        scopes = _SCOPE_RE.search(challenge or "")
        return PermissionDeniedError(
            required_scopes=tuple(scopes.group(1).split()) if scopes else (), **common
        )
    if status_code >= 500:
        return InternalServerError(**common)
    return _STATUS_CLASSES.get(status_code, APIStatusError)(**common)


def _is_bare(body: Any) -> bool:
    return isinstance(body, dict) and "error" not in body


def _detail_text(body: Any) -> str:
    if isinstance(body, dict):
        description = body.get("error_description")
        if isinstance(description, str):  # OAuth-style 401/403: no "detail"
            code = body.get("error")
            return f"{description} ({code})" if isinstance(code, str) else description
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail[:5]:
                if isinstance(item, dict):
                    loc = ".".join(str(p) for p in item.get("loc", []))
                    parts.append(f"{loc}: {item.get('msg', '')}")
            if parts:
                return "; ".join(parts)
        return snippet(msgspec.json.encode(body))
    if isinstance(body, str | bytes):
        return snippet(body) or "(empty body)"
    return "(no detail)"
