"""The retry schedule (SPEC §6.4): pure functions of the attempt number."""

import random
from datetime import datetime, timedelta

from django.conf import settings

RETRY_WINDOW = timedelta(hours=24)
# A retry due at the very end of the window (a long Retry-After, or jitter on
# the last entries of the schedule, is clamped there) must still be sent: an
# attempt may start this late after the window's end, never later.
WINDOW_GRACE = timedelta(minutes=5)
JITTER = 0.10  # ±10 %


def retry_delay(attempts_made: int, *, schedule=None, rng=random) -> float | None:
    """Seconds to wait after the ``attempts_made``-th failed attempt, or None when exhausted.

    Attempt 1 is the first try; ``schedule[0]`` is the wait before attempt 2,
    so ``len(schedule)`` retries follow the first attempt.
    """
    schedule = settings.CALLBACK_RETRY_SCHEDULE if schedule is None else schedule
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    base = float(schedule[attempts_made - 1])
    return base * rng.uniform(1 - JITTER, 1 + JITTER)


def next_attempt_at(
    *,
    attempts_made: int,
    first_attempt_at: datetime,
    now: datetime,
    minimum_delay: float | None = None,
    schedule=None,
    rng=random,
) -> datetime | None:
    """When to try again after a failure, or None when the delivery has failed for good.

    ``minimum_delay`` is a receiver's ``Retry-After``: honoured as a lower
    bound, clamped to the 24 h window first (any value, ``inf`` included). Nothing is scheduled past 24 h after the first attempt; a retry that
    would fall later is moved to the end of the window.
    """
    delay = retry_delay(attempts_made, schedule=schedule, rng=rng)
    if delay is None:
        return None
    if minimum_delay is not None:
        # A receiver's delay counts within the window only (a huge one overflowed timedelta).
        delay = max(delay, min(minimum_delay, RETRY_WINDOW.total_seconds()))
    window_end = first_attempt_at + RETRY_WINDOW
    if now >= window_end:
        return None
    return min(now + timedelta(seconds=delay), window_end)
