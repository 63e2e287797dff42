"""Callback deliveries: record them with the state change that triggers them, resend them.

The ``Delivery`` row is a transactional outbox: ``callback_delivery_create``
runs inside the caller's transaction, and only the request to drain the
ledger waits for the commit. Sending is ``callbacks_app.engine``.

The transitions owned here: a resend supersedes the task's pending
deliveries, makes its new delivery wait for an attempt in flight, and that
delivery is released (due at once) when the attempt is recorded.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from callbacks_app.errors import NoCallbackTarget
from callbacks_app.kicks import request_drain
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.payloads import callback_payload
from callbacks_app.targets import email_target, target_origin
from scalehooks.errors import IllegalStateChange
from tasks_app.models import Profile, Task

logger = logging.getLogger(__name__)

# The events a caller names when it records a callback (``callback_delivery_create(event=...)``).
CallbackEvent = Delivery.Event


def callback_target(task: Task) -> str:
    """The task's ``callback_url``, else its account's default; "" when neither is set."""
    if task.callback_url:
        return task.callback_url
    profile = Profile.objects.filter(user_id=task.owner_id).only("default_callback_url").first()
    return profile.default_callback_url if profile else ""


def callback_delivery_create(
    *, task: Task, event: str, not_before: datetime | None = None, enqueue: bool = True
) -> Delivery | None:
    """Record the callback ``event`` of ``task`` as of now; None when there is no target.

    Call it inside the transaction that changes the task: the delivery row
    commits (or rolls back) with the state change, and a drain is requested
    on commit. If that request is lost, the sweep finds the delivery due.

    ``not_before`` (a later time) makes the delivery wait until then.
    ``enqueue=False`` requests no drain: the caller sends the first attempt
    itself (``engine.deliveries_deliver_until_finished``); should it not, the
    sweep finds the delivery due all the same.
    """
    target = callback_target(task)
    if not target:
        return None
    now = timezone.now()
    waits = not_before is not None and not_before > now
    delivery = Delivery.objects.create(
        task=task,
        owner_id=task.owner_id,
        event=event,
        target=target,
        target_kind=(Delivery.TargetKind.EMAIL if email_target(target) else Delivery.TargetKind.HTTP),
        target_origin=target_origin(target),
        payload=callback_payload(task),
        next_attempt_at=not_before if waits else now,
    )
    if enqueue and not waits:
        transaction.on_commit(request_drain)
    return delivery


RESENDABLE_STATUSES = (Task.Status.COMPLETED, Task.Status.ERROR)


def callback_resend_refusal(*, task: Task) -> Exception | None:
    """Why the task's callback cannot be resent now (the error ``callback_resend``
    would raise), or None when it can."""
    if task.status not in RESENDABLE_STATUSES:
        return IllegalStateChange(
            f"Cannot resend the callback of task {task.id}: it is {task.status} "
            "(allowed only when completed or error)."
        )
    if not callback_target(task):
        return NoCallbackTarget(
            f"Task {task.id} has no callback_url and the account has no default callback URL."
        )
    return None


def _attempt_in_flight_until(*, task: Task, now) -> datetime | None:
    """When the lease of the task's attempt being sent right now ends, if one is.

    An attempt is in flight when its delivery holds a live lease and its
    attempt row is still marked unfinished (``engine.deliveries_claim`` writes
    both in one transaction, ``engine.attempts_record`` clears both in one). Superseded
    deliveries count: their worker may still be waiting for an answer.
    """
    leased = Delivery.objects.filter(
        task=task,
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
    completed or error, and ``NoCallbackTarget`` when there is nowhere to send
    it. ``enqueue=False``: see ``callback_delivery_create``.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task_id)
        refusal = callback_resend_refusal(task=task)
        if refusal is not None:
            raise refusal
        now = timezone.now()
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
            not_before=_attempt_in_flight_until(task=task, now=now),
            enqueue=enqueue,
        )
    logger.info(
        "Callback of task %s resent as delivery %s (%s superseded)",
        task.id,
        delivery.id,
        len(pending),
        extra={"delivery_id": delivery.id, "task_id": task.id},
    )
    return delivery


def callback_resends_release(*, delivery: Delivery, now) -> None:
    """Make a resend that waited for this (superseded) delivery's attempt due now.

    ``callback_resend`` delays a new delivery until the lease of an attempt in
    flight ends; once that attempt is over the new one may go at once.
    """
    Delivery.objects.filter(
        task_id=delivery.task_id,
        status=Delivery.Status.PENDING,
        created_at__gte=delivery.created_at,
        attempt_count=0,
        leased_until__isnull=True,
        next_attempt_at__gt=now,
    ).exclude(id=delivery.id).update(next_attempt_at=now)


def deliveries_prune(*, older_than: datetime, batch_size: int = 1000) -> int:
    """Delete finished deliveries (and their attempts) that finished before ``older_than``.

    Pending deliveries are never pruned, whatever their age. Deletes in
    batches so that no single transaction holds locks for long. Returns the
    number of deliveries deleted.
    """
    deleted = 0
    while True:
        batch = list(
            Delivery.objects.filter(status__in=Delivery.FINISHED, finished_at__lt=older_than).values_list(
                "id", flat=True
            )[:batch_size]
        )
        if not batch:
            break
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=batch).delete()
            deleted += Delivery.objects.filter(id__in=batch).delete()[1].get(Delivery._meta.label, 0)
        if len(batch) < batch_size:
            break
    if deleted:
        logger.info("Pruned %s finished deliveries older than %s", deleted, older_than.isoformat())
    return deleted
