"""Where the access token may go: the ``Secret`` that holds it, and which base URLs a
client accepts (https, or plain http only to this machine unless told otherwise)."""

from __future__ import annotations

import ipaddress
from typing import NoReturn

from yarl import URL

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError

__all__ = ["Secret", "check_base_url", "is_loopback"]


class Secret:
    """Holds the access token; prints as ``'***'`` and refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The token itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("the Polar access token cannot be pickled")


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> URL:
    """Return ``base_url`` parsed, or raise ValueError if the token could leak over it.

    ``https://`` is always accepted; ``http://`` only for loopback hosts, unless
    ``allow_insecure_http`` is True.
    """
    if not isinstance(base_url, str):
        raise InvalidArgumentTypeError(f"base_url must be a str, got {type(base_url).__name__}")
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentValueError(
            f"base_url must be an http:// or https:// URL, got {base_url!r}"
        )
    if url.query_string or url.fragment:
        raise InvalidArgumentValueError(
            f"base_url must not have a query or fragment, got {base_url!r}"
        )
    if url.scheme == "http" and not is_loopback(url.host) and not allow_insecure_http:
        raise InvalidArgumentValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host: the access token "
            "would travel unencrypted. Use https://, or pass allow_insecure_http=True if you "
            "really mean it."
        )
    return url.with_path(url.path.rstrip("/"))
