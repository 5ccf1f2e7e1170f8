"""Settings a client takes from environment variables, with one precedence for both
clients and the CLI: an explicit argument, then the environment variable, then the
default. An empty variable counts as unset."""

from __future__ import annotations

import os

from yarl import URL

from ._config import ENVIRONMENTS
from ._exceptions import InvalidArgumentError, InvalidArgumentValueError
from ._security import Secret, check_base_url, check_token
from ._shared_budget import check_redis_url

__all__ = [
    "BASE_URL_VARIABLE",
    "ENVIRONMENT_VARIABLE",
    "REDIS_URL_VARIABLE",
    "TOKEN_VARIABLE",
    "resolve_access_token",
    "resolve_base_url",
    "resolve_redis_url",
]

TOKEN_VARIABLE = "POLAR_ACCESS_TOKEN"
BASE_URL_VARIABLE = "POLAR_BASE_URL"
ENVIRONMENT_VARIABLE = "POLAR_ENVIRONMENT"
REDIS_URL_VARIABLE = "POLAR_REDIS_URL"
_ALLOWED = " or ".join(map(repr, ENVIRONMENTS))


def _variable(name: str) -> str | None:
    return os.environ.get(name) or None


def resolve_access_token(access_token: Secret) -> Secret:
    """The ``access_token`` argument (wrapped, or a Secret of None), else
    ``$POLAR_ACCESS_TOKEN``; raises ``InvalidArgumentError`` when neither gives a token
    of printable ASCII without whitespace, naming where it came from, never showing it."""
    given = access_token.reveal() is not None
    token = access_token if given else Secret(_variable(TOKEN_VARIABLE))
    check_token(token, "access_token" if given else TOKEN_VARIABLE)
    return token


def resolve_base_url(
    environment: str | None, base_url: str | None, *, allow_insecure_http: bool
) -> URL:
    """The API base URL, from the first of: the ``base_url`` argument, the
    ``environment`` argument, ``$POLAR_BASE_URL``, ``$POLAR_ENVIRONMENT``, production.

    A bad value raises ``InvalidArgumentError`` naming the argument or the variable it
    came from and what is allowed.
    """
    if environment is not None and environment not in ENVIRONMENTS:
        raise InvalidArgumentValueError(
            f"environment must be one of {', '.join(map(repr, ENVIRONMENTS))}, got {environment!r}"
        )
    if base_url is not None:
        return check_base_url(base_url, allow_insecure_http=allow_insecure_http)
    if environment is not None:
        return check_base_url(ENVIRONMENTS[environment], allow_insecure_http=False)
    from_variable = _variable(BASE_URL_VARIABLE)
    if from_variable is not None:
        try:
            return check_base_url(from_variable, allow_insecure_http=allow_insecure_http)
        except InvalidArgumentError as exc:
            message = str(exc).replace("base_url", BASE_URL_VARIABLE, 1)
            raise InvalidArgumentValueError(f"environment variable {message}") from None
    named = _variable(ENVIRONMENT_VARIABLE)
    if named is not None and named not in ENVIRONMENTS:
        raise InvalidArgumentValueError(
            f"environment variable {ENVIRONMENT_VARIABLE} must be {_ALLOWED} "
            f"(or unset for production), got {named!r}"
        )
    return check_base_url(ENVIRONMENTS[named or "production"], allow_insecure_http=False)


def resolve_redis_url(redis_url: str | None) -> str | None:
    """The ``redis_url`` argument (``""``: no shared budget), else ``$POLAR_REDIS_URL``,
    else ``None``; a value that is not a Redis URL raises ``InvalidArgumentError``
    naming where it came from."""
    if redis_url is not None:
        return check_redis_url("redis_url", redis_url) if redis_url != "" else None
    value = _variable(REDIS_URL_VARIABLE)
    return check_redis_url(REDIS_URL_VARIABLE, value) if value is not None else None
