"""The exception tree of polar-links.

Every error the SDK raises for a server or network problem is a :class:`PolarError`.
Bad arguments are rejected before any request with an :class:`InvalidArgumentError`,
which is also a :class:`ValueError` (a bad value) or a :class:`TypeError` (a value of
the wrong type), naming the argument, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "InvalidArgumentValueError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolarError",
    "RateLimitError",
    "ResponseTooLargeError",
    "UnprocessableEntityError",
    "ValidationErrorDetail",
]

_SNIPPET_CHARS = 200


def snippet(body: bytes | str, limit: int = _SNIPPET_CHARS) -> str:
    """Return at most ``limit`` characters of a body, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    (refused or dropped connection, DNS or TLS failure, truncated body), after retries."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APITimeoutError(APIConnectionError):
    """Raised when the connect or per-attempt total timeout expired, after retries."""


class InvalidResponseError(PolarError):
    """Raised when a successful response's body is not the JSON the API documents
    (not JSON at all, or missing the fields needed to continue, such as ``pagination``)."""

    def __init__(self, message: str, *, status_code: int, method: str, url: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.url = url


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
    that is not JSON); ``detail`` (the server's message, if it sent one); ``request_id``
    (from the response headers, if any); ``method`` and ``url`` of the request.
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
        message = f"{status_code} on {method} {url}: {self.detail}"
        if request_id:
            message += f" (request id {request_id})"
        super().__init__(message)


class BadRequestError(APIStatusError):
    """Raised on 400 Bad Request."""


class AuthenticationError(APIStatusError):
    """Raised on 401: the access token is missing, wrong, expired or for another environment."""


class PermissionDeniedError(APIStatusError):
    """Raised on 403: the token lacks the scope (``checkout_links:read``/``:write``)."""


class NotFoundError(APIStatusError):
    """Raised on 404: no such checkout link (or an unknown ``Polar-Version``)."""


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
    ``Retry-After`` in seconds (``None`` if it sent none)."""

    def __init__(self, *, retry_after: float | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retry_after = retry_after


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


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the exception class for an HTTP error status (not 429, which needs more)."""
    if status >= 500:
        return InternalServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


def _detail_text(body: Any) -> str:
    if isinstance(body, dict):
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
