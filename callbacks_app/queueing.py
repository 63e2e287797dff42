"""Asking django-q2 to drain the ledger: debounced "kicks", skipped while a drain job watches.

A kick queues one ``drain`` job; the job sends every delivery that is due
(see ``callbacks_app.sending``). Kicking after each commit would queue a job
per callback and make the queue the bottleneck, so a process kicks at most
once per ``KICK_INTERVAL``; a kick asked for in between is deferred to the
end of the interval, never dropped.

While deliveries keep coming, one drain job *watches* the ledger: it claims
what falls due every few milliseconds of its own accord, and holds the watch
(``DrainWatch``) while it does. A kick made during a watch queues nothing:
the watcher will find the new delivery anyway. Without this, a steady stream
of completions queues a job every few milliseconds from every web process,
most of which find nothing left to send (measured: 3 of 4), and the jobs that
do find work split it into batches too small to be cheap.

Why a kick is never lost to a watch that is ending: the watcher gives the
watch up first and then looks for due deliveries once more. A kick that saw
the watch alive came after its delivery committed, hence before that last
look, which finds the delivery. A lost kick (a crash, a broker outage)
delays a delivery, it never loses one: the dispatcher kicks whenever due
deliveries wait.
"""

import logging
import threading
import time
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.tasks import async_task

from callbacks_app.models import DrainWatch

logger = logging.getLogger(__name__)

KICK_INTERVAL = 0.05  # seconds
DRAIN_JOB = "callbacks_app.jobs.drain_deliveries"
WATCH = timedelta(seconds=0.5)  # a watch lasts this long unless renewed
WATCH_ID = 1

_lock = threading.Lock()
_last_kick = 0.0
_deferred: threading.Timer | None = None
_watch_checked_at = float("-inf")
_watch_seen = False
_broker = None


def _get_broker():
    """One broker (one connection pool) per process: django-q2 makes a new one per enqueue."""
    global _broker
    if _broker is None:
        _broker = get_broker()
    return _broker


# --- the watch ------------------------------------------------------------------


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


# --- kicks ----------------------------------------------------------------------


def _watched_lately() -> bool:
    """``drain_watched()``, asked at most once per ``KICK_INTERVAL`` per process.

    A kick comes after every commit that makes a delivery due; asking the
    database each time would cost a query per callback. An answer at most
    ``KICK_INTERVAL`` old is safe enough: a watch ends only after ``DRAIN_LINGER``
    (far longer) without work, so a process that kicked that recently fed the
    watcher, which is not ending. Should a kick be skipped all the same, the
    dispatcher finds the delivery within ``CALLBACK_DISPATCH_INTERVAL``.
    """
    global _watch_checked_at, _watch_seen
    now = time.monotonic()
    if now - _watch_checked_at >= KICK_INTERVAL:
        _watch_seen, _watch_checked_at = drain_watched(), now
    return _watch_seen


def _enqueue_drain() -> None:
    try:
        async_task(DRAIN_JOB, broker=_get_broker(), task_name="drain deliveries")
    except Exception:
        logger.exception("Could not queue a drain job; the dispatcher will kick again")


def _deferred_kick() -> None:
    global _deferred, _last_kick
    with _lock:
        _deferred = None
        _last_kick = time.monotonic()
    _enqueue_drain()
    connection.close()  # this timer thread's own connection (ORM broker)


def request_drain(*, help: bool = False, force: bool = False) -> None:
    """Make sure a drain job runs soon: now, or at the end of the current interval.

    Nothing is queued while a drain job watches the ledger, unless the kick
    is for ``help``: a drain job asks for a second one when it finds more due
    than it has room for. ``force`` kicks at once, watched or not: a drain
    job whose time is up asks for its successor.
    """
    global _last_kick, _deferred
    if not (help or force):
        try:
            if _watched_lately():
                return
        except Exception:
            logger.exception("Could not tell whether a drain job watches; kicking")
    with _lock:
        now = time.monotonic()
        if not force and now - _last_kick < KICK_INTERVAL:
            if _deferred is None:
                _deferred = threading.Timer(KICK_INTERVAL - (now - _last_kick), _deferred_kick)
                _deferred.daemon = True
                _deferred.start()
            return
        _last_kick = now
    _enqueue_drain()
