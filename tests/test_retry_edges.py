"""The retry policy right at its edges: a 429 whose wait ends exactly when the patience
does, and a retry whose wait ends exactly at the call's deadline (or has no wait at all)."""

from __future__ import annotations

from polar_links import Backoff
from polar_links._retry import Answer, Failure, RetryRules, RetryState, Verdict, decide

BACKOFF = Backoff(initial=0.5, maximum=8.0, max_retry_after=60.0, max_rate_limit_wait=120.0)
NOW = 1000.0


def no_jitter() -> float:
    return 0.0


def top() -> float:
    return 1.0


def test_a_429_whose_wait_ends_exactly_at_the_patience_is_retried() -> None:
    # First 429 100 s ago, Retry-After 20 s: 120 s in all, exactly the patience.
    state = RetryState(rate_limited=3, first_limited=NOW - 100.0)
    decision = decide(RetryRules("GET", 2, BACKOFF), state, Answer(429, 20.0), NOW, top)
    assert decision.verdict is Verdict.RETRY
    assert decision.wait == 20.0
    assert decision.cool_down == 20.0


def test_a_retry_whose_wait_ends_exactly_at_the_deadline_does_not_start() -> None:
    rules = RetryRules("GET", 2, BACKOFF, deadline=NOW + 0.5)
    decision = decide(rules, RetryState(), Answer(503), NOW, top)  # waits 0.5 s
    assert decision.verdict is Verdict.STOP
    assert decision.out_of_time


def test_a_retry_without_a_wait_goes_ahead_with_half_a_second_left() -> None:
    rules = RetryRules("GET", 2, BACKOFF, deadline=NOW + 0.5)
    for outcome in (Answer(503), Failure.NOT_SENT):
        decision = decide(rules, RetryState(), outcome, NOW, no_jitter)
        assert decision.verdict is Verdict.RETRY
        assert decision.wait == 0.0
        assert not decision.out_of_time
