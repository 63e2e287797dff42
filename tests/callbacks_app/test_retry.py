import random
from datetime import UTC, datetime, timedelta

import pytest

from callbacks_app.retry import RETRY_WINDOW, next_attempt_at, retry_delay

DEFAULT = [
    10,
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    1800,
    3600,
    3600,
    3600,
    3600,
    7200,
    7200,
    7200,
    10800,
    10800,
    10800,
    10800,
]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_retry_delay_follows_the_schedule_within_ten_percent_jitter():
    rng = random.Random(1)
    for attempts_made, base in enumerate(DEFAULT, start=1):
        delays = [retry_delay(attempts_made, schedule=DEFAULT, rng=rng) for _ in range(200)]
        assert min(delays) >= base * 0.9
        assert max(delays) <= base * 1.1
        assert max(delays) - min(delays) > base * 0.1  # jitter is really applied


def test_retry_delay_is_none_after_twenty_retries():
    assert retry_delay(20, schedule=DEFAULT) is not None
    assert retry_delay(21, schedule=DEFAULT) is None


def test_default_schedule_ends_within_24_hours_of_the_first_attempt():
    assert sum(DEFAULT) == pytest.approx(23.6 * 3600, rel=0.01)


def test_next_attempt_at_never_passes_the_24_hour_window():
    first = T0
    now = T0 + RETRY_WINDOW - timedelta(seconds=30)
    due = next_attempt_at(attempts_made=19, first_attempt_at=first, now=now, schedule=DEFAULT)
    assert due == first + RETRY_WINDOW


def test_next_attempt_at_is_none_once_the_window_has_passed():
    now = T0 + RETRY_WINDOW
    assert next_attempt_at(attempts_made=1, first_attempt_at=T0, now=now, schedule=DEFAULT) is None


def test_next_attempt_at_honours_a_minimum_delay():
    due = next_attempt_at(attempts_made=1, first_attempt_at=T0, now=T0, minimum_delay=120, schedule=DEFAULT)
    assert due == T0 + timedelta(seconds=120)
