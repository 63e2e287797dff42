"""Asking django-q2 to drain the ledger: debounced "kicks", skipped while a drain job watches.

A kick queues one drain job (``DRAIN_JOB``); the job sends every delivery that
is due (``callbacks_app.engine.drain``). Kicking after each commit would queue
a job per callback and make the queue the bottleneck, so a process kicks at
most once per ``KICK_INTERVAL``; a kick asked for in between is deferred to
the end of the interval, never dropped. While a drain job watches the ledger
(``callbacks_app.watch``) a kick queues nothing.

A lost kick (a crash, a broker outage) delays a delivery, it never loses one:
the per-worker sweep (``callbacks_app.sweep``) kicks whenever due deliveries
wait.
"""

import logging
import threading
import time

from django.db import connection
from django_q.brokers import get_broker
from django_q.tasks import async_task

from callbacks_app.wakeups import wakeup_channel
from callbacks_app.watch import WatchGlance

logger = logging.getLogger(__name__)

KICK_INTERVAL = 0.05  # seconds
DRAIN_JOB = "callbacks_app.jobs.deliveries_drain"


class Kicks:
    """This process's kicks: the debounce, its deferred kick, the watch glance and the broker."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last_kick = float("-inf")
        self._deferred: threading.Timer | None = None
        self._watch = WatchGlance(every=KICK_INTERVAL)
        self._broker = None

    def broker(self):
        """One broker (one connection pool) per process: django-q2 makes a new one per enqueue."""
        if self._broker is None:
            self._broker = get_broker()
        return self._broker

    def request_drain(self, *, helper: bool = False, force: bool = False, committed: bool = False) -> None:
        """Make sure a drain job runs soon: now, or at the end of the current interval.

        Nothing is queued while a drain job watches the ledger (the watcher is
        woken instead), unless the kick asks for a ``helper``: a drain job asks
        for a second one when it finds more due than it has room for. ``force``
        kicks at once, watched or not: a drain job whose time is up asks for its
        successor. ``committed``: the kick of a commit that recorded a delivery
        (whose transaction may have sent the wake-up already).
        """
        if not (helper or force):
            try:
                if self._watch.watched():
                    self._wake_watcher(committed=committed)
                    return
            except Exception:
                logger.exception("Could not tell whether a drain job watches; kicking")
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last_kick < KICK_INTERVAL:
                if self._deferred is None:
                    self._deferred = threading.Timer(
                        KICK_INTERVAL - (now - self._last_kick), self._deferred_kick
                    )
                    self._deferred.daemon = True
                    self._deferred.start()
                return
            self._last_kick = now
        self._enqueue_drain()

    def reset(self) -> None:
        """Cancel a deferred kick (waiting for one already firing), forget the debounce and the watch.

        For tests: a kick deferred by one test must not fire in the next one.
        """
        for thread in threading.enumerate():  # the one pending, and one already firing
            if isinstance(thread, threading.Timer) and thread.function == self._deferred_kick:
                thread.cancel()
                thread.join()
        with self._lock:
            self._deferred = None
            self._last_kick = float("-inf")
        self._watch.reset()

    def _deferred_kick(self) -> None:
        with self._lock:
            self._deferred = None
            self._last_kick = time.monotonic()
        self._enqueue_drain()
        connection.close()  # this timer thread's own connection (ORM broker)

    def _wake_watcher(self, *, committed: bool) -> None:
        channel = wakeup_channel()
        if channel is None or (committed and channel.wakes_at_commit):
            return
        try:
            channel.wake()
        except Exception:
            logger.exception("Could not wake the watching drain job; it finds the work at its next look")

    def _enqueue_drain(self) -> None:
        try:
            async_task(DRAIN_JOB, broker=self.broker(), task_name="drain deliveries")
        except Exception:
            logger.exception("Could not queue a drain job; the sweep will kick again")


kicks = Kicks()


def request_drain(*, helper: bool = False, force: bool = False, committed: bool = False) -> None:
    """``kicks.request_drain``: this process's kick (see ``Kicks.request_drain``)."""
    kicks.request_drain(helper=helper, force=force, committed=committed)


def wakeup_in_transaction() -> None:
    """Call inside the transaction that makes a delivery due, before its kick is asked for on
    commit: on PostgreSQL without Redis, its ``NOTIFY`` goes with the commit (nowhere on a
    rollback); elsewhere nothing (Redis is woken by the kick after the commit)."""
    channel = wakeup_channel()
    if channel is not None:
        channel.in_transaction()
