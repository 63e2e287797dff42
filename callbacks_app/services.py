"""Callback deliveries: record them with the state change that triggers them, resend them.

The ``Delivery`` row is a transactional outbox: ``callback_delivery_create``
runs inside the caller's transaction, and only the wake-up of the
ledger waits for the commit. Sending is ``callbacks_app.engine``.

The transitions owned here: a resend supersedes the task's pending
deliveries, makes its new delivery wait for an attempt in flight, and that
delivery is released (due at once) when the attempt is recorded.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from callbacks_app.confirmations import (  # noqa: F401 - the first two: tasks_app's invitations are mailed here
    account_email_send,
    email_budget_has_room,
    email_confirmation_request,
)
from callbacks_app.delivery_sql import delivery_insert, delivery_insert_part, delivery_saved
from callbacks_app.errors import NoCallbackTarget
from callbacks_app.feed_news import feed_news_on_commit
from callbacks_app.models import Delivery, DeliveryAttempt
from callbacks_app.payloads import batch_callback_payload, callback_payload, sample_callback_payload
from callbacks_app.targets import email_target, target_origin
from callbacks_app.task_targets import callback_target
from callbacks_app.wakeups import dispatchers_wake
from scalehooks.audit import audit_record
from tasks_app.models import Batch, Profile, Task

logger = logging.getLogger(__name__)

# The events a caller names when it records a callback (``callback_delivery_create(event=...)``).
CallbackEvent = Delivery.Event


def callback_delivery_create(
    *, task: Task, event: str, not_before: datetime | None = None, enqueue: bool = True
) -> Delivery:
    """Record the callback ``event`` of ``task`` as of now. With no target, the event is
    recorded all the same, finished and never sent (status ``not_sent``), for the feed
    (SPEC §17).

    Call it inside the transaction that changes the task: the delivery row
    commits (or rolls back) with the state change, and a dispatcher is woken
    on commit. If that wake-up is lost, a dispatcher's next look finds the delivery due.

    ``not_before`` (a later time) makes the delivery wait until then.
    ``enqueue=False`` wakes no dispatcher: the caller sends the first attempt
    itself (``engine.deliveries_deliver_until_finished``); should it not, the
    dispatchers find the delivery due all the same.
    """
    target = callback_target(task)
    if not target:
        return _not_sent_record(**_of_task(task, event, target))
    return _delivery_create(**_of_task(task, event, target), not_before=not_before, enqueue=enqueue)


def callback_delivery_unsaved(*, task: Task, event: str, now: datetime) -> Delivery | None:
    """The delivery ``callback_delivery_create`` would record for ``task`` at ``now``, not stored,
    where it needs no other row written with it: to an HTTP target (an email target's
    confirmation is asked for with its first delivery). None otherwise, or when there is no
    target: call ``callback_delivery_create`` then.

    The caller stores it with the statement that changes the task (``callback_delivery_insert_part``).
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


def callback_delivery_insert_part(*, delivery: Delivery, now: datetime) -> tuple[str, list]:
    """The SQL that stores ``delivery`` (``callback_delivery_unsaved``), as the part of the caller's
    statement that inserts it once per row the caller's part changed (``INSERT … SELECT``, no
    ``FROM``: ``scalehooks.db.change_then_insert``), and its parameters. Once that statement
    stored it, call ``callback_delivery_stored``."""
    return delivery_insert_part(delivery, now=now)


def callback_delivery_stored(delivery: Delivery) -> None:
    """``delivery``, stored by the caller's statement (``callback_delivery_insert_part``), marked
    saved; a dispatcher woken, and the feed's news, once it commits."""
    delivery_saved(delivery)
    dispatchers_wake()  # once it commits
    feed_news_on_commit(owner_id=delivery.owner_id, is_test=delivery.is_test)


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
        dispatchers_wake()  # once it commits
    feed_news_on_commit(owner_id=owner_id, is_test=delivery.is_test)
    return delivery


def _not_sent_record(*, owner_id, subject: dict, event: str, target: str, payload: str) -> Delivery:
    """Record an event that has no target (``target`` is ""): finished at once as ``not_sent``,
    never picked by the engine (it picks pending rows only), kept for the feed (SPEC §17) and
    pruned as any finished delivery."""
    now = timezone.now()
    delivery = _delivery_new(
        owner_id=owner_id, subject=subject, event=event, target=target, payload=payload, next_attempt_at=None
    )
    delivery.status = Delivery.Status.NOT_SENT
    delivery.finished_at = now
    delivery_insert(delivery, now=now)
    feed_news_on_commit(owner_id=owner_id, is_test=delivery.is_test)
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


def callback_batch_delivery_create(
    *, batch: Batch, counts: dict[str, int], not_before: datetime | None = None, enqueue: bool = True
) -> Delivery:
    """Record the ``batch.completed`` callback of ``batch`` with its task ``counts`` (SPEC §12);
    when the batch has no ``callback``, recorded as ``not_sent`` (the feed's, SPEC §17). Call it
    inside the transaction that completes the batch, as ``callback_delivery_create`` for a task."""
    of_batch = {
        "owner_id": batch.owner_id,
        "subject": {"batch": batch},
        "event": Delivery.Event.BATCH_COMPLETED,
        "target": batch.callback,
        "payload": batch_callback_payload(batch, counts=counts),
    }
    if not batch.callback:
        return _not_sent_record(**of_batch)
    return _delivery_create(**of_batch, not_before=not_before, enqueue=enqueue)


def callback_test_send(*, profile: Profile, mode: str) -> Delivery:
    """Send a ``callback.test`` to the default callback URL of ``mode`` (the portal's "send a
    test callback", SPEC §14): a delivery of no task and no batch, with a sample task payload
    (§6.2), signed and retried as any other. ``NoCallbackTarget`` without a default URL."""
    target = profile.default_callback_url_of(mode)
    if not target:
        raise NoCallbackTarget(f"The {mode} side has no default callback URL: set one first.")
    with transaction.atomic():
        delivery = _delivery_create(
            owner_id=profile.user_id,
            subject={"is_test": mode == "test"},
            event=Delivery.Event.TEST,
            target=target,
            payload=sample_callback_payload(owner_id=profile.user_id, is_test=mode == "test"),
            not_before=None,
            enqueue=True,
        )
        audit_record(
            action="callback.test",
            target=profile,
            account_id=profile.user_id,
            mode=mode,
            delivery=delivery.id,
        )
    return delivery


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
