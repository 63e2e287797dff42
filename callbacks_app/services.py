"""Callback deliveries: record them with the state change that triggers them, resend them.

The ``Delivery`` row is a transactional outbox: ``callback_delivery_create``
runs inside the caller's transaction, and only the request to drain the
ledger waits for the commit. Sending is ``callbacks_app.sending``.
"""

from django.db import transaction
from django.utils import timezone

from callbacks_app.models import Delivery
from callbacks_app.payloads import callback_payload
from callbacks_app.queueing import request_drain
from callbacks_app.targets import email_target
from tasks_app.errors import NoCallbackTarget, TaskStateConflict
from tasks_app.models import Profile, Task


def callback_target(task: Task) -> str:
    """The task's ``callback_url``, else its account's default; "" when neither is set."""
    if task.callback_url:
        return task.callback_url
    profile = Profile.objects.filter(user_id=task.owner_id).only("default_callback_url").first()
    return profile.default_callback_url if profile else ""


def callback_delivery_create(*, task: Task, event: str) -> Delivery | None:
    """Record the callback ``event`` of ``task`` as of now; None when there is no target.

    Call it inside the transaction that changes the task: the delivery row
    commits (or rolls back) with the state change, and a drain is requested
    on commit. If that request is lost, the dispatcher finds the delivery due.
    """
    target = callback_target(task)
    if not target:
        return None
    delivery = Delivery.objects.create(
        task=task,
        event=event,
        target=target,
        target_kind=(
            Delivery.TargetKind.EMAIL if email_target(target) else Delivery.TargetKind.HTTP
        ),
        payload=callback_payload(task),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(request_drain)
    return delivery


RESENDABLE_STATUSES = (Task.Status.COMPLETED, Task.Status.ERROR)


def callback_resend(*, task_id: str) -> Delivery:
    """Send the task's callback again, as the task is now, to its current target (SPEC §6.7).

    A fresh delivery with a fresh retry schedule; the task's older pending
    deliveries are superseded, so at most one delivery of a task is live.
    Raises ``TaskStateConflict`` unless the task is completed or error, and
    ``NoCallbackTarget`` when there is nowhere to send it.
    """
    with transaction.atomic():
        task = Task.objects.select_for_update().get(id=task_id)
        if task.status not in RESENDABLE_STATUSES:
            raise TaskStateConflict(
                f"Cannot resend the callback of task {task.id}: it is {task.status} "
                "(allowed only when completed or error)."
            )
        if not callback_target(task):
            raise NoCallbackTarget(
                f"Task {task.id} has no callback_url and the account has no default callback URL."
            )
        now = timezone.now()
        task.deliveries.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SUPERSEDED, finished_at=now, next_attempt_at=None
        )
        return callback_delivery_create(task=task, event=Delivery.Event.RESENT)
