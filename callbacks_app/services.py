"""Callback deliveries: record them with the state change that triggers them, resend them.

The ``Delivery`` row is a transactional outbox: ``callback_delivery_create``
runs inside the caller's transaction, and only the request to drain the
ledger waits for the commit. Sending is ``callbacks_app.engine``.

The transitions owned here: a resend supersedes the task's pending
deliveries, makes its new delivery wait for an attempt in flight, and that
delivery is released (due at once) when the attempt is recorded.
"""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from callbacks_app.confirmations import (  # noqa: F401 - the first two: tasks_app's invitations are mailed here
    account_email_send,
    email_budget_has_room,
    email_confirmation_request,
)
from callbacks_app.delivery_sql import delivery_insert, delivery_insert_with
from callbacks_app.errors import NoCallbackTarget, ResendLimitReached
from callbacks_app.kicks import request_drain, wakeup_in_transaction
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.payloads import batch_callback_payload, callback_payload, sample_callback_payload
from callbacks_app.targets import email_target, target_origin
from callbacks_app.task_targets import callback_target, no_callback_reason
from scalehooks.errors import IllegalStateChange
from tasks_app.models import Batch, Profile, Task
from tasks_app.representation import batch_counts

logger = logging.getLogger(__name__)

# The events a caller names when it records a callback (``callback_delivery_create(event=...)``).
CallbackEvent = Delivery.Event


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
    return _delivery_create(**_of_task(task, event, target), not_before=not_before, enqueue=enqueue)


def callback_delivery_unsaved(*, task: Task, event: str, now: datetime) -> Delivery | None:
    """The delivery ``callback_delivery_create`` would record for ``task`` at ``now``, not stored,
    where it needs no other row written with it: to an HTTP target (an email target's
    confirmation is asked for with its first delivery). None otherwise, or when there is no
    target: call ``callback_delivery_create`` then.

    The caller stores it with the statement that changes the task (``callback_delivery_insert_with``).
    """
    target = callback_target(task)
    if not target or email_target(target):
        return None
    return _delivery_new(**_of_task(task, event, target), next_attempt_at=now)


def _of_task(task: Task, event: str, target: str) -> dict:
    """What the delivery of ``task``'s callback ``event`` to ``target`` is made of, as of now."""
    return {
        "owner_id": task.owner_id,
        "subject": {"task": task},
        "event": event,
        "target": target,
        "payload": callback_payload(task),
    }


def callback_delivery_insert_with(
    *, change: str, change_params: list, delivery: Delivery, now: datetime
) -> bool:
    """Store ``delivery`` (``callback_delivery_unsaved``) with ``change``, the caller's ``UPDATE``
    of the task, in one statement (``delivery_sql.delivery_insert_with``), and ask for a drain;
    False when ``change`` updated nothing: nothing was written."""
    if not delivery_insert_with(change=change, change_params=change_params, delivery=delivery, now=now):
        return False
    _drain_request()
    return True


def _delivery_create(
    *, owner_id, subject: dict, event: str, target: str, payload: str, not_before, enqueue: bool
) -> Delivery:
    now = timezone.now()
    waits = not_before is not None and not_before > now
    # An email address is confirmed before anything is sent to it: the first
    # callback to it asks for the confirmation email (the engine holds the
    # delivery until then, callbacks_app.confirmations).
    email_confirmation_request(owner_id=owner_id, target=target)
    delivery = delivery_insert(
        _delivery_new(
            owner_id=owner_id,
            subject=subject,
            event=event,
            target=target,
            payload=payload,
            next_attempt_at=not_before if waits else now,
        ),
        now=now,
    )
    if enqueue and not waits:
        _drain_request()
    return delivery


def _delivery_new(
    *, owner_id, subject: dict, event: str, target: str, payload: str, next_attempt_at
) -> Delivery:
    # What ``Delivery.save`` would fill, and ``delivery_insert`` does not: the side it is of.
    subject_object = subject.get("task") or subject.get("batch")
    if subject_object is not None:
        subject = {**subject, "is_test": subject_object.is_test}
    return Delivery(
        **subject,
        owner_id=owner_id,
        event=event,
        target=target,
        target_kind=(Delivery.TargetKind.EMAIL if email_target(target) else Delivery.TargetKind.HTTP),
        target_origin=target_origin(target),
        payload=payload,
        next_attempt_at=next_attempt_at,
    )


def _drain_request() -> None:
    """A new delivery is due: a drain asked for once it commits."""
    wakeup_in_transaction()  # PostgreSQL without Redis: a NOTIFY that goes with the commit
    transaction.on_commit(lambda: request_drain(committed=True))


def callback_batch_delivery_create(
    *, batch: Batch, counts: dict[str, int], not_before: datetime | None = None, enqueue: bool = True
) -> Delivery | None:
    """Record the ``batch.completed`` callback of ``batch`` with its task ``counts`` (SPEC §12);
    None when the batch has no ``callback``. Call it inside the transaction that completes the
    batch, as ``callback_delivery_create`` for a task."""
    if not batch.callback:
        return None
    return _delivery_create(
        owner_id=batch.owner_id,
        subject={"batch": batch},
        event=Delivery.Event.BATCH_COMPLETED,
        target=batch.callback,
        payload=batch_callback_payload(batch, counts=counts),
        not_before=not_before,
        enqueue=enqueue,
    )


def callback_test_send(*, profile: Profile, mode: str) -> Delivery:
    """Send a ``callback.test`` to the default callback URL of ``mode`` (the portal's "send a
    test callback", SPEC §14): a delivery of no task and no batch, with a sample task payload
    (§6.2), signed and retried as any other. ``NoCallbackTarget`` without a default URL."""
    target = profile.default_callback_url_of(mode)
    if not target:
        raise NoCallbackTarget(f"The {mode} side has no default callback URL: set one first.")
    with transaction.atomic():
        return _delivery_create(
            owner_id=profile.user_id,
            subject={"is_test": mode == "test"},
            event=Delivery.Event.TEST,
            target=target,
            payload=sample_callback_payload(owner_id=profile.user_id, is_test=mode == "test"),
            not_before=None,
            enqueue=True,
        )


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
        task = Task.objects.select_for_update().get(id=task_id)
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
        batch = Batch.objects.select_for_update().select_related("project").get(id=batch_id)
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
