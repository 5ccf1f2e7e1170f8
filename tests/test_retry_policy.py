"""The retry decision as pure code: every rule of the transport loop, without HTTP."""

from __future__ import annotations

import datetime
import email.utils
import time

import pytest

from polar_links import Backoff
from polar_links._retry import (
    MAX_COOL_DOWN,
    Answer,
    Decision,
    Failure,
    RetryRules,
    RetryState,
    Verdict,
    backoff_delay,
    decide,
    parse_retry_after,
)

BACKOFF = Backoff(initial=0.5, maximum=8.0, max_retry_after=60.0, max_rate_limit_wait=120.0)
NOW = 1000.0


def top() -> float:
    """Jitter at its ceiling (random.random never returns 1.0, but the rule is the same)."""
    return 1.0


def run(
    outcome: Answer | Failure,
    *,
    method: str = "GET",
    max_retries: int = 2,
    state: RetryState | None = None,
    now: float = NOW,
    gone_is_done: bool = False,
    deadline: float | None = None,
) -> Decision:
    return decide(
        RetryRules(method, max_retries, BACKOFF, gone_is_done, deadline),
        state or RetryState(),
        outcome,
        now,
        top,
    )


# ------------------------------------------------------------ answers that end the call


@pytest.mark.parametrize("status", [200, 201, 204, 304])
def test_a_status_below_400_is_done(status: int) -> None:
    assert run(Answer(status)).verdict is Verdict.DONE


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_error_statuses_stop_at_once_whatever_the_budget(status: int) -> None:
    decision = run(Answer(status), max_retries=10)
    assert decision == Decision(Verdict.STOP, RetryState())


# ------------------------------------------------------------ 408 and 5xx


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_a_retryable_status_backs_off_with_full_jitter_and_counts_a_retry(status: int) -> None:
    first = run(Answer(status))
    assert first.verdict is Verdict.RETRY
    assert first.wait == 0.5  # initial * 2**0 at the jitter's ceiling
    assert first.cool_down is None  # only this call waits
    assert first.state == RetryState(retries=1, ambiguous=True)
    second = run(Answer(status), state=first.state)
    assert second.wait == 1.0  # initial * 2**1
    assert second.state.retries == 2


def test_the_backoff_is_random_below_its_ceiling() -> None:
    rules = RetryRules("GET", 2, BACKOFF)
    decision = decide(rules, RetryState(retries=1), Answer(503), NOW, lambda: 0.25)
    assert decision.wait == pytest.approx(0.25 * 1.0)


def test_the_backoff_ceiling_is_capped_by_maximum_and_never_overflows() -> None:
    assert backoff_delay(BACKOFF, 10, top) == 8.0
    assert backoff_delay(BACKOFF, 10_000, top) == 8.0


def test_a_retry_after_with_a_5xx_is_waited_exactly() -> None:
    assert run(Answer(503, retry_after=7.0)).wait == 7.0


def test_a_retry_after_of_zero_with_a_5xx_retries_at_once() -> None:
    assert run(Answer(503, retry_after=0.0)).wait == 0.0


def test_a_retry_after_with_a_5xx_is_capped_by_max_retry_after() -> None:
    assert run(Answer(503, retry_after=3600.0)).wait == 60.0


def test_a_retryable_status_stops_once_max_retries_are_spent() -> None:
    decision = run(Answer(503), max_retries=2, state=RetryState(retries=2))
    assert decision.verdict is Verdict.STOP


def test_max_retries_zero_stops_at_the_first_503() -> None:
    assert run(Answer(503), max_retries=0).verdict is Verdict.STOP


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_a_post_is_never_replayed_after_an_answer(status: int) -> None:
    assert run(Answer(status), method="POST", max_retries=10).verdict is Verdict.STOP


# ------------------------------------------------------------ failures without an answer


def test_a_post_is_retried_when_the_connection_was_never_made() -> None:
    decision = run(Failure.NOT_SENT, method="POST")
    assert decision.verdict is Verdict.RETRY
    assert decision.wait == 0.5
    # Nothing reached the server: a later 404 is about the id, not about this attempt.
    assert decision.state == RetryState(retries=1, ambiguous=False)


