"""The drain watch: one drain job at a time follows the ledger while deliveries keep coming.

While deliveries keep coming, one drain job *watches* the ledger: it claims
what falls due every few milliseconds of its own accord, and holds the watch
(``DrainWatch``, one row: holder and expiry) while it does. A kick made during
a watch queues nothing (``callbacks_app.kicks``): the watcher will find the new
delivery anyway. Without this, a steady stream of completions queues a job
every few milliseconds from every web process, most of which find nothing
left to send, and the jobs that do find work split it into batches too small
to be cheap (docs/benchmarks.md).

Why a kick is never lost to a watch that is ending: the watcher gives the
watch up first and then looks for due deliveries once more. A kick that saw
the watch alive came after its delivery committed, hence before that last
look, which finds the delivery.
"""

import threading
import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from callbacks_app.models import DrainWatch

WATCH = timedelta(seconds=0.5)  # a watch lasts this long unless renewed
WATCH_ID = 1


def drain_watched(*, now=None) -> bool:
    """Whether a drain job watches the ledger now."""
    now = now or timezone.now()
    return DrainWatch.objects.filter(id=WATCH_ID, until__gt=now).exists()


def watch_take(*, holder: str, now=None):
    """Take (or renew) the watch for ``holder``; when it now lasts until, or None if another job holds it."""
    now = now or timezone.now()
    until = now + WATCH
    free_or_ours = Q(until__isnull=True) | Q(until__lte=now) | Q(holder=holder)
    for _ in range(2):
        if DrainWatch.objects.filter(free_or_ours, id=WATCH_ID).update(holder=holder, until=until):
            return until
        _, created = DrainWatch.objects.get_or_create(id=WATCH_ID)
        if not created:
            return None
    return None


def watch_release(*, holder: str) -> None:
    """Give the watch up (if ``holder`` holds it)."""
    DrainWatch.objects.filter(id=WATCH_ID, holder=holder).update(holder="", until=None)


class WatchGlance:
    """``drain_watched()``, asked at most once per ``every`` seconds in this process.

    A kick comes after every commit that makes a delivery due; asking the
    database each time would cost a query per callback. An answer at most
    ``every`` (the kick interval) old is safe enough: a watch ends only after
    ``DRAIN_LINGER`` (far longer) without work, so a process that kicked that
    recently fed the watcher, which is not ending. Should a kick be skipped all
    the same, the sweep finds the delivery within ``CALLBACK_DISPATCH_INTERVAL``.
    """

    def __init__(self, *, every: float):
        self.every = every
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._seen = False

    def watched(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= self.every:
            seen = drain_watched()
            with self._lock:
                self._seen, self._checked_at = seen, now
        return self._seen

    def reset(self) -> None:
        """Forget the last answer: the next glance asks the database."""
        with self._lock:
            self._checked_at = float("-inf")
            self._seen = False
