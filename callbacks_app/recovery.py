"""Recovering a window: resend every failed delivery of one account's side created in a time
window (the portal's "recover", SPEC §14).

The portal first shows ``deliveries_recover_count`` (the tasks and batches whose callbacks
would be resent), then ``deliveries_recover_start`` records a ``Recovery`` with that total and
queues the django-q2 job ``callbacks_app.jobs.deliveries_recover``, which calls
``deliveries_recover_run``: each task or batch is resent through the same services as the
API's resend (``callback_resend``, ``callback_batch_resend``), and the progress is written to
the row as it goes, for the page to poll.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from callbacks_app.models import Delivery, Recovery
from callbacks_app.resends import callback_batch_resend, callback_resend
from scalehooks.audit import Actor, acting, audit_record
from scalehooks.errors import DomainError

logger = logging.getLogger(__name__)

RECOVER_JOB = "callbacks_app.jobs.deliveries_recover"


@dataclass(frozen=True)
class RecoveryPlan:
    """What a recovery of the window would resend: the failed deliveries, their tasks and batches."""

    failed: int
    task_ids: list[str]
    batch_ids: list[int]

    @property
    def total(self) -> int:
        return len(self.task_ids) + len(self.batch_ids)


def _failed_in_window(*, owner, is_test: bool, since: datetime, until: datetime):
    return Delivery.objects.filter(
        owner=owner,
        is_test=is_test,
        status=Delivery.Status.FAILED,
        created_at__gte=since,
        created_at__lt=until,
    ).order_by()


def deliveries_recover_count(*, owner, is_test: bool, since: datetime, until: datetime) -> RecoveryPlan:
    """The failed deliveries of the window and the distinct tasks and batches they belong to
    (a ``callback.test`` has neither and is not resent)."""
    failed = _failed_in_window(owner=owner, is_test=is_test, since=since, until=until)
    task_ids = sorted(set(failed.filter(task__isnull=False).values_list("task_id", flat=True)))
    batch_ids = sorted(set(failed.filter(batch__isnull=False).values_list("batch_id", flat=True)))
    return RecoveryPlan(failed=failed.count(), task_ids=task_ids, batch_ids=batch_ids)


def deliveries_recover_start(*, owner, is_test: bool, since: datetime, until: datetime) -> Recovery:
    """Record a recovery of the window and queue its job (on commit)."""
    if since >= until:
        raise DomainError("The window's start must be before its end.")
    plan = deliveries_recover_count(owner=owner, is_test=is_test, since=since, until=until)
    with transaction.atomic():
        recovery = Recovery.objects.create(
            owner=owner, is_test=is_test, since=since, until=until, total=plan.total
        )
        audit_record(
            action="callback.recover",
            target=recovery,
            account_id=recovery.owner_id,
            mode="test" if is_test else "live",
            since=since.isoformat(),
            until=until.isoformat(),
            total=plan.total,
        )
        transaction.on_commit(
            lambda: async_task(RECOVER_JOB, recovery.id, task_name=f"recover window {recovery.id}")
        )
    return recovery


def _resend(kind: str, subject_id) -> bool:
    """Resend one task's or batch's callback; False when the service refuses it now."""
    try:
        if kind == "task":
            callback_resend(task_id=subject_id)
        else:
            callback_batch_resend(batch_id=subject_id)
    except DomainError as exc:
        logger.info("Recovery skipped %s %s: %s", kind, subject_id, exc)
        return False
    return True


def deliveries_recover_run(*, recovery_id: int) -> Recovery:
    """Resend what the recovery's window holds, counting progress on the row after each one.

    The plan is read again (a delivery resent meanwhile is failed no longer, it is
    superseded or succeeded); the total is corrected to it.
    """
    recovery = Recovery.objects.get(id=recovery_id)
    if recovery.status == Recovery.Status.FINISHED:
        return recovery
    plan = deliveries_recover_count(
        owner=recovery.owner_id, is_test=recovery.is_test, since=recovery.since, until=recovery.until
    )
    Recovery.objects.filter(id=recovery_id).update(status=Recovery.Status.RUNNING, total=plan.total, done=0)
    subjects = [("task", task_id) for task_id in plan.task_ids] + [("batch", b) for b in plan.batch_ids]
    with acting(Actor(label=f"recovery {recovery_id}", via="job")):  # its resends, in the trail
        for kind, subject_id in subjects:
            outcome = "resent" if _resend(kind, subject_id) else "skipped"
            Recovery.objects.filter(id=recovery_id).update(done=F("done") + 1, **{outcome: F(outcome) + 1})
    Recovery.objects.filter(id=recovery_id).update(
        status=Recovery.Status.FINISHED, finished_at=timezone.now()
    )
    recovery.refresh_from_db()
    return recovery
