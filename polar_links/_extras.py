"""Per-call ``extra_query`` and ``extra_headers``: parameters and headers the SDK does
not know yet, checked before any request so that they cannot replace what the client
itself must send (the token, the paginator's ``page``/``limit``, checked filters)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError

__all__ = ["Pairs", "check_extra_headers", "check_extra_query"]

Pairs = tuple[tuple[str, str], ...]

# RFC 9110 field names ("token"), and values without line breaks or NUL.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_OWN_HEADERS = {
    "authorization": "the client sends the access token itself (pass access_token= to the "
    "client, or set POLAR_ACCESS_TOKEN)",
    "proxy-authorization": "proxy credentials belong to the connection, not to a call",
    "host": "the host is the client's base_url",
    "content-length": "the HTTP layer sets it from the body",
    "content-type": "the SDK sends JSON bodies and sets it",
    "transfer-encoding": "the HTTP layer sets it",
    "connection": "the connection pool manages connections",
    "cookie": "the API does not use cookies",
}
_OWN_QUERY = {
    "page": "the paginator sets it: pass page= to list()",
    "limit": "the paginator sets it: pass limit= to list()",
    "organization_id": "pass organization_id= to list(), which checks it",
    "product_id": "pass product_id= to list(), which checks it",
    "sorting": "pass sorting= to list(), which checks it",
}


def _items(argument: str, value: object, of: str) -> list[tuple[object, object]]:
    """The (name, value) items of a mapping argument (none for ``None``)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidArgumentTypeError(
            f"{argument} must be a mapping of {of}, got {type(value).__name__}"
        )
    return list(value.items())


def check_extra_headers(value: object) -> Pairs:
    """Return ``extra_headers`` (a mapping of header name to str value) as pairs, or
    raise ``InvalidArgumentError`` naming the header and what is wrong with it."""
    pairs = []
    for name, text in _items("extra_headers", value, "header names to str values"):
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidArgumentValueError(
                f"extra_headers: {name!r} is not a valid HTTP header name "
                "(letters, digits and !#$%&'*+-.^_`|~)"
            )
        reason = _OWN_HEADERS.get(name.lower())
        if reason is not None:
            raise InvalidArgumentValueError(f"extra_headers may not set {name!r}: {reason}")
        if not isinstance(text, str):
            raise InvalidArgumentTypeError(
                f"extra_headers[{name!r}] must be a str, got {type(text).__name__}"
            )
        if _BAD_VALUE.search(text):
            raise InvalidArgumentValueError(
                f"extra_headers[{name!r}] must not contain line breaks or NUL characters"
            )
        pairs.append((name, text))
    return tuple(pairs)


def check_extra_query(value: object) -> Pairs:
    """Return ``extra_query`` (a mapping of parameter name to a str, an int or a list
    of them, sent as repeated parameters) as pairs, or raise ``InvalidArgumentError``
    naming the parameter and what is wrong with it."""
    pairs: list[tuple[str, str]] = []
    for name, given in _items("extra_query", value, "parameter names to values"):
        if not isinstance(name, str) or not name:
            raise InvalidArgumentValueError(
                f"extra_query: parameter names must be non-empty str, got {name!r}"
            )
        reason = _OWN_QUERY.get(name)
        if reason is not None:
            raise InvalidArgumentValueError(f"extra_query may not set {name!r}: {reason}")
        items = (
            list(given)
            if isinstance(given, Sequence) and not isinstance(given, str | bytes)
            else [given]
        )
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise InvalidArgumentTypeError(
                    f"extra_query[{name!r}] must be a str, an int or a list of them, got {item!r}"
                )
            pairs.append((name, str(item)))
    return tuple(pairs)
