"""Where the access token may go: the ``Secret`` that holds it (and scrubs it from any
text), which tokens and base URLs a client accepts, and which redirects it follows
(https, or plain http only to this machine unless told otherwise)."""

from __future__ import annotations

import ipaddress
from typing import Any, NoReturn

from yarl import URL

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError

__all__ = ["Secret", "check_base_url", "check_token", "insecure_reason", "is_loopback"]

#: What a token may hold: printable ASCII without spaces (an HTTP header value that
#: needs no quoting or encoding). Polar's tokens are ``polar_oat_`` and letters/digits.
_TOKEN_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))
_MASK = "***"


def check_token(token: Secret, source: str = "access_token") -> None:
    """Raise unless the token is a non-empty str of printable ASCII without spaces,
    naming the rule and where the token came from (``source``: the argument or the
    variable), never showing the token nor holding it in a local variable, which a
    traceback printed with its locals would show."""
    if not token.reveal():
        raise InvalidArgumentValueError(
            "no access token: pass access_token=... or set POLAR_ACCESS_TOKEN "
            "(create an organization access token in your Polar organization settings)"
        )
    if not isinstance(token.reveal(), str):
        raise InvalidArgumentTypeError(
            f"{source} must be a str, got {type(token.reveal()).__name__}"
        )
    bad = sum(1 for c in token.reveal() if c not in _TOKEN_CHARS)
    if bad:
        raise InvalidArgumentValueError(
            f"{source} must be a str without whitespace, control or non-ASCII "
            "characters (printable ASCII, as Polar's tokens are); the one given has "
            f"{bad} such character{'s' if bad > 1 else ''} (a stray newline, space or "
            "quote from copying it?)"
        )


class _Masked(str):
    """A str whose repr is ``'***'`` (its value, sent as is, is unchanged)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(_MASK)


class Secret:
    """Holds the access token; prints as ``'***'`` and refuses to be pickled."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value: str = value  # type: ignore[assignment]  # check_token() checks it

    def reveal(self) -> str:
        """The token itself, for the Authorization header only."""
        return self._value

    def authorization(self) -> str:
        """The Authorization header's value, as a str that prints (``repr``) as
        ``'***'``: aiohttp keeps it in its own headers objects, which a traceback
        printed with its local variables (Sentry, rich, ``pytest --showlocals``) shows,
        for example when a call is cancelled while its request is in flight."""
        return _Masked(f"Bearer {self._value}")

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("the Polar access token cannot be pickled")

    def scrub(self, value: Any) -> Any:
        """``value`` with every occurrence of the token replaced by ``***``, inside
        strings, bytes, and the lists, tuples and dicts that hold them."""
        token = self._value
        if isinstance(value, str):
            return value.replace(token, _MASK) if token in value else value
        if isinstance(value, bytes):
            raw = token.encode()
            return value.replace(raw, _MASK.encode()) if raw in value else value
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.scrub(item) for item in value)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        return value

    def scrub_exception(self, exc: BaseException) -> None:
        """Remove the token from ``exc``'s args and attributes, in place (a server
        may echo it in an error body, a redirect may put it in a URL)."""
        exc.args = self.scrub(exc.args)
        for name, value in vars(exc).items():
            scrubbed = self.scrub(value)
            if scrubbed is not value:
                setattr(exc, name, scrubbed)


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
    try:
        url = URL(base_url)
        port = url.port
    except ValueError as exc:
        raise InvalidArgumentValueError(
            f"base_url must be an http:// or https:// URL, got {base_url!r} ({exc})"
        ) from None
    if url.user is not None or url.password is not None:
        raise InvalidArgumentValueError(
            "base_url must not contain a user name or password (user:password@): the "
            "client authenticates with the access token; got "
            f"{str(url.with_user(None))!r} with credentials removed"
        )
    if url.scheme not in ("http", "https") or not url.host or port is None:
        raise InvalidArgumentValueError(
            f"base_url must be an http:// or https:// URL, got {base_url!r}"
        )
    if url.query_string or url.fragment:
        raise InvalidArgumentValueError(
            f"base_url must not have a query or fragment, got {base_url!r}"
        )
    if not allow_insecure_http and insecure_reason(url):
        raise InvalidArgumentValueError(
            f"base_url {base_url!r} is plain http to a non-loopback host: the access token "
            "would travel unencrypted. Use https://, or pass allow_insecure_http=True if you "
            "really mean it."
        )
    # The raw path: a %2F inside a segment stays encoded (it is no separator).
    return url.with_path(url.raw_path.rstrip("/"), encoded=True)


def insecure_reason(url: URL) -> str | None:
    """Why sending to ``url`` would travel in clear (plain http to a host other than
    this machine), or None if it would not. The same rule decides for a base URL and
    for the target of a redirect."""
    if url.scheme == "http" and not is_loopback(url.host):
        return "plain http to a non-loopback host"
    return None