def test_a_post_is_never_replayed_once_it_may_have_been_sent() -> None:
    assert run(Failure.MAYBE_SENT, method="POST", max_retries=10).verdict is Verdict.STOP


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_other_methods_are_retried_after_a_dropped_connection(method: str) -> None:
    decision = run(Failure.MAYBE_SENT, method=method)
    assert decision.verdict is Verdict.RETRY
    assert decision.state == RetryState(retries=1, ambiguous=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_final_failure_is_never_retried(method: str) -> None:
    # TLS certificate errors, redirect loops, bad URLs: the same again.
    assert run(Failure.FINAL, method=method, max_retries=10).verdict is Verdict.STOP


@pytest.mark.parametrize("failure", [Failure.NOT_SENT, Failure.MAYBE_SENT])
def test_failures_stop_once_max_retries_are_spent(failure: Failure) -> None:
    assert run(failure, state=RetryState(retries=2)).verdict is Verdict.STOP


# ------------------------------------------------------------ DELETE after an ambiguous failure


@pytest.mark.parametrize(
    "earlier", [Answer(503), Answer(502), Answer(408), Failure.MAYBE_SENT], ids=repr
)
def test_a_delete_404_after_an_ambiguous_attempt_is_done(earlier: Answer | Failure) -> None:
    first = run(earlier, method="DELETE", gone_is_done=True)
    assert first.verdict is Verdict.RETRY
    second = run(Answer(404), method="DELETE", gone_is_done=True, state=first.state)
    assert second.verdict is Verdict.DONE


def test_a_delete_404_to_the_first_attempt_is_not_found() -> None:
    assert run(Answer(404), method="DELETE", gone_is_done=True).verdict is Verdict.STOP


def test_a_delete_404_after_a_connection_that_was_never_made_is_not_found() -> None:
    first = run(Failure.NOT_SENT, method="DELETE", gone_is_done=True)
    second = run(Answer(404), method="DELETE", gone_is_done=True, state=first.state)
    assert second.verdict is Verdict.STOP


def test_a_delete_404_after_only_429s_is_not_found() -> None:
    first = run(Answer(429, retry_after=1.0), method="DELETE", gone_is_done=True)
    assert first.verdict is Verdict.RETRY
    second = run(Answer(404), method="DELETE", gone_is_done=True, state=first.state)
    assert second.verdict is Verdict.STOP


def test_a_get_404_after_an_ambiguous_attempt_is_still_not_found() -> None:
    first = run(Answer(503))
    assert run(Answer(404), state=first.state).verdict is Verdict.STOP


# ------------------------------------------------------------ 429


def test_a_429_waits_its_retry_after_and_pauses_the_whole_client() -> None:
    decision = run(Answer(429, retry_after=15.0))
    assert decision.verdict is Verdict.RETRY
    assert decision.wait == 15.0
    assert decision.cool_down == 15.0
    assert decision.state == RetryState(rate_limited=1, first_limited=NOW)


def test_429s_do_not_use_up_max_retries() -> None:
    state = RetryState()
    for i in range(20):
        decision = run(Answer(429, retry_after=1.0), max_retries=1, state=state, now=NOW + i)
        assert decision.verdict is Verdict.RETRY
        state = decision.state
    assert state.retries == 0
    assert state.rate_limited == 20


def test_the_429_patience_runs_from_the_first_429() -> None:
    first = run(Answer(429, retry_after=50.0))
    second = run(Answer(429, retry_after=50.0), state=first.state, now=NOW + 50.0)
    assert second.verdict is Verdict.RETRY  # 50 + 50 <= 120
    third = run(Answer(429, retry_after=50.0), state=second.state, now=NOW + 100.0)
    # 100 s since the first 429, plus 50 s, is past the 120 s patience: stop now, not later.
    assert third.verdict is Verdict.STOP
    assert third.state.first_limited == NOW


def test_a_retry_after_beyond_the_patience_stops_at_once_and_still_pauses_the_client() -> None:
    decision = run(Answer(429, retry_after=1_000_000_000.0))
    assert decision.verdict is Verdict.STOP
    assert decision.wait is None
    # Every call of the client pauses for the server's wait (at most an hour): one
    # whose patience or bound is shorter fails at once instead of waiting for nothing.
    assert decision.cool_down == MAX_COOL_DOWN == 3600.0


def test_a_429_with_a_long_retry_after_pauses_the_client_for_all_of_it() -> None:
    decision = run(Answer(429, retry_after=300.0))
    assert decision.verdict is Verdict.STOP  # 300 s is past this call's 120 s patience
    assert decision.cool_down == 300.0


@pytest.mark.parametrize("retry_after", [None, 0.0])
def test_a_429_without_a_positive_retry_after_backs_off_instead_of_spinning(
    retry_after: float | None,
) -> None:
    first = run(Answer(429, retry_after=retry_after))
    assert first.wait == 0.5
    second = run(Answer(429, retry_after=retry_after), state=first.state, now=NOW + 0.5)
    assert second.wait == 1.0  # the backoff grows with the 429s received


def test_a_429_with_max_retries_zero_stops_and_pauses_the_client() -> None:
    decision = run(Answer(429, retry_after=2.0), max_retries=0)
    assert decision.verdict is Verdict.STOP
    assert decision.cool_down == 2.0


def test_a_429_to_a_post_stops_and_pauses_the_client() -> None:
    decision = run(Answer(429, retry_after=2.0), method="POST")
    assert decision.verdict is Verdict.STOP
    assert decision.cool_down == 2.0


# ------------------------------------------------------------ the bound on the whole call


@pytest.mark.parametrize(
    "outcome", [Answer(503), Answer(429, retry_after=0.6), Failure.MAYBE_SENT], ids=repr
)
def test_no_retry_starts_after_the_deadline(outcome: Answer | Failure) -> None:
    # The wait would be 0.5 s (backoff) or 0.6 s (Retry-After); 0.4 s are left.
    decision = run(outcome, deadline=NOW + 0.4)
    assert decision.verdict is Verdict.STOP
    assert decision.out_of_time
    assert decision.wait is not None
    assert decision.wait > 0.4


@pytest.mark.parametrize(
    "outcome", [Answer(503), Answer(429, retry_after=0.6), Failure.MAYBE_SENT], ids=repr
)
def test_a_retry_that_fits_before_the_deadline_goes_ahead(outcome: Answer | Failure) -> None:
    decision = run(outcome, deadline=NOW + 5.0)
    assert decision.verdict is Verdict.RETRY
    assert not decision.out_of_time


def test_a_429_out_of_time_still_pauses_the_client() -> None:
    decision = run(Answer(429, retry_after=15.0), deadline=NOW + 5.0)
    assert decision.verdict is Verdict.STOP
    assert decision.cool_down == 15.0


def test_a_success_after_the_deadline_is_still_a_success() -> None:
    assert run(Answer(200), now=NOW + 10, deadline=NOW + 5).verdict is Verdict.DONE


# ------------------------------------------------------------ Retry-After


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("17", 17.0),
        ("0.25", 0.25),
        ("0", 0.0),
        ("-3", 0.0),
        ("inf", None),
        ("-inf", None),
        ("nan", None),
        ("1e400", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_in_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, time.time()) == expected


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)  # "... GMT"
    assert parse_retry_after(header, now) == 30.0


def test_retry_after_as_a_past_http_date_is_zero() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(email.utils.formatdate(now - 3600, usegmt=True), now) == 0.0


def test_retry_after_as_an_http_date_in_minus_0000_is_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Auckland")  # far from UTC
    time.tzset()
    try:
        now = 1_800_000_000.0
        naive = datetime.datetime.fromtimestamp(now + 30, datetime.timezone.utc).replace(
            tzinfo=None
        )
        header = email.utils.format_datetime(naive)
        assert header.endswith("-0000")
        assert parse_retry_after(header, now) == 30.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    "header", ["Mon, 99 Foo 2026 99:99:99 GMT", "Wed, 01 Jan 99999 00:00:00 GMT"]
)
def test_a_malformed_http_date_is_ignored(header: str) -> None:
    assert parse_retry_after(header, time.time()) is None
