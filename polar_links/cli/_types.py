"""Argument types of the command line: each turns one option's text into a value, or
raises ``argparse.ArgumentTypeError`` saying what is allowed."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

from .._exceptions import InvalidArgumentError
from .._validation import check_uuid

__all__ = [
    "budget_arg",
    "float_type",
    "int_type",
    "metadata_pair",
    "metadata_value",
    "non_negative_float",
    "seconds",
    "uuid_arg",
]

_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def uuid_arg(text: str) -> str:
    """Parse ``text`` as a UUID (an id), or raise ``ArgumentTypeError`` naming the value."""
    try:
        return check_uuid("id", text)
    except InvalidArgumentError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an id: expected a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737'"
        ) from None


def int_type(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """Return an argparse type accepting an integer within ``minimum..maximum``."""
    allowed = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"

    def parse(text: str) -> int:
        """Parse ``text`` as an integer in range, or raise ``ArgumentTypeError``."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be an integer {allowed}, got {value}")
        return value

    return parse


def float_type(what: str, allowed: str, accept: Callable[[float], bool]) -> Callable[[str], float]:
    """Return an argparse type accepting a finite number for which ``accept`` is true;
    ``what`` and ``allowed`` name it in the error messages."""

    def parse(text: str) -> float:
        """Parse ``text`` as an accepted number, or raise ``ArgumentTypeError``."""
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or not accept(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


#: A positive, finite number of seconds.
seconds = float_type("a number of seconds", "a positive number of seconds", lambda v: v > 0)
#: A finite number >= 0.
non_negative_float = float_type("a number", "a number >= 0", lambda v: v >= 0)


def budget_arg(text: str) -> tuple[int, float]:
    """Parse ``REQUESTS/SECONDS`` (e.g. ``300/5``): a request budget per window."""
    requests, sep, per = text.partition("/")
    try:
        budget = (int(requests), float(per))
    except ValueError:
        budget = None
    if not sep or budget is None or budget[0] < 1 or not (0 < budget[1] < math.inf):
        raise argparse.ArgumentTypeError(
            f"expected REQUESTS/SECONDS such as 300/5 (a positive integer and a positive "
            f"number of seconds), got {text!r}"
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
    """Parse one ``KEY=VALUE`` metadata argument."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, metadata_value(value)
