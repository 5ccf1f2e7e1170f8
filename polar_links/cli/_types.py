"""Argument types of the command line: each turns one option's text into a value, or
raises ``argparse.ArgumentTypeError`` saying what is allowed."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence

from .._exceptions import InvalidArgumentError
from .._validation import check_url, check_uuid

__all__ = [
    "budget_arg",
    "choice_type",
    "float_type",
    "int_type",
    "metadata_pair",
    "metadata_value",
    "non_negative_float",
    "seconds",
    "url_arg",
    "uuid_arg",
]

_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


# Every message reads "must be <what is allowed>, got <the text given>": argparse puts
# "argument --option: " in front of it.


def _refuse(allowed: str, text: str) -> argparse.ArgumentTypeError:
    """The error of a value that is not ``allowed``."""
    return argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")


def uuid_arg(text: str) -> str:
    """Parse ``text`` as a UUID (an id), or raise ``ArgumentTypeError`` naming the value."""
    try:
        return check_uuid("id", text)
    except InvalidArgumentError:
        raise _refuse("a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737'", text) from None


def int_type(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], int]:
    """Return an argparse type accepting an integer within ``minimum..maximum`` (either
    bound may be ``None``: none)."""
    if minimum is not None and maximum is not None:
        allowed = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    else:
        allowed = "an integer"

    def parse(text: str) -> int:
        """Parse ``text`` as an integer in range, or raise ``ArgumentTypeError``."""
        if not _INT_RE.fullmatch(text.strip()):
            raise _refuse(allowed, text)
        value = int(text)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise _refuse(allowed, text)
        return value

    return parse


def float_type(allowed: str, accept: Callable[[float], bool]) -> Callable[[str], float]:
    """Return an argparse type accepting a finite number for which ``accept`` is true;
    ``allowed`` says which in the error message."""

    def parse(text: str) -> float:
        """Parse ``text`` as an accepted number, or raise ``ArgumentTypeError``."""
        try:
            value = float(text)
        except ValueError:
            raise _refuse(allowed, text) from None
        if not math.isfinite(value) or not accept(value):
            raise _refuse(allowed, text)
        return value

    return parse


def choice_type(choices: Sequence[str], allowed: str | None = None) -> Callable[[str], str]:
    """Return an argparse type accepting one of ``choices``; ``allowed`` describes them
    in the error message (default: the list)."""
    described = allowed or f"one of {', '.join(choices)}"

    def parse(text: str) -> str:
        """Return ``text`` if it is one of the choices, or raise ``ArgumentTypeError``."""
        if text not in choices:
            raise _refuse(described, text)
        return text

    return parse


def url_arg(text: str) -> str:
    """Parse ``text`` as an absolute http(s) URL, or raise ``ArgumentTypeError``."""
    try:
        return check_url("url", text)
    except InvalidArgumentError:
        raise _refuse(
            "an absolute http:// or https:// URL of at most 2083 characters", text
        ) from None


#: A positive, finite number of seconds.
seconds = float_type("a positive number of seconds", lambda v: v > 0)
#: A finite number >= 0.
non_negative_float = float_type("a number >= 0", lambda v: v >= 0)


def budget_arg(text: str) -> tuple[int, float]:
    """Parse ``REQUESTS/SECONDS`` (e.g. ``300/5``): a request budget per window."""
    requests, sep, per = text.partition("/")
    try:
        budget = (int(requests), float(per))
    except ValueError:
        budget = None
    if not sep or budget is None or budget[0] < 1 or not (0 < budget[1] < math.inf):
        raise _refuse(
            "REQUESTS/SECONDS such as 300/5 (a positive integer and a positive number of seconds)",
            text,
        )
    return budget


def metadata_value(text: str) -> str | int | float | bool:
    """Parse a metadata value: JSON-style integers and floats, ``true``/``false``,
    anything else as the string itself (so ``007`` stays a string)."""
    if text in ("true", "false"):
        return text == "true"
    if _INT_RE.fullmatch(text):
        return int(text)
    if _FLOAT_RE.fullmatch(text):
        return float(text)
    return text


def metadata_pair(text: str) -> tuple[str, str | int | float | bool]:
    """Parse one ``KEY=VALUE`` metadata argument (key 1..40 characters, a string value
    1..500)."""
    key, sep, value = text.partition("=")
    if not sep or not 1 <= len(key) <= 40 or not 1 <= len(value) <= 500:
        raise _refuse("KEY=VALUE with a key of 1 to 40 characters and a value of 1 to 500", text)
    return key, metadata_value(value)
