"""Resending a task's or a batch's callback (SPEC §6.7): the refusals, the hourly limit, the
supersede of the older pending deliveries, the wait for an attempt in flight and its release.

A resend is a fresh delivery with a fresh retry schedule, created through
``callbacks_app.services`` as any callback; at most one delivery of a task (or batch) is live.
"""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callbacks_app.errors import NoCallbackTarget, ResendLimitReached
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.services import callback_batch_delivery_create, callback_delivery_create
from callbacks_app.task_targets import callback_target, no_callback_reason
from scalehooks.audit import audit_record
from scalehooks.errors import IllegalStateChange
from tasks_app.locks import batch_locked, task_locked
from tasks_app.models import Batch, Task
from tasks_app.representation import batch_counts

logger = logging.getLogger(__name__)


RESENDABLE_STATUSES = (Task.Status.COMPLETED, Task.Status.ERROR)
RESEND_LIMIT_PERIOD = timedelta(hours=1)  # CALLBACK_RESEND_LIMIT resends of a task per this period


def _resend_limit_refusal(*, task: Task, now) -> ResendLimitReached | None:
    """``CALLBACK_RESEND_LIMIT`` resends of one task per hour (the resends' deliveries, counted in the ledger)."""
    limit = settings.CALLBACK_RESEND_LIMIT
    recent = list(
        Delivery.objects.filter(
            task=task, event=Delivery.Event.RESENT, created_at__gt=now - RESEND_LIMIT_PERIOD
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return None
    frees_at = recent[-1] + RESEND_LIMIT_PERIOD  # when the oldest of them stops counting
    return ResendLimitReached(
        f"The callback of task {task.id} was resent {limit} times in the last hour: at most "
        f"{limit} resends per hour. Try again later.",
        retry_after=max(1, math.ceil((frees_at - now).total_seconds())),
    )


def callback_resend_refusal(*, task: Task, now: datetime | None = None) -> Exception | None:
    """Why the task's callback cannot be resent now (the error ``callback_resend``
    would raise), or None when it can."""
    if task.status not in RESENDABLE_STATUSES:
        return IllegalStateChange(
            f"Cannot resend the callback of task {task.id}: it is {task.status} "
            "(allowed only when completed or error)."
        )
    if not callback_target(task):
        return NoCallbackTarget(no_callback_reason(task=task))
    return _resend_limit_refusal(task=task, now=now or timezone.now())


def _attempt_in_flight_until(*, subject: dict, now) -> datetime | None:
    """When the lease of the task's (or batch's) attempt being sent right now ends, if one is.

    An attempt is in flight when its delivery holds a live lease and its
    attempt row is still marked unfinished (``engine.deliveries_claim`` writes
    both in one transaction, ``engine.attempts_record`` clears both in one). Superseded
    deliveries count: their worker may still be waiting for an answer.
    """
    leased = Delivery.objects.filter(
        **subject,
        status__in=(Delivery.Status.PENDING, Delivery.Status.SUPERSEDED),
        leased_until__gt=now,
    ).values_list("id", "attempt_count", "leased_until")
    ends = [
        leased_until
        for delivery_id, attempt_count, leased_until in leased
        if DeliveryAttempt.objects.filter(
            delivery_id=delivery_id, number=attempt_count, error=DeliveryAttempt.UNFINISHED
        ).exists()
    ]
    return max(ends, default=None)


def callback_resend(*, task_id: str, enqueue: bool = True) -> Delivery:
    """Send the task's callback again, as the task is now, to its current target (SPEC §6.7).

    A fresh delivery with a fresh retry schedule; the task's older pending
    deliveries are superseded, so at most one delivery of a task is live. If
    an older delivery's attempt is being sent at this moment, the new delivery
    waits until that attempt is recorded (or its lease ends): a resend is never
    sent concurrently with another attempt of the same task.

    Raises ``Task.DoesNotExist``, ``TaskStateConflict`` unless the task is
    completed or error, ``NoCallbackTarget`` when there is nowhere to send
    it, and ``ResendLimitReached`` after ``CALLBACK_RESEND_LIMIT`` resends of
    the task within the hour (counted under the task's row lock). ``enqueue=False``: see ``callback_delivery_create``.
    """
    with transaction.atomic():
        task = task_locked(task_id)
        now = timezone.now()
        refusal = callback_resend_refusal(task=task, now=now)
        if refusal is not None:
            raise refusal
        # Lock the pending deliveries first: a worker claiming one of them
        # commits before we look at leases, or finds it superseded after.
        pending = list(
            Delivery.objects.select_for_update()
            .filter(task=task, status=Delivery.Status.PENDING)
            .values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=pending, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SUPERSEDED, finished_at=now, next_attempt_at=None
        )
        delivery = callback_delivery_create(
            task=task,
            event=Delivery.Event.RESENT,
            not_before=_attempt_in_flight_until(subject={"task": task}, now=now),
            enqueue=enqueue,
        )
        audit_record(
            action="callback.resend",
            target=task,
            account_id=task.owner_id,
            mode=task.mode,
            delivery=delivery.id,
        )
    logger.info(
        "Callback of task %s resent as delivery %s (%s superseded)",
        task.id,
        delivery.id,
        len(pending),
        extra={"delivery_id": delivery.id, "task_id": task.id},
    )
    return delivery


def callback_batch_resend_refusal(*, batch: Batch) -> Exception | None:
    """Why the batch's callback cannot be resent now, or None when it can."""
    if batch.status != Batch.Status.COMPLETED:
        return IllegalStateChange(
            f"Cannot resend the callback of batch {batch.name!r}: it is {batch.status} "
            "(allowed only when completed)."
        )
    if not batch.callback:
        return NoCallbackTarget(f"Batch {batch.name!r} has no callback.")
    return None


def callback_batch_resend(*, batch_id: int, enqueue: bool = True) -> Delivery:
    """Send the ``batch.completed`` callback of a completed batch again, with its counts as they
    are now, as ``callback_resend`` does for a task: the batch's older pending deliveries are
    superseded, and the new one waits for an attempt in flight.

    Raises ``Batch.DoesNotExist``, ``IllegalStateChange`` unless the batch is completed, and
    ``NoCallbackTarget`` when it has no callback.
    """
    with transaction.atomic():
        batch = batch_locked(id=batch_id)
        refusal = callback_batch_resend_refusal(batch=batch)
        if refusal is not None:
            raise refusal
        now = timezone.now()
        pending = list(
            Delivery.objects.select_for_update()
            .filter(batch=batch, status=Delivery.Status.PENDING)
            .values_list("id", flat=True)
        )
        Delivery.objects.filter(id__in=pending, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SUPERSEDED, finished_at=now, next_attempt_at=None
        )
        delivery = callback_batch_delivery_create(
            batch=batch,
            counts=batch_counts(batch),
            not_before=_attempt_in_flight_until(subject={"batch": batch}, now=now),
            enqueue=enqueue,
        )
        audit_record(
            action="callback.resend",
            target=batch,
            account_id=batch.owner_id,
            mode=batch.mode,
            delivery=delivery.id,
        )
    logger.info(
        "Callback of batch %s resent as delivery %s (%s superseded)",
        batch.id,
        delivery.id,
        len(pending),
        extra={"delivery_id": delivery.id, "batch_id": batch.id},
    )
    return delivery


def callback_resends_release(*, delivery: Delivery, now) -> None:
    """Make a resend that waited for this (superseded) delivery's attempt due now.

    ``callback_resend`` delays a new delivery until the lease of an attempt in
    flight ends; once that attempt is over the new one may go at once.
    """
    subject = (
        {"task_id": delivery.task_id} if delivery.task_id is not None else {"batch_id": delivery.batch_id}
    )
    Delivery.objects.filter(
        **subject,
        status=Delivery.Status.PENDING,
        created_at__gte=delivery.created_at,
        attempt_count=0,
        leased_until__isnull=True,
        next_attempt_at__gt=now,
    ).exclude(id=delivery.id).update(next_attempt_at=now)
