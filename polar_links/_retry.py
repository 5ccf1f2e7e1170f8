"""The retry decision, apart from the wire: given what happened to an attempt, the state
of the call so far and the clock, say whether to return, stop, or wait and try again.

Pure code: no I/O, no sleeping, the clock and the jitter come in as arguments, so every
rule is tested without HTTP (tests/test_retry_policy.py).
"""

from __future__ import annotations

import datetime
import email.utils
import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from ._config import Backoff

__all__ = [
    "MAX_COOL_DOWN",
    "RETRYABLE_STATUSES",
    "Answer",
    "Decision",
    "Failure",
    "RetryRules",
    "RetryState",
    "Verdict",
    "backoff_delay",
    "decide",
    "parse_retry_after",
]

#: Statuses worth another attempt: timeout, rate limit, server and gateway errors.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Longest pause after a 429 that the whole client takes, in seconds, whatever the
#: server's ``Retry-After`` says (a wrong header must not stop a client for days).
MAX_COOL_DOWN = 3600.0


class Failure(enum.Enum):
    """How an attempt failed without an answer."""

    #: The connection was never made (refused, DNS, connect timeout): nothing was sent,
    #: so any method may be sent again.
    NOT_SENT = "not sent"
    #: Dropped, cut short or timed out after the request may have reached the server.
    MAYBE_SENT = "maybe sent"
    #: Would fail the same way again (TLS certificate, redirect loop, bad URL).
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class Answer:
    """The server answered: ``status``, and its ``Retry-After`` in seconds (or None)."""

    status: int
    retry_after: float | None = None


Outcome = Answer | Failure


@dataclass(frozen=True, slots=True)
class RetryRules:
    """What one call allows: its method, ``max_retries`` (retries after failures),
    the backoff settings, whether a 404 after an ambiguous attempt means done (a
    DELETE whose earlier attempt may have been applied), and the ``deadline`` by which
    the whole call must be over (monotonic seconds; None: no bound)."""

    method: str
    max_retries: int
    backoff: Backoff
    gone_is_done: bool = False
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class RetryState:
    """What happened to the call so far.

    ``retries``: retries spent after failures (bounded by ``max_retries``);
    ``rate_limited``: 429s received; ``first_limited``: when the first 429 came
    (monotonic seconds); ``ambiguous``: an earlier attempt may have been applied by
    the server although no success came back (dropped, timed out, 408/5xx).
    """

    retries: int = 0
    rate_limited: int = 0
    first_limited: float | None = None
    ambiguous: bool = False


class Verdict(enum.Enum):
    """What the transport does next."""

    DONE = "done"  # return the response
    RETRY = "retry"  # wait ``Decision.wait`` seconds, send again
    STOP = "stop"  # raise the error for this outcome


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict; ``wait``: seconds before the next attempt (RETRY only);
    ``cool_down``: seconds every request of the client must pause (after a 429, also
    when this call stops); ``state``: the call's state for the next decision;
    ``out_of_time``: it stopped because the next attempt would start after the
    call's deadline (``wait`` seconds from now were needed)."""

    verdict: Verdict
    state: RetryState
    wait: float | None = None
    cool_down: float | None = None
    out_of_time: bool = False


def backoff_delay(backoff: Backoff, attempt: int, jitter: Callable[[], float]) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): full jitter in
    ``[0, min(maximum, initial * 2**attempt)]``; ``jitter()`` returns a number in [0, 1)."""
    ceiling = (
        backoff.maximum if attempt >= 64 else min(backoff.maximum, backoff.initial * 2**attempt)
    )
    return jitter() * ceiling


def decide(
    rules: RetryRules,
    state: RetryState,
    outcome: Outcome,
    now: float,
    jitter: Callable[[], float] = random.random,
) -> Decision:
    """Decide what follows ``outcome`` (monotonic clock ``now``, in seconds)."""
    decision = _decide(rules, state, outcome, now, jitter)
    if (
        decision.verdict is Verdict.RETRY
        and rules.deadline is not None
        and now + (decision.wait or 0.0) >= rules.deadline
    ):
        return replace(decision, verdict=Verdict.STOP, out_of_time=True)
    return decision


def _decide(
    rules: RetryRules,
    state: RetryState,
    outcome: Outcome,
    now: float,
    jitter: Callable[[], float],
) -> Decision:
    if isinstance(outcome, Failure):
        return _after_failure(rules, state, outcome, jitter)
    status = outcome.status
    if status < 400 or (status == 404 and state.ambiguous and rules.gone_is_done):
        return Decision(Verdict.DONE, state)
    if status == 429:
        return _after_rate_limit(rules, state, outcome.retry_after, now, jitter)
    if (
        status in RETRYABLE_STATUSES
        and rules.method != "POST"
        and state.retries < rules.max_retries
    ):
        if outcome.retry_after is not None:
            wait = min(outcome.retry_after, rules.backoff.max_retry_after)
        else:
            wait = backoff_delay(rules.backoff, state.retries, jitter)
        return Decision(
            Verdict.RETRY, replace(state, retries=state.retries + 1, ambiguous=True), wait
        )
    return Decision(Verdict.STOP, state)


def _after_failure(
    rules: RetryRules, state: RetryState, failure: Failure, jitter: Callable[[], float]
) -> Decision:
    replayable = failure is Failure.NOT_SENT or (
        failure is Failure.MAYBE_SENT and rules.method != "POST"
    )
    if not replayable or state.retries >= rules.max_retries:
        return Decision(Verdict.STOP, state)
    wait = backoff_delay(rules.backoff, state.retries, jitter)
    ambiguous = state.ambiguous or failure is Failure.MAYBE_SENT
    return Decision(
        Verdict.RETRY, replace(state, retries=state.retries + 1, ambiguous=ambiguous), wait
    )


def _after_rate_limit(
    rules: RetryRules,
    state: RetryState,
    retry_after: float | None,
    now: float,
    jitter: Callable[[], float],
) -> Decision:
    # A 429 was not processed: sending it again after the wait is safe, so 429s do not
    # use up max_retries; they are bounded by time since the call's first 429 instead.
    # Counting them would make every request in flight lose a retry on each 429 storm
    # and end a long export early. No positive Retry-After: back off, never spin.
    first = now if state.first_limited is None else state.first_limited
    wait = retry_after if retry_after else backoff_delay(rules.backoff, state.rate_limited, jitter)
    patience = rules.backoff.max_rate_limit_wait
    state = replace(state, rate_limited=state.rate_limited + 1, first_limited=first)
    # Every request of the client pauses, not only this one, even when this call gives
    # up: each other call then waits or, if the pause is longer than its own limits,
    # fails at once (see Transport).
    cool_down = min(wait, MAX_COOL_DOWN)
    if rules.max_retries > 0 and rules.method != "POST" and now - first + wait <= patience:
        return Decision(Verdict.RETRY, state, wait, cool_down)
    return Decision(Verdict.STOP, state, None, cool_down)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header value asks to wait, or None if it is absent or
    unreadable. ``now``: the wall clock (``time.time()``), for HTTP dates.

    A number of seconds (negative counts as 0; inf and nan are unreadable) or an HTTP
    date (past dates count as 0; ``-0000`` is UTC, as RFC 5322 says, not local time).
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - now)
