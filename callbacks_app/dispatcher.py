"""Hands due deliveries to the queue: the retry timer and the outbox sweep in one.

django-q2 has no delayed jobs and its scheduler ticks only every ~30 s, too
coarse for a retry due in 10 s. So every django-q2 worker process runs this
dispatcher in a daemon thread (started on django-q2's ``post_spawn`` signal,
so a plain ``manage.py qcluster`` runs it): about every
``CALLBACK_DISPATCH_INTERVAL`` seconds it leases the pending deliveries that
are due and not leased, and enqueues one job for each.

The same query finds deliveries whose first enqueue was lost (a crash between
commit and enqueue, a broker outage, a lost Redis message) and deliveries
whose worker was killed: their lease expires and they are due again.
Dispatchers of many workers and clusters may race; the conditional UPDATE
lets only one of them lease a given delivery.
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from callbacks_app.models import Delivery
from callbacks_app.services import dispatch_lease, enqueue_delivery, new_lease_token

logger = logging.getLogger(__name__)

BATCH_SIZE = 200

_started = threading.Event()


def deliveries_due(*, now, limit: int = BATCH_SIZE) -> list[str]:
    """Ids of pending deliveries that are due and held by nobody, oldest due first."""
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )


def dispatch_due() -> int:
    """Lease and enqueue the deliveries that are due now; how many were enqueued."""
    now = timezone.now()
    due = deliveries_due(now=now)
    if not due:
        return 0
    token = new_lease_token()
    Delivery.objects.filter(id__in=due, status=Delivery.Status.PENDING).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    ).update(lease_token=token, leased_until=now + dispatch_lease())
    leased = list(Delivery.objects.filter(lease_token=token).values_list("id", flat=True))
    for delivery_id in leased:
        enqueue_delivery(delivery_id, token)
    return len(leased)


def run(stop: threading.Event) -> None:
    """Dispatch until ``stop`` is set. Errors are logged and the loop goes on."""
    while not stop.is_set():
        try:
            dispatched = dispatch_due()
        except Exception:
            logger.exception("Dispatcher pass failed")
            dispatched = 0
            close_old_connections()
        if dispatched < BATCH_SIZE:  # more may be due right away: no pause
            stop.wait(settings.CALLBACK_DISPATCH_INTERVAL)


def start_in_worker(sender=None, proc_name=None, **kwargs) -> None:
    """``post_spawn`` receiver: start this worker process's dispatcher thread once."""
    if _started.is_set():
        return
    _started.set()
    thread = threading.Thread(
        target=run, args=(threading.Event(),), name="scalehooks-dispatcher", daemon=True
    )
    thread.start()
