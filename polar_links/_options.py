"""Request options: the settings one call runs with (timeout per attempt, retries,
concurrency, the bound on the whole call), layered as client < ``with_options()`` view <
the call's own arguments.

``NOT_GIVEN`` tells an argument that was left out (use the layer below) from ``None``
(for ``timeout``: no time limit).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ._config import Timeout, check_concurrency, check_max_retries, coerce_timeout
from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._extras import Pairs, check_extra_headers, check_extra_query

__all__ = ["NOT_GIVEN", "CallOptions", "NotGiven", "RequestOptions", "check_call_timeout"]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument that was not passed."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


#: Default of every per-call and ``with_options()`` setting: "use the layer below".
NOT_GIVEN: Final = NotGiven()

_NO_TIMEOUT = Timeout(total=None, connect=None)


def timeout_option(value: Timeout | float | None) -> Timeout:
    """A :class:`Timeout` from a Timeout, a number of seconds (the total per attempt),
    or ``None`` (no limit at all)."""
    return _NO_TIMEOUT if value is None else coerce_timeout(value)


def check_call_timeout(value: object) -> float | None:
    """Return ``value`` (seconds for a whole call) if it is a positive number or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(
            f"call_timeout must be a number of seconds or None, got {value!r}"
        )
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgumentValueError(
            f"call_timeout must be a positive number of seconds or None, got {value!r}"
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Settings given at one layer (a view or a call); ``NOT_GIVEN`` fields defer to
    the layer below. Build it with :meth:`of`, which checks every value given."""

    timeout: Timeout | NotGiven = NOT_GIVEN
    max_retries: int | NotGiven = NOT_GIVEN
    concurrency: int | NotGiven = NOT_GIVEN
    extra_query: Pairs | NotGiven = NOT_GIVEN
    extra_headers: Pairs | NotGiven = NOT_GIVEN
    call_timeout: float | NotGiven | None = NOT_GIVEN

    @classmethod
    def of(
        cls,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven | None = NOT_GIVEN,
        concurrency: int | NotGiven | None = NOT_GIVEN,
        extra_query: Mapping[str, object] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        call_timeout: float | NotGiven | None = NOT_GIVEN,
    ) -> RequestOptions:
        """Check the arguments of a call or of ``with_options()`` and keep the given ones.

        ``timeout=None`` and ``call_timeout=None`` mean no time limit;
        ``max_retries=None`` and ``concurrency=None`` mean the same as leaving them out,
        as do ``extra_query=None`` and ``extra_headers=None``.
        """
        return cls(
            extra_query=NOT_GIVEN if extra_query is None else check_extra_query(extra_query),
            extra_headers=(
                NOT_GIVEN if extra_headers is None else check_extra_headers(extra_headers)
            ),
            timeout=NOT_GIVEN if isinstance(timeout, NotGiven) else timeout_option(timeout),
            max_retries=(
                NOT_GIVEN
                if max_retries is None or isinstance(max_retries, NotGiven)
                else check_max_retries(max_retries)
            ),
            concurrency=(
                NOT_GIVEN
                if concurrency is None or isinstance(concurrency, NotGiven)
                else check_concurrency(concurrency)
            ),
            call_timeout=(
                NOT_GIVEN
                if isinstance(call_timeout, NotGiven)
                else check_call_timeout(call_timeout)
            ),
        )


@dataclass(frozen=True, slots=True)
class CallOptions:
    """The settings a call runs with, every one decided.

    ``timeout``: per attempt. ``max_retries``: retries after failures (429s aside).
    ``concurrency``: page requests in flight while listing. ``extra_query`` and
    ``extra_headers``: checked (name, value) pairs added to each request.
    ``call_timeout``: seconds for the whole call (waits for the rate limit and a 429
    pause, every attempt and every wait between them), or None for no bound.
    """

    timeout: Timeout
    max_retries: int
    concurrency: int
    extra_query: Pairs = ()
    extra_headers: Pairs = ()
    call_timeout: float | None = None

    def override(self, given: RequestOptions) -> CallOptions:
        """These settings with the ones ``given`` sets replacing them."""
        changes = {
            field.name: value
            for field in dataclasses.fields(given)
            if not isinstance(value := getattr(given, field.name), NotGiven)
        }
        return dataclasses.replace(self, **changes) if changes else self
