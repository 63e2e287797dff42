"""The per-worker sweep: kicks a drain whenever due deliveries wait (retries and the outbox in one).

django-q2 has no delayed jobs and its scheduler ticks only every ~30 s, too
coarse for a retry due in 10 s. So every django-q2 worker process runs this
sweep in a daemon thread (started on django-q2's ``post_spawn`` signal, so a
plain ``manage.py qcluster`` runs it): about every
``CALLBACK_DISPATCH_INTERVAL`` seconds it asks whether any pending delivery
is due and held by nobody, and if so requests a drain.

The same question finds retries that fell due, deliveries whose drain request
was lost (a crash between commit and enqueue, a broker outage, a lost Redis
message) and deliveries whose worker was killed (their lease expired).
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from callbacks_app.alerts import alerts_fan_out_overdue
from callbacks_app.kicks import request_drain
from callbacks_app.pausing import deliveries_due_unpaused

logger = logging.getLogger(__name__)

_started = threading.Event()


def sweep_due() -> bool:
    """Request a drain if deliveries are due (and queue alerts whose fan-out was lost); whether one was requested."""
    now = timezone.now()
    alerts_fan_out_overdue(now=now)  # target health (SPEC §16): the alerts' outbox
    if deliveries_due_unpaused(now=now).exists():  # paused targets' deliveries wait (SPEC §16)
        request_drain()
        return True
    return False


def run(stop: threading.Event) -> None:
    """Sweep until ``stop`` is set. Errors are logged and the loop goes on."""
    while not stop.wait(settings.CALLBACK_DISPATCH_INTERVAL):
        try:
            sweep_due()
        except Exception:
            logger.exception("Sweep pass failed")
            close_old_connections()


def start_in_worker(sender=None, proc_name=None, **kwargs) -> None:
    """``post_spawn`` receiver: start this worker process's sweep thread once."""
    if _started.is_set():
        return
    _started.set()
    thread = threading.Thread(target=run, args=(threading.Event(),), name="scalehooks-sweep", daemon=True)
    thread.start()
