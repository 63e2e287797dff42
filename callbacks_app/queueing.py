"""Asking django-q2 to drain the ledger: debounced "kicks".

A kick queues one ``drain`` job; the job sends every delivery that is due
(see ``callbacks_app.sending``). Kicking after each commit would queue a job
per callback and make the queue the bottleneck, so a process kicks at most
once per ``KICK_INTERVAL``; a kick asked for in between is deferred to the
end of the interval, never dropped. A lost kick delays a delivery, it never
loses one: the dispatcher kicks whenever due deliveries wait.
"""

import logging
import threading
import time

from django.db import connection
from django_q.brokers import get_broker
from django_q.tasks import async_task

logger = logging.getLogger(__name__)

KICK_INTERVAL = 0.05  # seconds
DRAIN_JOB = "callbacks_app.jobs.drain_deliveries"

_lock = threading.Lock()
_last_kick = 0.0
_deferred: threading.Timer | None = None
_broker = None


def _get_broker():
    """One broker (one connection pool) per process: django-q2 makes a new one per enqueue."""
    global _broker
    if _broker is None:
        _broker = get_broker()
    return _broker


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


def request_drain(*, force: bool = False) -> None:
    """Make sure a drain job runs soon: now, or at the end of the current interval."""
    global _last_kick, _deferred
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
