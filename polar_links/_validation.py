"""Argument checks shared by every call: each raises before any request is sent,
naming the argument, the value it got and what is allowed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError

__all__ = [
    "check_bool",
    "check_int",
    "check_str",
    "check_url",
    "check_uuid",
    "check_uuid_list",
]

_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)

IdLike = str | uuid.UUID


def check_uuid(name: str, value: object) -> str:
    """Return ``value`` as a canonical lower-case UUID string, or raise.

    Only the 32 hex digits (hyphens optional) are accepted, so nothing a caller passes
    can add ``/``, ``?``, ``#``, ``..`` or percent-escapes to a URL path or query.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"{name} must be a UUID string or uuid.UUID, got {_show(value)}"
        )
    if not _UUID_RE.fullmatch(value):
        raise InvalidArgumentValueError(
            f"{name} must be a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737', got {_show(value)}"
        )
    return str(uuid.UUID(value))


def check_uuid_list(name: str, value: object, *, allow_single: bool = True) -> list[str]:
    """Return one or several ids as a non-empty list of canonical UUID strings, or raise."""
    if allow_single and isinstance(value, str | uuid.UUID):
        return [check_uuid(name, value)]
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        kind = "a UUID or a list of UUIDs" if allow_single else "a list of UUIDs"
        raise InvalidArgumentTypeError(f"{name} must be {kind}, got {_show(value)}")
    ids = [check_uuid(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if not ids:
        raise InvalidArgumentValueError(
            f"{name} is an empty list; pass at least one id"
            + (", or None for no filter" if allow_single else "")
        )
    return ids


def check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) within ``minimum..maximum``, or raise."""
    allowed = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(f"{name} must be an int {allowed}, got {_show(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidArgumentValueError(f"{name} must be an int {allowed}, got {value!r}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is exactly ``True`` or ``False``, or raise."""
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{name} must be True or False, got {_show(value)}")
    return value


def check_str(
    name: str, value: object, *, min_length: int = 0, max_length: int | None = None
) -> str:
    """Return ``value`` if it is a str of an allowed length (characters), or raise."""
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(f"{name} must be a str, got {_show(value)}")
    if len(value) < min_length or (max_length is not None and len(value) > max_length):
        bounds = f"{min_length} to {max_length}" if max_length is not None else f">= {min_length}"
        raise InvalidArgumentValueError(
            f"{name} must be {bounds} characters long, got {len(value)}"
        )
    return value


def check_url(name: str, value: object) -> str:
    """Return ``value`` if it is an absolute http(s) URL of 1..2083 characters, or raise.

    The literal placeholder ``{CHECKOUT_ID}`` is allowed and sent unescaped.
    """
    url = check_str(name, value, min_length=1, max_length=2083)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidArgumentValueError(
            f"{name} is not a valid URL: {_show(url)} ({exc})"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidArgumentValueError(
            f"{name} must be an absolute http:// or https:// URL without spaces, got {_show(url)}"
        )
    return url


def _show(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{text} ({type(value).__name__})"
