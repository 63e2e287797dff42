"""The outcome of one attempt (``engine.attempt_outcome``): a pure function, tested alone."""

import random
from datetime import UTC, datetime, timedelta

from callbacks_app.engine import Outcome, attempt_outcome
from callbacks_app.models import Delivery
from callbacks_app.transport import CallbackResult

SCHEDULE = [10, 30, 60]  # three retries after the first attempt
FIRST = datetime(2026, 1, 1, tzinfo=UTC)


def outcome(result: CallbackResult, *, attempt_number=1, now=FIRST, seed=1) -> Outcome:
    return attempt_outcome(
        attempt_number=attempt_number,
        first_attempt_at=FIRST,
        result=result,
        now=now,
        schedule=SCHEDULE,
        rng=random.Random(seed),
    )


def test_attempt_outcome_of_a_success_finishes_the_delivery_as_succeeded():
    now = FIRST + timedelta(seconds=40)

    result = outcome(CallbackResult(ok=True, duration_ms=5, status_code=200), attempt_number=2, now=now)

    assert result == Outcome(status=Delivery.Status.SUCCEEDED, finished_at=now, next_attempt_at=None)
    assert result.finished


def test_attempt_outcome_of_a_failure_makes_the_delivery_due_again_on_the_schedule():
    now = FIRST + timedelta(seconds=1)

    result = outcome(CallbackResult(ok=False, duration_ms=5, status_code=500), attempt_number=1, now=now)

    assert (result.status, result.finished_at) == (Delivery.Status.PENDING, None)
    assert not result.finished
    delay = (result.next_attempt_at - now).total_seconds()
    assert SCHEDULE[0] * 0.9 <= delay <= SCHEDULE[0] * 1.1


def test_attempt_outcome_of_410_gone_finishes_the_delivery_as_failed_at_once():
    result = outcome(CallbackResult(ok=False, duration_ms=5, status_code=410), attempt_number=1)

    assert result == Outcome(status=Delivery.Status.FAILED, finished_at=FIRST, next_attempt_at=None)
    assert result.finished


def test_attempt_outcome_of_the_last_attempt_failing_finishes_the_delivery_as_failed():
    now = FIRST + timedelta(minutes=5)
    last = 1 + len(SCHEDULE)

    result = outcome(CallbackResult(ok=False, duration_ms=5, status_code=500), attempt_number=last, now=now)

    assert result == Outcome(status=Delivery.Status.FAILED, finished_at=now, next_attempt_at=None)


def test_attempt_outcome_honours_retry_after_as_the_minimum_delay():
    answer = CallbackResult(ok=False, duration_ms=5, status_code=429, retry_after=600)

    result = outcome(answer, attempt_number=1)

    assert result.status == Delivery.Status.PENDING
    assert result.next_attempt_at == FIRST + timedelta(seconds=600)


def test_attempt_outcome_keeps_the_schedule_when_retry_after_is_shorter():
    answer = CallbackResult(ok=False, duration_ms=5, status_code=503, retry_after=1)

    result = outcome(answer, attempt_number=1)

    assert result.next_attempt_at - FIRST >= timedelta(seconds=SCHEDULE[0] * 0.9)
